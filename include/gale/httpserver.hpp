// Tornado's tornado.httpserver for C++: a non-blocking HTTP/1.1 server.
//
//   gale::HTTPServer server([](gale::HTTPServerRequest& request) -> gale::task<void> {
//       std::string body = "Hello, " + request.uri + "\n";
//       gale::HTTPHeaders headers;
//       headers.add("Content-Type", "text/plain");
//       headers.add("Content-Length", std::to_string(body.size()));
//       request.connection->write_headers({"HTTP/1.1", 200, "OK"}, headers, body);
//       co_await request.connection->finish();
//   });
//   server.listen(8888);
//   gale::IOLoop::current().start();
//
// Synopsis:
//   HTTPServer(request_callback, HTTPServerOptions = {})   // a TCPServer
//   listen(port, address) / add_sockets(bind_sockets(...)) / add_socket(...)
//   task<void> close_all_connections()
//   task<void> shutdown(grace = none)    // graceful: stop accepting, finish what is in flight
//   HTTPServerOptions: no_keep_alive, xheaders, protocol, decompress_request,
//       chunk_size, max_header_size, idle_connection_timeout, body_timeout,
//       max_body_size, max_buffer_size, trusted_downstream, read_body, ssl_options
//
// HTTPS is the same server given ssl_options (a server-side context from
// <gale/ssl.hpp>); each connection's TLS handshake is done before its
// first request is read, and request.protocol is "https".
//
// The callback runs once per request, after the whole body has arrived and
// its form arguments and files are parsed (unless options.read_body is
// false: then it reads the body itself), with request.connection set: it
// answers through connection->write_headers / write / finish (Tornado's
// HTTPConnection). It must finish the response before it returns; one that
// does not is logged and its connection closed. An exception escaping the
// callback is logged to tornado.application and closes the connection.
// Requests on one connection are answered in order: a pipelined request
// waits, unread, in the connection's buffer until the previous response is
// finished.
//
// Malformed requests (see http1connection.hpp for what gale refuses where
// Tornado does not) are answered "HTTP/1.1 400 Bad Request" and the
// connection closed, as Tornado does.
//
// With xheaders, remote_ip comes from X-Real-Ip, else the last address of
// X-Forwarded-For that is not in trusted_downstream, and protocol from
// X-Scheme or X-Forwarded-Proto (its last entry); both revert for the next
// request on the connection.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "detail/config.hpp"
#include "http1connection.hpp"
#include "httputil.hpp"
#include "iostream.hpp"
#include "netutil.hpp"
#include "task.hpp"
#include "tcpserver.hpp"

namespace gale {

struct HTTPServerOptions {
    bool no_keep_alive = false;
    // Trust X-Real-Ip / X-Forwarded-For / X-Scheme / X-Forwarded-Proto
    // (set this behind a reverse proxy only).
    bool xheaders = false;
    // The request's protocol; empty: "http" (or "https" over TLS).
    std::string protocol{};
    // Decompress request bodies sent with Content-Encoding: gzip.
    bool decompress_request = false;
    std::size_t chunk_size = 65536;
    std::size_t max_header_size = 65536;
    // How long a connection may wait for a request (Tornado: an hour).
    std::optional<IOLoop::duration> idle_connection_timeout{};
    // How long a request's body may take to arrive; none: no limit.
    std::optional<IOLoop::duration> body_timeout{};
    // Largest body accepted; none: max_buffer_size.
    std::optional<std::size_t> max_body_size{};
    // Largest amount the connection's stream buffers; none: 100 MiB.
    std::optional<std::size_t> max_buffer_size{};
    // Proxies whose X-Forwarded-For entries are skipped with xheaders.
    std::vector<std::string> trusted_downstream{};
    // Read each request's body (and parse its arguments) before calling
    // the callback. false: the callback runs as soon as the head is read
    // and reads the body itself through request.connection (read_body or
    // read_body_into, then request.parse_body()); gale::Application's
    // servers work so, which lets a handler stream an upload. A callback
    // that answers without reading the body ends the connection after its
    // response.
    bool read_body = true;
    // Serve HTTPS: a server-side context from <gale/ssl.hpp>
    // (gale::ssl_options_to_context({.certfile = ..., .keyfile = ...}, true)).
    std::shared_ptr<const ssl_handshaker> ssl_options{};
};

class HTTPServer : public TCPServer {
public:
    using request_callback = std::function<task<void>(HTTPServerRequest&)>;

    explicit HTTPServer(request_callback callback, HTTPServerOptions options = {});

    // Closes every open connection and waits until each has ended (call
    // stop() first so that no new ones arrive).
    task<void> close_all_connections();

    // Graceful shutdown (section: helper process): stops accepting, closes
    // idle connections at once and every other one as soon as its current
    // response is finished (a request already received is answered first),
    // and completes once all have ended; after `grace` (none: no limit) the
    // ones left are closed, cutting their responses. Connections handed over
    // (WebSocket) are no longer the server's: see Application::shutdown.
    task<void> shutdown(std::optional<IOLoop::duration> grace = std::nullopt);

    const HTTPServerOptions& http_options() const noexcept { return options_; }

    task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string address) override;

private:
    // The open connections, for close_all_connections. Shared with each
    // connection's registration, so that connections still open when the
    // server is destroyed (their coroutines are destroyed with the loop)
    // unregister safely.
    struct live_connections;
    // Registers a connection in live_ for as long as it is served.
    struct connection_registration;

    static stream_options stream_options_for(const HTTPServerOptions& options);
    static std::string peer_ip(IOStream& stream);

    // Tornado's _HTTPRequestContext._apply_xheaders.
    void apply_xheaders(HTTPServerRequest& request) const;

    // Answers a malformed request and ends the connection.
    static task<void> reject(HTTP1Connection& connection);

    // Waits until the last response has reached the kernel, so closing the
    // connection does not drop it.
    static task<void> drain(HTTP1Connection& connection);

    request_callback callback_;
    HTTPServerOptions options_;
    HTTP1ConnectionParameters params_;
    std::unordered_set<std::string> trusted_downstream_;
    std::shared_ptr<live_connections> live_;
};

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/httpserver.ipp"
#endif
