// Tests for <gale/autoreload.hpp>: what a change is (snapshots of files and
// directories), and the real thing: examples/production run with --debug=1
// re-executes itself, same pid and arguments, when its program is replaced
// under it (by examples/hello: the new behaviour shows on the wire) or when
// a file under its template_path changes.
#include <gale/autoreload.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "support.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using asio::ip::tcp;

// examples/<name> of this build, or empty if the examples are not built.
fs::path example(const std::string& name) {
    fs::path path = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "examples" / name;
    return fs::exists(path) ? path : fs::path();
}

// A port nobody listens on now (the program must bind the same one again
// after re-executing itself, so port 0 will not do).
std::uint16_t free_port() {
    asio::io_context context;
    tcp::acceptor probe(context, {asio::ip::address_v4::loopback(), 0});
    return probe.local_endpoint().port();
}

// The body of GET path on a new connection, or "" if nobody answered.
std::string get(std::uint16_t port, const std::string& path = "/") {
    asio::io_context context;
    tcp::socket socket(context);
    std::error_code ec;
    socket.connect({asio::ip::address_v4::loopback(), port}, ec);
    if (ec) return "";
    std::string request = "GET " + path + " HTTP/1.0\r\n\r\n";
    asio::write(socket, asio::buffer(request), ec);
    std::string response;
    asio::read(socket, asio::dynamic_buffer(response), ec);
    std::size_t body = response.find("\r\n\r\n");
    return body == std::string::npos ? "" : response.substr(body + 4);
}

// The value of "name=" in production's answer.
std::string field(const std::string& body, const std::string& name) {
    std::size_t at = body.find(name + "=");
    if (at == std::string::npos) return "";
    at += name.size() + 1;
    return body.substr(at, body.find_first_of(" \n", at) - at);
}

// A program started with arguments, its output discarded, killed at the end.
struct running {
    pid_t pid = -1;
    explicit running(std::vector<std::string> argv) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        std::vector<char*> args;
        for (std::string& arg : argv) args.push_back(arg.data());
        args.push_back(nullptr);
        int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        REQUIRE(spawned == 0);
    }
    ~running() {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    bool alive() const { return ::waitpid(pid, nullptr, WNOHANG) == 0; }
};

// Asks until `done(body)` holds (bounded: about 20 s); the last body.
template <class Done>
std::string poll(std::uint16_t port, Done done) {
    std::string body;
    for (int i = 0; i < 400; ++i) {
        body = get(port);
        if (done(body)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return body;
}

struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string pattern = (fs::temp_directory_path() / "gale-autoreload-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~temp_dir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("autoreload snapshots see files added, rewritten, replaced and removed under a directory") {
    namespace detail = gale::autoreload::detail;
    temp_dir dir;
    write_file(dir.path / "a.html", "a");
    fs::create_directory(dir.path / "sub");
    write_file(dir.path / "sub" / "b.html", "b");
    detail::snapshot before;
    detail::add_path(before, dir.path);
    CHECK(before.size() == 2);

    detail::snapshot same;
    detail::add_path(same, dir.path);
    CHECK(same == before);
    CHECK(detail::first_difference(before, same).empty());

    write_file(dir.path / "sub" / "b.html", "longer");  // the size changes whatever the clock says
    detail::snapshot rewritten;
    detail::add_path(rewritten, dir.path);
    CHECK(detail::first_difference(before, rewritten) == (dir.path / "sub" / "b.html").string());

    write_file(dir.path / "c.tmp", "c");
    fs::rename(dir.path / "c.tmp", dir.path / "a.html");  // replaced: a new inode
    fs::remove(dir.path / "sub" / "b.html");
    detail::snapshot replaced;
    detail::add_path(replaced, dir.path);
    CHECK(replaced.size() == 1);
    CHECK(detail::first_difference(rewritten, replaced) == (dir.path / "a.html").string());
    detail::snapshot only_removed = rewritten;
    only_removed.erase((dir.path / "a.html").string());
    CHECK(detail::first_difference(only_removed, detail::snapshot{}) == (dir.path / "sub" / "b.html").string());
}

TEST_CASE("autoreload: a program replaced under a running debug process is executed in its place") {
    fs::path production = example("production"), hello = example("hello");
    if (production.empty() || hello.empty()) {
        MESSAGE("skipped: examples/production and examples/hello are not built (-Dexamples=false)");
        return;
    }
    temp_dir dir;
    fs::path app = dir.path / "app";
    fs::copy_file(production, app);
    std::uint16_t port = free_port();
    running server({app.string(), "--port=" + std::to_string(port), "--debug=1"});
    std::string first = poll(port, [](const std::string& body) { return !body.empty(); });
    REQUIRE(field(first, "pid") == std::to_string(server.pid));

    // Replaced the way a build or a deployment does it: a new file renamed
    // over the old one.
    fs::copy_file(hello, dir.path / "app.new");
    fs::rename(dir.path / "app.new", app);
    std::string after = poll(port, [](const std::string& body) { return body == "Hello, world"; });
    CHECK(after == "Hello, world");
    CHECK(server.alive());  // the same process, now running the new program
}

TEST_CASE("autoreload: a changed template re-executes the program with the same arguments") {
    fs::path production = example("production");
    if (production.empty()) {
        MESSAGE("skipped: examples/production is not built (-Dexamples=false)");
        return;
    }
    temp_dir dir;
    fs::create_directory(dir.path / "templates");
    write_file(dir.path / "templates" / "page.html", "<p>{{ one }}</p>");
    std::uint16_t port = free_port();
    running server({production.string(), "--port=" + std::to_string(port), "--debug=1",
                    "--template_path=" + (dir.path / "templates").string()});
    std::string first = poll(port, [](const std::string& body) { return !body.empty(); });
    std::string started = field(first, "started");
    REQUIRE_FALSE(started.empty());

    write_file(dir.path / "templates" / "page.html", "<p>{{ two }}</p>");
    std::string after = poll(port, [&](const std::string& body) {
        return !body.empty() && field(body, "started") != started;
    });
    CHECK(field(after, "started") != started);                  // a new image ...
    CHECK(field(after, "pid") == std::to_string(server.pid));   // ... in the same process
    CHECK(field(after, "port") == std::to_string(port));        // with the same arguments
    CHECK(server.alive());
}
