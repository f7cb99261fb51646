// Tornado's tornado.tcpclient for C++: opens TCP connections as IOStreams.
//
//   gale::TCPClient client;
//   std::shared_ptr<gale::IOStream> stream =
//       co_await client.connect("localhost", 8888, {.timeout = 5s});
//   co_await stream->write("ping\n");
//
// Synopsis:
//   TCPClient(std::shared_ptr<Resolver> resolver = default Resolver)
//   task<std::shared_ptr<IOStream>> connect(host, port, connect_options = {})
//   task<std::shared_ptr<IOStream>> connect(host, port, connect_options, ssl_options, server_hostname = "")
//   connect_options: timeout, family, source_ip, source_port, stream (stream_options)
//
// TLS (Tornado's connect(ssl_options=...)): with ssl_options, a
// gale::ssl_context from <gale/ssl.hpp>, the connection is secured before
// connect() returns it. The name sent in SNI and checked against the
// server's certificate is server_hostname, or host when that is empty:
//
//   auto ctx = gale::create_default_context();        // verifies, system CAs
//   auto stream = co_await client.connect("example.com", 443, {}, ctx);
//
// options.timeout then covers the handshake too. A failed handshake throws
// gale::SSLError (gale::SSLCertVerificationError for a certificate that
// does not verify) or StreamClosedError if the server hung up.
//
// connect() resolves the host, then tries its addresses as Tornado does
// ("Happy Eyeballs", RFC 6555): the addresses of the first family returned
// one after another, and those of the other family in parallel from the
// first failure or after 300 ms, whichever comes first. The first connection
// made wins; the attempts still running are abandoned.
//
// Errors: TimeoutError when options.timeout (covering resolution and
// connection) passes; otherwise std::system_error with the error code of
// the last attempt and a message naming what failed, such as
// "connect to 127.0.0.1:9: Connection refused" or
// "cannot resolve nosuch.example:80: Host not found (authoritative)".
// (Tornado raises StreamClosedError wrapping the same cause.) Awaited inside
// gale::with_timeout, a connect is cancelled like any other operation.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <asio/ip/tcp.hpp>

#include "detail/config.hpp"
#include "iostream.hpp"
#include "ioloop.hpp"
#include "netutil.hpp"
#include "task.hpp"

namespace gale {

// Every member is trivially copyable on purpose: GCC 12 corrupts an
// aggregate temporary holding a std::string (its small-string buffer) when
// it lives across a co_await, as `co_await client.connect(h, p, {...})` does.
struct connect_options {
    // Limit on resolving and connecting together; TimeoutError when it passes.
    std::optional<IOLoop::duration> timeout{};
    // Restricts the addresses tried to one family.
    address_family family = address_family::unspecified;
    // Binds the local end. A source_port without a source_ip binds to the
    // loopback address of the family being tried, as Tornado does.
    std::optional<asio::ip::address> source_ip{};
    std::uint16_t source_port = 0;
    // Options of the stream returned.
    stream_options stream{};
};

// A factory of connections (Tornado's TCPClient).
class TCPClient {
public:
    explicit TCPClient(std::shared_ptr<Resolver> resolver = nullptr);

    // Connects to host:port and returns the connection's stream. See the
    // top of this header for how addresses are tried and errors reported.
    task<std::shared_ptr<IOStream>> connect(std::string host, std::uint16_t port, connect_options options = {});

    // Connects and secures the connection with TLS (see the top of this
    // header). Without ssl_options it is the plain connect above.
    task<std::shared_ptr<IOStream>> connect(std::string host, std::uint16_t port, connect_options options,
                                            std::shared_ptr<const ssl_handshaker> ssl_options,
                                            std::string server_hostname = {});

private:
    static task<std::shared_ptr<IOStream>> open(std::shared_ptr<Resolver> resolver, std::string host,
                                                std::uint16_t port, connect_options options,
                                                std::shared_ptr<const ssl_handshaker> ssl,
                                                std::string server_hostname);

    std::shared_ptr<Resolver> resolver_;
};

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/tcpclient.ipp"
#endif
