// tests for web.hpp's StaticFileHandler and static_url (the machinery in
// detail/static_files.hpp): a directory of files made at test time, served
// by a gale Application on 127.0.0.1 and by Python's Tornado 6.2
// (tests/tornado/static_server.py, the same application) side by side; the
// same requests go to both and the answers must agree: status, reason,
// headers (Date, Server and Connection left out, Expires checked apart as
// it moves with the clock, and the Allow header gale adds to a 405) and body. curl sends the paths gale's client
// would not send as they are (../, encoded dots).
#include <gale/web.hpp>

#include <gale/concurrent.hpp>
#include <gale/httpclient.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "python_support.hpp"
#include "support.hpp"


using namespace std::chrono_literals;
using gale::AsyncHTTPClient;
using gale::HTTPRequest;
using gale::HTTPResponse;
using gale::task;
using gale_test::log_capture;
using gale_test::run_async;
using gale_test::run_command;
using gale_test::temp_dir;
namespace fs = std::filesystem;
namespace sf = gale::detail::static_files;

namespace {

// Every file's modification time: Last-Modified is the same on both servers.
constexpr std::time_t file_mtime = 1700000000;  // Tue, 14 Nov 2023 22:13:20 GMT


void write_file(const fs::path& path, std::string_view content, std::time_t mtime = file_mtime) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary).write(content.data(), static_cast<std::streamsize>(content.size()));
    utimbuf times{mtime, mtime};
    ::utime(path.c_str(), &times);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Bytes no text pattern hides a misplaced chunk in.
std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 generator(seed);
    std::string out(n, '\0');
    for (char& c : out) c = static_cast<char>(generator() & 0xff);
    return out;
}

constexpr std::size_t big_size = 3 * 1024 * 1024 + 12345;  // not a multiple of 64 KiB

// The served tree: <dir>/static (the root) and <dir>/secret.txt beside it.
struct site {
    temp_dir dir;
    fs::path root = dir.path / "static";
    site() {
        write_file(root / "hello.txt", "Hello, static world\n");
        write_file(root / "index.html", "<p>root index</p>\n");
        write_file(root / "style.css", "body { color: red }\n");
        write_file(root / "app.js", "console.log(1);\n");
        write_file(root / "data.json", "{\"a\": 1}\n");
        write_file(root / "pixel.png", random_bytes(67, 1));
        write_file(root / "archive.tar.gz", random_bytes(100, 2));
        write_file(root / "notes.unknownext", "notes\n");
        write_file(root / "README", "no extension\n");
        write_file(root / "empty.txt", "");
        write_file(root / "favicon.ico", random_bytes(318, 3));
        write_file(root / "robots.txt", "User-agent: *\nDisallow:\n");
        write_file(root / "sub" / "index.html", "<p>sub index</p>\n");
        write_file(root / "sub" / "page.html", "<p>page</p>\n");
        write_file(root / "noindex" / "file.txt", "inside\n");
        write_file(root / "digits.txt", "0123456789abcdefghijklmnopqrstuvwxyz\n");
        write_file(root / "big.bin", random_bytes(big_size, 4));
        write_file(root / "space name.txt", "a name with a space\n");
        write_file(dir.path / "secret.txt", "outside the root\n");
        // A link inside the root to a file outside it: served, as Tornado
        // compares paths, not link targets.
        fs::create_symlink(dir.path / "secret.txt", root / "link.txt");
        write_file(dir.path / "static-other" / "x.txt", "a sibling whose name starts like the root\n");
    }
};

// tests/tornado/static_server.py serving root; it prints "port N".
struct tornado_server {
    explicit tornado_server(const fs::path& root, std::vector<std::string> extra = {})
        : process("static_server.py", with_root(root, std::move(extra))),
          port(static_cast<std::uint16_t>(std::stoi(process.read_line("port ").substr(5)))) {}
    static std::vector<std::string> with_root(const fs::path& root, std::vector<std::string> extra) {
        extra.insert(extra.begin(), root.string());
        return extra;
    }
    gale_test::python_process process;
    std::uint16_t port;
};

// The /url handler of static_server.py.
struct Url : gale::RequestHandler {
    task<void> get() {
        std::string path = get_argument("path");
        set_header("Content-Type", "text/plain");
        write(static_url(path) + "\n");
        write(static_url(path, true) + "\n");
        write(static_url(path, false, false) + "\n");
        co_return;
    }
};

// static_server.py's application, in gale.
std::unique_ptr<gale::Application> make_app(const fs::path& root, std::optional<bool> hash_cache = std::nullopt) {
    return std::make_unique<gale::Application>(
        std::vector<gale::URLSpec>{
            {"/plain/(.*)", gale::handler<gale::StaticFileHandler>(root.string())},
            {"/url", gale::handler<Url>()},
        },
        gale::Settings{.static_path = root.string(),
                       .static_handler_args = {.default_filename = "index.html"},
                       .static_hash_cache = hash_cache});
}

std::string url(std::uint16_t port, std::string_view path) {
    return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

task<HTTPResponse> fetch(AsyncHTTPClient& client, std::uint16_t port, std::string path, std::string method = "GET",
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
    HTTPRequest request(url(port, path), std::move(method));
    request.follow_redirects = false;
    request.decompress_response = false;
    request.allow_nonstandard_methods = true;
    for (auto& [name, value] : headers) request.headers.add(name, value);
    co_return co_await client.fetch(std::move(request), false);
}

task<HTTPResponse> fetch_range(AsyncHTTPClient& client, std::uint16_t port, std::string path, std::string range) {
    std::vector<std::pair<std::string, std::string>> headers;
    headers.emplace_back("Range", std::move(range));
    co_return co_await fetch(client, port, std::move(path), "GET", std::move(headers));
}

// "<code> <reason>\n", the headers but Date, Server and Connection
// ("Expires: *" for any Expires), "\n", the body.
std::string answer(const HTTPResponse& r) {
    std::string out = std::to_string(r.code) + " " + r.reason + "\n";
    for (const auto& f : r.headers.get_all()) {
        if (f.name == "Date" || f.name == "Server" || f.name == "Connection" || f.name == "Allow") continue;
        out += f.name + ": " + (f.name == "Expires" ? std::string("*") : f.value) + "\n";
    }
    return out + "\n" + r.body;
}

struct probe {
    std::string method;
    std::string path;
    std::vector<std::pair<std::string, std::string>> headers{};
};

std::string last_modified() { return gale::format_timestamp(file_mtime); }

// The requests both servers answer.
std::vector<probe> probes(const fs::path& root) {
    std::string etag = "\"" + sf::content_version((root / "hello.txt").string()) + "\"";
    return {
        // plain GET and HEAD, content types
        {"GET", "/static/hello.txt"},
        {"HEAD", "/static/hello.txt"},
        {"GET", "/static/style.css"},
        {"GET", "/static/app.js"},
        {"GET", "/static/data.json"},
        {"GET", "/static/pixel.png"},
        {"GET", "/static/archive.tar.gz"},
        {"GET", "/static/notes.unknownext"},
        {"GET", "/static/README"},
        {"GET", "/static/empty.txt"},
        {"HEAD", "/static/empty.txt"},
        {"GET", "/static/space%20name.txt"},
        {"GET", "/plain/hello.txt"},
        // versioned URLs: cached for ten years
        {"GET", "/static/hello.txt?v=123"},
        {"GET", "/static/hello.txt?v="},
        {"HEAD", "/static/hello.txt?v=1&w=2"},
        {"GET", "/static/hello.txt?w=2"},
        // favicon and robots
        {"GET", "/favicon.ico"},
        {"GET", "/robots.txt"},
        // 304: by Etag (which wins over the date), by date
        {"GET", "/static/hello.txt", {{"If-None-Match", "*"}}},
        {"GET", "/static/hello.txt", {{"If-None-Match", etag}}},
        {"GET", "/static/hello.txt", {{"If-None-Match", "W/" + etag}}},
        {"GET", "/static/hello.txt", {{"If-None-Match", "\"a\", " + etag}}},
        {"HEAD", "/static/hello.txt?v=2", {{"If-None-Match", etag}}},
        {"GET", "/static/digits.txt", {{"If-None-Match", etag}}},
        {"GET", "/static/hello.txt", {{"If-None-Match", "\"nope\""}, {"If-Modified-Since", last_modified()}}},
        {"GET", "/static/hello.txt", {{"If-Modified-Since", last_modified()}}},
        {"HEAD", "/static/hello.txt", {{"If-Modified-Since", last_modified()}}},
        {"GET", "/static/hello.txt", {{"If-Modified-Since", "Tue, 14 Nov 2023 22:13:19 GMT"}}},
        {"GET", "/static/hello.txt", {{"If-Modified-Since", "Wed, 15 Nov 2023 00:00:00 GMT"}}},
        {"GET", "/static/hello.txt", {{"If-Modified-Since", "Tuesday, 14-Nov-23 22:13:20 GMT"}}},
        {"GET", "/static/hello.txt", {{"If-Modified-Since", "Tue Nov 14 22:13:20 2023"}}},
        {"GET", "/static/hello.txt", {{"If-Modified-Since", "Tue, 14 Nov 2023 22:13:20 +0500"}}},
        {"GET", "/static/hello.txt", {{"If-Modified-Since", "14 Nov 2023 22:13:20"}}},
        {"GET", "/static/hello.txt", {{"If-Modified-Since", "yesterday"}}},
        {"GET", "/static/hello.txt", {{"If-Modified-Since", ""}}},
        {"GET", "/static/hello.txt?v=1", {{"If-Modified-Since", last_modified()}}},
        // ranges
        {"GET", "/static/digits.txt", {{"Range", "bytes=0-9"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=-10"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=10-"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=0-0"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=0-"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=0-36"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=5-1000"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=-1000"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=36-36"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=37-"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=1000-2000"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=5-2"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=-0"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes="}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=abc"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=0-1,4-5"}}},
        {"GET", "/static/digits.txt", {{"Range", "items=0-5"}}},
        {"GET", "/static/digits.txt", {{"Range", " bytes = 2 - 4 "}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=1_0-1_5"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=--3"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=+3-+5"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=99999999999999999999999-"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=-99999999999999999999999"}}},
        {"HEAD", "/static/digits.txt", {{"Range", "bytes=0-9"}}},
        {"GET", "/static/empty.txt", {{"Range", "bytes=0-"}}},
        {"GET", "/static/empty.txt", {{"Range", "bytes=-5"}}},
        {"GET", "/static/digits.txt", {{"Range", "bytes=0-9"}, {"If-None-Match", "*"}}},
        // directories, default_filename, errors
        {"GET", "/static/"},
        {"GET", "/static/sub"},
        {"HEAD", "/static/sub"},
        {"GET", "/static/sub?x=1"},
        {"GET", "/static/link.txt"},
        {"GET", "/static/sub/"},
        {"GET", "/static/sub/page.html"},
        {"GET", "/static/noindex/"},
        {"GET", "/static/noindex"},
        {"GET", "/plain/sub/"},
        {"GET", "/plain/sub"},
        {"GET", "/plain/"},
        {"GET", "/static/missing.txt"},
        {"GET", "/static/sub/missing/"},
        {"GET", "/static/hello.txt/"},
        {"GET", "/static/%00"},
        {"GET", "/static/./hello.txt"},
        {"GET", "/static/sub/../hello.txt"},
        {"GET", "/static/%2e%2e/secret.txt"},
        {"GET", "/static/..%2fsecret.txt"},
        {"GET", "/static/%2fetc%2fpasswd"},
        {"GET", "/static/..%2fstatic-other/x.txt"},
        {"POST", "/static/hello.txt"},
        // static_url
        {"GET", "/url?path=hello.txt"},
        {"GET", "/url?path=sub/page.html"},
        {"GET", "/url?path=missing.txt"},
    };
}

}  // namespace

// ================================================================== against Tornado

TEST_CASE("web_static: gale answers as Tornado 6.2's StaticFileHandler") {
    site s;
    tornado_server tornado(s.root);
    run_async([&]() -> task<void> {
        auto app = make_app(s.root);
        std::uint16_t port = app->listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        log_capture logs;
        for (const probe& p : probes(s.root)) {
            HTTPResponse mine = co_await fetch(client, port, p.path, p.method, p.headers);
            HTTPResponse theirs = co_await fetch(client, tornado.port, p.path, p.method, p.headers);
            std::string expected = answer(theirs);
            // The Host header differs (the port): static_url's include_host
            // line, and so the body's Etag.
            if (p.path.starts_with("/url")) {
                theirs.body = gale::detail::py_replace(theirs.body, std::to_string(tornado.port), std::to_string(port));
                CHECK(mine.body == theirs.body);
                CHECK(mine.code == 200);
                continue;
            }
            INFO(p.method << " " << p.path << (p.headers.empty() ? "" : " " + p.headers[0].first + ": " + p.headers[0].second));
            CHECK(answer(mine) == expected);
            CHECK(mine.headers.contains("Expires") == theirs.headers.contains("Expires"));
        }
        co_await app->close_all_connections();
    }, 60s);
}

TEST_CASE("web_static: paths curl sends as they are (../) are refused like Tornado refuses them") {
    if (!gale_test::have_curl()) FAIL("curl is required");
    site s;
    tornado_server tornado(s.root);
    run_async([&]() -> task<void> {
        auto app = make_app(s.root);
        std::uint16_t port = app->listen(0, "127.0.0.1");
        log_capture logs;
        for (std::string path : {"/static/../secret.txt", "/static/sub/../../secret.txt", "/static/%2e%2e/secret.txt",
                                 "/static/..%2F..%2Fsecret.txt", "/static//etc/passwd", "/static/../static-other/x.txt",
                                 "/static/sub/../hello.txt", "//static/sub", "/static/./sub/./page.html"}) {
            auto curl = [&](std::uint16_t p) {
                std::string command = "curl -s --path-as-is -i 'http://127.0.0.1:" + std::to_string(p) + path +
                                      "' | grep -iv '^\\(date\\|server\\):'";
                return gale::run_in_executor([command] { return run_command(command); });
            };
            std::string mine = co_await curl(port);
            std::string theirs = co_await curl(tornado.port);
            INFO(path);
            CHECK(mine == theirs);
            CHECK(!mine.empty());
        }
        CHECK(logs.matching("tornado.general 403 GET /static/../secret.txt (127.0.0.1): ../secret.txt is not in root "
                            "static directory")
                  .size() == 1);
        CHECK(logs.matching("tornado.general 403 GET /static//etc/passwd (127.0.0.1): /etc/passwd is not in root "
                            "static directory")
                  .size() == 1);
        co_await app->close_all_connections();
    }, 60s);
}

// ================================================================== the big file

TEST_CASE("web_static: a multi-megabyte file arrives whole, byte for byte, and in ranges") {
    site s;
    std::string big = read_file(s.root / "big.bin");
    REQUIRE(big.size() == big_size);
    run_async([&]() -> task<void> {
        auto app = make_app(s.root);
        std::uint16_t port = app->listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        HTTPResponse r = co_await fetch(client, port, "/static/big.bin");
        CHECK(r.code == 200);
        CHECK(r.headers.get("Content-Length") == std::to_string(big_size));
        CHECK(r.headers.get("Content-Type") == "application/octet-stream");
        CHECK(!r.headers.contains("Transfer-Encoding"));
        CHECK(r.body.size() == big.size());
        CHECK(r.body == big);

        // A range across several 64 KiB pieces, starting inside one.
        r = co_await fetch_range(client, port, "/static/big.bin", "bytes=65000-300000");
        CHECK(r.code == 206);
        CHECK(r.headers.get("Content-Range") == "bytes 65000-300000/" + std::to_string(big_size));
        CHECK(r.body == big.substr(65000, 235001));
        r = co_await fetch_range(client, port, "/static/big.bin", "bytes=-70000");
        CHECK(r.code == 206);
        CHECK(r.body == big.substr(big.size() - 70000));

        // curl, to a file, compared with cmp.
        if (gale_test::have_curl()) {
            fs::path copy = s.dir.path / "copy.bin";
            std::string command = "curl -s -o '" + copy.string() + "' -w '%{http_code}' " + url(port, "/static/big.bin") +
                                  " && cmp -s '" + copy.string() + "' '" + (s.root / "big.bin").string() +
                                  "' && echo ' same'";
            auto job = [command] { return run_command(command); };  // named: see GCC 12's trap in session notes
            std::string out = co_await gale::run_in_executor(job);
            CHECK(out == "200 same\n");
        }

        // A client that leaves in the middle (head closes the pipe, curl the
        // connection): the server stops sending and goes on serving.
        if (gale_test::have_curl()) {
            std::string command = "curl -s " + url(port, "/static/big.bin") + " | head -c 200000 | wc -c";
            auto job = [command] { return run_command(command); };  // named: see GCC 12's trap in session notes
            std::string out = co_await gale::run_in_executor(job);
            CHECK(out == "200000\n");
        }
        r = co_await fetch(client, port, "/static/hello.txt");
        CHECK(r.code == 200);
        CHECK(r.body == "Hello, static world\n");
        co_await app->close_all_connections();
    }, 60s);
}

TEST_CASE("web_static: with compress_response a big text file is gzipped whole, every piece through gzip") {
    site s;
    std::string text;
    for (int i = 0; text.size() < 3 * 64 * 1024 + 100; ++i) text += "line " + std::to_string(i) + " of a big text file\n";
    write_file(s.root / "big.txt", text);
    run_async([&]() -> task<void> {
        gale::Application app({}, {.static_path = s.root.string(), .compress_response = true});
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        HTTPRequest request(url(port, "/static/big.txt"));
        request.headers.add("Accept-Encoding", "gzip");
        request.decompress_response = false;
        HTTPResponse r = co_await client.fetch(request, false);
        CHECK(r.code == 200);
        CHECK(r.headers.get("Content-Encoding") == "gzip");
        CHECK(!r.headers.contains("Content-Length"));
        CHECK(r.body.size() < text.size() / 4);
        CHECK(gale::detail::gzip_decompress(r.body) == text);
        // Without gzip: the same bytes, sent with sendfile after the first piece.
        r = co_await fetch(client, port, "/static/big.txt");
        CHECK(r.headers.get("Content-Length") == std::to_string(text.size()));
        CHECK(r.body == text);
        co_await app.close_all_connections();
    }, 60s);
}

// ================================================================== versions and the hash cache

std::time_t parse_gmt(const std::string& text) {
    std::tm tm{};
    if (!::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return -1;
    return ::timegm(&tm);
}

TEST_CASE("web_static: a versioned URL may be cached for ten years (Expires is Date + 315360000 s)") {
    site s;
    run_async([&]() -> task<void> {
        auto app = make_app(s.root);
        std::uint16_t port = app->listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        HTTPResponse r = co_await fetch(client, port, "/static/hello.txt?v=1");
        CHECK(r.headers.get("Cache-Control") == "max-age=315360000");
        std::time_t date = parse_gmt(std::string(r.headers.get("Date").value_or("")));
        std::time_t expires = parse_gmt(std::string(r.headers.get("Expires").value_or("")));
        REQUIRE(date > 0);
        CHECK(expires - date >= 315360000);
        CHECK(expires - date <= 315360001);  // the Date header is formatted once a second
        r = co_await fetch(client, port, "/static/hello.txt");
        CHECK(!r.headers.contains("Expires"));
        CHECK(!r.headers.contains("Cache-Control"));
        co_await app->close_all_connections();
    });
}

TEST_CASE("web_static: static_url and Etag carry the file's SHA-512; the cache keeps it until reset") {
    site s;
    std::string hello = (s.root / "hello.txt").string();
    std::string sha512 = run_command("sha512sum '" + hello + "' | cut -d' ' -f1");
    REQUIRE(sha512.size() == 129);
    sha512.pop_back();
    CHECK(sf::content_version(hello) == sha512);
    run_async([&]() -> task<void> {
        auto app = make_app(s.root);
        std::uint16_t port = app->listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        HTTPResponse r = co_await fetch(client, port, "/url?path=hello.txt");
        CHECK(r.body == "/static/hello.txt?v=" + sha512 + "\nhttp://127.0.0.1:" + std::to_string(port) +
                            "/static/hello.txt?v=" + sha512 + "\n/static/hello.txt\n");
        r = co_await fetch(client, port, "/static/hello.txt");
        CHECK(r.headers.get("Etag") == "\"" + sha512 + "\"");

        // Changed on disk: the cached version stays (as in Tornado) until reset().
        write_file(s.root / "hello.txt", "Changed\n");
        r = co_await fetch(client, port, "/static/hello.txt");
        CHECK(r.headers.get("Etag") == "\"" + sha512 + "\"");
        CHECK(r.body == "Changed\n");
        gale::StaticFileHandler::reset();
        r = co_await fetch(client, port, "/static/hello.txt");
        CHECK(r.headers.get("Etag") == "\"" + sf::content_version(hello) + "\"");
        CHECK(r.headers.get("Etag") != "\"" + sha512 + "\"");
        co_await app->close_all_connections();

        // static_hash_cache = false: every request hashes the file again.
        auto uncached = make_app(s.root, false);
        port = uncached->listen(0, "127.0.0.1");
        write_file(s.root / "hello.txt", "Once\n");
        r = co_await fetch(client, port, "/url?path=hello.txt");
        std::string once = sf::content_version(hello);
        CHECK(r.body.starts_with("/static/hello.txt?v=" + once + "\n"));
        write_file(s.root / "hello.txt", "Twice\n");
        r = co_await fetch(client, port, "/static/hello.txt");
        CHECK(r.headers.get("Etag") == "\"" + sf::content_version(hello) + "\"");
        co_await uncached->close_all_connections();
    });
}

TEST_CASE("web_static: a file that cannot be read has no version; static_url needs static_path") {
    site s;
    run_async([&]() -> task<void> {
        auto app = make_app(s.root);
        std::uint16_t port = app->listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        log_capture logs;
        HTTPResponse r = co_await fetch(client, port, "/url?path=nothing-here.txt");
        CHECK(r.body.starts_with("/static/nothing-here.txt\n"));
        CHECK(logs.matching("tornado.general Could not open static file '" + (s.root / "nothing-here.txt").string() +
                            "'")
                  .size() == 1);
        co_await app->close_all_connections();

        gale::Application bare({{"/url", gale::handler<Url>()}});
        port = bare.listen(0, "127.0.0.1");
        r = co_await fetch(client, port, "/url?path=x");
        CHECK(r.code == 500);
        CHECK(logs.matching("You must define the 'static_path' setting in your application to use static_url").size() == 1);
        co_await bare.close_all_connections();
    });
}

// ================================================================== the pieces

TEST_CASE("web_static: content types by extension are Tornado's") {
    std::vector<std::string> names = {"a.html", "a.htm", "a.HTML", "a.css", "a.js", "a.mjs", "a.json", "a.txt",
                                      "a.TXT", "a.png", "a.jpg", "a.JPEG", "a.gif", "a.svg", "a.ico", "a.webp",
                                      "a.woff", "a.woff2", "a.ttf", "a.otf", "a.mp4", "a.webm", "a.mp3", "a.wasm",
                                      "a.pdf", "a.xml", "a.zip", "a.md", "a.csv", "a.gz", "a.tar.gz", "a.tgz",
                                      "a.TGZ", "a.svgz", "a.txt.gz", "a.txt.GZ", "a.bz2", "a.tar.bz2", "a.xz",
                                      "a.br", "a.Z", "a.z", "a.unknownext", "README", ".bashrc", "dir.d/file",
                                      "/x/..txt", "/x/a.", "a.tar", "a.wav", "a.avif", "a.webmanifest", "a.py",
                                      "/srv/static/app.min.js", "a.json.br", "a.css.map"};
    if (std::system("/usr/bin/python3 -c 'import tornado' 2>/dev/null") != 0) FAIL("python3-tornado is required");
    temp_dir dir;
    std::string list;
    for (const std::string& n : names) list += n + "\n";
    write_file(dir.path / "names", list);
    std::string output = run_command("/usr/bin/python3 '" + gale_test::tornado_script("static_types.py").string() + "' < '" +
                                     (dir.path / "names").string() + "'");
    std::size_t checked = 0;
    for (std::size_t i = 0; i < output.size();) {
        std::size_t eol = output.find('\n', i);
        std::string line = output.substr(i, eol - i);
        i = eol + 1;
        std::size_t tab = line.find('\t');
        INFO(line);
        CHECK(sf::content_type(line.substr(0, tab)) == line.substr(tab + 1));
        ++checked;
    }
    CHECK(checked == names.size());
}

TEST_CASE("web_static: paths are normalised as os.path.normpath does") {
    CHECK(sf::posix_normpath("") == ".");
    CHECK(sf::posix_normpath("/") == "/");
    CHECK(sf::posix_normpath("//") == "//");
    CHECK(sf::posix_normpath("///a//b/") == "/a/b");
    CHECK(sf::posix_normpath("//a/../b") == "//b");
    CHECK(sf::posix_normpath("/a/./b/../../..") == "/");
    CHECK(sf::posix_normpath("a/../../b") == "../b");
    CHECK(sf::posix_normpath("./.") == ".");
    CHECK(sf::posix_normpath("/srv/static/../static-other/x") == "/srv/static-other/x");
    CHECK(sf::posix_join("/srv", "/etc") == "/etc");
    CHECK(sf::posix_join("/srv/", "a") == "/srv/a");
    CHECK(sf::posix_join("/srv", "") == "/srv/");
    CHECK(sf::posix_abspath("x/../y") == (fs::current_path() / "y").string());
    CHECK(gale::detail::regex_escape("/static/") == "/static/");
    CHECK(gale::detail::regex_escape("/s.t-a+t(i)c ~/") == "/s\\.t\\-a\\+t\\(i\\)c\\ \\~/");
}

TEST_CASE("web_static: a custom static_url_prefix and an app without static_path") {
    site s;
    run_async([&]() -> task<void> {
        gale::Application app({{"/url", gale::handler<Url>()}},
                              {.static_path = s.root.string(), .static_url_prefix = "/assets.v1/"});
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        HTTPResponse r = co_await fetch(client, port, "/assets.v1/hello.txt");
        CHECK(r.code == 200);
        CHECK(r.body == "Hello, static world\n");
        r = co_await fetch(client, port, "/assetsXv1/hello.txt");  // the dot is escaped
        CHECK(r.code == 404);
        r = co_await fetch(client, port, "/static/hello.txt");
        CHECK(r.code == 404);
        r = co_await fetch(client, port, "/assets.v1/sub/");  // no default_filename
        CHECK(r.code == 403);
        r = co_await fetch(client, port, "/url?path=sub/page.html");
        CHECK(r.body.starts_with("/assets.v1/sub/page.html?v="));
        co_await app.close_all_connections();

        gale::Application bare;
        port = bare.listen(0, "127.0.0.1");
        r = co_await fetch(client, port, "/favicon.ico");
        CHECK(r.code == 404);
        co_await bare.close_all_connections();
    });
}
