// Definitions for tcpserver.hpp: accepting, and running each connection's
// handle_stream. Compiled in every translation unit in header-only mode, or
// once by <gale/src.hpp> with GALE_SEPARATE_COMPILATION; see detail/config.hpp.
#pragma once

#include "../tcpserver.hpp"

#include <chrono>
#include <stdexcept>
#include <system_error>

#include <asio/error.hpp>
#include <asio/steady_timer.hpp>

#include "../detail/logging.hpp"

namespace gale {

// One listening socket. Its pending accept holds it, so it lives until the
// accept completes after close() (or the loop drops the handler).
struct TCPServer::listener : std::enable_shared_from_this<listener> {
    // How long to wait before accepting again after an error such as
    // running out of file descriptors, instead of spinning on it.
    static constexpr std::chrono::milliseconds retry_delay{100};

    listener(asio::ip::tcp::acceptor a, TCPServer* s)
        : acceptor(std::move(a)), retry_timer(acceptor.get_executor()), server(s) {}

    void accept_next();
    void on_accept(std::error_code ec, asio::ip::tcp::socket socket);
    void close();

    asio::ip::tcp::acceptor acceptor;
    asio::ip::tcp::endpoint peer;  // filled in by each accept
    asio::steady_timer retry_timer;
    TCPServer* server;
};

GALE_DECL TCPServer::~TCPServer() {
    stop();
    *alive_ = nullptr;  // handshakes still running drop their connection
}

GALE_DECL std::uint16_t TCPServer::listen(std::uint16_t port, std::string_view address, int backlog,
                                          bool reuse_port, address_family family) {
    std::vector<asio::ip::tcp::acceptor> sockets = bind_sockets(port, address, backlog, reuse_port, family);
    std::uint16_t bound = sockets.front().local_endpoint().port();
    add_sockets(std::move(sockets));
    return bound;
}

GALE_DECL void TCPServer::add_sockets(std::vector<asio::ip::tcp::acceptor> sockets) {
    for (auto& socket : sockets) add_socket(std::move(socket));
}

GALE_DECL void TCPServer::add_socket(asio::ip::tcp::acceptor socket) {
    if (!socket.is_open()) throw std::invalid_argument("TCPServer::add_socket: the socket is not open");
    auto l = std::make_shared<listener>(std::move(socket), this);
    listeners_.push_back(l);
    l->accept_next();
}

GALE_DECL void TCPServer::stop() {
    for (auto& l : listeners_) l->close();
    listeners_.clear();
}

GALE_DECL std::vector<asio::ip::tcp::endpoint> TCPServer::listening_endpoints() const {
    std::vector<asio::ip::tcp::endpoint> endpoints;
    for (const auto& l : listeners_) {
        std::error_code ec;
        auto endpoint = l->acceptor.local_endpoint(ec);
        if (!ec) endpoints.push_back(endpoint);
    }
    return endpoints;
}

GALE_DECL void TCPServer::listener::accept_next() {
    acceptor.async_accept(peer, [self = shared_from_this()](std::error_code ec, asio::ip::tcp::socket socket) {
        self->on_accept(ec, std::move(socket));
    });
}

GALE_DECL void TCPServer::listener::on_accept(std::error_code ec, asio::ip::tcp::socket socket) {
    if (!server) return;  // stopped
    if (!ec) {
        try {
            server->serve(std::move(socket), peer);
        } catch (...) {  // out of memory, most likely; the next connection may fare better
            detail::log(detail::app_log, detail::log_level::error, "tcpserver", __LINE__,
                        "Error setting up connection: {}", detail::describe_current_exception());
        }
    } else if (ec != asio::error::connection_aborted) {  // a peer gone before accept is routine
        detail::log(detail::app_log, detail::log_level::error, "tcpserver", __LINE__,
                    "Error accepting connection: {}", ec.message());
        retry_timer.expires_after(retry_delay);
        retry_timer.async_wait([self = shared_from_this()](std::error_code wait_ec) {
            if (!wait_ec && self->server) self->accept_next();
        });
        return;
    }
    if (server) accept_next();  // handle_stream may have stopped the server
}

GALE_DECL void TCPServer::listener::close() {
    server = nullptr;
    std::error_code ignored;
    acceptor.close(ignored);
    retry_timer.cancel();
}

GALE_DECL void TCPServer::serve(asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& peer) {
    if (ssl_options_) {
        run_tls_connection(alive_, ssl_options_, std::move(socket), options_, detail::endpoint_text(peer));
        return;
    }
    run_connection(this, std::make_shared<IOStream>(std::move(socket), options_), detail::endpoint_text(peer));
}

GALE_DECL detail::detached TCPServer::run_tls_connection(std::shared_ptr<TCPServer*> alive,
                                                         std::shared_ptr<const ssl_handshaker> ssl,
                                                         asio::ip::tcp::socket socket, stream_options options,
                                                         std::string address) {
    std::shared_ptr<IOStream> stream;
    try {
        stream = co_await ssl->handshake(std::move(socket), true, std::string(), std::move(options));
    } catch (...) {
        detail::log(detail::gen_log, detail::log_level::debug, "tcpserver", __LINE__,
                    "SSL handshake with {} failed: {}", address, detail::describe_current_exception());
        co_return;
    }
    if (*alive) run_connection(*alive, std::move(stream), std::move(address));
}

GALE_DECL detail::detached TCPServer::run_connection(TCPServer* server, std::shared_ptr<IOStream> stream,
                                                     std::string address) {
    try {
        co_await server->handle_stream(std::move(stream), address);
    } catch (...) {
        detail::log(detail::app_log, detail::log_level::error, "tcpserver", __LINE__,
                    "Error in connection callback for {}: {}", address,
                    detail::describe_current_exception());
    }
}

}  // namespace gale
