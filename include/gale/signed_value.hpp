// Tornado's signed values, XSRF tokens and Set-Cookie text, as pure
// functions: what tornado.web's set_signed_cookie / get_signed_cookie,
// xsrf_token / check_xsrf_cookie / xsrf_form_html and set_cookie put on the
// wire, byte for byte, without a handler around them.
//
//   std::string signed_value = gale::create_signed_value("secret", "user", "alice");
//   // "2|1:0|10:1763767200|4:user|8:YWxpY2U=|<hex HMAC-SHA256>"
//   std::optional<std::string> user = gale::decode_signed_value("secret", "user", signed_value);
//
//   gale::cookie_secret keys{{1, "old secret"}, {2, "new secret"}};   // key versions
//   auto v = gale::create_signed_value(keys, "user", "alice", 2, std::nullopt, 2);
//   gale::get_signature_key_version(v);                                 // 2
//
//   gale::xsrf_token_parts raw = gale::get_raw_xsrf_token(cookie_or_nullopt);
//   std::string token = gale::encode_xsrf_token(raw);                  // "2|mask|masked|ts"
//   if (auto error = gale::check_xsrf_token(submitted, raw.token)) ... // 403 *error
//
//   gale::format_set_cookie("user", value, {.expires_days = 30, .httponly = true});
//   // user="2|1:0|...|8:YWxpY2U=|..."; expires=Sun, 21 Dec 2026 ...; HttpOnly; Path=/
//
// Synopsis:
//   class cookie_secret                       // one secret, or {key_version: secret}; empty()
//   std::string create_signed_value(secret, name, value, version = 2, now = {}, key_version = {})
//   std::optional<std::string> decode_signed_value(secret, name, value, max_age_days = 31,
//                                                  now = {}, min_version = 1)
//   std::optional<long long> get_signature_key_version(value)
//   struct xsrf_token_parts { std::optional<int> version; std::string token; double timestamp; }
//   std::optional<xsrf_token_parts> decode_xsrf_token(text, now = {})   // _decode_xsrf_token
//   xsrf_token_parts get_raw_xsrf_token(cookie, now = {})               // _get_raw_xsrf_token
//   std::string encode_xsrf_token(parts, version = 2)                   // xsrf_token's text
//   std::string encode_xsrf_token(parts, std::array<unsigned char, 4> mask)
//   std::optional<std::string> check_xsrf_token(submitted, expected_token)
//   std::string_view first_xsrf_submission(argument, x_xsrftoken, x_csrftoken)
//   std::string xsrf_form_html(token)
//   class cookie_expires(seconds or system_clock time point)         // converts to seconds
//   struct cookie_options { domain, expires, path = "/", expires_days, max_age,
//                           httponly, secure, samesite }
//   std::string format_set_cookie(name, value, options = {}, now = {})  // throws cookie_error
//   struct cookie_error : std::invalid_argument
//
// Times are seconds since the epoch as doubles, like Python's time.time();
// `now` stands for Tornado's `clock` argument and defaults to the system
// clock. Values and names are bytes (UTF-8 text in practice).
//
// Where Tornado raises on input an attacker controls, gale rejects instead:
// decode_signed_value returns std::nullopt for a v1 value under a
// key-versioned secret (Tornado: AssertionError) and for a correctly signed
// value whose timestamp is not an integer (Tornado: ValueError, possible in
// v1, whose signature does not cover the "|" separators). Programmer errors
// (an unsupported version, a missing key version) throw
// std::invalid_argument, as Tornado raises. Integers beyond 64 bits, which
// Python reads exactly, are clamped: a key version that large is treated as
// unknown, and get_signature_key_version returns std::nullopt for it.
#pragma once

#include <array>
#include <chrono>
#include <initializer_list>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <openssl/evp.h>  // EVP_MD, for hmac_hex

#include "detail/config.hpp"

namespace gale {

// Tornado's cookie_secret: a single secret, or a map from key version to
// secret (signed values then name the key version that signed them).
class cookie_secret {
public:
    // No secret (Tornado's missing or empty cookie_secret setting).
    cookie_secret() = default;
    cookie_secret(std::string secret) : single_(std::move(secret)) {}
    cookie_secret(std::string_view secret) : single_(secret) {}
    cookie_secret(const char* secret) : single_(secret) {}
    cookie_secret(std::map<long long, std::string> by_key_version)
        : by_version_(std::move(by_key_version)), versioned_(true) {}
    cookie_secret(std::initializer_list<std::pair<const long long, std::string>> by_key_version)
        : by_version_(by_key_version), versioned_(true) {}

    bool has_key_versions() const noexcept { return versioned_; }
    // Whether there is no secret: an empty string or an empty map (both
    // falsy in Python, so Tornado's require_setting refuses them).
    bool empty() const noexcept { return versioned_ ? by_version_.empty() : single_.empty(); }
    const std::string& secret() const noexcept { return single_; }
    // The secret of a key version, or nullptr.
    const std::string* find(long long key_version) const {
        auto it = by_version_.find(key_version);
        return it == by_version_.end() ? nullptr : &it->second;
    }

private:
    std::string single_;
    std::map<long long, std::string> by_version_;
    bool versioned_ = false;
};

// Set-Cookie refused: ValueError("Invalid cookie %r: %r") or CookieError in Tornado.
struct cookie_error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

namespace detail::signed_value {

// Python's str(int(x)) for a float.
GALE_DECL std::string int_text(double x);

GALE_DECL std::string to_hex(std::string_view bytes);

// binascii.a2b_hex.
GALE_DECL std::optional<std::string> from_hex(std::string_view text);

GALE_DECL std::string hmac_hex(const EVP_MD* md, std::string_view key, std::string_view data);

}  // namespace detail::signed_value

// Tornado's create_signed_value: v2 (the default) is
// "2|len:key_version|len:timestamp|len:name|len:base64(value)|" followed by
// the hex HMAC-SHA256 of all that; v1 is "base64(value)|timestamp|" and the
// hex HMAC-SHA1 of name + base64(value) + timestamp. A key-versioned secret
// needs version 2 and a key_version it holds (std::invalid_argument
// otherwise, as Tornado's assertions and KeyError).
GALE_DECL std::string create_signed_value(const cookie_secret& secret, std::string_view name,
                                          std::string_view value, int version = 2,
                                          std::optional<double> now = std::nullopt,
                                          std::optional<long long> key_version = std::nullopt);

// Tornado's decode_signed_value: the value, or std::nullopt when it is
// empty, malformed, badly signed, signed for another name, older than
// max_age_days (v1 also: more than 31 days in the future, or a timestamp
// starting with "0"), or of a version below min_version. A min_version over
// 2 throws std::invalid_argument.
GALE_DECL std::optional<std::string> decode_signed_value(const cookie_secret& secret, std::string_view name,
                                                         std::string_view value, double max_age_days = 31,
                                                         std::optional<double> now = std::nullopt,
                                                         int min_version = 1);

// Tornado's get_signature_key_version: the key version a v2 value names
// (without checking its signature), or std::nullopt.
GALE_DECL std::optional<long long> get_signature_key_version(std::string_view value);

// ---------------------------------------------------------------- XSRF

// Tornado's raw XSRF token (_get_raw_xsrf_token's tuple): the version of the
// cookie it came from (std::nullopt: made for this request), the raw token
// bytes (16 random bytes when made here), and its time.
struct xsrf_token_parts {
    std::optional<int> version;
    std::string token;
    double timestamp = 0;
};

// Tornado's _decode_xsrf_token: "2|hex(mask)|hex(token ^ mask)|timestamp",
// or any text without a version prefix (v1: its hex decoding, or the text
// itself when it is not hex). std::nullopt for other versions and malformed
// v2 tokens.
GALE_DECL std::optional<xsrf_token_parts> decode_xsrf_token(std::string_view text,
                                                            std::optional<double> now = std::nullopt);

// Tornado's _get_raw_xsrf_token from the request's "_xsrf" cookie: its
// decoding when it has a token, else a fresh one (16 random bytes, version
// std::nullopt: the handler then sets the cookie).
GALE_DECL xsrf_token_parts get_raw_xsrf_token(std::optional<std::string_view> cookie,
                                              std::optional<double> now = std::nullopt);

// The text of Tornado's xsrf_token with a given mask: "2|" + hex(mask) + "|"
// + hex(token ^ mask) + "|" + int(timestamp).
GALE_DECL std::string encode_xsrf_token(const xsrf_token_parts& parts, const std::array<unsigned char, 4>& mask);

// Tornado's xsrf_token text: version 2 with a fresh random mask (the
// default), or version 1, the plain hex token (xsrf_cookie_version = 1).
GALE_DECL std::string encode_xsrf_token(const xsrf_token_parts& parts, int version = 2);

// Which submitted token check_xsrf_cookie reads: the "_xsrf" argument (as
// get_argument returns it, stripped), else the X-Xsrftoken header, else
// X-Csrftoken; the first non-empty one.
GALE_DECL std::string_view first_xsrf_submission(std::optional<std::string_view> argument,
                                                 std::optional<std::string_view> x_xsrftoken,
                                                 std::optional<std::string_view> x_csrftoken);

// Tornado's check_xsrf_cookie, given the submitted token and the raw token
// of the request's cookie (get_raw_xsrf_token(cookie).token): the 403
// message Tornado gives, or std::nullopt when the tokens match (compared in
// constant time).
GALE_DECL std::optional<std::string> check_xsrf_token(std::string_view submitted, std::string_view expected_token);

// Tornado's xsrf_form_html for a token text: <input type="hidden"
// name="_xsrf" value="..."/> with the value escaped as xhtml_escape (6.2).
GALE_DECL std::string xsrf_form_html(std::string_view token);

// ---------------------------------------------------------------- Set-Cookie

// A cookie's expiry time: seconds since the epoch (Python's time.time()) or
// a system_clock time point (Tornado's datetime); it reads as the seconds.
class cookie_expires {
public:
    cookie_expires(double seconds) : seconds_(seconds) {}
    template <class Duration>
    cookie_expires(std::chrono::time_point<std::chrono::system_clock, Duration> when)
        : seconds_(std::chrono::duration<double>(when.time_since_epoch()).count()) {}
    operator double() const noexcept { return seconds_; }

private:
    double seconds_;
};

// set_cookie's options. expires is a time (seconds or a time point); 0,
// like Python's falsy 0, means none. expires_days applies only without
// expires. Empty domain, path or samesite are left out.
struct cookie_options {
    std::string domain{};
    std::optional<cookie_expires> expires{};
    std::string path = "/";
    std::optional<double> expires_days{};
    std::optional<long long> max_age{};
    bool httponly = false;
    bool secure = false;
    std::string samesite{};
};

// The Set-Cookie value Tornado's set_cookie produces (a Morsel's
// OutputString): name=value, then the attributes sorted by their Morsel key
// (Domain, expires, HttpOnly, Max-Age, Path, SameSite, Secure), joined by
// "; ". A value outside Python's legal cookie characters (an empty one too)
// is double-quoted with \" \\ and \ooo escapes. Throws cookie_error as
// Tornado raises: "Invalid cookie 'n': 'v'" for bytes 0-32 in the name or
// value, "Attempt to set a reserved key 'path'", "Illegal key 'a=b'".
GALE_DECL std::string format_set_cookie(std::string_view name, std::string_view value,
                                        const cookie_options& options = {},
                                        std::optional<double> now = std::nullopt);

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/signed_value.ipp"
#endif
