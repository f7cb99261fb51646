// Tests for <gale/autoreload.hpp>: what a change is (snapshots of files and
// directories), and the real thing: examples/production run with --debug=1
// re-executes itself, same pid and arguments, when its program is replaced
// under it (by examples/hello: the new behaviour shows on the wire) or when
// a file under its template_path changes.
#include <gale/autoreload.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "process_support.hpp"
#include "support.hpp"

namespace {

using namespace process_test;

// Asks until `done(body)` holds (bounded: about 20 s); the last body.
template <class Done>
std::string poll(std::uint16_t port, Done done) {
    std::string body;
    for (int i = 0; i < 400; ++i) {
        body = http_get(port, "/").body;
        if (done(body)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return body;
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
    running server({app.string(), "--port=" + std::to_string(port), "--debug=1"}, dir.path / "app.log");
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
