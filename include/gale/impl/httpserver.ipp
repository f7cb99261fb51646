// Definitions for httpserver.hpp: serving the requests of each connection.
// Compiled in every translation unit in header-only mode, or once by
// <gale/src.hpp> with GALE_SEPARATE_COMPILATION; see detail/config.hpp.
#pragma once

#include "../httpserver.hpp"

#include <chrono>
#include <exception>
#include <string_view>
#include <unordered_map>

#include "../detail/logging.hpp"
#include "../locks.hpp"

namespace gale {

struct HTTPServer::live_connections {
    // Each open connection, and whether it is idle: waiting for a request
    // of which nothing has arrived yet.
    std::unordered_map<HTTP1Connection*, bool> connections;
    Event all_closed;
    bool draining = false;  // shutdown() has begun
};
struct HTTPServer::connection_registration {
    connection_registration(HTTPServer& s, HTTP1Connection& c)
        : live(s.live_), connection(c), idle(live->connections.emplace(&connection, false).first->second) {}
    ~connection_registration() {
        live->connections.erase(&connection);
        if (live->connections.empty()) live->all_closed.set();
    }
    connection_registration(const connection_registration&) = delete;
    connection_registration& operator=(const connection_registration&) = delete;
    std::shared_ptr<live_connections> live;
    HTTP1Connection& connection;
    bool& idle;  // its entry in live->connections (map nodes do not move)
};

GALE_DECL HTTPServer::HTTPServer(request_callback callback, HTTPServerOptions options)
    : TCPServer(stream_options_for(options), options.ssl_options),
      callback_(std::move(callback)),
      options_(std::move(options)),
      trusted_downstream_(options_.trusted_downstream.begin(), options_.trusted_downstream.end()),
      live_(std::make_shared<live_connections>()) {
    params_.no_keep_alive = options_.no_keep_alive;
    params_.chunk_size = options_.chunk_size;
    params_.max_header_size = options_.max_header_size;
    params_.header_timeout = options_.idle_connection_timeout.value_or(std::chrono::hours(1));
    params_.body_timeout = options_.body_timeout;
    params_.max_body_size = options_.max_body_size.value_or(TCPServer::options().max_buffer_size);
    params_.decompress = options_.decompress_request;
}

GALE_DECL task<void> HTTPServer::close_all_connections() {
    std::shared_ptr<live_connections> live = live_;
    while (!live->connections.empty()) {
        for (auto [connection, idle] : live->connections) connection->close();
        live->all_closed.clear();
        co_await live->all_closed.wait();
    }
}

// ---- graceful shutdown (section: helper process)
GALE_DECL task<void> HTTPServer::shutdown(std::optional<IOLoop::duration> grace) {
    stop();
    std::shared_ptr<live_connections> live = live_;
    live->draining = true;  // a connection that becomes idle from now on closes itself
    for (auto [connection, idle] : live->connections)
        if (idle) connection->close();
    if (!live->connections.empty()) {
        live->all_closed.clear();
        try {
            co_await live->all_closed.wait(grace);
        } catch (const TimeoutError&) {
            detail::log(detail::gen_log, detail::log_level::warning, "httpserver", __LINE__,
                        "Closing {} connections still busy after the shutdown grace period",
                        live->connections.size());
        }
    }
    co_await close_all_connections();
}
// ---- end graceful shutdown

GALE_DECL task<void> HTTPServer::handle_stream(std::shared_ptr<IOStream> stream, std::string address) {
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
            while ((progress = connection.try_request_head(request)) == HTTP1Connection::head_progress::incomplete) {
                registration.idle = connection.stream().read_buffer().empty();
                if (registration.idle && live_->draining) break;  // shutting down: no new request
                std::size_t received = co_await IOStream::fill_awaiter(connection.stream(), false);
                registration.idle = false;
                if (received == 0) break;
            }
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

GALE_DECL stream_options HTTPServer::stream_options_for(const HTTPServerOptions& options) {
    stream_options s;
    if (options.max_buffer_size) s.max_buffer_size = *options.max_buffer_size;
    return s;
}

GALE_DECL std::string HTTPServer::peer_ip(IOStream& stream) {
    std::error_code ec;
    auto endpoint = stream.socket().remote_endpoint(ec);
    return ec ? std::string("0.0.0.0") : endpoint.address().to_string();
}

GALE_DECL void HTTPServer::apply_xheaders(HTTPServerRequest& request) const {
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

GALE_DECL task<void> HTTPServer::reject(HTTP1Connection& connection) {
    try {
        if (!connection.stream().closed()) co_await connection.stream().write("HTTP/1.1 400 Bad Request\r\n\r\n");
    } catch (const StreamClosedError&) {
    }
    connection.close();
}

GALE_DECL task<void> HTTPServer::drain(HTTP1Connection& connection) {
    try {
        co_await connection.stream().write(std::string_view());
    } catch (const StreamClosedError&) {
    }
}

}  // namespace gale
