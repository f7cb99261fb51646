// Tests for <gale/process.hpp>: a real multi-process server
// (tests/fork_server.cpp) bound once and forked, talked to over HTTP; and
// Subprocess with real programs (sh, cat) on pipes.
#include <gale/process.hpp>

#include <gale/gen.hpp>
#include <gale/httpserver.hpp>
#include <gale/netutil.hpp>
#include <gale/web.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "process_support.hpp"
#include "support.hpp"


namespace {

using asio::ip::tcp;

// fork_server, built beside this test.
std::filesystem::path fork_server_path() {
    return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "fork_server";
}

using gale_test::run_async;

// One HTTP/1.0 request on a new connection; the body, or "" if the
// connection failed or was cut (a child exiting mid-request).
std::string get(std::uint16_t port, const std::string& path) { return process_test::http_get(port, path).body; }

struct fork_server {
    pid_t pid = -1;    // the parent, until it has been waited for
    pid_t group = -1;  // its process group
    std::uint16_t port = 0;
    FILE* from_server = nullptr;  // its standard output, kept open so that it may print more

    explicit fork_server(std::vector<std::string> args = {}) {
        int out[2];
        REQUIRE(::pipe(out) == 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        posix_spawnattr_t attributes;  // a process group of its own, to kill it whole
        posix_spawnattr_init(&attributes);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attributes, 0);
        std::string path = fork_server_path().string();
        std::vector<char*> argv{path.data()};
        for (std::string& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        int spawned = posix_spawn(&pid, path.c_str(), &actions, &attributes, argv.data(), environ);
        posix_spawnattr_destroy(&attributes);
        posix_spawn_file_actions_destroy(&actions);
        ::close(out[1]);
        REQUIRE(spawned == 0);
        from_server = ::fdopen(out[0], "r");
        char line[32] = {};
        REQUIRE(std::fgets(line, sizeof line, from_server) != nullptr);
        group = pid;
        port = static_cast<std::uint16_t>(std::atoi(line));
        REQUIRE(port != 0);
    }
    ~fork_server() {
        ::kill(-group, SIGKILL);  // the parent and its children, whatever is left
        if (pid > 0) ::waitpid(pid, nullptr, 0);
        std::fclose(from_server);
    }

    // The server's next line of output ("" at its end).
    std::string next_line() {
        char line[64] = {};
        return std::fgets(line, sizeof line, from_server) ? line : "";
    }

    // Waits (boundedly) for the parent to exit; its wait status, or -1.
    int parent_status() {
        int status = -1;
        for (int i = 0; i < 1000; ++i) {
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                pid = -1;
                return status;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return -1;
    }

    // Task id -> pid, from answers on new connections, until both children
    // have answered (or attempts run out).
    std::map<int, int> children(int wanted = 2, int attempts = 400) {
        std::map<int, int> seen;
        for (int i = 0; i < attempts && static_cast<int>(seen.size()) < wanted; ++i) {
            std::string body = get(port, "/");
            int id = -1, child = -1;
            if (std::sscanf(body.c_str(), "%d %d", &id, &child) == 2) seen[id] = child;
            else std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return seen;
    }
};

}  // namespace

TEST_CASE("task_id is empty outside fork_processes and cpu_count is positive") {
    CHECK_FALSE(gale::task_id().has_value());
    CHECK(gale::cpu_count() >= 1);
}

TEST_CASE("forked children share the listening socket and the parent restarts a crashed one") {
    REQUIRE(std::filesystem::exists(fork_server_path()));
    fork_server server;
    std::map<int, int> first = server.children();
    REQUIRE(first.size() == 2);
    CHECK(first.count(0) == 1);
    CHECK(first.count(1) == 1);
    CHECK(first[0] != first[1]);

    // A child that dies with an error comes back with the same task id and
    // a new pid; the other one keeps serving.
    get(server.port, "/crash");
    std::set<int> restarted;
    for (int i = 0; i < 100 && restarted.empty(); ++i) {
        for (auto [id, pid] : server.children())
            if (pid != first[id]) restarted.insert(id);
    }
    CHECK(restarted.size() == 1);
    std::map<int, int> now = server.children();
    CHECK(now.size() == 2);

    // Children that exit normally are not replaced, and the parent exits
    // with status 0 after the last one.
    int status = -1;
    for (int i = 0; i < 400; ++i) {
        get(server.port, "/exit");
        pid_t done = ::waitpid(server.pid, &status, WNOHANG);
        if (done == server.pid) {
            server.pid = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(server.pid == -1);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a child killed by a signal is restarted, and past max_restarts the parent gives up") {
    fork_server server({"1"});  // max_restarts = 1
    std::map<int, int> first = server.children();
    REQUIRE(first.size() == 2);

    get(server.port, "/kill");  // SIGKILL: restart 1 of 1
    std::set<int> restarted;
    for (int i = 0; i < 100 && restarted.empty(); ++i)
        for (auto [id, pid] : server.children())
            if (pid != first[id]) restarted.insert(id);
    CHECK(restarted.size() == 1);

    get(server.port, "/crash");  // restart 2 of 1: fork_processes throws in the parent
    int status = server.parent_status();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 5);  // fork_server's "Too many child restarts" exit
}

TEST_CASE("SIGTERM to the parent is passed on to the children, and the parent then exits 0") {
    fork_server server;
    std::map<int, int> children = server.children();
    REQUIRE(children.size() == 2);
    ::kill(server.pid, SIGTERM);  // the parent only, as supervisor does
    int status = server.parent_status();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    for (auto [id, pid] : children) CHECK(::kill(pid, 0) == -1);  // gone, and reaped
}

// ------------------------------------------------------------------ graceful shutdown

namespace {

// A keep-alive HTTP/1.1 connection with blocking reads that give up after
// 20 s (so that a server that never answers fails the test, not hangs it).
struct client_connection {
    asio::io_context context;
    tcp::socket socket{context};
    std::string received;

    explicit client_connection(std::uint16_t port) {
        socket.connect({asio::ip::address_v4::loopback(), port});
        timeval limit{20, 0};
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    }
    void send(const std::string& path) {
        std::string request = "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
        asio::write(socket, asio::buffer(request));
    }
    // Reads until `text` has arrived; false if the connection ended first.
    bool read_until(const std::string& text) {
        std::error_code ec;
        while (received.find(text) == std::string::npos && !ec) {
            char chunk[4096];
            std::size_t n = socket.read_some(asio::buffer(chunk), ec);
            received.append(chunk, n);
        }
        return received.find(text) != std::string::npos;
    }
    // Reads until the server closes the connection; true if it did (not a timeout).
    bool read_to_end() {
        std::error_code ec;
        while (!ec) {
            char chunk[4096];
            std::size_t n = socket.read_some(asio::buffer(chunk), ec);
            received.append(chunk, n);
        }
        return ec == asio::error::eof;
    }
};

}  // namespace

TEST_CASE("graceful shutdown: SIGTERM during slow requests; each gets its full response, then exit 0") {
    fork_server server({"graceful", "10000"});
    client_connection idle(server.port);  // keep-alive, one request answered, then idle
    idle.send("/");
    REQUIRE(idle.read_until("\r\n\r\nok"));
    std::vector<std::unique_ptr<client_connection>> slow;
    for (int i = 0; i < 3; ++i) {
        slow.push_back(std::make_unique<client_connection>(server.port));
        slow.back()->send("/slow?ms=800");
        REQUIRE(slow.back()->read_until("started\n"));  // in the handler now
    }
    ::kill(server.pid, SIGTERM);

    CHECK(idle.read_to_end());  // the idle connection is closed, nothing more sent
    CHECK(idle.received.ends_with("\r\n\r\nok"));
    for (auto& connection : slow) {
        CHECK(connection->read_to_end());  // closed after its response, not before
        CHECK(connection->received.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(connection->received.ends_with("\r\n\r\nstarted\ndone\n"));
    }
    CHECK(server.next_line() == "clean exit\n");  // start() returned, main went on
    int status = server.parent_status();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("graceful shutdown: a request still running after the grace period is cut, and the exit is still 0") {
    fork_server server({"graceful", "200"});
    client_connection connection(server.port);
    connection.send("/slow?ms=60000");
    REQUIRE(connection.read_until("started\n"));
    ::kill(server.pid, SIGTERM);
    CHECK(connection.read_to_end());
    CHECK(connection.received.ends_with("started\n"));  // "done" never came
    CHECK(server.next_line() == "clean exit\n");
    int status = server.parent_status();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("graceful shutdown in the threads mode: every thread's loop sees SIGTERM and finishes its requests") {
    fork_server server({"graceful-threads", "10000"});
    std::set<std::string> threads;  // until both threads are listening
    for (int i = 0; i < 400 && threads.size() < 2; ++i) {
        client_connection probe(server.port);
        probe.send("/");
        REQUIRE(probe.read_until("\r\n\r\nok "));
        threads.insert(probe.received.substr(probe.received.find("ok ") + 3));
    }
    REQUIRE(threads.size() == 2);
    std::vector<std::unique_ptr<client_connection>> slow;
    for (int i = 0; i < 4; ++i) {
        slow.push_back(std::make_unique<client_connection>(server.port));
        slow.back()->send("/slow?ms=600");
        REQUIRE(slow.back()->read_until("started\n"));
    }
    ::kill(server.pid, SIGTERM);
    for (auto& connection : slow) {
        CHECK(connection->read_to_end());
        CHECK(connection->received.ends_with("\r\n\r\nstarted\ndone\n"));
    }
    CHECK(server.next_line() == "clean exit\n");  // run_threads returned: both loops stopped
    int status = server.parent_status();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("Application::shutdown calls the shutdown callbacks first, then drains its servers") {
    std::vector<std::string> calls = run_async([]() -> gale::task<std::vector<std::string>> {
        gale::Application app(std::vector<gale::URLSpec>{});
        app.listen(0, "127.0.0.1");
        std::vector<std::string> seen;
        app.add_shutdown_callback([&seen] { seen.push_back("kept"); });
        auto removed = app.add_shutdown_callback([&seen] { seen.push_back("removed"); });
        app.remove_shutdown_callback(removed);
        co_await app.shutdown(std::chrono::seconds(5));
        CHECK(app.servers().front()->listening_endpoints().empty());  // no longer accepting
        co_return seen;
    });
    CHECK(calls == std::vector<std::string>{"kept"});
}

// ------------------------------------------------------------------ Subprocess

TEST_CASE("Subprocess: stdout as an IOStream, and the exit status") {
    auto [output, status] = run_async([]() -> gale::task<std::pair<std::string, int>> {
        gale::Subprocess proc({"echo", "hello", "world"}, {.out = gale::stdio::stream});
        CHECK(proc.pid() > 0);
        CHECK(proc.stdin_stream() == nullptr);
        CHECK(proc.stderr_stream() == nullptr);
        std::string out = co_await proc.stdout_stream()->read_until_close();
        int code = co_await proc.wait_for_exit();
        CHECK(proc.returncode() == 0);
        co_return std::pair{out, code};
    });
    CHECK(output == "hello world\n");
    CHECK(status == 0);
}

TEST_CASE("Subprocess: a megabyte through cat, written and read concurrently") {
    std::string sent;
    for (int i = 0; sent.size() < 1024 * 1024; ++i) sent += "line " + std::to_string(i) + "\n";
    std::string received = run_async([&sent]() -> gale::task<std::string> {
        gale::Subprocess proc({"cat"}, {.in = gale::stdio::stream, .out = gale::stdio::stream});
        auto feed = [](std::shared_ptr<gale::IOStream> in, const std::string& data) -> gale::task<void> {
            co_await in->write(data);  // more than a pipe holds: waits for cat to read
            in->close();
        };
        auto [fed, out] = co_await gale::gather(feed(proc.stdin_stream(), sent),
                                                proc.stdout_stream()->read_until_close());
        (void)fed;
        co_await proc.wait_for_exit();
        co_return out;
    });
    CHECK(received.size() == sent.size());
    CHECK(received == sent);
}

TEST_CASE("Subprocess: stderr on its own pipe, or merged into stdout") {
    auto [out, err, merged] = run_async([]() -> gale::task<std::tuple<std::string, std::string, std::string>> {
        const std::vector<std::string> script{"sh", "-c", "echo out; echo err >&2"};
        gale::Subprocess apart(script, {.out = gale::stdio::stream, .err = gale::stdio::stream});
        auto [o, e] = co_await gale::gather(apart.stdout_stream()->read_until_close(),
                                            apart.stderr_stream()->read_until_close());
        co_await apart.wait_for_exit();
        gale::Subprocess together(script, {.out = gale::stdio::stream, .err = gale::stdio::to_stdout});
        CHECK(together.stderr_stream() == nullptr);
        std::string m = co_await together.stdout_stream()->read_until_close();
        co_await together.wait_for_exit();
        co_return std::tuple{o, e, m};
    });
    CHECK(out == "out\n");
    CHECK(err == "err\n");
    CHECK(merged == "out\nerr\n");
}

TEST_CASE("Subprocess: cwd, env and /dev/null") {
    std::string out = run_async([]() -> gale::task<std::string> {
        gale::Subprocess proc({"/bin/sh", "-c", "pwd; echo \"$GALE_TEST\"; cat; echo done"},
                              {.in = gale::stdio::devnull, .out = gale::stdio::stream, .cwd = "/tmp",
                               .env = std::vector<std::string>{"GALE_TEST=from env"}});
        std::string text = co_await proc.stdout_stream()->read_until_close();
        co_await proc.wait_for_exit();
        co_return text;
    });
    CHECK(out == "/tmp\nfrom env\ndone\n");
}

TEST_CASE("Subprocess: wait_for_exit raises CalledProcessError, or returns the status when told not to") {
    run_async([]() -> gale::task<void> {
        gale::Subprocess failing({"sh", "-c", "exit 3"});
        gale::CalledProcessError error =
            co_await gale_test::thrown<gale::CalledProcessError>(failing.wait_for_exit());
        CHECK(error.returncode() == 3);
        CHECK(std::string(error.what()) == "Command 'sh -c exit 3' returned non-zero exit status 3.");
        CHECK(co_await failing.wait_for_exit(false) == 3);  // again, and after the exit
        CHECK(failing.returncode() == 3);
    });
}

TEST_CASE("Subprocess: a child killed by a signal has minus the signal as its returncode") {
    run_async([]() -> gale::task<void> {
        gale::Subprocess sleeper({"sleep", "60"});
        // Two waiters at once, and an exit callback.
        std::optional<int> called_with;
        sleeper.set_exit_callback([&called_with](int code) { called_with = code; });
        ::kill(sleeper.pid(), SIGTERM);
        auto [a, b] = co_await gale::gather(sleeper.wait_for_exit(false), sleeper.wait_for_exit(false));
        CHECK(a == -SIGTERM);
        CHECK(b == -SIGTERM);
        CHECK(called_with == -SIGTERM);
        gale::CalledProcessError error =
            co_await gale_test::thrown<gale::CalledProcessError>(sleeper.wait_for_exit());
        CHECK(std::string(error.what()) == "Command 'sleep 60' died with signal 15.");

        // A callback set after the exit still runs, on a later turn.
        std::optional<int> late;
        sleeper.set_exit_callback([&late](int code) { late = code; });
        CHECK_FALSE(late.has_value());
        co_await gale::sleep(std::chrono::milliseconds(1));
        CHECK(late == -SIGTERM);
    });
}

TEST_CASE("Subprocess: the loop runs while a child lives (the child waits for this side)") {
    std::string answer = run_async([]() -> gale::task<std::string> {
        gale::Subprocess proc({"sh", "-c", "read line; echo \"got $line\""},
                              {.in = gale::stdio::stream, .out = gale::stdio::stream});
        // The child exits only after another coroutine of this loop writes.
        auto later = [](std::shared_ptr<gale::IOStream> in) -> gale::task<void> {
            co_await gale::sleep(std::chrono::milliseconds(20));
            co_await in->write("ping\n");
        };
        auto [status, wrote] = co_await gale::gather(proc.wait_for_exit(), later(proc.stdin_stream()));
        (void)wrote;
        CHECK(status == 0);
        co_return co_await proc.stdout_stream()->read_until_close();
    });
    CHECK(answer == "got ping\n");
}

TEST_CASE("Subprocess: writing to a child that stopped reading fails with StreamClosedError, not SIGPIPE") {
    bool refused = run_async([]() -> gale::task<bool> {
        gale::Subprocess proc({"true"}, {.in = gale::stdio::stream});
        co_await proc.wait_for_exit();
        co_return co_await gale_test::throws<gale::StreamClosedError>(
            proc.stdin_stream()->write(std::string(256 * 1024, 'x')));
    });
    CHECK(refused);
}

TEST_CASE("Subprocess: a program that cannot be run throws at once") {
    run_async([]() -> gale::task<void> {
        CHECK_THROWS_AS(gale::Subprocess({"/nonexistent/gale-program"}), std::system_error);
        CHECK_THROWS_AS(gale::Subprocess({}), std::invalid_argument);
        co_return;
    });
}

TEST_CASE("Subprocess: a child is reaped even after its Subprocess is gone") {
    pid_t pid = run_async([]() -> gale::task<pid_t> {
        std::shared_ptr<gale::IOStream> in;
        pid_t child = -1;
        {
            gale::Subprocess proc({"cat"}, {.in = gale::stdio::stream});
            in = proc.stdin_stream();
            child = proc.pid();
        }
        in->close();  // cat exits now
        // A zombie still answers kill(pid, 0); a reaped child does not.
        for (int i = 0; i < 500 && ::kill(child, 0) == 0; ++i) co_await gale::sleep(std::chrono::milliseconds(10));
        co_return child;
    });
    CHECK(::kill(pid, 0) == -1);
    CHECK(errno == ESRCH);
}

TEST_CASE("Subprocess: loops on two threads each get their own children's exits") {
    auto run_one = [](int code, int& result) {
        result = run_async([code]() -> gale::task<int> {
            gale::Subprocess proc({"sh", "-c", "sleep 0.05; exit " + std::to_string(code)});
            co_return co_await proc.wait_for_exit(false);
        });
    };
    int first = -1, second = -1;
    std::thread a(run_one, 4, std::ref(first));
    std::thread b(run_one, 6, std::ref(second));
    a.join();
    b.join();
    CHECK(first == 4);
    CHECK(second == 6);
}

TEST_CASE("Subprocess: the child does not inherit this process's sockets") {
    std::string answer = run_async([]() -> gale::task<std::string> {
        auto sockets = gale::bind_sockets(0, "127.0.0.1");
        int fd = sockets.front().native_handle();
        gale::Subprocess proc({"sh", "-c", "test -e /proc/$$/fd/" + std::to_string(fd) + " && echo open || echo closed"},
                              {.out = gale::stdio::stream});
        std::string text = co_await proc.stdout_stream()->read_until_close();
        co_await proc.wait_for_exit();
        co_return text;
    });
    CHECK(answer == "closed\n");
}

// ------------------------------------------------------------------ threads mode

TEST_CASE("run_threads: each thread's loop listens on the same port with SO_REUSEPORT, and requests reach several") {
    constexpr int threads = 3;
    std::promise<std::uint16_t> port_promise;
    std::shared_future<std::uint16_t> port = port_promise.get_future().share();
    std::thread serving([&] {
        gale::run_threads(threads, [&](int id) {
            gale::HTTPServer server([](gale::HTTPServerRequest& request) -> gale::task<void> {
                std::string body = std::to_string(*gale::task_id());
                gale::HTTPHeaders headers;
                headers.add("Content-Length", std::to_string(body.size()));
                request.connection->write_headers(gale::ResponseStartLine{"HTTP/1.1", 200, "OK"}, headers, body);
                co_await request.connection->finish();
            });
            // Thread 0 picks the port; the others bind the same one.
            if (id == 0) port_promise.set_value(server.listen(0, "127.0.0.1", gale::default_backlog, true));
            else server.listen(port.get(), "127.0.0.1", gale::default_backlog, true);
            gale::IOLoop::current().start();
        });
    });
    // The kernel spreads new connections over the sockets bound so far
    // (by a hash of the client's address and port): keep asking until each
    // thread has answered.
    std::set<std::string> seen;
    for (int i = 0; i < 600 && static_cast<int>(seen.size()) < threads; ++i) {
        std::string body = get(port.get(), "/");
        if (!body.empty()) seen.insert(body);
    }
    gale::stop_threads();
    serving.join();
    CHECK(seen.size() == static_cast<std::size_t>(threads));
    CHECK(seen == std::set<std::string>{"0", "1", "2"});
    CHECK_FALSE(gale::task_id().has_value());  // only run_threads' threads have one
}

TEST_CASE("run_threads: an exception in one thread stops the others and reaches the caller") {
    std::atomic<int> started{0};
    auto run = [&] {
        gale::run_threads(2, [&](int id) {
            ++started;
            if (id == 1) throw std::runtime_error("thread 1 failed");
            gale::IOLoop::current().start();  // returns once thread 1 has failed
        });
    };
    CHECK_THROWS_WITH_AS(run(), "thread 1 failed", std::runtime_error);
    CHECK(started == 2);
}
