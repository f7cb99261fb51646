// Tornado's tornado.httpclient for C++: a non-blocking HTTP/1.1 client
// with keep-alive connection pooling, and a blocking one for scripts.
//
//   gale::AsyncHTTPClient client;
//   gale::HTTPResponse r = co_await client.fetch("http://example.com/");
//   r.code; r.reason; r.headers; r.body; r.effective_url; r.request_time;
//
//   auto post = gale::HTTPRequest("http://example.com/api", "POST", R"({"a": 1})")
//                   .with_header("Content-Type", "application/json")
//                   .with_request_timeout(5s);
//   try {
//       auto r = co_await client.fetch(std::move(post));
//   } catch (const gale::HTTPClientError& e) {   // "HTTP 404: Not Found", code 599 for timeouts
//       if (e.response) std::cout << e.response->body;
//   }
//
//   gale::HTTPClient blocking;                      // runs its own IOLoop
//   std::cout << blocking.fetch("http://example.com/").body;
//
// Synopsis:
//   class HTTPRequest       Tornado's fields (url, method, headers, body, auth_username,
//       auth_password, auth_mode, connect_timeout, request_timeout, if_modified_since,
//       follow_redirects, max_redirects, user_agent, decompress_response,
//       network_interface, streaming_callback, header_callback, proxy_host, proxy_port,
//       proxy_username, proxy_password, proxy_auth_mode, allow_nonstandard_methods,
//       validate_cert, ca_certs, allow_ipv6, client_key, client_cert, ssl_options,
//       expect_100_continue), each also settable in a chain: with_<field>(...);
//       with_header(name, value), with_auth(user, password), with_proxy(host, port, user, password)
//   class HTTPResponse      request, code, reason, headers, effective_url, body, error,
//       request_time, start_time; rethrow()
//   HTTPClientError (HTTPError) {code, message, response}; what() "HTTP 404: Not Found"
//   HTTPTimeoutError, HTTPStreamClosedError   // code 599
//   class AsyncHTTPClient(AsyncHTTPClientOptions = {})
//       task<HTTPResponse> fetch(url or HTTPRequest, raise_error = true); close()
//       connections_opened(), idle_connections()
//   AsyncHTTPClientOptions: max_clients, max_buffer_size, max_header_size, max_body_size,
//       keep_alive, idle_connection_timeout, max_idle_connections, resolver, hostname_mapping
//   class HTTPClient(AsyncHTTPClientOptions = {})   // blocking: fetch(...) -> HTTPResponse, close()
//
// Building a request. HTTPRequest is a class with constructors, not an
// aggregate, on purpose: with GCC 12, an aggregate temporary holding a
// std::string in the same full-expression as a co_await is destroyed twice,
// and `co_await client.fetch(HTTPRequest{.url = u, .method = "POST"})` is
// exactly that expression (a test checks that every way of writing it here
// is safe). The constructor takes the three fields most requests need, and
// every field has a chainable setter, with_<field>(value), so a request is
// still one expression:
//
//   co_await client.fetch(gale::HTTPRequest(url, "PUT", body).with_auth("me", "pw"));
//
// Errors follow Tornado 6.2. fetch() throws HTTPClientError for a response
// whose code is not 2xx, unless raise_error is false (the response is then
// returned, and its `error` holds the HTTPClientError that rethrow()
// throws). Failures that are not a response are thrown whatever raise_error
// says: HTTPTimeoutError (code 599, "Timeout while connecting", "Timeout
// during request", "Timeout in request queue"); HTTPStreamClosedError
// (599, "Stream closed") when the server closes the connection before the
// response is complete; HTTPClientError 599 when a proxy refuses a tunnel;
// the cause itself when there is one (as Tornado
// raises the OSError): std::system_error for a refused connection or a name
// that does not resolve ("connect to 127.0.0.1:1: Connection refused"),
// SSLError / SSLCertVerificationError for TLS, HTTPInputError for a
// malformed response; std::invalid_argument for a request that cannot be
// sent ("Unsupported url scheme: ftp://x/", "unknown method FOO", "Body
// must not be None for method POST (unless allow_nonstandard_methods is
// true)"; gale checks these before connecting, Tornado after).
//
// Defaults are Tornado's: connect_timeout and request_timeout 20 s (zero:
// none), follow_redirects with max_redirects 5, decompress_response (sends
// "Accept-Encoding: gzip" and gunzips; the response then has
// X-Consumed-Content-Encoding instead of Content-Encoding), validate_cert.
// The default User-Agent is "gale/<version>" where Tornado sends
// "Tornado/6.2". A POST without Content-Type is sent as
// application/x-www-form-urlencoded. The request timeout runs from the
// moment the request leaves the max_clients queue and includes connecting.
// A streaming_callback receives the body piece by piece (the response's
// body is then empty); a header_callback receives the status line, each
// header line and the final "\r\n", as Tornado's does (for 1xx heads too,
// but not the 100 that answers expect_100_continue, nor a redirect that is
// followed).
//
// Redirects (301, 302, 303, 307, 308 with a Location, while max_redirects
// allows) are followed as Tornado follows them: the Location is resolved
// against the current URL (urljoin); 303 turns any method but HEAD into a
// GET without body, 301 and 302 turn a POST into one (307 and 308 keep the
// method and body); the Host header is dropped. Unlike Tornado 6.2, a
// redirect to another origin (scheme, host or port) also drops the
// Authorization and Cookie headers and auth_username / auth_password, so
// credentials never leak to a host they were not meant for. When
// max_redirects is exhausted the redirect response itself is the result
// (HTTPClientError 302 with raise_error). Each hop waits in the max_clients
// queue again and has its own timeouts, as in Tornado.
//
// Beyond Tornado's simple client:
// - Keep-alive. Connections are pooled per origin (scheme, host, port; plus
//   proxy and TLS settings) and reused when the previous response was read
//   to the end, both sides allow keep-alive, the request was sent in full
//   and nothing unexpected is buffered. An idle pooled connection that the
//   server closes is noticed and dropped at once while the loop runs, and
//   checked again before reuse; if a reused connection still turns out dead
//   (the server closed it as the request went out), an idempotent request
//   (GET, HEAD, PUT, DELETE, OPTIONS, TRACE) is retried once on a new
//   connection, transparently. Idle connections are closed after
//   idle_connection_timeout (60 s: below the keep-alive timeouts of common
//   servers, so the client usually closes first) and beyond
//   max_idle_connections (64), oldest first. keep_alive = false sends
//   "Connection: close" on every request, as Tornado does.
// - max_clients (10) requests run at once; the others wait in a FIFO queue
//   and fail with HTTPTimeoutError "Timeout in request queue" once the
//   smaller non-zero of connect_timeout and request_timeout has passed.
// - Proxies: proxy_host / proxy_port (and proxy_username / proxy_password,
//   sent as Proxy-Authorization: Basic; a proxy_host without proxy_port is
//   refused, where Tornado's curl client would quietly not use the proxy).
//   http URLs go to the proxy with the absolute URL as request target;
//   https URLs through a CONNECT tunnel, TLS then running end to end with
//   the target. A refused CONNECT throws HTTPClientError 599 "Tunnel
//   connection failed: 407 Proxy Authentication Required". (Tornado's
//   simple client has no proxy support; its curl client has this one.)
// - HTTPS verifies the server's certificate against the system's CAs (or
//   ca_certs) and its name, sending SNI, unless validate_cert is false;
//   client_cert / client_key present a client certificate; ssl_options (a
//   gale::ssl_context) overrides all of these. Contexts are made once per
//   client and settings, not per request.
// - URLs: tab, CR and LF are removed and surrounding spaces stripped, as
//   Python's urlsplit does; other control characters, spaces and non-ASCII
//   bytes in the path and query are percent-encoded, as browsers do, so the
//   request line is always well formed.
//
// fetch() returns a task, which starts when it is awaited (Tornado's fetch
// starts at once and returns a Future): run fetches concurrently with
// gale::gather, or start one with gale::spawn.
//
// One AsyncHTTPClient per IOLoop, used from that loop's thread: Tornado
// makes it a per-loop singleton; here the program constructs it (several
// clients simply have separate pools and limits). fetch() may be called
// until close(); requests already running then finish, their connections
// are not pooled. The client may be destroyed while fetches are running
// (they keep what they need alive), but the IOLoop must outlive them.
//
// HTTPClient wraps an AsyncHTTPClient on an IOLoop of its own, which runs
// only inside fetch(): for scripts and tests, never inside a coroutine (it
// blocks the thread).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <fmt/core.h>

#include "detail/config.hpp"
#include "gen.hpp"
#include "httputil.hpp"
#include "ioloop.hpp"
#include "iostream.hpp"
#include "netutil.hpp"
#include "ssl.hpp"
#include "task.hpp"
#include "tcpclient.hpp"
#include "version.hpp"

namespace gale {

class HTTPResponse;

namespace detail {

GALE_DECL std::string base64_encode(std::string_view in);

// Python's urljoin(base, url), which Tornado resolves a Location with.
GALE_DECL std::string urljoin(std::string_view base, std::string_view url);

// What a request needs to know of its URL.
struct parsed_url {
    std::string scheme;
    std::string netloc;    // without userinfo: the Host header
    std::string host;      // without brackets: what is resolved and sent in SNI
    std::uint16_t port = 0;
    std::string target;    // path and query, encoded
    std::optional<std::string> username, password;  // userinfo, as written (Tornado does not unquote)
};

GALE_DECL parsed_url parse_request_url(std::string_view url);

}  // namespace detail

// ---------------------------------------------------------------- errors

// An unsuccessful request (Tornado's HTTPClientError, alias HTTPError):
// code is the response's status, or 599 when no response came. what() is
// Tornado's str(): "HTTP 404: Not Found". response is the response (null
// for 599, and for the error stored in a returned response's `error`).
class HTTPClientError : public std::runtime_error {
public:
    explicit HTTPClientError(int code, std::string message = {}, std::shared_ptr<const HTTPResponse> response = nullptr)
        : HTTPClientError(code, message.empty() ? std::string(http_reason(code)) : std::move(message),
                          std::move(response), formatted{}) {}

    int code;
    std::string message;
    std::shared_ptr<const HTTPResponse> response;

protected:
    struct verbatim {};
    // what() is the message itself (the 599 subclasses).
    HTTPClientError(int code, std::string message, verbatim)
        : std::runtime_error(message), code(code), message(std::move(message)) {}

private:
    struct formatted {};
    HTTPClientError(int code, std::string message, std::shared_ptr<const HTTPResponse> response, formatted)
        : std::runtime_error(fmt::format("HTTP {}: {}", code, message)),
          code(code),
          message(std::move(message)),
          response(std::move(response)) {}
};

using HTTPError = HTTPClientError;

// A timeout (code 599): "Timeout while connecting", "Timeout during
// request" or "Timeout in request queue"; what() is the message.
class HTTPTimeoutError : public HTTPClientError {
public:
    explicit HTTPTimeoutError(std::string message)
        : HTTPClientError(599, message.empty() ? std::string("Timeout") : std::move(message), verbatim{}) {}
};

// The connection closed before the response was complete (code 599).
class HTTPStreamClosedError : public HTTPClientError {
public:
    explicit HTTPStreamClosedError(std::string message)
        : HTTPClientError(599, message.empty() ? std::string("Stream closed") : std::move(message), verbatim{}) {}
};

// ---------------------------------------------------------------- request

// An HTTP request: Tornado's HTTPRequest fields, public, with Tornado's
// defaults, plus a chainable with_<field>() setter for each (see the top of
// this header for why this is not an aggregate).
class HTTPRequest {
public:
    using duration = IOLoop::duration;
    // Receives the body piece by piece (each view valid during the call).
    using streaming_callback_type = std::function<void(std::string_view)>;
    // Receives the status line, each header line and "\r\n".
    using header_callback_type = std::function<void(std::string_view)>;

    HTTPRequest() = default;
    explicit HTTPRequest(std::string url, std::string method = "GET", std::optional<std::string> body = std::nullopt)
        : url(std::move(url)), method(std::move(method)), body(std::move(body)) {}

    std::string url;
    std::string method = "GET";
    HTTPHeaders headers;
    // None (no body) differs from empty: POST, PUT and PATCH need one, the
    // other methods may not have one (unless allow_nonstandard_methods).
    std::optional<std::string> body;
    // Basic authentication (credentials in the URL take precedence).
    std::optional<std::string> auth_username;
    std::optional<std::string> auth_password;
    std::string auth_mode;  // "" or "basic"
    // Zero: no limit.
    duration connect_timeout = std::chrono::seconds(20);
    duration request_timeout = std::chrono::seconds(20);
    std::optional<std::chrono::system_clock::time_point> if_modified_since;
    bool follow_redirects = true;
    int max_redirects = 5;
    std::string user_agent;  // empty: "gale/<version>" unless headers has one
    bool decompress_response = true;
    std::string network_interface;  // a local IP address to connect from
    streaming_callback_type streaming_callback;
    header_callback_type header_callback;
    std::string proxy_host;
    std::uint16_t proxy_port = 0;
    std::string proxy_username;
    std::string proxy_password;
    std::string proxy_auth_mode;  // "" or "basic"
    bool allow_nonstandard_methods = false;
    bool validate_cert = true;
    std::string ca_certs;    // PEM file of CAs to trust instead of the system's
    bool allow_ipv6 = true;
    std::string client_key;  // PEM files of a client certificate
    std::string client_cert;
    // A TLS context to use as it is (validate_cert, ca_certs, client_* ignored).
    std::shared_ptr<const ssl_context> ssl_options;
    bool expect_100_continue = false;

#define GALE_REQUEST_SETTER(name, type)                  \
    HTTPRequest& with_##name(type value)& {             \
        name = std::move(value);                         \
        return *this;                                    \
    }                                                    \
    HTTPRequest with_##name(type value)&& {             \
        name = std::move(value);                         \
        return std::move(*this);                         \
    }
    GALE_REQUEST_SETTER(url, std::string)
    GALE_REQUEST_SETTER(method, std::string)
    GALE_REQUEST_SETTER(headers, HTTPHeaders)
    GALE_REQUEST_SETTER(body, std::optional<std::string>)
    GALE_REQUEST_SETTER(auth_username, std::optional<std::string>)
    GALE_REQUEST_SETTER(auth_password, std::optional<std::string>)
    GALE_REQUEST_SETTER(auth_mode, std::string)
    GALE_REQUEST_SETTER(connect_timeout, duration)
    GALE_REQUEST_SETTER(request_timeout, duration)
    GALE_REQUEST_SETTER(if_modified_since, std::optional<std::chrono::system_clock::time_point>)
    GALE_REQUEST_SETTER(follow_redirects, bool)
    GALE_REQUEST_SETTER(max_redirects, int)
    GALE_REQUEST_SETTER(user_agent, std::string)
    GALE_REQUEST_SETTER(decompress_response, bool)
    GALE_REQUEST_SETTER(network_interface, std::string)
    GALE_REQUEST_SETTER(streaming_callback, streaming_callback_type)
    GALE_REQUEST_SETTER(header_callback, header_callback_type)
    GALE_REQUEST_SETTER(proxy_host, std::string)
    GALE_REQUEST_SETTER(proxy_port, std::uint16_t)
    GALE_REQUEST_SETTER(proxy_username, std::string)
    GALE_REQUEST_SETTER(proxy_password, std::string)
    GALE_REQUEST_SETTER(proxy_auth_mode, std::string)
    GALE_REQUEST_SETTER(allow_nonstandard_methods, bool)
    GALE_REQUEST_SETTER(validate_cert, bool)
    GALE_REQUEST_SETTER(ca_certs, std::string)
    GALE_REQUEST_SETTER(allow_ipv6, bool)
    GALE_REQUEST_SETTER(client_key, std::string)
    GALE_REQUEST_SETTER(client_cert, std::string)
    GALE_REQUEST_SETTER(ssl_options, std::shared_ptr<const ssl_context>)
    GALE_REQUEST_SETTER(expect_100_continue, bool)
#undef GALE_REQUEST_SETTER

    // Adds a header (HTTPHeaders::add).
    HTTPRequest& with_header(std::string_view name, std::string_view value) & {
        headers.add(name, value);
        return *this;
    }
    HTTPRequest with_header(std::string_view name, std::string_view value) && {
        headers.add(name, value);
        return std::move(*this);
    }
    // auth_username and auth_password together.
    HTTPRequest& with_auth(std::string username, std::string password) & {
        auth_username = std::move(username);
        auth_password = std::move(password);
        return *this;
    }
    HTTPRequest with_auth(std::string username, std::string password) && {
        with_auth(std::move(username), std::move(password));
        return std::move(*this);
    }
    // proxy_host, proxy_port and (optionally) the proxy's credentials.
    HTTPRequest& with_proxy(std::string host, std::uint16_t port, std::string username = {},
                            std::string password = {}) & {
        proxy_host = std::move(host);
        proxy_port = port;
        proxy_username = std::move(username);
        proxy_password = std::move(password);
        return *this;
    }
    HTTPRequest with_proxy(std::string host, std::uint16_t port, std::string username = {},
                           std::string password = {}) && {
        with_proxy(std::move(host), port, std::move(username), std::move(password));
        return std::move(*this);
    }
};

// ---------------------------------------------------------------- response

// The result of a fetch (Tornado's HTTPResponse).
class HTTPResponse {
public:
    HTTPResponse() = default;  // a class with a constructor: safe as a temporary under GCC 12

    // The request as given to fetch (the first one, when redirected).
    std::shared_ptr<const HTTPRequest> request;
    int code = 0;
    // The server's reason phrase, or the standard one when it sent none.
    std::string reason;
    HTTPHeaders headers;
    // The URL of the final response, after redirects.
    std::string effective_url;
    // The body; empty when a streaming_callback received it.
    std::string body;
    // An HTTPClientError when the code is not 2xx (returned with
    // raise_error = false); null otherwise.
    std::exception_ptr error;
    // From leaving the queue to the last byte, of the final hop only.
    std::chrono::duration<double> request_time{};
    // When the final hop started (wall clock).
    std::chrono::system_clock::time_point start_time{};

    // Throws `error` if there is one.
    void rethrow() const {
        if (error) std::rethrow_exception(error);
    }
};

// ---------------------------------------------------------------- client

struct AsyncHTTPClientOptions {
    // Requests running at once; the rest wait in a FIFO queue.
    int max_clients = 10;
    // Largest amount a connection buffers, and (without streaming_callback)
    // the largest body accepted: Tornado's 100 MB.
    std::size_t max_buffer_size = 104857600;
    // Largest response head; none: 64 KiB.
    std::optional<std::size_t> max_header_size{};
    // Largest body, also with a streaming_callback; none: max_buffer_size.
    std::optional<std::size_t> max_body_size{};
    // Pool connections for reuse; false sends "Connection: close" (Tornado).
    bool keep_alive = true;
    // How long a pooled connection may stay idle before it is closed.
    IOLoop::duration idle_connection_timeout = std::chrono::seconds(60);
    // Most idle connections kept over all origins; the oldest go first.
    std::size_t max_idle_connections = 64;
    // Resolves host names; none: a gale::Resolver.
    std::shared_ptr<Resolver> resolver{};
    // Host names answered with fixed addresses (Tornado's hostname_mapping).
    std::map<std::string, std::string> hostname_mapping{};
};

namespace detail {
class client_state;  // the shared state of an AsyncHTTPClient (impl/httpclient.ipp)
}  // namespace detail


// The non-blocking client (Tornado's AsyncHTTPClient, implemented like its
// SimpleAsyncHTTPClient plus connection reuse). See the top of this header.
class AsyncHTTPClient {
public:
    explicit AsyncHTTPClient(AsyncHTTPClientOptions options = {});
    AsyncHTTPClient(const AsyncHTTPClient&) = delete;
    AsyncHTTPClient& operator=(const AsyncHTTPClient&) = delete;
    ~AsyncHTTPClient();

    // Fetches the request; the response, or the errors described at the top
    // of this header. Throws std::runtime_error at once after close().
    task<HTTPResponse> fetch(HTTPRequest request, bool raise_error = true);
    task<HTTPResponse> fetch(std::string url, bool raise_error = true) {
        return fetch(HTTPRequest(std::move(url)), raise_error);
    }
    task<HTTPResponse> fetch(std::string_view url, bool raise_error = true) {
        return fetch(HTTPRequest(std::string(url)), raise_error);
    }
    task<HTTPResponse> fetch(const char* url, bool raise_error = true) {
        return fetch(HTTPRequest(std::string(url)), raise_error);
    }

    // Closes the pooled connections; later fetches throw. Requests running
    // finish, on connections that are then closed.
    void close();

    const AsyncHTTPClientOptions& options() const noexcept;
    // Connections this client has opened so far, and those now idle in its
    // pool (for tests and monitoring).
    std::size_t connections_opened() const noexcept;
    std::size_t idle_connections() const noexcept;

private:
    std::shared_ptr<detail::client_state> state_;
};

// The blocking client (Tornado's HTTPClient): an AsyncHTTPClient on an
// IOLoop of its own, run for the duration of each fetch.
class HTTPClient {
public:
    explicit HTTPClient(AsyncHTTPClientOptions options = {}) : options_(std::move(options)) {}
    HTTPClient(const HTTPClient&) = delete;
    HTTPClient& operator=(const HTTPClient&) = delete;
    ~HTTPClient() { close(); }

    HTTPResponse fetch(HTTPRequest request, bool raise_error = true) {
        if (closed_) throw std::runtime_error("fetch() called on closed HTTPClient");
        return loop_.run_sync([&]() -> task<HTTPResponse> {
            if (!client_) client_ = std::make_unique<AsyncHTTPClient>(options_);
            co_return co_await client_->fetch(std::move(request), raise_error);
        });
    }
    HTTPResponse fetch(std::string url, bool raise_error = true) {
        return fetch(HTTPRequest(std::move(url)), raise_error);
    }
    HTTPResponse fetch(std::string_view url, bool raise_error = true) {
        return fetch(HTTPRequest(std::string(url)), raise_error);
    }
    HTTPResponse fetch(const char* url, bool raise_error = true) {
        return fetch(HTTPRequest(std::string(url)), raise_error);
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        if (client_) {
            client_->close();
            // Let the closed connections' handlers run on their own loop.
            loop_.run_sync([]() -> task<void> { co_return; });
            client_.reset();
        }
    }

private:
    AsyncHTTPClientOptions options_;
    IOLoop loop_;  // declared before the client: destroyed after it
    std::unique_ptr<AsyncHTTPClient> client_;
    bool closed_ = false;
};

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/httpclient.ipp"
#endif
