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

}  // namespace gale
