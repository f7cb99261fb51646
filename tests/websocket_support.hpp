// Helpers shared by the WebSocket suites (test_websocket, test_websocket_deflate).
//
//   std::string out = gale_test::run_python_client([] { return make_app(); }, script);   // "@WS@" = ws://127.0.0.1:N
//   auto stream = co_await gale_test::dial(port);                  // a raw TCP connection to 127.0.0.1:port
//   gale_test::raw_ws_server server;                               // the test plays a WebSocket server:
//   auto stream = co_await server.accept(extra_headers);           //   one connection, its 101 answered
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <asio/ip/tcp.hpp>

#include <gale/concurrent.hpp>
#include <gale/use_task.hpp>
#include <gale/websocket.hpp>

#include "support.hpp"

namespace gale_test {

// Runs `/usr/bin/python3 -c script` against the Application make_app() returns, listening on 127.0.0.1
// (an ephemeral port); "@WS@" in the script stands for ws://127.0.0.1:<port>. Returns stdout and stderr.
template <class MakeApp>
std::string run_python_client(MakeApp make_app, std::string script) {
    return run_async([&]() -> gale::task<std::string> {
        gale::Application app = make_app();
        std::uint16_t port = app.listen(0, "127.0.0.1");
        std::string base = "ws://127.0.0.1:" + std::to_string(port);
        for (std::size_t at; (at = script.find("@WS@")) != std::string::npos;) script.replace(at, 4, base);
        std::string result = co_await gale::run_in_executor(
            [&] { return run_command("/usr/bin/python3 -c '" + script + "' 2>&1"); });
        co_await app.close_all_connections();
        co_return result;
    });
}

inline gale::task<std::shared_ptr<gale::IOStream>> dial(std::uint16_t port) {
    asio::ip::tcp::socket socket(gale::IOLoop::current().context());
    co_await socket.async_connect({asio::ip::address_v4::loopback(), port}, gale::use_task);
    co_return std::make_shared<gale::IOStream>(std::move(socket));
}

// A listener for one WebSocket client connection, on the current loop: the test plays the server.
struct raw_ws_server {
    asio::ip::tcp::acceptor acceptor{gale::IOLoop::current().context(), {asio::ip::address_v4::loopback(), 0}};

    std::string url() const { return "ws://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/"; }

    // Accepts the connection and answers its handshake with a 101 and extra_headers ("Name: value\r\n"...).
    gale::task<std::shared_ptr<gale::IOStream>> accept(std::string extra_headers = {}) {
        asio::ip::tcp::socket socket = co_await acceptor.async_accept(gale::use_task);
        auto stream = std::make_shared<gale::IOStream>(std::move(socket));
        std::string request = co_await stream->read_until("\r\n\r\n");
        std::size_t at = request.find("Sec-WebSocket-Key: ") + 19;
        std::string key = request.substr(at, request.find("\r\n", at) - at);
        co_await stream->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Accept: " + gale::detail::ws::accept_value(key) + "\r\n" +
                               extra_headers + "\r\n");
        co_return stream;
    }
};

}  // namespace gale_test
