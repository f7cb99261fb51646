// Tests for <gale/tcpserver.hpp>: real servers on 127.0.0.1 (and ::1) with
// ephemeral ports, real clients, and curl against the example server.
#include <gale/tcpserver.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include <asio/ip/tcp.hpp>

#include <gale/concurrent.hpp>
#include <gale/gen.hpp>
#include <gale/use_task.hpp>

#include "net_support.hpp"
#include "support.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;
using gale::IOStream;
using gale::StreamClosedError;
using gale_test::run_async;
using gale_test::have_curl;
using gale_test::run_command;
using gale_test::live_count;
using gale_test::has_ipv6_loopback;

// Waits until every handle_stream coroutine counted by `live` has ended.
gale::task<void> drained(const live_count& live) {
    while (live.running > 0) co_await gale::sleep(1ms);
}

// Echoes lines back; remembers the peer addresses it was given.
struct EchoServer : gale::TCPServer {
    using gale::TCPServer::TCPServer;
    live_count live;
    std::vector<std::string> addresses;
    std::vector<std::size_t> buffer_limits;

    gale::task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string address) override {
        live_count::scope counted(live);
        addresses.push_back(address);
        buffer_limits.push_back(stream->options().max_buffer_size);
        try {
            for (;;) co_await stream->write(co_await stream->read_until("\n"));
        } catch (const StreamClosedError&) {
        }
    }
};

gale::task<std::shared_ptr<IOStream>> dial(std::uint16_t port,
                                           asio::ip::address address = asio::ip::address_v4::loopback()) {
    tcp::socket socket(gale::IOLoop::current().context());
    co_await socket.async_connect({address, port}, gale::use_task);
    co_return std::make_shared<IOStream>(std::move(socket));
}

gale::task<std::string> echo_once(std::uint16_t port, std::string line) {
    auto stream = co_await dial(port);
    co_await stream->write(line);
    std::string reply = co_await stream->read_until("\n");
    stream->close();
    co_return reply;
}

// Log records written while a test runs.
struct captured_log {
    static inline std::mutex mutex;
    static inline std::vector<std::string> lines;
    gale::detail::log_handler previous;

    captured_log() : previous(gale::detail::logging_config().handler.exchange(&capture)) {
        std::lock_guard lock(mutex);
        lines.clear();
    }
    captured_log(const captured_log&) = delete;
    captured_log& operator=(const captured_log&) = delete;
    ~captured_log() { gale::detail::logging_config().handler.store(previous); }

    static void capture(const gale::detail::log_record& r) {
        std::lock_guard lock(mutex);
        lines.push_back(fmt::format("{} {} {}", r.logger, static_cast<int>(r.level), r.message));
    }
};

std::uint16_t free_port() {
    asio::io_context context;
    tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    return acceptor.local_endpoint().port();
}

// The smallest HTTP server, as examples/hello_iostream.cpp has it, run in
// process so the test can count its connections.
struct HelloServer : gale::TCPServer {
    live_count live;

    gale::task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string) override {
        live_count::scope counted(live);
        try {
            for (;;) {
                co_await stream->read_until("\r\n\r\n", 65536);
                co_await stream->write("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nHello, world");
            }
        } catch (const StreamClosedError&) {
        }
    }
};

}  // namespace

TEST_CASE("an echo server round trip; handle_stream gets the peer as ip:port") {
    run_async([]() -> gale::task<void> {
        EchoServer server;
        std::uint16_t port = server.listen(0, "127.0.0.1");
        CHECK(port != 0);
        auto stream = co_await dial(port);
        co_await stream->write("hello\n");
        CHECK(co_await stream->read_until("\n") == "hello\n");
        co_await stream->write("two\nlines\n");
        CHECK(co_await stream->read_until("\n") == "two\n");
        CHECK(co_await stream->read_until("\n") == "lines\n");
        REQUIRE(server.addresses.size() == 1);
        CHECK(server.addresses[0] == "127.0.0.1:" + std::to_string(stream->socket().local_endpoint().port()));
        CHECK(server.buffer_limits[0] == 104857600);  // Tornado's default max_buffer_size
        stream->close();
        co_await drained(server.live);
    });
}

TEST_CASE("an exception escaping handle_stream is logged; the server keeps serving") {
    struct FlakyServer : gale::TCPServer {
        live_count live;
        gale::task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string) override {
            live_count::scope counted(live);
            std::string line = co_await stream->read_until("\n");
            if (line == "boom\n") throw std::runtime_error("handler exploded");
            co_await stream->write("fine\n");
        }
    };
    captured_log log;
    run_async([]() -> gale::task<void> {
        FlakyServer server;
        std::uint16_t port = server.listen(0, "127.0.0.1");
        auto doomed = co_await dial(port);
        co_await doomed->write("boom\n");
        CHECK(co_await doomed->read_until_close() == "");  // the connection is dropped
        CHECK(co_await echo_once(port, "hi\n") == "fine\n");
        CHECK(co_await echo_once(port, "again\n") == "fine\n");
        co_await drained(server.live);
    });
    std::lock_guard lock(captured_log::mutex);
    REQUIRE(captured_log::lines.size() == 1);
    const std::string& line = captured_log::lines[0];
    CHECK(line.rfind("tornado.application 40 Error in connection callback for 127.0.0.1:", 0) == 0);
    CHECK(line.find("handler exploded") != std::string::npos);
}

TEST_CASE("200 concurrent clients") {
    run_async([]() -> gale::task<void> {
        EchoServer server;
        std::uint16_t port = server.listen(0, "127.0.0.1", 256);
        std::vector<gale::task<std::string>> clients;
        for (int i = 0; i < 200; ++i) clients.push_back(echo_once(port, "client " + std::to_string(i) + "\n"));
        std::vector<std::string> replies = co_await gale::gather(std::move(clients));
        REQUIRE(replies.size() == 200);
        for (int i = 0; i < 200; ++i) CHECK(replies[i] == "client " + std::to_string(i) + "\n");
        co_await drained(server.live);
        CHECK(server.live.total == 200);
    });
}

TEST_CASE("stop() closes the listeners; accepted connections carry on") {
    run_async([]() -> gale::task<void> {
        EchoServer server;
        std::uint16_t port = server.listen(0, "127.0.0.1");
        REQUIRE(server.listening_endpoints().size() == 1);
        CHECK(server.listening_endpoints()[0] == tcp::endpoint(asio::ip::address_v4::loopback(), port));
        auto stream = co_await dial(port);
        co_await stream->write("before\n");
        CHECK(co_await stream->read_until("\n") == "before\n");

        server.stop();
        CHECK(server.listening_endpoints().empty());
        tcp::socket refused(gale::IOLoop::current().context());
        std::error_code ec = co_await refused.async_connect({asio::ip::address_v4::loopback(), port}, gale::use_task_nothrow);
        CHECK(ec == asio::error::connection_refused);

        co_await stream->write("after\n");
        CHECK(co_await stream->read_until("\n") == "after\n");
        stream->close();
        co_await drained(server.live);
    });
}

TEST_CASE("listen with no address serves IPv4 and IPv6 on one port") {
    run_async([]() -> gale::task<void> {
        EchoServer server;
        std::uint16_t port = server.listen(0);
        CHECK(co_await echo_once(port, "v4\n") == "v4\n");
        if (has_ipv6_loopback()) {
            CHECK(server.listening_endpoints().size() == 2);
            auto stream = co_await dial(port, asio::ip::address_v6::loopback());
            co_await stream->write("v6\n");
            CHECK(co_await stream->read_until("\n") == "v6\n");
            CHECK(server.addresses.back() ==
                  "[::1]:" + std::to_string(stream->socket().local_endpoint().port()));
            stream->close();
        }
        co_await drained(server.live);
    });
}

TEST_CASE("add_sockets takes bind_sockets' result; stream options reach every connection") {
    run_async([]() -> gale::task<void> {
        gale::stream_options options;
        options.max_buffer_size = 64;
        EchoServer server(options);
        std::vector<tcp::acceptor> sockets = gale::bind_sockets(0, "127.0.0.1");
        std::uint16_t port = sockets[0].local_endpoint().port();
        server.add_sockets(std::move(sockets));
        CHECK(co_await echo_once(port, "short\n") == "short\n");

        // A line longer than the limit closes that connection.
        auto stream = co_await dial(port);
        co_await stream->write(std::string(200, 'x') + "\n");
        CHECK(co_await stream->read_until_close() == "");
        co_await drained(server.live);
        CHECK(server.buffer_limits == std::vector<std::size_t>{64, 64});

        CHECK_THROWS_AS(server.add_socket(tcp::acceptor(gale::IOLoop::current().context())), std::invalid_argument);
    });
}

TEST_CASE("curl gets Hello, world, twice over one keep-alive connection") {
    if (!have_curl()) {
        MESSAGE("curl not found; skipped");
        return;
    }
    run_async([]() -> gale::task<void> {
        HelloServer server;
        std::uint16_t port = server.listen(0, "127.0.0.1");
        std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
        std::string output = co_await gale::run_in_executor(
            [&] { return run_command("curl -s -i --max-time 10 " + url + " " + url); });
        CHECK(output.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(output.find("Content-Length: 12\r\n") != std::string::npos);
        CHECK(output.size() > 24);
        CHECK(output.substr(output.size() - 12) == "Hello, world");
        CHECK(output.find("Hello, world") < output.size() - 12);  // both answers arrived
        co_await drained(server.live);
        CHECK(server.live.total == 1);  // curl reused the connection
    });
}

TEST_CASE("the hello_iostream example answers curl") {
    std::filesystem::path example;
    std::error_code ec;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) example = self.parent_path().parent_path() / "examples" / "hello_iostream";
    if (!have_curl() || example.empty() || !std::filesystem::exists(example)) {
        MESSAGE("curl or the built example not found; skipped");
        return;
    }
    std::string port = std::to_string(free_port());
    int out[2];
    REQUIRE(::pipe(out) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::string path = example.string();
    char* argv[] = {path.data(), port.data(), nullptr};
    pid_t pid = 0;
    int spawned = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    REQUIRE(spawned == 0);

    FILE* from_example = ::fdopen(out[0], "r");
    char line[256] = {};
    bool announced = std::fgets(line, sizeof line, from_example) != nullptr;
    CHECK(announced);
    CHECK(std::string(line).find("127.0.0.1:" + port) != std::string::npos);
    std::string output = run_command("curl -s --max-time 10 http://127.0.0.1:" + port + "/");
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    std::fclose(from_example);
    CHECK(output == "Hello, world");
}
