// Tests for <gale/options.hpp>: argv arrays parsed by fresh parsers, config
// files in a temporary directory, the --help layout compared with Tornado
// 6.2's own, and the exit statuses of the exiting parsers (in forked children).
#include <gale/options.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using strings = std::vector<std::string>;

// A global option, defined as programs do.
auto& global_port = gale::define("test_port", 8888, "run on the given port");

std::string this_file() { return fs::path(__FILE__).lexically_normal().string(); }

// A temporary directory removed at the end of the test.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string pattern = (fs::temp_directory_path() / "gale-options-XXXXXX").string();
        path = ::mkdtemp(pattern.data());
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
        return (path / name).string();
    }
};

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The message of the OptionError that `f` throws.
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const gale::OptionError& e) {
        return e.what();
    }
    return "(no error)";
}

// Runs `f` in a forked child with stderr sent to a file; returns the child's
// exit status and what it wrote on stderr.
template <class F>
std::pair<int, std::string> in_child(F&& f) {
    temp_dir dir;
    fs::path err = dir.path / "stderr";
    std::fflush(stdout);
    std::fflush(stderr);
    pid_t pid = ::fork();
    if (pid == 0) {
        std::FILE* out = std::freopen(err.c_str(), "w", stderr);
        if (!out) ::_exit(99);
        f();
        ::_exit(98);  // f was to exit
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(err)};
}

}  // namespace

TEST_CASE("define: types from defaults, values, handles and typed lookup") {
    gale::OptionParser p;
    auto& port = p.define("port", 8888, "run on the given port");
    auto& name = p.define("name", "gale");
    auto& ratio = p.define("ratio", 0.5);
    auto& debug = p.define("debug", false);
    auto& hosts = p.define<strings>("memcache_hosts", {"a", "b"});
    auto& timeout = p.define("timeout", std::chrono::milliseconds(1500));
    auto& prefix = p.define<std::optional<std::string>>("prefix", std::nullopt);

    static_assert(std::is_same_v<decltype(port), gale::option<int>&>);
    static_assert(std::is_same_v<decltype(name), gale::option<std::string>&>);
    CHECK(*port == 8888);
    CHECK(port.value() == 8888);
    CHECK(name->size() == 4);
    CHECK(*ratio == 0.5);
    CHECK_FALSE(*debug);
    CHECK(*hosts == strings{"a", "b"});
    CHECK(*timeout == 1500ms);
    CHECK_FALSE(prefix->has_value());

    CHECK(p.value<int>("port") == 8888);
    CHECK(&p.get<int>("port") == &port);
    CHECK(p.contains("memcache-hosts"));
    CHECK(p.contains("memcache_hosts"));
    CHECK_FALSE(p.contains("nope"));
    CHECK(error_of([&] { (void)p.value<std::string>("port"); }) ==
          "Option 'port' is not of the type asked for");
    CHECK(error_of([&] { (void)p.value<int>("nope"); }) == "Unrecognized option 'nope'");
    CHECK(error_of([&] { p.define("port", 1); }) == "Option 'port' already defined in " + this_file());
    CHECK(error_of([&] { p.define("memcache-hosts", 1); }).starts_with("Option 'memcache-hosts' already defined"));

    p.set("port", 9000);
    CHECK(*port == 9000);
    port.set(9001);
    CHECK(p.value<int>("port") == 9001);
    CHECK(port.default_value() == 8888);
}

TEST_CASE("parse_command_line: --name=value, bare bools, positional arguments and --") {
    gale::OptionParser p;
    auto& port = p.define("port", 8888);
    auto& debug = p.define("debug", false);
    auto& name = p.define<std::string>("user_name", "");
    auto& verbose = p.define("verbose", true);

    auto rest = p.try_parse_command_line({"prog", "--port=80", "--debug", "--user-name=ann", "-verbose=false",
                                          "file.txt", "--port=81"});
    CHECK(*port == 80);
    CHECK(*debug);
    CHECK(*name == "ann");
    CHECK_FALSE(*verbose);
    CHECK(rest == strings{"file.txt", "--port=81"});

    rest = p.try_parse_command_line({"prog", "--port=82", "--", "--debug=false", "x"});
    CHECK(*port == 82);
    CHECK(*debug);
    CHECK(rest == strings{"--debug=false", "x"});

    CHECK(p.try_parse_command_line({"prog"}).empty());
    CHECK(p.program_name() == "prog");

    const char* argv[] = {"/usr/bin/app", "--user_name=bob", "--debug=0"};
    CHECK(p.try_parse_command_line(3, argv).empty());
    CHECK(*name == "bob");
    CHECK_FALSE(*debug);
    CHECK(p.program_name() == "/usr/bin/app");

    // Booleans in Tornado's words and a few more; anything else is an error.
    for (auto [text, expected] : {std::pair{"true", true}, {"T", true}, {"1", true}, {"yes", true}, {"On", true},
                                  {"false", false}, {"F", false}, {"0", false}, {"no", false}, {"off", false}}) {
        p.try_parse_command_line({"prog", std::string("--debug=") + text});
        CHECK(*debug == expected);
    }
}

TEST_CASE("parse_command_line: errors name the option and the value") {
    gale::OptionParser p;
    p.define("port", 8888);
    p.define("debug", false);
    p.define<std::vector<int>>("ports", {});
    p.define("ratio", 1.0);
    p.define<std::uint16_t>("small", 1);
    p.define("timeout", std::chrono::seconds(1));

    auto parse = [&](std::string arg) { return error_of([&] { p.try_parse_command_line({"prog", arg}); }); };
    CHECK(parse("--bogus") == "Unrecognized command line option: 'bogus'");
    CHECK(parse("--log_bogus=1") == "Unrecognized command line option: 'log-bogus'");
    CHECK(parse("--port") == "Option 'port' requires a value");
    CHECK(parse("--port=abc") == "Option 'port' requires an integer from -2147483648 to 2147483647, not 'abc'");
    CHECK(parse("--port=1.5") == "Option 'port' requires an integer from -2147483648 to 2147483647, not '1.5'");
    CHECK(parse("--small=70000") == "Option 'small' requires an integer from 0 to 65535, not '70000'");
    CHECK(parse("--debug=maybe") == "Option 'debug' requires a boolean (true or false), not 'maybe'");
    CHECK(parse("--ratio=x") == "Option 'ratio' requires a number, not 'x'");
    CHECK(parse("--ports=1,x") == "Option 'ports' requires an integer from -2147483648 to 2147483647, not 'x'");
    CHECK(parse("--ports=0:2000000") == "Option 'ports': the range 0:2000000 makes too many values");
    CHECK(parse("--timeout=5 parsecs") == "Option 'timeout' requires a duration (like 30s, 1.5h or 5m 3s), not '5 parsecs'");
    CHECK(parse("-") == "Unrecognized command line option: ''");
}

TEST_CASE("lists: comma-separated values and inclusive integer ranges") {
    gale::OptionParser p;
    auto& itcast = p.define<strings>("itcast", {}, "itcast subjects.");
    auto& ports = p.define<std::vector<int>>("ports", {8000});
    auto& ratios = p.define<std::vector<double>>("ratios", {});

    p.try_parse_command_line({"prog", "--itcast=python,c++,java,php,ios", "--ports=8000:8003,9000,10:9", "--ratios=0.5,2"});
    CHECK(*itcast == strings{"python", "c++", "java", "php", "ios"});
    CHECK(*ports == std::vector<int>{8000, 8001, 8002, 8003, 9000});
    CHECK(*ratios == std::vector<double>{0.5, 2});

    // As in Tornado, string parts keep their spaces and an empty value is one empty string.
    p.try_parse_command_line({"prog", "--itcast=a, b", "--ports=-2:0"});
    CHECK(*itcast == strings{"a", " b"});
    CHECK(*ports == std::vector<int>{-2, -1, 0});
    p.try_parse_command_line({"prog", "--itcast="});
    CHECK(*itcast == strings{""});

    // A bare flag of a list of booleans is [true], as in Tornado.
    auto& flags = p.define<std::vector<bool>>("flags", {});
    p.try_parse_command_line({"prog", "--flags"});
    CHECK(*flags == std::vector<bool>{true});

    // A range may end at the type's maximum.
    auto& bytes = p.define<std::vector<std::uint8_t>>("bytes", {});
    p.try_parse_command_line({"prog", "--bytes=254:255"});
    CHECK(*bytes == std::vector<std::uint8_t>{254, 255});
}

TEST_CASE("durations use Tornado's timedelta syntax; time points its datetime formats") {
    gale::OptionParser p;
    auto& t = p.define("timeout", std::chrono::microseconds(0));
    auto& s = p.define("grace", std::chrono::seconds(30));
    auto& d = p.define("ratio", std::chrono::duration<double>(0));
    auto parse = [&](const std::string& text) {
        p.try_parse_command_line({"prog", "--timeout=" + text});
        return t->count();
    };
    CHECK(parse("30") == 30'000'000);
    CHECK(parse("30s") == 30'000'000);
    CHECK(parse("1h") == 3'600'000'000);
    CHECK(parse("5m 3s") == 303'000'000);
    CHECK(parse("1h30m") == 5'400'000'000);
    CHECK(parse("2.5ms") == 2500);
    CHECK(parse("1.5 hours") == 5'400'000'000);
    CHECK(parse("1w 1d") == 8 * 86'400'000'000LL);
    CHECK(parse("10min 2sec 7us") == 602'000'007);
    CHECK(parse("1e3ms") == 1'000'000);
    CHECK(parse("-1s") == -1'000'000);
    CHECK(parse("") == 0);

    p.try_parse_command_line({"prog", "--grace=1.4", "--ratio=250ms"});
    CHECK(*s == 1s);  // rounded to the option's unit
    CHECK(d->count() == doctest::Approx(0.25));

    ::setenv("TZ", "UTC", 1);
    ::tzset();
    auto& when = p.define("when", std::chrono::system_clock::time_point{});
    auto at = [&](const std::string& text) {
        p.try_parse_command_line({"prog", "--when=" + text});
        return std::chrono::system_clock::to_time_t(*when);
    };
    CHECK(at("2026-11-22 18:00:27") == 1795370427);
    CHECK(at("2026-11-22T18:00") == 1795370400);
    CHECK(at("20261122 18:00:27") == 1795370427);
    CHECK(at("2026-11-22") == 1795305600);
    CHECK(at("20261122") == 1795305600);
    CHECK(at("Sun Nov 22 18:00:27 2026") == 1795370427);
    CHECK(at("18:00") == -2208924000);  // 1900-01-01, as Python's strptime
    CHECK(error_of([&] { at("yesterday"); }) ==
          "Option 'when' requires a date and time (like 2026-11-22 18:00:27), not 'yesterday'");
    CHECK(p.at("when").value_text() == "1900-01-01 18:00:00");
}

TEST_CASE("callbacks: per option on every change, parse callbacks after a final parse") {
    gale::OptionParser p;
    std::vector<int> seen;
    std::vector<std::string> events;
    auto& port = p.define("port", 1, "", {.callback = [&](const int& v) { seen.push_back(v); }});
    p.add_parse_callback([&] { events.push_back("parsed " + std::to_string(*port)); });

    p.try_parse_command_line({"prog", "--port=2", "--port=3"});
    CHECK(seen == std::vector<int>{2, 3});
    CHECK(events == strings{"parsed 3"});

    p.try_parse_command_line({"prog", "--port=4"}, false);
    CHECK(events.size() == 1);
    port.set(5);
    CHECK(seen.back() == 5);
    p.run_parse_callbacks();
    CHECK(events.back() == "parsed 5");

    // Tornado's --config idiom: a callback reads a config file in the middle of the command line.
    temp_dir dir;
    std::string conf = dir.write("app.conf", "port = 7\n");
    p.define<std::string>("config", "", "path to config file",
                          {.callback = [&](const std::string& path) { p.try_parse_config_file(path, false); }});
    p.try_parse_command_line({"prog", "--port=6", "--config=" + conf});
    CHECK(*port == 7);
    p.try_parse_command_line({"prog", "--config=" + conf, "--port=8"});
    CHECK(*port == 8);
}

TEST_CASE("--help: try_ parsers throw help_requested; the layout is Tornado's") {
    gale::OptionParser p;
    p.define("port", 8888, "run on the given port", {.group = "network"});
    CHECK_THROWS_AS(p.try_parse_command_line({"prog", "--help"}), gale::help_requested);
    CHECK_THROWS_AS(p.try_parse_command_line({"prog", "--port=1", "--help", "--bogus"}), gale::help_requested);
}

namespace {

// The same definitions in gale and in Tornado (help_layout.py below).
void define_layout_options(gale::OptionParser& p) {
    p.define("port", 8888, "run on the given port", {.group = "network"});
    p.define("cn_port", 8888, "在指定端口运行在指定端口运行在指定端口运行在指定端口运行在指定端口运行在指定端口运行在指定端口运行",
             {.group = "network"});
    p.define<std::string>("address", "", "bind to this address", {.group = "network"});
    p.define<strings>("itcast", {}, "itcast subjects.", {.group = "application"});
    p.define<std::vector<int>>("ports", {8000, 8001}, "", {.group = "network"});
    p.define<strings>("hosts", {"a.example", "it's"}, "cache hosts", {.metavar = "HOST", .group = "network"});
    p.define("debug", false, "debug mode", {.group = "application"});
    p.define("ratio", 2.0, "a well-known ratio, used for a number of carefully-chosen purposes that need a "
                           "long-winded explanation", {.group = "application"});
    p.define("grace", std::chrono::seconds(90), "grace period", {.group = "application"});
    p.define("a_very_long_option_name_for_testing", "x",
             "a long help text that goes on and on and on past the wrap column for sure, yes",
             {.group = "application"});
    p.define<std::optional<std::string>>("cookie_secret", std::nullopt, "signs cookies", {.metavar = "SECRET",
                                                                                          .group = "application"});
    p.define("template_path", "templates", "where templates are: a path that is "
                                           "/very/long/and/has/no/spaces/to/break/it/at/all/anywhere",
             {.group = "application"});
}

const char* layout_script = R"PY(
import datetime, sys
from tornado.options import OptionParser
p = OptionParser()
p.define("port", 8888, help="run on the given port", group="network")
p.define("cn_port", 8888, help="在指定端口运行" * 7, group="network")
p.define("address", "", help="bind to this address", group="network")
p.define("itcast", [], type=str, multiple=True, help="itcast subjects.", group="application")
p.define("ports", [8000, 8001], type=int, multiple=True, group="network")
p.define("hosts", ["a.example", "it's"], type=str, multiple=True, help="cache hosts", metavar="HOST", group="network")
p.define("debug", False, help="debug mode", group="application")
p.define("ratio", 2.0, help="a well-known ratio, used for a number of carefully-chosen purposes that need a long-winded explanation", group="application")
p.define("grace", datetime.timedelta(seconds=90), help="grace period", group="application")
p.define("a_very_long_option_name_for_testing", "x", help="a long help text that goes on and on and on past the wrap column for sure, yes", group="application")
p.define("cookie_secret", None, type=str, help="signs cookies", metavar="SECRET", group="application")
p.define("template_path", "templates", help="where templates are: a path that is /very/long/and/has/no/spaces/to/break/it/at/all/anywhere", group="application")
sys.argv[0] = "app"
p.print_help(sys.stdout)
)PY";

}  // namespace

TEST_CASE("help_text matches Tornado's print_help") {
    gale::OptionParser p;
    define_layout_options(p);
    p.try_parse_command_line({"app"});
    std::string expected =
        "Usage: app [OPTIONS]\n"
        "\n"
        "Options:\n"
        "\n"
        "  --help                           show this help information\n"
        "\n"
        "application options:\n"
        "\n"
        "  --a-very-long-option-name-for-testing \n"
        "                                   a long help text that goes on and on and on\n"
        "                                   past the wrap column for sure, yes (default\n"
        "                                   x)\n"
        "  --cookie-secret=SECRET           signs cookies\n"
        "  --debug                          debug mode (default False)\n"
        "  --grace                          grace period (default 0:01:30)\n"
        "  --itcast                         itcast subjects. (default [])\n"
        "  --ratio                          a well-known ratio, used for a number of\n"
        "                                   carefully-chosen purposes that need a long-\n"
        "                                   winded explanation (default 2.0)\n"
        "  --template-path                  where templates are: a path that is /very/lo\n"
        "                                   ng/and/has/no/spaces/to/break/it/at/all/anyw\n"
        "                                   here (default templates)\n"
        "\n"
        "network options:\n"
        "\n"
        "  --address                        bind to this address\n"
        "  --cn-port                        在指定端口运行在指定端口运行在指定端口运行在指定端口运行在指定端口运行在指定端口运行在指\n"
        "                                   定端口运行 (default 8888)\n"
        "  --hosts=HOST                     cache hosts (default ['a.example', \"it's\"])\n"
        "  --port                           run on the given port (default 8888)\n"
        "  --ports                           (default [8000, 8001])\n"
        "\n";
    CHECK(p.help_text() == expected);

    // And Tornado itself prints the same.
    temp_dir dir;
    std::string script = dir.write("help_layout.py", layout_script);
    std::string tornado = gale_test::run_command("/usr/bin/python3 " + script + " 2>&1");
    if (tornado.find("No module named") == std::string::npos) CHECK(tornado == expected);
}

TEST_CASE("the help's wrapping is Python's textwrap.wrap (hyphens, em-dashes, long words, tabs)") {
    const strings texts = {
        "a well-known, self-contained, mid-word-hyphen-ated-stuff-that-goes-on sentence about ab-cd-ef",
        "x -- don't ab-1c abc--def foo-bar -b abc--def ab-cd-ef world. it's--ok q?--r a---b",
        "/very/long/path/name/with/no/spaces/at/all/here and verylongwordwithoutanybreaksatallxxxxxxxxxxxxxxxxxxxx",
        "what ab-1c verylongwordwithoutanybreaksatallxxxxxxxxxxxxxxxxxxxx ab-cd-ef a 8888) a- 8888)",
        "tab\there and\ttabs\t\tagain, then a long-hyphenated-wordwithlotsofletters-andmore-andmoreandmore-x",
        "日本語-テキスト 日本語-テキスト 在指定端口运行在指定端口运行在指定端口运行在指定端口运行在指定端口运行在指定端口运行",
        "",
        "   leading spaces and trailing ones   ",
    };
    temp_dir dir;
    std::string input;
    for (auto& t : texts) input += t + "\n";
    std::string in = dir.write("texts", input);
    std::string script = dir.write("wrap.py", R"PY(import sys, textwrap
for t in open(sys.argv[1], encoding='utf-8').read().split('\n')[:-1]:
    sys.stdout.write(''.join(line + '\n' for line in textwrap.wrap(t, 44)) + '@@\n')
)PY");
    std::string python = gale_test::run_command("/usr/bin/python3 " + script + " " + in);
    std::string gale;
    for (auto& t : texts) {
        for (auto& line : gale::detail::opt::text_wrap(t, 44)) gale += line + "\n";
        gale += "@@\n";
    }
    CHECK(python == gale);
    CHECK(gale::detail::opt::text_wrap("", 44).empty());
}

TEST_CASE("help_text: options defined without a group are grouped by file; the global parser has the logging options") {
    gale::OptionParser p;
    p.define("port", 1, "the port");
    std::string text = p.help_text();
    CHECK(text.find("\n" + this_file() + " options:\n\n  --port                           the port (default 1)\n") !=
          std::string::npos);

    CHECK(gale::options.contains("test_port"));
    CHECK(&gale::options.get<int>("test_port") == &global_port);
    CHECK(global_port.group_name() == this_file());
    std::string global = gale::options.help_text();
    CHECK(global.find("\ngale/log.hpp options:\n\n") != std::string::npos);
    CHECK(global.find("  --logging=debug|info|warning|error|none \n") != std::string::npos);
    CHECK(global.find("  --log-file-prefix=PATH           Path prefix for log files.") != std::string::npos);
    CHECK(global.find("  --log-file-num-backups           number of log files to keep (default 10)\n") !=
          std::string::npos);

    gale::OptionParser with_logging{gale::with_logging_options};
    CHECK(with_logging.value<std::string>("logging") == "info");
    CHECK(with_logging.value<std::int64_t>("log_file_max_size") == 100'000'000);
    CHECK_FALSE(with_logging.value<std::optional<bool>>("log_to_stderr").has_value());
    CHECK(with_logging.groups() == std::set<std::string>{"", "gale/log.hpp"});
}

TEST_CASE("as_dict and group_dict give values as Python's str() shows them") {
    gale::OptionParser p;
    p.define("port", 80, "", {.group = "net"});
    p.define<strings>("hosts", {"a", "b"}, "", {.group = "net"});
    p.define<std::optional<bool>>("flag", std::nullopt);
    CHECK(p.group_dict("net") == std::map<std::string, std::string>{{"port", "80"}, {"hosts", "['a', 'b']"}});
    auto all = p.as_dict();
    CHECK(all.at("flag") == "None");
    CHECK(all.at("help") == "None");
}

TEST_CASE("parse_config_file: the seed's config, and Python-like literals") {
    temp_dir dir;
    gale::OptionParser p;
    auto& port = p.define("port", 8000, "run server on the given port.");
    auto& itcast = p.define<strings>("itcast", {}, "itcast subjects.");
    auto& debug = p.define("debug", true);
    auto& ratio = p.define("ratio", 1.0);
    auto& name = p.define<std::string>("mysql_host", "");
    auto& hosts = p.define<strings>("memcache_hosts", {});
    auto& ports = p.define<std::vector<int>>("ports", {});
    auto& prefix = p.define<std::optional<std::string>>("log_prefix", "x");
    auto& grace = p.define("grace", std::chrono::seconds(0));
    int parsed = 0;
    p.add_parse_callback([&] { ++parsed; });

    // The seed's ./config, verbatim.
    p.try_parse_config_file(dir.write("config", "port = 8000\nitcast = [\"python\",\"c++\",\"java\",\"php\",\"ios\"]\n"));
    CHECK(*port == 8000);
    CHECK(*itcast == strings{"python", "c++", "java", "php", "ios"});
    CHECK(parsed == 1);

    // Tornado's documented example, with comments, a list over lines, and other literals.
    std::string conf = dir.write("app.conf", R"(# the application
port = 80  # a comment
mysql_host = 'mydb.example.com:3306'
memcache_hosts = ['cache1.example.com:11011',
                  'cache2.example.com:11011',   # the second
                 ]
debug = False
ratio = 3
log_prefix = None
ports = "1:3"
grace = '1m 30s'

itcast = 'a,b'
)");
    p.try_parse_config_file(conf, false);
    CHECK(*port == 80);
    CHECK(*name == "mydb.example.com:3306");
    CHECK(*hosts == strings{"cache1.example.com:11011", "cache2.example.com:11011"});
    CHECK_FALSE(*debug);
    CHECK(*ratio == 3.0);
    CHECK_FALSE(prefix->has_value());
    CHECK(*ports == std::vector<int>{1, 2, 3});
    CHECK(*grace == 90s);
    CHECK(*itcast == strings{"a", "b"});
    CHECK(parsed == 1);  // not final

    p.try_parse_config_file(dir.write("more.conf", "memcache_hosts = 'x,y'\nratio = -2.5e1\nport = +81\n"
                                                   "mysql_host = \"say \\\"hi\\\"\\n\"\nports = [4, 5]\n"));
    CHECK(*hosts == strings{"x", "y"});
    CHECK(*ratio == -25.0);
    CHECK(*port == 81);
    CHECK(*name == "say \"hi\"\n");
    CHECK(*ports == std::vector<int>{4, 5});
    CHECK(parsed == 2);
}

TEST_CASE("parse_config_file: errors carry the file and the line") {
    temp_dir dir;
    gale::OptionParser p;
    p.define("port", 8000);
    p.define("debug", false);
    p.define<strings>("hosts", {});
    auto error = [&](const std::string& text) {
        std::string path = dir.write("config.py", text);
        std::string message = error_of([&] { p.try_parse_config_file(path); });
        CHECK(message.starts_with(path + ":"));
        return message.substr(path.size());
    };
    CHECK(error("port = 80\n\n# x\nprot = 81\n") == ":4: Unrecognized option 'prot'");
    CHECK(error("port = 'abc'\n") == ":1: Option 'port' requires an integer from -2147483648 to 2147483647, not 'abc'");
    CHECK(error("port = True\n") == ":1: Option 'port' requires an integer from -2147483648 to 2147483647, not 'True'");
    CHECK(error("debug = 1\n") == ":1: Option 'debug' requires a boolean (true or false), not '1'");
    CHECK(error("port = None\n") == ":1: Option 'port' requires an integer from -2147483648 to 2147483647, not 'None'");
    CHECK(error("\nport 80\n") == ":2: expected '=' after 'port'");
    CHECK(error("port = \n") == ":1: expected a value");
    CHECK(error("hosts = ['a',\n 'b'\n") == ":3: unclosed list, expected ']'");
    CHECK(error("hosts = ['a' 'b']\n") == ":1: expected ',' or ']' in a list");
    CHECK(error("hosts = 'a\n") == ":1: unterminated string");
    CHECK(error("hosts = localhost\n") == ":1: 'localhost' is not a value (strings are quoted)");
    CHECK(error("hosts = 5\n") == ":1: Option 'hosts' requires a list or a comma-separated string, not 5");
    CHECK(error("port = 80 81\n") == ":1: unexpected '8' after the value of 'port'");
    CHECK(error("import os\n") == ":1: expected '=' after 'import'");
    CHECK(error_of([&] { p.try_parse_config_file((dir.path / "missing").string()); }) ==
          (dir.path / "missing").string() + ": cannot open the config file");
}

TEST_CASE("the exiting parsers: status 2 with the help and the error, 0 for --help") {
    gale::OptionParser p;
    p.define("port", 8888, "run on the given port");
    p.try_parse_command_line({"myprog"});

    auto [status, err] = in_child([&] {
        const char* argv[] = {"myprog", "--port=80", "--bogus"};
        p.parse_command_line(3, argv);
    });
    CHECK(status == 2);
    CHECK(err.starts_with("Usage: myprog [OPTIONS]\n\nOptions:\n\n  --help "));
    CHECK(err.find("  --port                           run on the given port (default 8888)\n") != std::string::npos);
    CHECK(err.ends_with("\nmyprog: error: Unrecognized command line option: 'bogus'\n"));

    std::tie(status, err) = in_child([&] {
        const char* argv[] = {"myprog", "--port=eighty"};
        p.parse_command_line(2, argv);
    });
    CHECK(status == 2);
    CHECK(err.ends_with("myprog: error: Option 'port' requires an integer from -2147483648 to 2147483647, not 'eighty'\n"));

    std::tie(status, err) = in_child([&] {
        const char* argv[] = {"myprog", "--help"};
        p.parse_command_line(2, argv);
    });
    CHECK(status == 0);
    CHECK(err == p.help_text());

    temp_dir dir;
    std::string conf = dir.write("bad.conf", "port = 1\nport = 'x'\n");
    std::tie(status, err) = in_child([&] { p.parse_config_file(conf); });
    CHECK(status == 2);
    CHECK(err == "myprog: error: " + conf + ":2: Option 'port' requires an integer from -2147483648 to "
                 "2147483647, not 'x'\n");

    // A good command line returns the positional arguments and does not exit.
    const char* argv[] = {"myprog", "--port=80", "serve"};
    CHECK(p.parse_command_line(3, argv) == strings{"serve"});
    CHECK(p.value<int>("port") == 80);
}

TEST_CASE("the global parser: --logging options reach enable_pretty_logging") {
    // A bad level is an option error from the parse callback, as a bad value is.
    auto& level = gale::options.get<std::string>("logging");
    std::string before = *level;
    CHECK(error_of([] { gale::options.try_parse_command_line({"prog", "--logging=loud"}); }) ==
          "Unknown log level 'loud' (debug, info, warning, error, critical or none)");
    // With logging none nothing is touched, whatever else is set.
    CHECK_NOTHROW(gale::options.try_parse_command_line({"prog", "--logging=none", "--log_rotate_mode=x"}));
    level.set(before);
    gale::options.set<std::string>("log_rotate_mode", "size");
}
