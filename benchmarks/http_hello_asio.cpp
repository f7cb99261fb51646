// The floor for the HTTP benchmarks: a minimal raw-Asio coroutine server
// that answers every read with the same fixed bytes gale's hello world
// sends (benchmarks/run_http.sh; the numbers are in benchmarks/README.md).
//
//   http_hello_asio [--port N] [--address A] [--json]
//
// Same command line and output as http_hello_gale: "port N" on stdout once
// listening, "requests N" on stderr after SIGTERM or SIGINT.
//
// It parses nothing: each connection is one asio::awaitable that loops on
// async_read_some into a 1 KiB buffer in its frame (the size of Asio's own
// echo examples) and async_write of the fixed response. That is only
// correct for clients that send one small request and wait for its answer,
// as wrk does, and it is the limit an HTTP server on Asio coroutines can
// approach. --json answers gale's --json bytes instead (a fixed
// {"message": "Hello, World!"}, encoded once). It sets TCP_NODELAY as gale's server does, and runs on an
// io_context(1), as gale's IOLoop does.
#include <array>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace {

using asio::ip::tcp;

constexpr std::string_view response =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "Hello, World!";

constexpr std::string_view json_response =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json; charset=UTF-8\r\n"
    "Content-Length: 28\r\n"
    "\r\n"
    "{\"message\": \"Hello, World!\"}";

std::uint64_t requests = 0;

asio::awaitable<void> session(tcp::socket socket, std::string_view answer) {
    std::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    std::array<char, 1024> buffer;
    for (;;) {
        co_await socket.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        co_await asio::async_write(socket, asio::buffer(answer), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        ++requests;
    }
}

asio::awaitable<void> listener(tcp::acceptor acceptor, std::string_view answer) {
    for (;;) {
        std::error_code ec;
        tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) continue;
        asio::co_spawn(acceptor.get_executor(), session(std::move(socket), answer), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::uint16_t port = 0;
    std::string address = "127.0.0.1";
    std::string_view answer = response;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--port" && i + 1 < argc) {
            port = static_cast<std::uint16_t>(std::strtoul(argv[++i], nullptr, 10));
        } else if (arg == "--address" && i + 1 < argc) {
            address = argv[++i];
        } else if (arg == "--json") {
            answer = json_response;
        } else {
            std::fprintf(stderr, "usage: %s [--port N] [--address A] [--json]\n", argv[0]);
            return 2;
        }
    }

    asio::io_context context(1);
    tcp::endpoint endpoint(asio::ip::make_address(address), port);
    tcp::acceptor acceptor(context, endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(128);  // gale's default backlog (and Tornado's)
    port = acceptor.local_endpoint().port();
    asio::co_spawn(context, listener(std::move(acceptor), answer), asio::detached);

    asio::signal_set signals(context, SIGTERM, SIGINT);
    signals.async_wait([&context](std::error_code, int) { context.stop(); });

    std::printf("port %u\n", static_cast<unsigned>(port));
    std::fflush(stdout);
    context.run();

    std::fprintf(stderr, "requests %llu\n", static_cast<unsigned long long>(requests));
    std::fflush(stderr);
    std::_Exit(0);
}
