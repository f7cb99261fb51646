// Definitions for web.hpp; see detail/config.hpp.
#pragma once

#include "../web.hpp"

#include <openssl/evp.h>

// Only Application's constructor starts autoreload (debug): the one place
// the web layer reaches into layer 5, kept out of the header's interface.
#include "../autoreload.hpp"

#include <ctime>
#include <memory>

namespace gale {

namespace detail {

// The SHA-1 implementation, fetched from OpenSSL's provider once per thread
// (OpenSSL 3 looks EVP_sha1() up again at each EVP_DigestInit_ex).
inline const EVP_MD* sha1_md() {
#if OPENSSL_VERSION_MAJOR >= 3
    struct md_deleter {
        void operator()(EVP_MD* m) const noexcept { EVP_MD_free(m); }
    };
    thread_local std::unique_ptr<EVP_MD, md_deleter> md(EVP_MD_fetch(nullptr, "SHA1", nullptr));
    if (md) return md.get();
#endif
    return EVP_sha1();
}

// The Date header, formatted once a second per thread.
GALE_DECL std::string_view date_header_now() {
    thread_local std::time_t last = 0;
    thread_local std::string text;
    std::time_t now = std::time(nullptr);
    if (now != last || text.empty()) {
        text = format_timestamp(now);
        last = now;
    }
    return text;
}

// The SHA-1 of body in hex between double quotes (an Etag).
GALE_DECL std::string quoted_sha1_hex(std::string_view body) {
    // One digest context per thread, reset for each body.
    struct context_deleter {
        void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
    };
    thread_local std::unique_ptr<EVP_MD_CTX, context_deleter> context(EVP_MD_CTX_new());
    EVP_MD_CTX* ctx = context.get();
    if (!ctx) throw std::bad_alloc();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    bool ok = EVP_DigestInit_ex(ctx, sha1_md(), nullptr) == 1 && EVP_DigestUpdate(ctx, body.data(), body.size()) == 1 &&
              EVP_DigestFinal_ex(ctx, digest, &size) == 1;
    if (!ok) throw std::runtime_error("SHA-1 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(size * 2 + 2, '"');
    for (unsigned i = 0; i < size; ++i) {
        out[1 + 2 * i] = hex[digest[i] >> 4];
        out[2 + 2 * i] = hex[digest[i] & 15];
    }
    return out;
}

// GZipContentEncoding's compressible types: text/* and these.
GALE_DECL bool compressible_type(std::string_view type) {
    constexpr std::array<std::string_view, 7> listed = {
        "application/javascript", "application/x-javascript", "application/xml", "application/atom+xml",
        "application/json",       "application/xhtml+xml",    "image/svg+xml"};
    return type.starts_with("text/") || std::find(listed.begin(), listed.end(), type) != listed.end();
}

// Tornado's _remove_control_chars_regex ([\x00-\x08\x0e-\x1f] -> ' ') and
// str.strip() over ASCII whitespace.
GALE_DECL std::string clean_argument(std::string_view value, bool strip) {
    std::string s(value);
    for (char& c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x08 || (u >= 0x0e && u <= 0x1f)) c = ' ';
    }
    if (strip) {
        constexpr std::string_view ws = " \t\n\r\v\f";
        std::size_t b = s.find_first_not_of(ws);
        if (b == std::string::npos) return {};
        std::size_t e = s.find_last_not_of(ws);
        s = s.substr(b, e - b + 1);
    }
    return s;
}

GALE_DECL void check_utf8_argument(std::string_view value, std::string_view name) {
    if (utf8_error(value).empty()) return;
    throw web::HTTPError(400, fmt::format("Invalid unicode in {}: {}", name, py_bytes_repr(value.substr(0, 40))));
}

GALE_DECL task<void> read_whole_body(HTTPServerRequest& request) {
    request.body = co_await request.connection->read_body();
    if (request.headers.contains("Content-Type")) request.parse_body();
}

GALE_DECL std::string regex_escape(std::string_view text) {
    constexpr std::string_view special = "()[]{}?*+-|^$\\.&~# \t\n\r\v\f";
    std::string out;
    for (char c : text) {
        if (special.find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out;
}

// Tornado's Application with static_path: the static rules come first.
GALE_DECL void add_static_rules(const Settings& settings, std::vector<URLSpec>& rules) {
    auto factory = handler<StaticFileHandler>(settings.static_path, settings.static_handler_args.default_filename);
    for (std::string pattern : {regex_escape(settings.static_url_prefix) + "(.*)", std::string(R"(/(favicon\.ico))"),
                                std::string(R"(/(robots\.txt))")})
        rules.insert(rules.begin(), URLSpec(pattern, factory));
}

}  // namespace detail

GALE_DECL web::HTTPError::HTTPError(int status_code, std::string log_message, std::string reason)
    : status_code(status_code), log_message(std::move(log_message)), reason(std::move(reason)) {
    text_ = fmt::format("HTTP {}: {}", status_code,
                        this->reason.empty() ? http_reason(status_code) : std::string_view(this->reason));
    if (!this->log_message.empty()) text_ += " (" + this->log_message + ")";
}

GALE_DECL void RequestHandler::set_status(int status_code, std::string_view reason) {
    status_code_ = status_code;
    reason_ = reason.empty() ? std::string(http_reason(status_code)) : std::string(reason);
}

GALE_DECL void RequestHandler::clear() {
    headers_.clear();
    headers_.set("Server", "gale/" GALE_VERSION);
    headers_.set("Content-Type", "text/html; charset=UTF-8");
    headers_.set("Date", detail::date_header_now());
    set_default_headers();
    write_buffer_.clear();
    status_code_ = 200;
    reason_ = "OK";
}

GALE_DECL void RequestHandler::write(std::string_view chunk) {
    if (finished_) throw std::logic_error("Cannot write() after finish()");
    write_buffer_.append(chunk);
}

GALE_DECL task<void> RequestHandler::flush() {
    std::string chunk = take_buffer();
    if (!headers_written_) {
        send_headers(chunk, false);
        co_await request_->connection->write(std::string_view());
    } else if (request_->method != "HEAD") {
        if (gzip_) chunk = gzip_->transform_chunk(chunk, false);
        co_await request_->connection->write(chunk);
    }
}

GALE_DECL void RequestHandler::finish(std::string_view chunk) {
    if (finished_) throw std::logic_error("finish() called twice");
    if (!chunk.empty()) write(chunk);
    if (!headers_written_) {
        if (status_code_ == 200 && (request_->method == "GET" || request_->method == "HEAD") &&
            !headers_.contains("Etag")) {
            set_etag_header();
            if (check_etag_header()) {
                write_buffer_.clear();
                set_status(304);
            }
        }
        if (status_code_ == 204 || status_code_ == 304 || (status_code_ >= 100 && status_code_ < 200)) {
            if (!write_buffer_.empty())
                throw std::logic_error("Cannot send body with " + std::to_string(status_code_));
            headers_.remove("Content-Encoding");
            headers_.remove("Content-Language");
            headers_.remove("Content-Type");
        } else if (!headers_.contains("Content-Length")) {
            set_header("Content-Length", write_buffer_.size());
        }
    }
    std::string rest = take_buffer();
    try {
        if (!headers_written_) {
            send_headers(rest, true);
        } else if (request_->method != "HEAD") {
            if (gzip_) rest = gzip_->transform_chunk(rest, true);
            if (!rest.empty()) (void)request_->connection->write(rest);
        }
        (void)request_->connection->finish();
    } catch (const StreamClosedError&) {
        // The client has left: nothing to send it (Tornado's finish
        // does not raise either; an awaited flush() does).
    }
    request_->finish_time = HTTPServerRequest::clock::now();
    log_request();
    finished_ = true;
    on_finish();
}

GALE_DECL void RequestHandler::redirect(std::string_view url, bool permanent, int status) {
    if (headers_written_) throw std::logic_error("Cannot redirect after headers have been written");
    if (status == 0) status = permanent ? 301 : 302;
    if (status < 300 || status > 399) throw std::invalid_argument("redirect status must be 3xx");
    set_status(status);
    set_header("Location", url);
    finish();
}

GALE_DECL std::optional<std::string> RequestHandler::compute_etag() const {
    return detail::quoted_sha1_hex(write_buffer_);
}

GALE_DECL void RequestHandler::set_etag_header() {
    if (std::optional<std::string> etag = compute_etag()) set_header("Etag", *etag);
}

GALE_DECL bool RequestHandler::check_etag_header() const {
    std::string_view computed = headers_.get("Etag").value_or(std::string_view());
    std::string_view header = request_->headers.get("If-None-Match").value_or(std::string_view());
    if (computed.empty() || header.empty()) return false;
    auto strip_weak = [](std::string_view e) { return e.substr(0, 2) == "W/" ? e.substr(2) : e; };
    // re.findall(r'\*|(?:W/)?"[^"]*"', header)
    bool first = true;
    for (std::size_t i = 0; i < header.size();) {
        std::size_t start = i;
        if (header[i] == '*') {
            if (first) return true;
            first = false;
            ++i;
            continue;
        }
        if (header.compare(i, 2, "W/") == 0 && i + 2 < header.size() && header[i + 2] == '"') i += 2;
        if (header[i] == '"') {
            std::size_t close = header.find('"', i + 1);
            if (close == std::string_view::npos) break;
            std::string_view etag = header.substr(start, close + 1 - start);
            if (strip_weak(etag) == strip_weak(computed)) return true;
            first = false;
            i = close + 1;
            continue;
        }
        i = start + 1;
    }
    return false;
}

GALE_DECL std::string_view RequestHandler::checked(std::string_view value) {
    for (char c : value)
        if (static_cast<unsigned char>(c) < 0x20)
            throw std::invalid_argument("Unsafe header value '" + std::string(value) + "'");
    return value;
}

GALE_DECL std::string RequestHandler::take_buffer() {
    std::string chunk = std::move(write_buffer_);
    write_buffer_.clear();
    return chunk;
}

GALE_DECL void RequestHandler::send_headers(std::string_view chunk, bool finishing) {
    headers_written_ = true;
    std::string compressed;
    if (settings().compress_response) chunk = compress_first_chunk(chunk, finishing, compressed);
    if (request_->method == "HEAD") chunk = {};
    add_cookie_headers();
    ResponseStartLine line{"HTTP/1.1", status_code_, reason_};
    request_->connection->write_headers(line, headers_, chunk);
}

GALE_DECL std::string_view RequestHandler::compress_first_chunk(std::string_view chunk, bool finishing,
                                                                std::string& storage) {
    if (std::optional<std::string_view> vary = headers_.get("Vary"))
        headers_.set("Vary", std::string(*vary) + ", Accept-Encoding");
    else
        headers_.set("Vary", "Accept-Encoding");
    std::string_view type = headers_.get("Content-Type").value_or(std::string_view());
    type = type.substr(0, type.find(';'));
    bool gzipping = request_->headers.get("Accept-Encoding").value_or(std::string_view()).find("gzip") !=
                        std::string_view::npos &&
                    detail::compressible_type(type) && (!finishing || chunk.size() >= 1024) &&
                    !headers_.contains("Content-Encoding");
    if (!gzipping) return chunk;
    headers_.set("Content-Encoding", "gzip");
    gzip_ = std::make_unique<detail::gzip_compressor>();
    storage = gzip_->transform_chunk(chunk, finishing);
    if (headers_.contains("Content-Length")) {
        if (finishing) set_header("Content-Length", storage.size());
        else clear_header("Content-Length");
    }
    return storage;
}

GALE_DECL std::string RequestHandler::request_summary() const {
    return request_->method + " " + request_->uri + " (" + request_->remote_ip + ")";
}

GALE_DECL void RequestHandler::log_request() const { application_->log_request(*this); }

GALE_DECL void RequestHandler::write_error(int status_code, std::exception_ptr error) {
    bool http_error = false;
    std::string what;
    if (error) {
        try {
            std::rethrow_exception(error);
        } catch (const web::HTTPError& e) {
            http_error = true;
            what = e.what();
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
            what = "unknown exception";
        }
    }
    if (error && !http_error && settings().serve_traceback.value_or(false)) {
        set_header("Content-Type", "text/plain");
        write(what);
        write("\n");
        finish();
        return;
    }
    finish(fmt::format("<html><title>{0}: {1}</title><body>{0}: {1}</body></html>", status_code, reason_));
}

GALE_DECL void RequestHandler::send_error(int status_code, std::exception_ptr error) {
    if (headers_written_) {
        detail::log(detail::gen_log, detail::log_level::error, "web", 1212,
                    "Cannot send error response after headers written");
        if (!finished_) {
            try {
                finish();
            } catch (...) {
                detail::log(detail::gen_log, detail::log_level::error, "web", 1221, "Failed to flush partial response: {}",
                            detail::describe_current_exception());
            }
        }
        return;
    }
    clear();
    std::string reason;
    if (error) {
        try {
            std::rethrow_exception(error);
        } catch (const web::HTTPError& e) {
            reason = e.reason;
        } catch (...) {
        }
    }
    set_status(status_code, reason);
    if (method_not_allowed_) set_header("Allow", allow_);
    try {
        write_error(status_code, error);
    } catch (...) {
        detail::log(detail::app_log, detail::log_level::error, "web", 1235, "Uncaught exception in write_error: {}",
                    detail::describe_current_exception());
    }
    if (!finished_) finish();
}

GALE_DECL void RequestHandler::log_exception(std::exception_ptr error) const {
    try {
        std::rethrow_exception(error);
    } catch (const web::HTTPError& e) {
        if (!e.log_message.empty())
            detail::log(detail::gen_log, detail::log_level::warning, "web", 1818, "{} {}: {}", e.status_code,
                        request_summary(), e.log_message);
    } catch (...) {
        const HTTPServerRequest& r = *request_;
        detail::log(detail::app_log, detail::log_level::error, "web", 1820,
                    "Uncaught exception {}\nHTTPServerRequest(protocol='{}', host='{}', method='{}', uri='{}', "
                    "version='{}', remote_ip='{}')\n{}",
                    request_summary(), r.protocol, r.host, r.method, r.uri, r.version, r.remote_ip,
                    detail::describe_current_exception());
    }
}

GALE_DECL void RequestHandler::handle_request_exception(std::exception_ptr error) {
    log_exception(error);
    if (finished_) return;
    int code = 500;
    try {
        std::rethrow_exception(error);
    } catch (const web::HTTPError& e) {
        code = e.status_code;
    } catch (...) {
    }
    send_error(code, error);
}

GALE_DECL std::optional<std::string_view> RequestHandler::get_cookie(std::string_view name) const {
    const cookie_map& all = request_->cookies();
    auto it = all.find(name);
    if (it == all.end()) return std::nullopt;
    return std::string_view(it->second);
}

GALE_DECL void RequestHandler::set_cookie(std::string_view name, std::string_view value,
                                          const cookie_options& options) {
    std::string header = format_set_cookie(name, value, options);
    std::erase_if(new_cookies_, [name](const auto& cookie) { return cookie.first == name; });
    new_cookies_.emplace_back(name, std::move(header));
}

GALE_DECL void RequestHandler::clear_cookie(std::string_view name, std::string_view path, std::string_view domain) {
    cookie_options options;
    options.domain = domain;
    options.path = path;
    options.expires = std::chrono::system_clock::now() - std::chrono::hours(24 * 365);
    set_cookie(name, "", options);
}

GALE_DECL void RequestHandler::clear_all_cookies(std::string_view path, std::string_view domain) {
    for (const std::string& name : cookie_names_in_order()) clear_cookie(name, path, domain);
}

GALE_DECL void RequestHandler::set_signed_cookie(std::string_view name, std::string_view value,
                                                 std::optional<double> expires_days, cookie_options options,
                                                 int version) {
    options.expires_days = expires_days;
    set_cookie(name, create_signed_value(name, value, version), options);
}

GALE_DECL std::string RequestHandler::create_signed_value(std::string_view name, std::string_view value,
                                                          int version) const {
    const Settings& s = require_cookie_secret();
    if (!s.cookie_secret.has_key_versions())
        return gale::create_signed_value(s.cookie_secret, name, value, version);
    if (!s.key_version) throw std::logic_error("key_version setting must be used for secret_key dicts");
    return gale::create_signed_value(s.cookie_secret, name, value, version, std::nullopt, s.key_version);
}

GALE_DECL std::optional<std::string> RequestHandler::get_signed_cookie(std::string_view name, double max_age_days,
                                                                       int min_version) const {
    require_cookie_secret();
    std::optional<std::string_view> value = get_cookie(name);
    if (!value) return std::nullopt;
    return get_signed_cookie(name, *value, max_age_days, min_version);
}

GALE_DECL std::optional<std::string> RequestHandler::get_signed_cookie(std::string_view name, std::string_view value,
                                                                       double max_age_days, int min_version) const {
    const Settings& s = require_cookie_secret();
    return decode_signed_value(s.cookie_secret, name, value, max_age_days, std::nullopt, min_version);
}

GALE_DECL std::optional<long long> RequestHandler::get_signed_cookie_key_version(std::string_view name) const {
    require_cookie_secret();
    std::optional<std::string_view> value = get_cookie(name);
    if (!value) return std::nullopt;
    return get_signature_key_version(*value);
}

GALE_DECL std::optional<long long> RequestHandler::get_signed_cookie_key_version(std::string_view,
                                                                                 std::string_view value) const {
    require_cookie_secret();
    return get_signature_key_version(value);
}

GALE_DECL const std::optional<std::string>& RequestHandler::current_user() {
    if (!current_user_loaded_) set_current_user(get_current_user());
    return current_user_;
}

GALE_DECL std::string RequestHandler::get_login_url() {
    if (settings().login_url.empty())
        throw std::logic_error("You must define the 'login_url' setting in your application to use authenticated");
    return settings().login_url;
}

GALE_DECL const std::string& RequestHandler::xsrf_token() {
    if (!xsrf_token_) {
        const xsrf_token_parts& raw = raw_xsrf_token();
        xsrf_token_ = encode_xsrf_token(raw, settings().xsrf_cookie_version);
        if (!raw.version) {
            cookie_options options = settings().xsrf_cookie_kwargs;
            if (logged_in() && !options.expires_days) options.expires_days = 30;
            set_cookie("_xsrf", *xsrf_token_, options);
        }
    }
    return *xsrf_token_;
}

GALE_DECL void RequestHandler::check_xsrf_cookie() {
    std::optional<std::string> argument = get_argument("_xsrf", std::nullopt);
    std::string_view token = first_xsrf_submission(argument, request_->headers.get("X-Xsrftoken"),
                                                   request_->headers.get("X-Csrftoken"));
    if (std::optional<std::string> error = check_xsrf_token(token, raw_xsrf_token().token))
        throw web::HTTPError(403, std::move(*error));
}

GALE_DECL const Settings& RequestHandler::require_cookie_secret() const {
    const Settings& s = settings();
    if (s.cookie_secret.empty())
        throw std::logic_error(
            "You must define the 'cookie_secret' setting in your application to use secure cookies");
    return s;
}

GALE_DECL bool RequestHandler::logged_in() {
    const std::optional<std::string>& user = current_user();
    return user && !user->empty();
}

GALE_DECL const xsrf_token_parts& RequestHandler::raw_xsrf_token() {
    if (!raw_xsrf_token_) raw_xsrf_token_ = get_raw_xsrf_token(get_cookie("_xsrf"));
    return *raw_xsrf_token_;
}

GALE_DECL std::vector<std::string> RequestHandler::cookie_names_in_order() const {
    std::vector<std::string> names;
    const cookie_map& all = request_->cookies();
    std::string_view header = request_->headers.get("Cookie").value_or(std::string_view());
    while (names.size() < all.size() && !header.empty()) {
        std::size_t end = header.find(';');
        std::string_view chunk = header.substr(0, end);
        header.remove_prefix(end == std::string_view::npos ? header.size() : end + 1);
        std::string name = detail::clean_argument(chunk.substr(0, chunk.find('=')), true);
        if (all.contains(name) && std::find(names.begin(), names.end(), name) == names.end())
            names.push_back(std::move(name));
    }
    return names;
}

GALE_DECL void RequestHandler::check_xsrf_before_prepare(detail::web_method m) {
    using enum detail::web_method;
    if (m != get && m != head && m != options && settings().xsrf_cookies) check_xsrf_cookie();
}

GALE_DECL bool RequestHandler::has_url_scheme(std::string_view url) {
    std::size_t colon = url.find(':');
    if (colon == 0 || colon == std::string_view::npos) return false;
    auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (!letter(url[0])) return false;
    for (char c : url.substr(0, colon))
        if (!letter(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
    return true;
}

GALE_DECL void RequestHandler::add_cookie_headers() {
    for (const auto& cookie : new_cookies_) headers_.add("Set-Cookie", cookie.second);
}

GALE_DECL std::optional<std::string> RequestHandler::last_of(const argument_map& map, std::string_view name,
                                                             bool strip) {
    auto it = map.find(name);
    if (it == map.end() || it->second.empty()) return std::nullopt;
    for (const std::string& v : it->second) detail::check_utf8_argument(v, name);  // as Tornado decodes all
    return detail::clean_argument(it->second.back(), strip);
}

GALE_DECL std::vector<std::string> RequestHandler::all_of(const argument_map& map, std::string_view name, bool strip) {
    std::vector<std::string> out;
    auto it = map.find(name);
    if (it == map.end()) return out;
    out.reserve(it->second.size());
    for (const std::string& v : it->second) {
        detail::check_utf8_argument(v, name);
        out.push_back(detail::clean_argument(v, strip));
    }
    return out;
}

GALE_DECL std::string RequestHandler::required(const argument_map& map, std::string_view name) {
    std::optional<std::string> v = last_of(map, name, true);
    if (!v) throw web::MissingArgumentError(std::string(name));
    return std::move(*v);
}

GALE_DECL std::string RequestHandler::static_url(std::string_view path, bool include_host, bool include_version) const {
    if (settings().static_path.empty())
        throw std::logic_error("You must define the 'static_path' setting in your application to use static_url");
    std::string url = StaticFileHandler::make_static_url(settings(), path, include_version);
    if (!include_host) return url;
    return request().protocol + "://" + request().host + url;
}

GALE_DECL void handler_factory::check(std::size_t groups, std::string_view pattern) const {
    for (std::size_t i = 0; i < detail::web_method_count; ++i) {
        const detail::method_shape& s = shapes[i];
        if (s.defined() && !s.accepts(groups))
            throw std::invalid_argument(fmt::format(
                "url pattern '{}' has {} group{} but the handler's {}() cannot take {} std::string_view "
                "argument{}",
                pattern, groups, groups == 1 ? "" : "s", detail::web_method_functions[i], groups,
                groups == 1 ? "" : "s"));
    }
}

GALE_DECL void Application::add_handlers(std::string_view host_pattern, std::vector<URLSpec> rules) {
    auto matcher = std::make_shared<const HostMatches>(host_pattern);
    hosts_.insert(hosts_.end() - 1, host_group{std::move(matcher), compile(rules)});
}

GALE_DECL task<void> Application::operator()(HTTPServerRequest& request) {
    route_params params;
    for (const host_group& g : hosts_) {
        if (g.host && !g.host->match(request, params)) continue;
        for (const route& r : g.routes) {
            if (r.matcher.match_path(request.path, params))
                return r.factory->run(*this, request, std::move(params), r.factory->args.get(), r.groups);
            params.clear();
        }
    }
    const handler_factory& f = settings_.default_handler ? *settings_.default_handler : *not_found_;
    return f.run(*this, request, std::move(params), f.args.get(), 0);
}

GALE_DECL std::uint16_t Application::listen(std::uint16_t port, std::string_view address, HTTPServerOptions options) {
    options.read_body = false;  // bodies are read by the handler's run (or streamed to data_received)
    auto server = std::make_unique<HTTPServer>([this](HTTPServerRequest& r) { return (*this)(r); },
                                               std::move(options));
    std::uint16_t bound = server->listen(port, address);
    servers_.push_back(std::move(server));
    return bound;
}

GALE_DECL void Application::stop() {
    for (auto& s : servers_) s->stop();
}

GALE_DECL task<void> Application::close_all_connections() {
    stop();
    for (auto& s : servers_) co_await s->close_all_connections();
}

GALE_DECL void Application::log_request(const RequestHandler& handler) const {
    int status = handler.get_status();
    detail::log_level level = status < 400   ? detail::log_level::info
                              : status < 500 ? detail::log_level::warning
                                             : detail::log_level::error;
    if (!detail::log_enabled(level)) return;
    const HTTPServerRequest& r = handler.request();
    detail::log(detail::access_log, level, "web", 2293, "{} {} {} ({}) {:.2f}ms", status, r.method, r.uri,
                r.remote_ip, 1000.0 * r.request_time());
}

GALE_DECL std::vector<Application::route> Application::compile(const std::vector<URLSpec>& rules) {
    std::vector<route> out;
    out.reserve(rules.size());
    for (const URLSpec& spec : rules) {
        if (!spec.factory) throw std::invalid_argument("url pattern '" + spec.pattern + "' has no handler");
        PathMatches m(spec.pattern);
        std::size_t groups = m.group_count();
        spec.factory->check(groups, m.pattern());
        out.push_back(route{std::move(m), spec.factory, spec.name, groups});
    }
    return out;
}

GALE_DECL task<void> RedirectHandler::get(std::span<const std::string_view> args) {
    std::string to;
    for (std::size_t i = 0; i < url_.size(); ++i) {
        char c = url_[i];
        if ((c == '{' || c == '}') && i + 1 < url_.size() && url_[i + 1] == c) {
            to += c;
            ++i;
            continue;
        }
        if (c != '{') {
            to += c;
            continue;
        }
        std::size_t close = url_.find('}', i);
        if (close == std::string::npos) throw std::invalid_argument("Single '{' encountered in format string");
        std::string_view field = std::string_view(url_).substr(i + 1, close - i - 1);
        std::size_t index = 0;
        auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), index);
        if (ec == std::errc() && end == field.data() + field.size()) {
            if (index >= args.size()) throw std::out_of_range("Replacement index " + std::string(field) + " out of range");
            to += args[index];
        } else if (std::optional<std::string_view> named = path_kwarg(field)) {
            to += *named;
        } else {
            throw std::out_of_range("KeyError: '" + std::string(field) + "'");
        }
        i = close;
    }
    if (!request().query_arguments.empty()) {
        std::vector<std::pair<std::string, std::string>> query;
        for (const auto& [name, values] : request().query_arguments)
            for (const std::string& v : values) query.emplace_back(name, v);
        to = url_concat(to, query);
    }
    redirect(to, permanent_);
    co_return;
}

GALE_DECL std::optional<std::string> StaticFileHandler::compute_etag() const {
    std::optional<std::string> version = detail::static_files::cached_version(absolute_path_, use_hash_cache(settings()));
    if (!version) return std::nullopt;
    return "\"" + *version + "\"";
}

GALE_DECL std::int64_t StaticFileHandler::get_cache_time(std::string_view /*path*/, std::int64_t /*modified*/,
                                                         std::string_view /*mime_type*/) {
    return request().arguments.contains("v") ? CACHE_MAX_AGE : 0;
}

GALE_DECL std::string StaticFileHandler::get_content_type() const {
    return std::string(detail::static_files::content_type(absolute_path_));
}

GALE_DECL std::string StaticFileHandler::make_static_url(const Settings& settings, std::string_view path,
                                                         bool include_version) {
    std::string url = settings.static_url_prefix + std::string(path);
    if (!include_version) return url;
    std::optional<std::string> version = get_version(settings, path);
    if (!version) return url;
    return url + "?v=" + *version;
}

GALE_DECL std::optional<std::string> StaticFileHandler::get_version(const Settings& settings, std::string_view path) {
    return detail::static_files::cached_version(get_absolute_path(settings.static_path, path),
                                                use_hash_cache(settings));
}

GALE_DECL task<void> StaticFileHandler::serve(std::string_view url_path, bool include_body) {
    path_ = std::string(url_path);
    if (!validate_absolute_path(get_absolute_path(root_, path_))) co_return;
    set_headers();
    if (should_return_304()) {
        set_status(304);
        co_return;
    }
    std::optional<std::int64_t> start, end;
    std::string_view range_header = request().headers.get("Range").value_or(std::string_view());
    std::optional<detail::static_files::byte_range> range;
    if (!range_header.empty()) range = detail::static_files::parse_request_range(range_header);
    if (range) {
        start = range->start;
        end = range->end;
        if (start && *start < 0) start = std::max<std::int64_t>(*start + size_, 0);
        if ((start && (*start >= size_ || (end && *start >= *end))) || end == 0) {
            set_status(416);
            set_header("Content-Type", "text/plain");
            set_header("Content-Range", "bytes */" + std::to_string(size_));
            co_return;
        }
        if (end && *end > size_) end = size_;
        if (size_ != end.value_or(size_) - start.value_or(0)) {
            set_status(206);
            set_header("Content-Range", detail::static_files::content_range(start, end, size_));
        }
    }
    std::int64_t first = start.value_or(0);
    std::int64_t last = end.value_or(size_);
    set_header("Content-Length", last - first);
    if (include_body) co_await send_content(first, last);
}

// Tornado's validate_absolute_path: false once it has redirected.
GALE_DECL bool StaticFileHandler::validate_absolute_path(std::string absolute) {
    namespace sf = detail::static_files;
    std::string root = sf::posix_abspath(root_);
    if (root.back() != '/') root += '/';
    if (!(absolute + "/").starts_with(root))
        throw web::HTTPError(403, path_ + " is not in root static directory");
    sf::file_status status = sf::stat_path(absolute);
    if (status.kind == sf::file_kind::directory && !default_filename_.empty()) {
        const std::string& request_path = request().path;
        if (!request_path.ends_with('/')) {
            if (request_path.starts_with("//")) throw web::HTTPError(403, "cannot redirect path with two initial slashes");
            redirect(request_path + "/", true);
            return false;
        }
        absolute = sf::posix_join(absolute, default_filename_);
        status = sf::stat_path(absolute);
    }
    if (status.kind == sf::file_kind::missing) throw web::HTTPError(404);
    if (status.kind != sf::file_kind::regular) throw web::HTTPError(403, path_ + " is not a file");
    absolute_path_ = std::move(absolute);
    modified_ = status.mtime;
    size_ = status.size;
    return true;
}

GALE_DECL void StaticFileHandler::set_headers() {
    set_header("Accept-Ranges", "bytes");
    set_etag_header();
    set_header("Last-Modified", format_timestamp(static_cast<std::time_t>(modified_)));
    std::string content_type = get_content_type();
    if (!content_type.empty()) set_header("Content-Type", content_type);
    if (std::int64_t cache_time = get_cache_time(path_, modified_, content_type); cache_time > 0) {
        set_header("Expires", format_timestamp(std::time(nullptr) + static_cast<std::time_t>(cache_time)));
        set_header("Cache-Control", "max-age=" + std::to_string(cache_time));
    }
    set_extra_headers(path_);
}

// If-None-Match decides when present; else If-Modified-Since (its time
// zone ignored, as Tornado ignores it) at or after Last-Modified.
GALE_DECL bool StaticFileHandler::should_return_304() const {
    if (!request().headers.get("If-None-Match").value_or(std::string_view()).empty()) return check_etag_header();
    std::optional<std::string_view> since = request().headers.get("If-Modified-Since");
    if (!since) return false;
    std::optional<std::int64_t> when = detail::static_files::parse_http_date(*since);
    return when && *when >= modified_;
}

// Sends bytes [start, end) of the file. The first piece (up to 64 KiB) goes
// out with the headers in one write; the rest, when nothing transforms the
// body, in one write_file (sendfile on a plain connection: from the page
// cache to the socket, no copy through this process), else piece by piece
// through flush(), which gzips it (compress_response), as Tornado's get()
// writes and flushes each chunk. One 64 KiB buffer serves the whole file.
// A client gone away ends the sending quietly, as in Tornado.
GALE_DECL task<void> StaticFileHandler::send_content(std::int64_t start, std::int64_t end) {
    namespace sf = detail::static_files;
    sf::file_reader file(absolute_path_);
    if (start > 0) file.seek(start);
    std::int64_t sent = start;
    std::unique_ptr<char[]> buffer;
    try {
        while (sent < end) {
            if (sent > start && !body_transformed()) {
                co_await request().connection->write_file(file.fd(), static_cast<std::uint64_t>(sent),
                                                          static_cast<std::uint64_t>(end - sent));
                break;
            }
            std::size_t want = static_cast<std::size_t>(std::min<std::int64_t>(end - sent, sf::chunk_size));
            if (!buffer) buffer.reset(new char[want]);
            std::size_t n = file.read({buffer.get(), want});
            if (n == 0) break;  // the file shrank: finish() reports the missing bytes
            sent += static_cast<std::int64_t>(n);
            write(std::string_view(buffer.get(), n));
            co_await flush();
        }
    } catch (const StreamClosedError&) {
    }
}

GALE_DECL Application::Application(std::vector<URLSpec> rules, Settings settings)
    : settings_(std::move(settings)), not_found_(handler<ErrorHandler>(404)) {
    if (!settings_.serve_traceback) settings_.serve_traceback = settings_.debug;
    if (!settings_.static_path.empty()) detail::add_static_rules(settings_, rules);
    hosts_.push_back(host_group{nullptr, compile(rules)});
    // ---- autoreload (section: helper process)
    if (settings_.autoreload.value_or(settings_.debug)) {
        for (const std::string& path : {settings_.template_path, settings_.static_path})
            if (!path.empty()) autoreload::watch(path);
        autoreload::start();
    }
    // ---- end autoreload
}

}  // namespace gale
