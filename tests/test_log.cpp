// Tests for <gale/log.hpp>: the loggers' records, the LogFormatter line
// (compared with Tornado 6.2's), pretty logging to stderr and to files,
// rotation by size (compared with Python's RotatingFileHandler) and by time,
// the writer thread (a stuck stderr does not block, lines are dropped and
// counted), and no lost lines at exit or across fork.
#include <gale/log.hpp>
#include <gale/options.hpp>

#include <fcntl.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using gale_test::temp_dir;


std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

void use_utc() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
}

// A copy of every record handed to the handler while alive.
struct recorded {
    std::string logger;
    gale::log_level level;
    std::string module;
    int line;
    std::string message;
};
struct record_capture {
    static inline std::vector<recorded> records;
    gale::detail::log_handler previous;
    int threshold;
    record_capture()
        : previous(gale::detail::logging_config().handler.exchange(&record)),
          threshold(gale::detail::logging_config().threshold.load()) {
        records.clear();
    }
    ~record_capture() {
        gale::detail::logging_config().handler.store(previous);
        gale::detail::logging_config().threshold.store(threshold);
    }
    static void record(const gale::log_record& r) {
        records.push_back({std::string(r.logger), r.level, std::string(r.module), r.line, std::string(r.message)});
    }
};

// Puts logging back as a test found it: the default handler, level info, and
// the writer's outputs closed (so temporary files can go).
struct restore_logging {
    ~restore_logging() {
        gale::flush_logs();
        gale::detail::log_writer::instance().configure(true, false, nullptr);
        gale::detail::logging_config().handler.store(&gale::detail::stderr_log_handler);
        gale::set_log_level(gale::log_level::info);
    }
};

// Sends fd 2 to a file while alive.
struct stderr_to_file {
    int saved;
    explicit stderr_to_file(const std::string& path) : saved(::dup(2)) {
        std::fflush(stderr);
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, 2);
        ::close(fd);
    }
    ~stderr_to_file() {
        std::fflush(stderr);
        ::dup2(saved, 2);
        ::close(saved);
    }
};

const std::regex line_pattern(R"(\[([DIWEC]) \d{6} \d\d:\d\d:\d\d test_log:(\d+)\] (.*))");

// Runs `f` in a forked child that then exits normally; returns its exit status.
template <class F>
int in_child(F&& f) {
    std::fflush(stdout);
    std::fflush(stderr);
    pid_t pid = ::fork();
    if (pid == 0) {
        f();
        std::exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("loggers: Tornado's names, the caller's module and line, {fmt} formats, levels") {
    record_capture capture;
    gale::set_log_level(gale::log_level::debug);
    CHECK(gale::access_log.name() == "tornado.access");
    CHECK(gale::app_log.name() == "tornado.application");
    CHECK(gale::gen_log.name() == "tornado.general");

    int line = __LINE__ + 1;
    gale::app_log.info("hello {} {:.1f}", "world", 2.25);
    gale::gen_log.debug("d");
    gale::access_log.warning("w");
    gale::app_log.error("e {}", 1);
    gale::gen_log.critical("c");
    gale::app_log.log(gale::log_level::info, "via log");
    REQUIRE(capture.records.size() == 6);
    const recorded& r = capture.records[0];
    CHECK(r.logger == "tornado.application");
    CHECK(r.level == gale::log_level::info);
    CHECK(r.module == "test_log");
    CHECK(r.line == line);
    CHECK(r.message == "hello world 2.2");
    CHECK(capture.records[1].logger == "tornado.general");
    CHECK(capture.records[1].level == gale::log_level::debug);
    CHECK(capture.records[2].logger == "tornado.access");
    CHECK(capture.records[3].message == "e 1");
    CHECK(capture.records[4].level == gale::log_level::critical);
    CHECK(capture.records[5].line == line + 5);

    gale::set_log_level(gale::log_level::warning);
    CHECK_FALSE(gale::app_log.is_enabled_for(gale::log_level::info));
    CHECK(gale::app_log.is_enabled_for(gale::log_level::error));
    gale::app_log.info("skipped");
    gale::app_log.warning("kept");
    CHECK(capture.records.size() == 7);
    CHECK(capture.records.back().message == "kept");

    try {
        throw std::runtime_error("boom");
    } catch (...) {
        gale::app_log.exception("request {} failed", 7);
    }
    CHECK(capture.records.back().level == gale::log_level::error);
    CHECK(capture.records.back().message == "request 7 failed\nboom");

    CHECK(gale::log_level_named("WARNING") == gale::log_level::warning);
    CHECK(gale::log_level_named("debug") == gale::log_level::debug);
    CHECK_FALSE(gale::log_level_named("loud"));
}

TEST_CASE("LogFormatter: Tornado's line, indented continuation lines, colour codes") {
    use_utc();
    gale::log_record r{"tornado.access", gale::log_level::info, "web", 2293, "200 GET / (127.0.0.1) 0.52ms"};
    std::time_t when = 1795370427;  // 2026-11-22 18:00:27 UTC
    gale::LogFormatter plain(false);
    CHECK_FALSE(plain.color());
    CHECK(plain.format(r, when) == "[I 261122 18:00:27 web:2293] 200 GET / (127.0.0.1) 0.52ms");
    gale::log_record multi{"tornado.application", gale::log_level::error, "web", 1820, "Uncaught\nTraceback\nError"};
    CHECK(plain.format(multi, when) == "[E 261122 18:00:27 web:1820] Uncaught\n    Traceback\n    Error");
    // The test's stderr is not a terminal: no colour even when asked for.
    CHECK_FALSE(gale::LogFormatter(true).color());

    std::string coloured;
    gale::detail::append_log_line(coloured, r, when, true);
    CHECK(coloured == "\033[32m[I 261122 18:00:27 web:2293]\033[0m 200 GET / (127.0.0.1) 0.52ms");
    for (auto [level, code] : {std::pair{gale::log_level::debug, "34"}, {gale::log_level::warning, "33"},
                               {gale::log_level::error, "31"}, {gale::log_level::critical, "35"}}) {
        std::string line;
        gale::detail::append_log_line(line, {"x", level, "m", 1, "t"}, when, true);
        CHECK(line.starts_with(std::string("\033[") + code + "m["));
    }

    // Tornado's own formatter writes the same lines.
    temp_dir dir;
    std::string script = dir.file("format.py");
    std::ofstream(script) << R"PY(
import logging
from tornado.log import LogFormatter
f = LogFormatter(color=False)
for level, line, msg in ((logging.INFO, 2293, "200 GET / (127.0.0.1) 0.52ms"),
                         (logging.ERROR, 1820, "Uncaught\nTraceback\nError")):
    r = logging.LogRecord("tornado.access", level, "/x/web.py", line, msg, None, None)
    r.created = 1795370427
    print(f.format(r))
)PY";
    std::string tornado = gale_test::run_command("TZ=UTC /usr/bin/python3 " + script + " 2>&1");
    if (tornado.find("No module named") == std::string::npos)
        CHECK(tornado == plain.format(r, when) + "\n" + plain.format(multi, when) + "\n");
}

TEST_CASE("enable_pretty_logging: a log file, the level, stderr only when asked") {
    restore_logging restore;
    temp_dir dir;
    std::string path = dir.file("app.log");
    std::string err = dir.file("stderr");
    {
        stderr_to_file redirect(err);
        gale::enable_pretty_logging({.logging = "warning", .log_file_prefix = path});
        gale::app_log.info("not at warning");
        int line = __LINE__ + 1;
        gale::app_log.warning("careful {}", 1);
        gale::gen_log.error("broken\nsecond line");
        gale::flush_logs();
        auto lines = lines_of(read_file(path));
        REQUIRE(lines.size() == 3);
        std::smatch m;
        REQUIRE(std::regex_match(lines[0], m, line_pattern));
        CHECK(m[1] == "W");
        CHECK(m[2] == std::to_string(line));
        CHECK(m[3] == "careful 1");
        CHECK(std::regex_match(lines[1], m, line_pattern));
        CHECK(m[3] == "broken");
        CHECK(lines[2] == "    second line");
        CHECK(gale::detail::logging_config().threshold.load() == 30);
    }
    CHECK(read_file(err).empty());  // a file and no log_to_stderr: nothing on stderr

    {
        stderr_to_file redirect(err);
        gale::enable_pretty_logging({.logging = "debug", .log_to_stderr = true, .log_file_prefix = path});
        gale::gen_log.debug("both");
        gale::flush_logs();
    }
    CHECK(lines_of(read_file(path)).back().ends_with("] both"));
    auto err_lines = lines_of(read_file(err));
    REQUIRE(err_lines.size() == 1);
    CHECK(std::regex_match(err_lines[0], line_pattern));  // not a terminal: no colour

    {
        stderr_to_file redirect(err);
        gale::enable_pretty_logging();  // stderr, as there is no file
        gale::app_log.info("to stderr");
        gale::app_log.debug("below info");
        gale::flush_logs();
    }
    err_lines = lines_of(read_file(err));
    REQUIRE(err_lines.size() == 1);
    CHECK(err_lines[0].ends_with(" to stderr"));

    // "none" changes nothing; bad settings are errors.
    auto handler = gale::detail::logging_config().handler.load();
    gale::enable_pretty_logging({.logging = "none", .log_rotate_mode = "bogus"});
    CHECK((gale::detail::logging_config().handler.load() == handler));
    CHECK_THROWS_WITH_AS(gale::enable_pretty_logging({.logging = "loud"}),
                         "Unknown log level 'loud' (debug, info, warning, error, critical or none)",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(gale::enable_pretty_logging({.log_file_prefix = path, .log_rotate_mode = "bogus"}),
                         "The value of log_rotate_mode option should be \"size\" or \"time\", not \"bogus\".",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(
        gale::enable_pretty_logging({.log_file_prefix = path, .log_rotate_mode = "time", .log_rotate_when = "X"}),
        "Invalid rollover interval specified: X", std::invalid_argument);
    CHECK_THROWS_AS(gale::enable_pretty_logging({.log_file_prefix = dir.file("no/such/dir/log")}),
                    std::invalid_argument);
}

TEST_CASE("on a terminal, stderr lines are coloured by level as Tornado's") {
    std::fflush(stdout);
    std::fflush(stderr);
    int master = -1;
    pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::setenv("TERM", "xterm", 1);
        gale::enable_pretty_logging({.logging = "debug"});
        gale::app_log.info("green");
        gale::app_log.warning("yellow");
        gale::flush_logs();
        std::exit(0);
    }
    std::string out;
    char chunk[4096];
    for (ssize_t n; (n = ::read(master, chunk, sizeof chunk)) > 0;) out.append(chunk, static_cast<std::size_t>(n));
    ::close(master);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    static const std::regex coloured(
        "\033\\[32m\\[I \\d{6} \\d\\d:\\d\\d:\\d\\d test_log:\\d+\\]\033\\[0m green\r\n"
        "\033\\[33m\\[W \\d{6} \\d\\d:\\d\\d:\\d\\d test_log:\\d+\\]\033\\[0m yellow\r\n");
    INFO(out);
    CHECK(std::regex_search(out, coloured));  // search: a sanitizer may add its own lines
}

TEST_CASE("size rotation names and fills files as Python's RotatingFileHandler") {
    temp_dir dir;
    std::vector<std::string> lines;
    for (int i = 0; i < 20; ++i) lines.push_back(fmt::format("line {:02} {}", i, std::string(static_cast<std::size_t>(i % 7) * 3, 'x')));
    {
        gale::detail::log_file file(dir.file("gale.log"), {.mode = gale::detail::log_rotation::size, .max_bytes = 100,
                                                           .backups = 3});
        for (auto& line : lines) file.write(line + "\n", 0);
    }
    CHECK(fs::exists(dir.path / "gale.log.3"));
    CHECK_FALSE(fs::exists(dir.path / "gale.log.4"));
    for (const char* name : {"gale.log", "gale.log.1", "gale.log.2", "gale.log.3"})
        CHECK(fs::file_size(dir.path / name) < 100);
    // The newest lines, oldest first, across gale.log.3 ... gale.log.
    std::string all = read_file(dir.path / "gale.log.3") + read_file(dir.path / "gale.log.2") +
                      read_file(dir.path / "gale.log.1") + read_file(dir.path / "gale.log");
    auto kept = lines_of(all);
    REQUIRE(!kept.empty());
    CHECK(kept.back() == lines.back());
    CHECK(std::equal(kept.begin(), kept.end(), lines.end() - static_cast<std::ptrdiff_t>(kept.size())));

    // Python writes the same four files.
    std::string script = dir.file("rotate.py");
    std::ofstream(script) << "import logging, logging.handlers, sys\n"
                             "h = logging.handlers.RotatingFileHandler(sys.argv[1], maxBytes=100, backupCount=3)\n"
                             "h.setFormatter(logging.Formatter('%(message)s'))\n"
                             "log = logging.getLogger('x'); log.addHandler(h); log.setLevel(logging.INFO)\n"
                             "for line in sys.stdin.read().splitlines(): log.info(line)\n";
    std::string input;
    for (auto& line : lines) input += line + "\n";
    std::ofstream(dir.file("input")) << input;
    gale_test::run_command("/usr/bin/python3 " + script + " " + dir.file("py.log") + " < " + dir.file("input"));
    for (const char* suffix : {"", ".1", ".2", ".3"})
        CHECK(read_file(dir.path / ("py.log" + std::string(suffix))) ==
              read_file(dir.path / ("gale.log" + std::string(suffix))));
    CHECK_FALSE(fs::exists(dir.path / "py.log.4"));

    // No rotation when there are no backups to keep (Python's rule).
    {
        gale::detail::log_file file(dir.file("one.log"), {.mode = gale::detail::log_rotation::size, .max_bytes = 10});
        for (auto& line : lines) file.write(line + "\n", 0);
    }
    CHECK(lines_of(read_file(dir.path / "one.log")).size() == lines.size());
    CHECK_FALSE(fs::exists(dir.path / "one.log.1"));

    // A file that cannot be reopened after a rollover loses lines, and throws nothing (the writer thread would end the program).
    {
        temp_dir gone;
        gale::detail::log_file file(gone.file("x.log"), {.mode = gale::detail::log_rotation::size, .max_bytes = 20,
                                                         .backups = 1});
        fs::remove_all(gone.path);
        CHECK_NOTHROW(for (auto& line : lines) file.write(line + "\n", 0));
        CHECK_NOTHROW(file.flush());
    }
}

TEST_CASE("time rotation: at midnight, per second, by weekday; dated backups, the newest kept") {
    use_utc();
    temp_dir dir;
    std::string path = dir.file("t.log");
    auto date = [](std::time_t t, const char* format) {
        std::tm local{};
        localtime_r(&t, &local);
        char text[64];
        std::strftime(text, sizeof text, format, &local);
        return std::string(text);
    };
    {
        gale::detail::log_file file(path, {.mode = gale::detail::log_rotation::time, .backups = 2});
        std::time_t midnight = file.rollover_at();
        CHECK(midnight % 86400 == 0);
        CHECK(midnight > std::time(nullptr));
        CHECK(midnight - std::time(nullptr) <= 86400);
        file.write("day 0\n", midnight - 1);
        file.write("day 1\n", midnight);
        file.flush();
        CHECK(read_file(path + "." + date(midnight - 86400, "%Y-%m-%d")) == "day 0\n");
        CHECK(read_file(path) == "day 1\n");
        CHECK(file.rollover_at() == midnight + 86400);
        file.write("day 2\n", midnight + 86400 + 5);
        file.write("day 5\n", midnight + 4 * 86400 + 5);
        file.flush();
        CHECK(file.rollover_at() == midnight + 5 * 86400);
        // Only the two newest dated backups are left.
        CHECK_FALSE(fs::exists(path + "." + date(midnight - 86400, "%Y-%m-%d")));
        CHECK(read_file(path + "." + date(midnight, "%Y-%m-%d")) == "day 1\n");
        CHECK(read_file(path + "." + date(midnight + 86400, "%Y-%m-%d")) == "day 2\n");
        CHECK(read_file(path) == "day 5\n");
    }
    {
        std::string seconds = dir.file("s.log");
        gale::detail::log_file file(seconds, {.mode = gale::detail::log_rotation::time, .backups = 5, .when = "S",
                                              .interval = 10});
        std::time_t at = file.rollover_at();
        CHECK(at - std::time(nullptr) <= 10);
        file.write("a\n", at - 1);
        file.write("b\n", at);
        file.flush();
        CHECK(read_file(seconds + "." + date(at - 10, "%Y-%m-%d_%H-%M-%S")) == "a\n");
        CHECK(file.rollover_at() == at + 10);
    }
    {
        gale::detail::log_file file(dir.file("w.log"), {.mode = gale::detail::log_rotation::time, .when = "W0"});
        std::time_t at = file.rollover_at();
        CHECK(at % 86400 == 0);
        std::tm local{};
        std::time_t last_second = at - 1;
        gmtime_r(&last_second, &local);
        CHECK(local.tm_wday == 1);  // the rollover ends a Monday, as Python's W0
        CHECK(at - std::time(nullptr) <= 7 * 86400);
    }
}

TEST_CASE("the log options: rotation by size through enable_pretty_logging") {
    restore_logging restore;
    temp_dir dir;
    std::string path = dir.file("app.log");
    gale::enable_pretty_logging({.log_file_prefix = path, .log_file_max_size = 300, .log_file_num_backups = 2});
    for (int i = 0; i < 40; ++i) gale::app_log.info("message number {}", i);
    gale::flush_logs();
    CHECK(fs::exists(path + ".1"));
    CHECK(fs::exists(path + ".2"));
    CHECK_FALSE(fs::exists(path + ".3"));
    CHECK(lines_of(read_file(path)).back().ends_with("] message number 39"));
    CHECK(fs::file_size(path) < 300);
}

TEST_CASE("a stuck stderr never blocks a log call: lines beyond the queue are dropped and counted") {
    restore_logging restore;
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    int saved = ::dup(2);
    ::dup2(fds[1], 2);
    ::close(fds[1]);
    gale::enable_pretty_logging();
    // Nobody reads the pipe (64 KiB), so the writer blocks while this logs 8 MiB.
    std::string filler(1000, 'x');
    const int total = 8000;
    for (int i = 0; i < total; ++i) gale::app_log.info("{} {}", i, filler);
    // Now read it all.
    std::string out;
    std::thread reader([&] {
        char chunk[65536];
        for (ssize_t n; (n = ::read(fds[0], chunk, sizeof chunk)) > 0;) out.append(chunk, static_cast<std::size_t>(n));
    });
    gale::flush_logs();
    gale::detail::log_writer::instance().configure(false, false, nullptr);
    ::dup2(saved, 2);  // the pipe's last write end goes: the reader sees its end
    ::close(saved);
    reader.join();
    ::close(fds[0]);

    auto lines = lines_of(out);
    std::size_t written = 0, dropped = 0;
    for (auto& line : lines) {
        if (line.ends_with(filler)) ++written;
        std::smatch m;
        static const std::regex report(R"(\[W \d{6} \d\d:\d\d:\d\d log:\d+\] (\d+) log lines were dropped: .*)");
        if (std::regex_match(line, m, report)) dropped += std::stoul(m[1]);
    }
    CHECK(dropped > 0);
    CHECK(written + dropped == total);
    CHECK(written < total);
}

TEST_CASE("no line is lost at a normal exit, nor written twice across fork") {
    temp_dir dir;
    std::string path = dir.file("exit.log");
    // The parent's writer exists and has written lines before the fork.
    {
        restore_logging restore;
        gale::enable_pretty_logging({.log_file_prefix = dir.file("parent.log")});
        gale::app_log.info("parent before fork");
        int status = in_child([&] {
            gale::enable_pretty_logging({.log_file_prefix = path});
            for (int i = 0; i < 5000; ++i) gale::app_log.info("child line {}", i);
            // exit(0) without flush_logs: the atexit drain writes the rest
        });
        CHECK(status == 0);
        gale::app_log.info("parent after fork");
        gale::flush_logs();
        auto parent = lines_of(read_file(dir.path / "parent.log"));
        REQUIRE(parent.size() == 2);
        CHECK(parent[0].ends_with("] parent before fork"));
        CHECK(parent[1].ends_with("] parent after fork"));
    }
    auto lines = lines_of(read_file(path));
    REQUIRE(lines.size() == 5000);
    CHECK(lines.front().ends_with("] child line 0"));
    CHECK(lines.back().ends_with("] child line 4999"));
}

TEST_CASE("the global parser's --logging options configure logging after parse_command_line") {
    temp_dir dir;
    std::string path = dir.file("opts.log");
    int status = in_child([&] {
        const char* argv[] = {"app", "--logging=warning", "--log_file_prefix=" , nullptr};
        std::string prefix = std::string("--log_file_prefix=") + path;
        argv[2] = prefix.c_str();
        gale::parse_command_line(3, argv);
        gale::app_log.info("hidden");
        gale::app_log.warning("shown");
    });
    CHECK(status == 0);
    auto lines = lines_of(read_file(path));
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].ends_with("] shown"));
}
