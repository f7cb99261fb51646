// Definitions for httpclient.hpp: URLs, the connection pool and the
// exchanges of AsyncHTTPClient. Compiled in every translation unit in
// header-only mode, or once by <gale/src.hpp> with GALE_SEPARATE_COMPILATION;
// see detail/config.hpp.
#pragma once

#include "../httpclient.hpp"

#include "../http1connection.hpp"
#include "../locks.hpp"

namespace gale {

namespace detail {

inline constexpr std::string_view client_user_agent = "gale/" GALE_VERSION;


GALE_DECL std::string base64_encode(std::string_view in) {
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
GALE_DECL std::string sanitize_url(std::string_view url) {
    while (!url.empty() && static_cast<unsigned char>(url.front()) <= 0x20) url.remove_prefix(1);
    while (!url.empty() && static_cast<unsigned char>(url.back()) <= 0x20) url.remove_suffix(1);
    std::string out;
    out.reserve(url.size());
    for (char c : url)
        if (c != '\t' && c != '\r' && c != '\n') out += c;
    return out;
}

GALE_DECL url_parts urlsplit(std::string_view url_in) {
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
GALE_DECL std::string urlunsplit(const url_parts& p) {
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

GALE_DECL std::string urljoin(std::string_view base, std::string_view url) {
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
GALE_DECL std::string encode_request_target(std::string_view target) {
    std::string out;
    out.reserve(target.size());
    for (char ch : target) {
        auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7f) out += fmt::format("%{:02X}", c);
        else out += ch;
    }
    return out;
}


GALE_DECL parsed_url parse_request_url(std::string_view url) {
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

GALE_DECL bool is_idempotent(std::string_view method) noexcept {
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
[[noreturn]] GALE_DECL void rethrow_client_error(std::exception_ptr error) {
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
GALE_DECL task<void> open_tunnel(std::shared_ptr<IOStream> stream, const parsed_url& url, const HTTPRequest& request) {
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
GALE_DECL std::optional<asio::ip::address> source_address(const HTTPRequest& request) {
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
GALE_DECL task<std::shared_ptr<IOStream>> open_connection(std::shared_ptr<client_state> st, parsed_url url,
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
GALE_DECL std::string pool_key(const parsed_url& url, const HTTPRequest& request) {
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
GALE_DECL HTTPHeaders wire_headers(const client_state& st, const HTTPRequest& request, const client_hop& hop,
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
GALE_DECL bool should_follow(const HTTPRequest& request, const client_hop& hop, int code, const HTTPHeaders& headers) {
    return request.follow_redirects && hop.redirects_left > 0 &&
           (code == 301 || code == 302 || code == 303 || code == 307 || code == 308) && headers.contains("Location");
}

// Hands a response head to request.header_callback, line by line.
GALE_DECL void call_header_callback(const HTTPRequest& request, const ResponseStartLine& start,
                                    const HTTPHeaders& headers) {
    if (!request.header_callback) return;
    request.header_callback(fmt::format("{} {} {}\r\n", start.version, start.code, start.reason));
    for (const auto& [name, value] : headers) request.header_callback(fmt::format("{}: {}\r\n", name, value));
    request.header_callback("\r\n");
}

// A body sink that drops the body (a redirect's). A named type, not a lambda:
// in separate-compilation mode a coroutine frame may not hold a type without
// linkage (GCC's -Wsubobject-linkage).
struct discard_body {
    void operator()(std::string_view) const noexcept {}
};

// One request and its response over `conn`. Sets `heads` to the number of
// response heads received (a retry is safe only before the first).
GALE_DECL task<hop_result> exchange(std::shared_ptr<client_state> st, const HTTPRequest& request, const client_hop& hop,
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
        call_header_callback(request, result.start_line, result.headers);
    }
    result.redirect = should_follow(request, hop, result.start_line.code, result.headers);
    if (result.redirect) {
        co_await connection.read_body(discard_body{});
    } else {
        call_header_callback(request, result.start_line, result.headers);
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
GALE_DECL task<hop_result> run_hop(std::shared_ptr<client_state> st, const HTTPRequest& request, const client_hop& hop) {
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
GALE_DECL void check_request(const HTTPRequest& request, const client_hop& hop) {
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

GALE_DECL std::string origin_of(std::string_view url) {
    parsed_url parsed = parse_request_url(url);
    return fmt::format("{}://{}:{}", parsed.scheme, ascii_lowered(parsed.host), parsed.port);
}

// The whole fetch: queue, hops, redirects, the response or the error.
GALE_DECL task<HTTPResponse> fetch(std::shared_ptr<client_state> st, HTTPRequest request_in, bool raise_error) {
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

GALE_DECL AsyncHTTPClient::AsyncHTTPClient(AsyncHTTPClientOptions options)
       : state_(std::make_shared<detail::client_state>(std::move(options))) {}

GALE_DECL AsyncHTTPClient::~AsyncHTTPClient() { state_->close(); }

GALE_DECL task<HTTPResponse> AsyncHTTPClient::fetch(HTTPRequest request, bool raise_error) {
    if (state_->closed()) throw std::runtime_error("fetch() called on closed AsyncHTTPClient");
    return detail::fetch(state_, std::move(request), raise_error);
}

GALE_DECL void AsyncHTTPClient::close() { state_->close(); }

GALE_DECL const AsyncHTTPClientOptions& AsyncHTTPClient::options() const noexcept { return state_->options(); }

GALE_DECL std::size_t AsyncHTTPClient::connections_opened() const noexcept { return state_->connections_opened(); }

GALE_DECL std::size_t AsyncHTTPClient::idle_connections() const noexcept { return state_->idle_connections(); }

}  // namespace gale
