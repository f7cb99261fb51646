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

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "detail/logging.hpp"
#include "http1connection.hpp"
#include "httputil.hpp"
#include "iostream.hpp"
#include "locks.hpp"
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

    explicit HTTPServer(request_callback callback, HTTPServerOptions options = {})
        : TCPServer(stream_options_for(options), options.ssl_options),
          callback_(std::move(callback)),
          options_(std::move(options)),
          trusted_downstream_(options_.trusted_downstream.begin(), options_.trusted_downstream.end()) {
        params_.no_keep_alive = options_.no_keep_alive;
        params_.chunk_size = options_.chunk_size;
        params_.max_header_size = options_.max_header_size;
        params_.header_timeout = options_.idle_connection_timeout.value_or(std::chrono::hours(1));
        params_.body_timeout = options_.body_timeout;
        params_.max_body_size = options_.max_body_size.value_or(TCPServer::options().max_buffer_size);
        params_.decompress = options_.decompress_request;
    }

    // Closes every open connection and waits until each has ended (call
    // stop() first so that no new ones arrive).
    task<void> close_all_connections() {
        std::shared_ptr<live_connections> live = live_;
        while (!live->connections.empty()) {
            for (HTTP1Connection* connection : live->connections) connection->close();
            live->all_closed.clear();
            co_await live->all_closed.wait();
        }
    }

    const HTTPServerOptions& http_options() const noexcept { return options_; }

    task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string address) override {
        HTTP1Connection connection(stream, false, params_, address);
        connection_registration registration(*this, connection);
        std::string remote_ip = peer_ip(*stream);
        std::string protocol = !options_.protocol.empty() ? options_.protocol : ssl_options() ? "https" : "http";
        // One request object serves every request of the connection, so
        // its strings keep their memory (start_next resets it each time).
        HTTPServerRequest request;
        for (;;) {
            bool malformed = false;
            try {
                // (read_request_head's steps, so that no coroutine frame is made for them)
                connection.start_request_head();
                HTTP1Connection::head_progress progress;
                while ((progress = connection.try_request_head(request)) == HTTP1Connection::head_progress::incomplete)
                    if (co_await IOStream::fill_awaiter(connection.stream(), false) == 0) break;
                if (progress != HTTP1Connection::head_progress::complete) break;
                request.start_next(remote_ip, protocol, &connection);
                if (options_.xheaders) apply_xheaders(request);
                if (options_.read_body) {
                    if (!connection.read_finished()) request.body = co_await connection.read_body();
                    if (request.headers.contains("Content-Type")) request.parse_body();
                }
            } catch (const HTTPInputError& e) {
                detail::log(detail::gen_log, detail::log_level::info, "http1connection", __LINE__,
                            "Malformed HTTP message from {}: {}", address, e.what());
                malformed = true;
            } catch (const StreamClosedError&) {
                break;
            }
            if (malformed) {
                co_await reject(connection);
                break;
            }
            bool bad_body = false;
            try {
                co_await callback_(request);
            } catch (const HTTPInputError& e) {  // the body, read by the callback (read_body = false)
                detail::log(detail::gen_log, detail::log_level::info, "http1connection", __LINE__,
                            "Malformed HTTP message from {}: {}", address, e.what());
                bad_body = true;
            } catch (const StreamClosedError&) {
                break;
            } catch (...) {
                detail::log(detail::app_log, detail::log_level::error, "httpserver", __LINE__,
                            "Uncaught exception in request callback for {} {} from {}: {}", request.method,
                            request.uri, address, detail::describe_current_exception());
                break;
            }
            if (connection.detached()) break;  // the stream is the callback's now (WebSocket)
            if (bad_body) {
                if (!connection.response_started()) co_await reject(connection);
                break;
            }
            if (!connection.write_finished()) {
                if (connection.stream().closed()) break;  // the client left first
                detail::log(detail::app_log, detail::log_level::error, "httpserver", __LINE__,
                            "Request callback for {} {} returned without finishing its response", request.method,
                            request.uri);
                break;
            }
            if (!connection.keep_alive()) {
                co_await drain(connection);
                break;
            }
        }
    }

private:
    // The open connections, for close_all_connections. Shared with each
    // connection's registration, so that connections still open when the
    // server is destroyed (their coroutines are destroyed with the loop)
    // unregister safely.
    struct live_connections {
        std::unordered_set<HTTP1Connection*> connections;
        Event all_closed;
    };
    struct connection_registration {
        connection_registration(HTTPServer& s, HTTP1Connection& c) : live(s.live_), connection(c) {
            live->connections.insert(&connection);
        }
        ~connection_registration() {
            live->connections.erase(&connection);
            if (live->connections.empty()) live->all_closed.set();
        }
        connection_registration(const connection_registration&) = delete;
        connection_registration& operator=(const connection_registration&) = delete;
        std::shared_ptr<live_connections> live;
        HTTP1Connection& connection;
    };

    static stream_options stream_options_for(const HTTPServerOptions& options) {
        stream_options s;
        if (options.max_buffer_size) s.max_buffer_size = *options.max_buffer_size;
        return s;
    }

    static std::string peer_ip(IOStream& stream) {
        std::error_code ec;
        auto endpoint = stream.socket().remote_endpoint(ec);
        return ec ? std::string("0.0.0.0") : endpoint.address().to_string();
    }

    // Tornado's _HTTPRequestContext._apply_xheaders.
    void apply_xheaders(HTTPServerRequest& request) const {
        std::string_view ip = request.remote_ip;
        if (auto forwarded = request.headers.get("X-Forwarded-For")) {
            std::string_view rest = *forwarded;
            for (;;) {  // from the nearest hop back, skipping trusted proxies
                std::size_t comma = rest.rfind(',');
                ip = detail::strip_http_ws(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
                if (!trusted_downstream_.contains(std::string(ip)) || comma == std::string_view::npos) break;
                rest = rest.substr(0, comma);
            }
        }
        if (auto real_ip = request.headers.get("X-Real-Ip")) ip = *real_ip;
        if (is_valid_ip(ip)) request.remote_ip = std::string(ip);
        std::optional<std::string_view> proto = request.headers.get("X-Scheme");
        if (!proto) proto = request.headers.get("X-Forwarded-Proto");
        if (proto) {
            std::string_view last = *proto;
            if (std::size_t comma = last.rfind(','); comma != std::string_view::npos) last = last.substr(comma + 1);
            last = detail::strip_http_ws(last);
            if (last == "http" || last == "https") request.protocol = std::string(last);
        }
    }

    // Answers a malformed request and ends the connection.
    static task<void> reject(HTTP1Connection& connection) {
        try {
            if (!connection.stream().closed()) co_await connection.stream().write("HTTP/1.1 400 Bad Request\r\n\r\n");
        } catch (const StreamClosedError&) {
        }
        connection.close();
    }

    // Waits until the last response has reached the kernel, so closing the
    // connection does not drop it.
    static task<void> drain(HTTP1Connection& connection) {
        try {
            co_await connection.stream().write(std::string_view());
        } catch (const StreamClosedError&) {
        }
    }

    request_callback callback_;
    HTTPServerOptions options_;
    HTTP1ConnectionParameters params_;
    std::unordered_set<std::string> trusted_downstream_;
    std::shared_ptr<live_connections> live_ = std::make_shared<live_connections>();
};

}  // namespace gale
