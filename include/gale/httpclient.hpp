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

#include "gen.hpp"
#include "http1connection.hpp"
#include "httputil.hpp"
#include "ioloop.hpp"
#include "iostream.hpp"
#include "locks.hpp"
#include "netutil.hpp"
#include "ssl.hpp"
#include "task.hpp"
#include "tcpclient.hpp"
#include "version.hpp"

namespace gale {

class HTTPResponse;

namespace detail {

inline constexpr std::string_view client_user_agent = "gale/" GALE_VERSION;


inline std::string base64_encode(std::string_view in) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        auto n = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8) |
                 std::uint32_t(std::uint8_t(in[i + 2]));
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
        out += alphabet[n & 63];
    }
    if (std::size_t rest = in.size() - i) {
        std::uint32_t n = std::uint32_t(std::uint8_t(in[i])) << 16;
        if (rest == 2) n |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

// ---------------------------------------------------------------- URLs

// Python's urlsplit (without params): scheme://netloc/path?query#fragment.
struct url_parts {
    std::string scheme;  // lowered
    std::string netloc;
    std::string path;
    std::string query;
    std::string fragment;
    bool has_netloc = false;
    bool has_query = false;
    bool has_fragment = false;
};

// Python's urlsplit sanitising: surrounding C0 controls and spaces
// stripped, tab / CR / LF removed anywhere.
inline std::string sanitize_url(std::string_view url) {
    while (!url.empty() && static_cast<unsigned char>(url.front()) <= 0x20) url.remove_prefix(1);
    while (!url.empty() && static_cast<unsigned char>(url.back()) <= 0x20) url.remove_suffix(1);
    std::string out;
    out.reserve(url.size());
    for (char c : url)
        if (c != '\t' && c != '\r' && c != '\n') out += c;
    return out;
}

inline url_parts urlsplit(std::string_view url_in) {
    std::string url = sanitize_url(url_in);
    url_parts parts;
    std::string_view rest = url;
    if (std::size_t colon = rest.find(':'); colon != std::string_view::npos && colon > 0) {
        std::string_view scheme = rest.substr(0, colon);
        auto is_alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
        bool valid = is_alpha(scheme.front()) && std::all_of(scheme.begin(), scheme.end(), [&](char c) {
                         return is_alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
                     });
        if (valid) {
            parts.scheme = ascii_lowered(scheme);
            rest.remove_prefix(colon + 1);
        }
    }
    if (rest.substr(0, 2) == "//") {
        rest.remove_prefix(2);
        std::size_t end = rest.find_first_of("/?#");
        parts.netloc = std::string(rest.substr(0, end));
        parts.has_netloc = true;
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    if (std::size_t hash = rest.find('#'); hash != std::string_view::npos) {
        parts.fragment = std::string(rest.substr(hash + 1));
        parts.has_fragment = true;
        rest = rest.substr(0, hash);
    }
    if (std::size_t q = rest.find('?'); q != std::string_view::npos) {
        parts.query = std::string(rest.substr(q + 1));
        parts.has_query = true;
        rest = rest.substr(0, q);
    }
    parts.path = std::string(rest);
    return parts;
}

// Python's urlunsplit.
inline std::string urlunsplit(const url_parts& p) {
    std::string url = p.path;
    bool netloc_scheme = p.scheme == "http" || p.scheme == "https" || p.scheme == "ftp" || p.scheme == "ws" ||
                         p.scheme == "wss" || p.scheme == "file";
    if (!p.netloc.empty() || (netloc_scheme && url.substr(0, 2) != "//")) {
        if (!url.empty() && url.front() != '/') url.insert(0, "/");
        url.insert(0, "//" + p.netloc);
    }
    if (!p.scheme.empty()) url.insert(0, p.scheme + ":");
    if (!p.query.empty()) url += "?" + p.query;
    if (!p.fragment.empty()) url += "#" + p.fragment;
    return url;
}

// Python's urljoin(base, url), which Tornado resolves a Location with.
inline std::string urljoin(std::string_view base, std::string_view url) {
    if (base.empty()) return std::string(url);
    if (url.empty()) return std::string(base);
    url_parts b = urlsplit(base);
    url_parts r = urlsplit(url);
    if (r.scheme.empty()) r.scheme = b.scheme;
    bool relative_scheme = r.scheme == "http" || r.scheme == "https" || r.scheme == "ftp" || r.scheme == "ws" ||
                           r.scheme == "wss" || r.scheme == "file" || r.scheme.empty();
    if (r.scheme != b.scheme || !relative_scheme) return std::string(url);
    if (!r.netloc.empty()) return urlunsplit(r);
    r.netloc = b.netloc;
    if (r.path.empty()) {
        r.path = b.path;
        if (r.query.empty()) r.query = b.query;
        return urlunsplit(r);
    }
    auto split = [](std::string_view s) {
        std::vector<std::string> out;
        for (;;) {
            std::size_t slash = s.find('/');
            out.emplace_back(s.substr(0, slash));
            if (slash == std::string_view::npos) break;
            s.remove_prefix(slash + 1);
        }
        return out;
    };
    std::vector<std::string> segments;
    if (r.path.front() == '/') {
        segments = split(r.path);
    } else {
        segments = split(b.path);
        if (!segments.back().empty()) segments.pop_back();
        for (auto& s : split(r.path)) segments.push_back(std::move(s));
        // Empty segments in the middle are dropped (Python's filter(None, ...)).
        std::vector<std::string> kept;
        for (std::size_t i = 0; i < segments.size(); ++i)
            if (i == 0 || i + 1 == segments.size() || !segments[i].empty()) kept.push_back(std::move(segments[i]));
        segments = std::move(kept);
    }
    std::vector<std::string> resolved;
    for (const auto& s : segments) {
        if (s == "..") {
            if (!resolved.empty()) resolved.pop_back();
        } else if (s != ".") {
            resolved.push_back(s);
        }
    }
    if (segments.back() == "." || segments.back() == "..") resolved.emplace_back();
    std::string path;
    for (std::size_t i = 0; i < resolved.size(); ++i) {
        if (i) path += '/';
        path += resolved[i];
    }
    r.path = path.empty() ? "/" : path;
    return urlunsplit(r);
}

// Percent-encodes what may not appear in a request target (controls, space,
// DEL and non-ASCII bytes); everything else is sent as given.
inline std::string encode_request_target(std::string_view target) {
    std::string out;
    out.reserve(target.size());
    for (char ch : target) {
        auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7f) out += fmt::format("%{:02X}", c);
        else out += ch;
    }
    return out;
}

// What a request needs to know of its URL.
struct parsed_url {
    std::string scheme;
    std::string netloc;    // without userinfo: the Host header
    std::string host;      // without brackets: what is resolved and sent in SNI
    std::uint16_t port = 0;
    std::string target;    // path and query, encoded
    std::optional<std::string> username, password;  // userinfo, as written (Tornado does not unquote)
};

inline parsed_url parse_request_url(std::string_view url) {
    url_parts parts = urlsplit(url);
    if (parts.scheme != "http" && parts.scheme != "https")
        throw std::invalid_argument(fmt::format("Unsupported url scheme: {}", url));
    parsed_url out;
    out.scheme = parts.scheme;
    std::string_view netloc = parts.netloc;
    if (std::size_t at = netloc.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = netloc.substr(0, at);
        netloc.remove_prefix(at + 1);
        std::size_t colon = userinfo.find(':');
        out.username = std::string(userinfo.substr(0, colon));
        if (colon != std::string_view::npos) out.password = std::string(userinfo.substr(colon + 1));
    }
    out.netloc = std::string(netloc);
    host_and_port hp = split_host_and_port(netloc);
    std::string_view host = hp.host;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty()) throw std::invalid_argument(fmt::format("No host in URL: {}", url));
    out.host = std::string(host);
    if (hp.port) {
        if (*hp.port > 65535) throw std::invalid_argument(fmt::format("Invalid port in URL: {}", url));
        out.port = static_cast<std::uint16_t>(*hp.port);
    } else {
        out.port = parts.scheme == "https" ? 443 : 80;
    }
    std::string target = parts.path.empty() ? std::string("/") : parts.path;
    if (!parts.query.empty()) target += "?" + parts.query;
    out.target = encode_request_target(target);
    return out;
}

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

// A request while it travels: what a redirect may change.
struct client_hop {
    std::string url;
    std::string method;
    HTTPHeaders headers;
    const std::optional<std::string>* body = nullptr;  // the original's, or none after a rewrite to GET
    std::optional<std::string> auth_username;
    std::optional<std::string> auth_password;
    int redirects_left = 0;
};

// What one hop brings back.
struct hop_result {
    ResponseStartLine start_line;
    HTTPHeaders headers;
    std::string body;
    bool redirect = false;
    IOLoop::time_point started;
    std::chrono::system_clock::time_point started_wall;
};

inline bool is_idempotent(std::string_view method) noexcept {
    return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS" ||
           method == "TRACE";
}

// The shared state of an AsyncHTTPClient: every fetch holds it.
class client_state : public std::enable_shared_from_this<client_state> {
public:
    explicit client_state(AsyncHTTPClientOptions options)
        : options_(std::move(options)),
          tcp_(make_resolver(options_)),
          slots_(std::max(options_.max_clients, 1)) {}

    ~client_state() { close_idle(); }

    client_state(const client_state&) = delete;
    client_state& operator=(const client_state&) = delete;

    const AsyncHTTPClientOptions& options() const noexcept { return options_; }
    bool closed() const noexcept { return closed_; }
    Semaphore& slots() noexcept { return slots_; }
    TCPClient& tcp() noexcept { return tcp_; }
    std::size_t connections_opened() const noexcept { return connections_opened_; }
    void count_connection() noexcept { ++connections_opened_; }
    std::size_t idle_connections() const noexcept { return idle_.size(); }

    void close() {
        closed_ = true;
        close_idle();
    }

    // A pooled connection for key that still looks alive, or null.
    std::shared_ptr<IOStream> take_idle(const std::string& key) {
        IOLoop::time_point now = IOLoop::clock::now();
        for (std::size_t i = idle_.size(); i-- > 0;) {
            if (idle_[i].key != key) continue;
            std::shared_ptr<IOStream> stream = std::move(idle_[i].stream);
            bool fresh = now - idle_[i].since < options_.idle_connection_timeout;
            idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
            stream->set_close_callback(nullptr);
            if (fresh && looks_alive(*stream)) return stream;
            stream->close();
        }
        return nullptr;
    }

    // Keeps a connection whose last exchange ended cleanly for the next
    // request to key.
    void put_idle(std::string key, std::shared_ptr<IOStream> stream) {
        if (closed_ || !options_.keep_alive || options_.max_idle_connections == 0 || stream->closed()) {
            stream->close();
            return;
        }
        // Drops it from the pool as soon as the server closes it.
        stream->set_close_callback([weak = weak_from_this(), closed = std::weak_ptr<IOStream>(stream)] {
            auto self = weak.lock();
            auto stream = closed.lock();
            if (self && stream) self->forget(stream.get());
        });
        idle_.push_back(idle_entry{std::move(key), std::move(stream), IOLoop::clock::now()});
        while (idle_.size() > options_.max_idle_connections) {
            std::shared_ptr<IOStream> oldest = std::move(idle_.front().stream);
            idle_.erase(idle_.begin());
            oldest->set_close_callback(nullptr);
            oldest->close();
        }
        schedule_sweep();
    }

    // The TLS context for a request's settings, made once per client.
    std::shared_ptr<const ssl_context> tls_context(const HTTPRequest& request) {
        if (request.ssl_options) return request.ssl_options;
        std::string key = tls_key(request);
        auto found = contexts_.find(key);
        if (found != contexts_.end()) return found->second;
        std::shared_ptr<ssl_context> context;
        if (!request.validate_cert) {
            context = std::make_shared<ssl_context>(false);
            context->set_verify_mode(ssl_cert_reqs::none);
        } else if (!request.ca_certs.empty()) {
            context = std::make_shared<ssl_context>(false);
            context->load_verify_locations(request.ca_certs);
        } else {
            context = create_default_context();
        }
        if (!request.client_cert.empty()) context->load_cert_chain(request.client_cert, request.client_key);
        contexts_.emplace(std::move(key), context);
        return context;
    }

    static std::string tls_key(const HTTPRequest& request) {
        if (request.ssl_options) return fmt::format("ctx:{}", static_cast<const void*>(request.ssl_options.get()));
        return fmt::format("{}|{}|{}|{}", request.validate_cert ? 1 : 0, request.ca_certs, request.client_cert,
                           request.client_key);
    }

private:
    struct idle_entry {
        std::string key;
        std::shared_ptr<IOStream> stream;
        IOLoop::time_point since;
    };

    static std::shared_ptr<Resolver> make_resolver(const AsyncHTTPClientOptions& options) {
        std::shared_ptr<Resolver> resolver = options.resolver ? options.resolver : std::make_shared<Resolver>();
        if (options.hostname_mapping.empty()) return resolver;
        return std::make_shared<OverrideResolver>(resolver, options.hostname_mapping);
    }

    // The server may have closed the connection, or sent something, while it
    // sat in the pool with the loop not running (a blocking HTTPClient
    // between fetches): peek without reading. Unexpected bytes on a plain
    // connection (a "408" before closing) disqualify it; on TLS they may be
    // a session ticket, which OpenSSL handles.
    static bool looks_alive(IOStream& stream) {
        if (stream.closed() || !stream.read_buffer().empty()) return false;
        std::error_code ec;
        char byte;
        std::size_t n = stream.socket().receive(asio::buffer(&byte, 1), asio::socket_base::message_peek, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) return true;
        if (ec) return false;  // eof, reset
        return n > 0 && dynamic_cast<tcp_transport*>(&stream.transport()) == nullptr;
    }

    void forget(const IOStream* stream) {
        for (std::size_t i = 0; i < idle_.size(); ++i) {
            if (idle_[i].stream.get() != stream) continue;
            idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
            return;
        }
    }

    void close_idle() {
        if (sweep_scheduled_) {
            sweep_loop_->remove_timeout(sweep_);
            sweep_scheduled_ = false;
        }
        std::vector<idle_entry> idle = std::move(idle_);
        idle_.clear();
        for (auto& entry : idle) {
            entry.stream->set_close_callback(nullptr);
            entry.stream->close();
        }
    }

    void schedule_sweep() {
        if (sweep_scheduled_ || idle_.empty()) return;
        IOLoop::time_point oldest = idle_.front().since;
        for (const auto& entry : idle_) oldest = std::min(oldest, entry.since);
        sweep_scheduled_ = true;
        sweep_loop_ = &IOLoop::current();
        sweep_ = sweep_loop_->call_at(oldest + options_.idle_connection_timeout,
                                           [weak = weak_from_this()] {
                                               if (auto self = weak.lock()) self->sweep();
                                           });
    }

    void sweep() {
        sweep_scheduled_ = false;
        IOLoop::time_point now = IOLoop::clock::now();
        std::vector<std::shared_ptr<IOStream>> expired;
        std::erase_if(idle_, [&](idle_entry& entry) {
            if (now - entry.since < options_.idle_connection_timeout) return false;
            expired.push_back(std::move(entry.stream));
            return true;
        });
        for (auto& stream : expired) {
            stream->set_close_callback(nullptr);
            stream->close();
        }
        schedule_sweep();
    }

    AsyncHTTPClientOptions options_;
    TCPClient tcp_;
    Semaphore slots_;
    std::vector<idle_entry> idle_;  // most recently used last
    std::map<std::string, std::shared_ptr<ssl_context>> contexts_;
    timeout_handle sweep_;
    IOLoop* sweep_loop_ = nullptr;
    bool sweep_scheduled_ = false;
    bool closed_ = false;
    std::size_t connections_opened_ = 0;
};

// Tornado's _HTTPConnection._handle_exception: a closed stream becomes its
// cause, or HTTPStreamClosedError when it has none.
[[noreturn]] inline void rethrow_client_error(std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const StreamClosedError& e) {
        if (e.real_error()) std::rethrow_exception(e.real_error());
        throw HTTPStreamClosedError("Stream closed");
    }
}

// A connection for one exchange.
struct client_connection {
    std::shared_ptr<IOStream> stream;
    std::string pool_key;
    bool reused = false;
};

// Sends a CONNECT through the proxy on `stream` and checks its answer.
inline task<void> open_tunnel(std::shared_ptr<IOStream> stream, const parsed_url& url, const HTTPRequest& request) {
    HTTP1Connection connection(stream, true);
    std::string authority = url.host.find(':') != std::string::npos ? fmt::format("[{}]:{}", url.host, url.port)
                                                                     : fmt::format("{}:{}", url.host, url.port);
    HTTPHeaders headers;
    headers.add("Host", authority);
    if (!request.proxy_username.empty())
        headers.add("Proxy-Authorization",
                    "Basic " + base64_encode(request.proxy_username + ":" + request.proxy_password));
    RequestStartLine line{"CONNECT", authority, "HTTP/1.1"};
    connection.write_headers(line, headers);
    ResponseStartLine answer;
    HTTPHeaders answer_headers;
    do {
        answer = co_await connection.read_response_head(answer_headers);
    } while (answer.code >= 100 && answer.code < 200);
    if (answer.code < 200 || answer.code >= 300) {
        stream->close();
        throw HTTPClientError(599, fmt::format("Tunnel connection failed: {} {}", answer.code, answer.reason));
    }
}

// network_interface as an address; std::invalid_argument if it is none.
inline std::optional<asio::ip::address> source_address(const HTTPRequest& request) {
    if (request.network_interface.empty()) return std::nullopt;
    std::error_code ec;
    asio::ip::address address = asio::ip::make_address(request.network_interface, ec);
    if (ec)
        throw std::invalid_argument(fmt::format("Unrecognized IPv4 or IPv6 address for network_interface, got '{}'",
                                                request.network_interface));
    return address;
}

// A new connection for a request: to the origin, or to the proxy (a tunnel
// through it for https), secured when the URL is https.
inline task<std::shared_ptr<IOStream>> open_connection(std::shared_ptr<client_state> st, parsed_url url,
                                                       const HTTPRequest& request) {
    connect_options options;
    options.family = request.allow_ipv6 ? address_family::unspecified : address_family::ipv4;
    options.stream.max_buffer_size = st->options().max_buffer_size;
    options.source_ip = source_address(request);
    bool tls = url.scheme == "https";
    std::shared_ptr<const ssl_context> context = tls ? st->tls_context(request) : nullptr;
    std::shared_ptr<IOStream> stream;
    if (!request.proxy_host.empty()) {
        stream = co_await st->tcp().connect(request.proxy_host, request.proxy_port, options);
        st->count_connection();
        if (tls) {
            co_await open_tunnel(stream, url, request);
            stream = co_await start_tls(std::move(stream), false, context, url.host);
        }
    } else if (tls) {
        stream = co_await st->tcp().connect(url.host, url.port, options, context, url.host);
        st->count_connection();
    } else {
        stream = co_await st->tcp().connect(url.host, url.port, options);
        st->count_connection();
    }
    stream->set_nodelay(true);
    co_return stream;
}

// Which pooled connections a request may use: same origin (or proxy), same
// TLS settings, same local address.
inline std::string pool_key(const parsed_url& url, const HTTPRequest& request) {
    std::string host = ascii_lowered(url.host);
    std::string key;
    if (!request.proxy_host.empty()) {
        std::string proxy = fmt::format("{}:{}", ascii_lowered(request.proxy_host), request.proxy_port);
        if (url.scheme == "http") key = "http-proxy://" + proxy;  // any http origin, through that proxy
        else key = fmt::format("https://{}:{} via {} {}", host, url.port, proxy, client_state::tls_key(request));
    } else if (url.scheme == "https") {
        key = fmt::format("https://{}:{} {}", host, url.port, client_state::tls_key(request));
    } else {
        key = fmt::format("http://{}:{}", host, url.port);
    }
    if (!request.network_interface.empty()) key += " from " + request.network_interface;
    return key;
}

// The headers a hop sends, in Tornado's order: the request's own, then
// Host, Authorization, User-Agent, Expect, Content-Length, Content-Type,
// Accept-Encoding.
inline HTTPHeaders wire_headers(const client_state& st, const HTTPRequest& request, const client_hop& hop,
                                const parsed_url& url) {
    HTTPHeaders headers = hop.headers;
    if (request.if_modified_since) headers.set("If-Modified-Since", format_timestamp(*request.if_modified_since));
    if (!st.options().keep_alive && !headers.contains("Connection")) headers.set("Connection", "close");
    if (!headers.contains("Host")) headers.set("Host", url.netloc);
    std::optional<std::string> username, password;
    if (url.username) {
        username = url.username;
        password = url.password.value_or("");
    } else if (hop.auth_username) {
        username = hop.auth_username;
        password = hop.auth_password.value_or("");
    }
    if (username) {
        if (!request.auth_mode.empty() && request.auth_mode != "basic")
            throw std::invalid_argument(fmt::format("unsupported auth_mode {}", request.auth_mode));
        headers.set("Authorization", "Basic " + base64_encode(*username + ":" + *password));
    }
    if (!request.user_agent.empty()) headers.set("User-Agent", request.user_agent);
    else if (!headers.contains("User-Agent")) headers.set("User-Agent", client_user_agent);
    if (request.expect_100_continue) headers.set("Expect", "100-continue");
    if (*hop.body) headers.set("Content-Length", std::to_string((*hop.body)->size()));
    if (hop.method == "POST" && !headers.contains("Content-Type"))
        headers.set("Content-Type", "application/x-www-form-urlencoded");
    if (request.decompress_response) headers.set("Accept-Encoding", "gzip");
    if (!request.proxy_host.empty() && url.scheme == "http" && !request.proxy_username.empty()) {
        if (!request.proxy_auth_mode.empty() && request.proxy_auth_mode != "basic")
            throw std::invalid_argument(fmt::format("unsupported proxy_auth_mode {}", request.proxy_auth_mode));
        headers.set("Proxy-Authorization",
                    "Basic " + base64_encode(request.proxy_username + ":" + request.proxy_password));
    }
    return headers;
}

// Tornado's _should_follow_redirect.
inline bool should_follow(const HTTPRequest& request, const client_hop& hop, int code, const HTTPHeaders& headers) {
    return request.follow_redirects && hop.redirects_left > 0 &&
           (code == 301 || code == 302 || code == 303 || code == 307 || code == 308) && headers.contains("Location");
}

// One request and its response over `conn`. Sets `heads` to the number of
// response heads received (a retry is safe only before the first).
inline task<hop_result> exchange(std::shared_ptr<client_state> st, const HTTPRequest& request, const client_hop& hop,
                                 const parsed_url& url, client_connection& conn, HTTPHeaders headers, int& heads,
                                 bool& reusable) {
    HTTP1ConnectionParameters params;
    params.max_header_size = st->options().max_header_size.value_or(params.max_header_size);
    std::size_t max_body = st->options().max_body_size.value_or(st->options().max_buffer_size);
    if (!request.streaming_callback) max_body = std::min(max_body, st->options().max_buffer_size);
    params.max_body_size = max_body;
    params.decompress = request.decompress_response;
    HTTP1Connection connection(conn.stream, true, params, url.netloc);

    std::string target = url.target;
    if (!request.proxy_host.empty() && url.scheme == "http") target = "http://" + url.netloc + url.target;
    RequestStartLine line{hop.method, std::move(target), "HTTP/1.1"};
    const std::optional<std::string>& body = *hop.body;
    bool body_pending = request.expect_100_continue && body.has_value();
    connection.write_headers(line, headers, body && !body_pending ? std::string_view(*body) : std::string_view());
    // Not awaited: the response is read while the request goes out, so an
    // early answer (413, say) is seen even if the server stops reading.
    if (!body_pending) (void)connection.finish();

    hop_result result;
    auto call_header_callback = [&](const ResponseStartLine& start, const HTTPHeaders& h) {
        if (!request.header_callback) return;
        request.header_callback(fmt::format("{} {} {}\r\n", start.version, start.code, start.reason));
        for (const auto& [name, value] : h) request.header_callback(fmt::format("{}: {}\r\n", name, value));
        request.header_callback("\r\n");
    };
    for (;;) {
        result.start_line = co_await connection.read_response_head(result.headers);
        ++heads;
        int code = result.start_line.code;
        if (code >= 200 || code < 100) break;
        if (code == 100 && body_pending) {
            body_pending = false;
            (void)connection.write(*body);
            (void)connection.finish();
            continue;
        }
        call_header_callback(result.start_line, result.headers);
    }
    result.redirect = should_follow(request, hop, result.start_line.code, result.headers);
    if (result.redirect) {
        co_await connection.read_body([](std::string_view) {});
    } else {
        call_header_callback(result.start_line, result.headers);
        if (request.streaming_callback) co_await connection.read_body(request.streaming_callback);
        else result.body = co_await connection.read_body();
    }
    // Reusable: the response read to its end, keep-alive on both sides, the
    // request sent in full, and nothing more from the server.
    reusable = !body_pending && connection.keep_alive() && connection.read_finished() && connection.write_finished() &&
               !conn.stream->writing() && conn.stream->read_buffer().empty();
    co_return result;
}

// One hop: a connection (pooled or new), the exchange, and a retry on a
// new connection when a pooled one turns out dead.
inline task<hop_result> run_hop(std::shared_ptr<client_state> st, const HTTPRequest& request, const client_hop& hop) {
    parsed_url url = parse_request_url(hop.url);
    HTTPHeaders headers = wire_headers(*st, request, hop, url);
    std::string key = pool_key(url, request);

    IOLoop::time_point started = IOLoop::clock::now();
    auto started_wall = std::chrono::system_clock::now();
    IOLoop::duration connect_limit{};
    if (request.connect_timeout.count() > 0 && request.request_timeout.count() > 0)
        connect_limit = std::min(request.connect_timeout, request.request_timeout);
    else
        connect_limit = request.connect_timeout.count() > 0 ? request.connect_timeout : request.request_timeout;

    for (int attempt = 0;; ++attempt) {
        client_connection conn;
        conn.pool_key = key;
        if (attempt == 0) conn.stream = st->take_idle(key);
        conn.reused = conn.stream != nullptr;
        if (!conn.stream) {
            task<std::shared_ptr<IOStream>> opening = open_connection(st, url, request);
            try {
                if (connect_limit.count() > 0)
                    conn.stream = co_await with_timeout(started + connect_limit, std::move(opening));
                else
                    conn.stream = co_await std::move(opening);
            } catch (const TimeoutError&) {
                throw HTTPTimeoutError("Timeout while connecting");
            } catch (const StreamClosedError&) {
                rethrow_client_error(std::current_exception());
            }
        }
        int heads = 0;
        bool reusable = false;
        std::exception_ptr failure;
        bool timed_out = false;
        hop_result result;
        try {
            task<hop_result> work = exchange(st, request, hop, url, conn, headers, heads, reusable);
            if (request.request_timeout.count() > 0)
                result = co_await with_timeout(started + request.request_timeout, std::move(work));
            else
                result = co_await std::move(work);
        } catch (const TimeoutError&) {
            timed_out = true;
        } catch (...) {
            failure = std::current_exception();
        }
        if (timed_out) {
            conn.stream->close();
            throw HTTPTimeoutError("Timeout during request");
        }
        if (failure) {
            conn.stream->close();
            bool dead_connection = false;
            try {
                std::rethrow_exception(failure);
            } catch (const StreamClosedError&) {
                dead_connection = true;
            } catch (...) {
            }
            if (dead_connection && conn.reused && heads == 0 && attempt == 0 && is_idempotent(hop.method)) continue;
            rethrow_client_error(failure);
        }
        if (reusable) st->put_idle(std::move(conn.pool_key), std::move(conn.stream));
        else conn.stream->close();
        result.started = started;
        result.started_wall = started_wall;
        co_return result;
    }
}

// Tornado's checks of a request before it is sent.
inline void check_request(const HTTPRequest& request, const client_hop& hop) {
    static constexpr std::string_view supported[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    if (!request.allow_nonstandard_methods &&
        std::find(std::begin(supported), std::end(supported), hop.method) == std::end(supported))
        throw std::invalid_argument(fmt::format("unknown method {}", hop.method));
    if (!is_token(hop.method)) throw std::invalid_argument(fmt::format("invalid method {}", hop.method));
    (void)source_address(request);
    if (!request.proxy_host.empty() && request.proxy_port == 0)
        throw std::invalid_argument("proxy_host needs a proxy_port");
    if (!request.allow_nonstandard_methods) {
        bool body_expected = hop.method == "POST" || hop.method == "PATCH" || hop.method == "PUT";
        bool body_present = hop.body->has_value();
        if (body_expected != body_present)
            throw std::invalid_argument(
                fmt::format("Body must {}be None for method {} (unless allow_nonstandard_methods is true)",
                            body_expected ? "not " : "", hop.method));
    }
}

inline std::string origin_of(std::string_view url) {
    parsed_url parsed = parse_request_url(url);
    return fmt::format("{}://{}:{}", parsed.scheme, ascii_lowered(parsed.host), parsed.port);
}

// The whole fetch: queue, hops, redirects, the response or the error.
inline task<HTTPResponse> fetch(std::shared_ptr<client_state> st, HTTPRequest request_in, bool raise_error) {
    auto request = std::make_shared<const HTTPRequest>(std::move(request_in));
    client_hop hop;
    hop.url = request->url;
    hop.method = request->method;
    hop.headers = request->headers;
    hop.body = &request->body;
    hop.auth_username = request->auth_username;
    hop.auth_password = request->auth_password;
    hop.redirects_left = request->max_redirects;
    static const std::optional<std::string> no_body;

    for (;;) {
        check_request(*request, hop);
        (void)parse_request_url(hop.url);  // a bad URL fails before queueing
        // Tornado's queue timeout: the smaller non-zero of the two.
        std::optional<IOLoop::time_point> queue_deadline;
        IOLoop::duration ct = request->connect_timeout, rt = request->request_timeout;
        if (ct.count() > 0 || rt.count() > 0) {
            IOLoop::duration limit = ct.count() > 0 && rt.count() > 0 ? std::min(ct, rt) : ct.count() > 0 ? ct : rt;
            queue_deadline = IOLoop::clock::now() + limit;
        }
        Semaphore::guard slot;
        try {
            if (queue_deadline) slot = co_await st->slots().acquire(*queue_deadline);
            else slot = co_await st->slots().acquire();
        } catch (const TimeoutError&) {
            throw HTTPTimeoutError("Timeout in request queue");
        }
        hop_result result = co_await run_hop(st, *request, hop);
        slot.release();

        if (result.redirect) {
            std::string next = urljoin(hop.url, *result.headers.get("Location"));
            int code = result.start_line.code;
            hop.headers.remove("Host");
            if ((code == 303 && hop.method != "HEAD") || ((code == 301 || code == 302) && hop.method == "POST")) {
                hop.method = "GET";
                hop.body = &no_body;
                for (std::string_view name : {"Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding"})
                    hop.headers.remove(name);
            }
            // gale, not Tornado 6.2: credentials stay with their origin.
            bool same_origin = false;
            try {
                same_origin = origin_of(next) == origin_of(hop.url);
            } catch (const std::invalid_argument&) {
            }
            if (!same_origin) {
                hop.headers.remove("Authorization");
                hop.headers.remove("Cookie");
                hop.auth_username.reset();
                hop.auth_password.reset();
            }
            hop.url = std::move(next);
            --hop.redirects_left;
            continue;
        }

        HTTPResponse response;
        response.request = request;
        response.code = result.start_line.code;
        response.reason = result.start_line.reason.empty() ? std::string(http_reason(response.code))
                                                           : std::move(result.start_line.reason);
        response.headers = std::move(result.headers);
        response.effective_url = hop.url;
        response.body = std::move(result.body);
        response.request_time = IOLoop::clock::now() - result.started;
        response.start_time = result.started_wall;
        if (response.code < 200 || response.code >= 300) {
            if (raise_error) {
                int code = response.code;
                std::string reason = response.reason;
                response.error = std::make_exception_ptr(HTTPClientError(code, reason));
                throw HTTPClientError(code, std::move(reason), std::make_shared<const HTTPResponse>(std::move(response)));
            }
            response.error = std::make_exception_ptr(HTTPClientError(response.code, response.reason));
        }
        co_return response;
    }
}

}  // namespace detail

// The non-blocking client (Tornado's AsyncHTTPClient, implemented like its
// SimpleAsyncHTTPClient plus connection reuse). See the top of this header.
class AsyncHTTPClient {
public:
    explicit AsyncHTTPClient(AsyncHTTPClientOptions options = {})
        : state_(std::make_shared<detail::client_state>(std::move(options))) {}
    AsyncHTTPClient(const AsyncHTTPClient&) = delete;
    AsyncHTTPClient& operator=(const AsyncHTTPClient&) = delete;
    ~AsyncHTTPClient() { state_->close(); }

    // Fetches the request; the response, or the errors described at the top
    // of this header. Throws std::runtime_error at once after close().
    task<HTTPResponse> fetch(HTTPRequest request, bool raise_error = true) {
        if (state_->closed()) throw std::runtime_error("fetch() called on closed AsyncHTTPClient");
        return detail::fetch(state_, std::move(request), raise_error);
    }
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
    void close() { state_->close(); }

    const AsyncHTTPClientOptions& options() const noexcept { return state_->options(); }
    // Connections this client has opened so far, and those now idle in its
    // pool (for tests and monitoring).
    std::size_t connections_opened() const noexcept { return state_->connections_opened(); }
    std::size_t idle_connections() const noexcept { return state_->idle_connections(); }

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
