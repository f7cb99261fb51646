// Tornado's tornado.tcpserver for C++: a server that hands each TCP
// connection to a coroutine.
//
//   struct EchoServer : gale::TCPServer {
//       gale::task<void> handle_stream(std::shared_ptr<gale::IOStream> stream,
//                                      std::string address) override {
//           try {
//               for (;;) co_await stream->write(co_await stream->read_until("\n"));
//           } catch (const gale::StreamClosedError&) {
//           }
//       }
//   };
//
//   EchoServer server;
//   server.listen(8888);                   // or server.add_sockets(gale::bind_sockets(8888))
//   gale::IOLoop::current().start();
//
//   // TLS (Tornado's ssl_options), with <gale/ssl.hpp>:
//   EchoServer tls_server({}, gale::ssl_options_to_context({.certfile = "cert.pem", .keyfile = "key.pem"}, true));
//
// Synopsis:
//   TCPServer(stream_options = {}, std::shared_ptr<const ssl_handshaker> ssl_options = nullptr)
//   virtual task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string address)
//   std::uint16_t listen(port, address = "", backlog = 128, reuse_port = false, family = unspecified)
//   add_sockets(std::vector<tcp::acceptor>), add_socket(tcp::acceptor)
//   stop()                                 // stop accepting and close the listening sockets
//   std::vector<tcp::endpoint> listening_endpoints()
//
// Each accepted connection becomes an IOStream and runs handle_stream on the
// loop at once; accepting goes on meanwhile. `address` is the peer as
// "ip:port", with IPv6 addresses in brackets ("[::1]:50312"). An exception
// escaping handle_stream is logged to tornado.application with that address
// and never stops the server. The connection closes when the last owner of
// its stream lets go, normally when handle_stream returns.
//
// With ssl_options, each connection's TLS handshake completes before
// handle_stream sees the stream (Tornado starts it lazily, on the first
// read). A handshake that fails (the peer closed, spoke plain text, sent a
// bad certificate, or took longer than the context's handshake_timeout)
// closes that connection and is logged at debug level, protocol errors
// also as "SSL Error" warnings as in Tornado; it never stops the server.
// This header includes no TLS code: ssl_options is a gale::ssl_context from
// <gale/ssl.hpp>, seen here only through its ssl_handshaker interface.
//
// The server belongs to the thread's IOLoop and must outlive the
// handle_stream coroutines it started and be destroyed before the loop.
// Unlike Tornado, listen() returns the port it bound, so port 0 (any free
// port) is easy to use in tests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/ip/tcp.hpp>

#include "detail/config.hpp"
#include "iostream.hpp"
#include "ioloop.hpp"
#include "netutil.hpp"
#include "task.hpp"

namespace gale {

class TCPServer {
public:
    // options apply to the IOStream of every connection; with ssl_options
    // (a gale::ssl_context for the server side) every connection is TLS.
    explicit TCPServer(stream_options options = {}, std::shared_ptr<const ssl_handshaker> ssl_options = nullptr)
        : options_(std::move(options)), ssl_options_(std::move(ssl_options)) {}
    TCPServer(const TCPServer&) = delete;
    TCPServer& operator=(const TCPServer&) = delete;
    virtual ~TCPServer();

    // Serves one connection; runs on the loop for every accepted connection.
    virtual task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string address) = 0;

    // Binds with bind_sockets and starts accepting. Returns the bound port.
    std::uint16_t listen(std::uint16_t port, std::string_view address = "", int backlog = default_backlog,
                         bool reuse_port = false, address_family family = address_family::unspecified);

    // Starts accepting on listening sockets (from bind_sockets, or made by
    // hand on the thread's loop).
    void add_sockets(std::vector<asio::ip::tcp::acceptor> sockets);
    void add_socket(asio::ip::tcp::acceptor socket);

    // Stops accepting and closes the listening sockets. Connections already
    // accepted carry on.
    void stop();

    // Where the server listens (useful after listen(0)).
    std::vector<asio::ip::tcp::endpoint> listening_endpoints() const;

    const stream_options& options() const noexcept { return options_; }
    const std::shared_ptr<const ssl_handshaker>& ssl_options() const noexcept { return ssl_options_; }

private:
    // One listening socket (defined with the definitions, impl/tcpserver.ipp).
    struct listener;

    void serve(asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& peer);

    // Handshakes, then serves the connection like any other, unless the
    // server was destroyed meanwhile.
    static detail::detached run_tls_connection(std::shared_ptr<TCPServer*> alive,
                                               std::shared_ptr<const ssl_handshaker> ssl,
                                               asio::ip::tcp::socket socket, stream_options options,
                                               std::string address);
    static detail::detached run_connection(TCPServer* server, std::shared_ptr<IOStream> stream,
                                           std::string address);

    std::vector<std::shared_ptr<listener>> listeners_;
    stream_options options_;
    std::shared_ptr<const ssl_handshaker> ssl_options_;
    std::shared_ptr<TCPServer*> alive_ = std::make_shared<TCPServer*>(this);
};

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/tcpserver.ipp"
#endif
