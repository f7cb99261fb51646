// Definitions for web.hpp; see detail/config.hpp.
#pragma once

#include "../web.hpp"

#include <openssl/evp.h>

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

GALE_DECL bool compressible_type(std::string_view type) {
    constexpr std::array<std::string_view, 7> listed = {
        "application/javascript", "application/x-javascript", "application/xml", "application/atom+xml",
        "application/json",       "application/xhtml+xml",    "image/svg+xml"};
    return type.starts_with("text/") || std::find(listed.begin(), listed.end(), type) != listed.end();
}

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

GALE_DECL std::string_view RequestHandler::compress_first_chunk(std::string_view chunk, bool finishing, std::string& storage) {
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

}  // namespace gale
