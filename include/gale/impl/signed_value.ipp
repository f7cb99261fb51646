// Definitions for signed_value.hpp: compiled in every translation unit that
// includes it in header-only mode, once (by <gale/src.hpp>) in separate
// compilation mode; see detail/config.hpp. The helpers only these
// definitions use (Python's int parsing, base64, the v1/v2 field decoding,
// cookie quoting) live here too, and so do the OpenSSL HMAC and RAND calls.
#pragma once

#include "../signed_value.hpp"

#include <cmath>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <ctime>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace gale {

namespace detail::signed_value {

GALE_DECL double now_seconds() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

GALE_DECL std::string int_text(double x) {
    if (!std::isfinite(x)) throw std::invalid_argument("cannot convert float to integer");
    double t = std::trunc(x);
    if (t == 0) return "0";
    if (std::fabs(t) < 1e18) return std::to_string(static_cast<long long>(t));
    char buffer[400];
    std::snprintf(buffer, sizeof buffer, "%.0f", t);
    return buffer;
}

// An integer as Python's int() reads bytes: ASCII whitespace around, a sign,
// digits with single underscores between them, at most 4300 digits. Values
// beyond +-2^62 are clamped (big = true).
struct py_int {
    long long value = 0;
    bool big = false;
};

GALE_DECL bool py_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

GALE_DECL std::optional<py_int> parse_int(std::string_view s) {
    while (!s.empty() && py_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && py_space(s.back())) s.remove_suffix(1);
    bool negative = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
    constexpr long long limit = 1LL << 62;
    py_int result;
    std::size_t digits = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '_') {
            if (i + 1 >= s.size() || s[i + 1] < '0' || s[i + 1] > '9') return std::nullopt;
            continue;
        }
        if (c < '0' || c > '9') return std::nullopt;
        ++digits;
        if (!result.big) {
            // Checked before multiplying: value * 10 must not overflow.
            if (result.value > (limit - 1 - (c - '0')) / 10) {
                result.big = true;
                result.value = limit;
            } else {
                result.value = result.value * 10 + (c - '0');
            }
        }
    }
    if (digits > 4300) return std::nullopt;
    if (negative) result.value = -result.value;
    return result;
}

// Python's int < float and int > float, exact within 64 bits.
GALE_DECL bool int_less(const py_int& i, double d) {
    if (std::isnan(d)) return false;
    if (i.big || std::fabs(d) >= 4e18) return static_cast<double>(i.value) < d;
    double fl = std::floor(d);
    auto f = static_cast<long long>(fl);
    return i.value < f || (i.value == f && d > fl);
}

GALE_DECL bool int_greater(const py_int& i, double d) {
    if (std::isnan(d)) return false;
    if (i.big || std::fabs(d) >= 4e18) return static_cast<double>(i.value) > d;
    return i.value > static_cast<long long>(std::floor(d));
}

// Python's s[start:stop].
GALE_DECL std::string_view slice(std::string_view s, std::optional<long long> start,
                              std::optional<long long> stop) {
    auto size = static_cast<long long>(s.size());
    auto fix = [size](long long i) {
        if (i < 0) i += size;
        return i < 0 ? 0 : (i > size ? size : i);
    };
    long long a = start ? fix(*start) : 0;
    long long b = stop ? fix(*stop) : size;
    if (b <= a) return {};
    return s.substr(static_cast<std::size_t>(a), static_cast<std::size_t>(b - a));
}

constexpr char hex_digits[] = "0123456789abcdef";

GALE_DECL std::string to_hex(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += hex_digits[c >> 4];
        out += hex_digits[c & 15];
    }
    return out;
}

GALE_DECL int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

GALE_DECL std::optional<std::string> from_hex(std::string_view text) {
    if (text.size() % 2) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
    }
    return out;
}

GALE_DECL std::string base64_encode(std::string_view in) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                     static_cast<unsigned char>(in[i + 1]) << 8 | static_cast<unsigned char>(in[i + 2]);
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    if (std::size_t rest = in.size() - i) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

GALE_DECL int base64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// base64.b64decode without validate (binascii.a2b_base64, non-strict): bytes
// outside the alphabet are skipped, a complete pad ends the input, a partial
// quad at the end is an error.
GALE_DECL std::optional<std::string> base64_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size() / 4 * 3 + 3);
    int quad = 0, pads = 0;
    unsigned left = 0;
    for (unsigned char c : in) {
        if (c == '=') {
            if (quad >= 2 && quad + ++pads >= 4) return out;
            continue;
        }
        int v = base64_value(c);
        if (v < 0) continue;
        pads = 0;
        auto u = static_cast<unsigned>(v);
        switch (quad) {
        case 0: left = u; quad = 1; break;
        case 1: out += static_cast<char>((left << 2 | u >> 4) & 0xff); left = u & 0x0f; quad = 2; break;
        case 2: out += static_cast<char>((left << 4 | u >> 2) & 0xff); left = u & 0x03; quad = 3; break;
        default: out += static_cast<char>((left << 6 | u) & 0xff); left = 0; quad = 0; break;
        }
    }
    if (quad != 0) return std::nullopt;
    return out;
}

GALE_DECL std::string hmac_hex(const EVP_MD* md, std::string_view key, std::string_view data) {
    static const unsigned char empty = 0;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    const void* k = key.empty() ? static_cast<const void*>(&empty) : key.data();
    const unsigned char* d =
        data.empty() ? &empty : reinterpret_cast<const unsigned char*>(data.data());
    if (!HMAC(md, k, static_cast<int>(key.size()), d, data.size(), digest, &length))
        throw std::runtime_error("HMAC failed");
    return to_hex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

// hmac.compare_digest: false at once for different lengths, else constant time.
GALE_DECL bool equal_digests(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// _signed_value_version_re = ^([1-9][0-9]*)\|(.*)$ (no DOTALL: "." stops at
// a newline, "$" also matches before a final one). Returns the digits.
GALE_DECL std::optional<std::string_view> version_prefix(std::string_view value) {
    std::size_t i = 0;
    if (value.empty() || value[0] < '1' || value[0] > '9') return std::nullopt;
    while (i < value.size() && value[i] >= '0' && value[i] <= '9') ++i;
    if (i == value.size() || value[i] != '|') return std::nullopt;
    std::size_t newline = value.find('\n', i + 1);
    if (newline != std::string_view::npos && newline + 1 != value.size()) return std::nullopt;
    return value.substr(0, i);
}

// _get_version.
GALE_DECL int get_version(std::string_view value) {
    auto digits = version_prefix(value);
    if (!digits || digits->size() > 3) return 1;
    int version = 0;
    for (char c : *digits) version = version * 10 + (c - '0');
    return version;
}

GALE_DECL std::string format_field(std::string_view s, std::size_t length) {
    return std::to_string(length) + ":" + std::string(s);
}

// len() of a str: UTF-8 code points (continuation bytes not counted).
GALE_DECL std::size_t text_length(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xc0) != 0x80;
    return n;
}

struct v2_fields {
    py_int key_version;
    std::string_view timestamp, name, value, signature;
};

// _consume_field: "length:" then length bytes then "|" (Python slicing, so
// negative lengths count from the end as in Tornado).
GALE_DECL bool consume_field(std::string_view& rest, std::string_view& field) {
    std::size_t colon = rest.find(':');
    std::string_view length = colon == std::string_view::npos ? rest : rest.substr(0, colon);
    std::string_view after = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    auto n = parse_int(length);
    if (!n) return false;
    field = slice(after, std::nullopt, n->value);
    if (slice(after, n->value, n->value + 1) != "|") return false;
    rest = slice(after, n->value + 1, std::nullopt);
    return true;
}

// _decode_fields_v2.
GALE_DECL std::optional<v2_fields> decode_fields_v2(std::string_view value) {
    std::string_view rest = slice(value, 2, std::nullopt);
    std::string_view key_version;
    v2_fields f;
    if (!consume_field(rest, key_version) || !consume_field(rest, f.timestamp) ||
        !consume_field(rest, f.name) || !consume_field(rest, f.value))
        return std::nullopt;
    f.signature = rest;
    auto k = parse_int(key_version);
    if (!k) return std::nullopt;
    f.key_version = *k;
    return f;
}

GALE_DECL std::optional<std::string> decode_v1(const cookie_secret& secret, std::string_view name,
                                            std::string_view value, double max_age_days, double now) {
    std::size_t first = value.find('|');
    if (first == std::string_view::npos) return std::nullopt;
    std::size_t second = value.find('|', first + 1);
    if (second == std::string_view::npos || value.find('|', second + 1) != std::string_view::npos)
        return std::nullopt;
    std::string_view payload = value.substr(0, first);
    std::string_view timestamp_text = value.substr(first + 1, second - first - 1);
    std::string_view signature = value.substr(second + 1);
    std::string message(name);
    message.append(payload).append(timestamp_text);
    if (!equal_digests(signature, hmac_hex(EVP_sha1(), secret.secret(), message))) return std::nullopt;
    auto timestamp = parse_int(timestamp_text);
    if (!timestamp) return std::nullopt;  // Tornado: ValueError
    if (int_less(*timestamp, now - max_age_days * 86400)) return std::nullopt;
    if (int_greater(*timestamp, now + 31 * 86400)) return std::nullopt;
    if (!timestamp_text.empty() && timestamp_text.front() == '0') return std::nullopt;
    return base64_decode(payload);
}

GALE_DECL std::optional<std::string> decode_v2(const cookie_secret& secret, std::string_view name,
                                            std::string_view value, double max_age_days, double now) {
    auto fields = decode_fields_v2(value);
    if (!fields) return std::nullopt;
    // value[:-len(passed_sig)]: the whole value is dropped when the signature is empty.
    std::string_view signed_string =
        fields->signature.empty() ? std::string_view() : value.substr(0, value.size() - fields->signature.size());
    const std::string* key = &secret.secret();
    if (secret.has_key_versions()) {
        key = fields->key_version.big ? nullptr : secret.find(fields->key_version.value);
        if (!key) return std::nullopt;
    }
    if (!equal_digests(fields->signature, hmac_hex(EVP_sha256(), *key, signed_string))) return std::nullopt;
    if (fields->name != name) return std::nullopt;
    auto timestamp = parse_int(fields->timestamp);
    if (!timestamp) return std::nullopt;  // Tornado: ValueError
    if (int_less(*timestamp, now - max_age_days * 86400)) return std::nullopt;
    return base64_decode(fields->value);
}

GALE_DECL void random_bytes(unsigned char* out, int n) {
    if (RAND_bytes(out, n) != 1) throw std::runtime_error("RAND_bytes failed");
}

// Python's repr() of a str, for error messages.
GALE_DECL std::string repr(std::string_view s) {
    bool single = s.find('\'') == std::string_view::npos || s.find('"') != std::string_view::npos;
    char quote = single ? '\'' : '"';
    std::string out(1, quote);
    for (unsigned char c : s) {
        if (c == '\\' || c == static_cast<unsigned char>(quote)) {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            out += "\\x";
            out += hex_digits[c >> 4];
            out += hex_digits[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    out += quote;
    return out;
}

// http.cookies._LegalChars.
GALE_DECL bool legal_cookie_char(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~:").find(static_cast<char>(c)) != std::string_view::npos;
}

GALE_DECL bool legal_cookie_key(std::string_view s) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (!legal_cookie_char(c)) return false;
    return true;
}

// Length of a valid UTF-8 sequence starting at s[i], or 0.
GALE_DECL std::size_t utf8_sequence(std::string_view s, std::size_t i, unsigned& code_point) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (c >= 0xf5 || n == 0 || i + n > s.size()) return 0;
    unsigned cp = c & (0xff >> (n + 1));
    for (std::size_t k = 1; k < n; ++k) {
        auto d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (d & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    code_point = cp;
    return n;
}

// http.cookies._quote: legal text as it is, anything else double-quoted:
// \" and \\, code points up to 255 other than the legal ones and
// " ()/<=>?@[]{}" as \ooo (so "," is \054 and ";" \073), code points above
// 255 as they are. Bytes that are not UTF-8 are escaped as \ooo too.
GALE_DECL std::string quote_cookie_value(std::string_view s) {
    if (legal_cookie_key(s)) return std::string(s);
    std::string out = "\"";
    auto octal = [&out](unsigned v) {
        out += '\\';
        out += static_cast<char>('0' + (v >> 6));
        out += static_cast<char>('0' + ((v >> 3) & 7));
        out += static_cast<char>('0' + (v & 7));
    };
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                out += '\\';
                out += static_cast<char>(c);
            } else if (legal_cookie_char(c) || std::string_view(" ()/<=>?@[]{}").find(static_cast<char>(c)) !=
                                                      std::string_view::npos) {
                out += static_cast<char>(c);
            } else {
                octal(c);
            }
            ++i;
            continue;
        }
        unsigned cp = 0;
        std::size_t n = utf8_sequence(s, i, cp);
        if (n == 0) {
            octal(c);
            ++i;
        } else if (cp <= 0xff) {
            octal(cp);
            i += n;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    out += '"';
    return out;
}

// httputil.format_timestamp / email.utils.formatdate(usegmt=True).
GALE_DECL std::string format_http_date(double seconds) {
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    auto t = static_cast<std::time_t>(std::floor(seconds));
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                  months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buffer;
}

}  // namespace detail::signed_value

GALE_DECL std::string create_signed_value(const cookie_secret& secret, std::string_view name,
                                          std::string_view value, int version,
                                          std::optional<double> now,
                                          std::optional<long long> key_version) {
    namespace d = detail::signed_value;
    std::string timestamp = d::int_text(now ? *now : d::now_seconds());
    std::string encoded = d::base64_encode(value);
    if (version == 1) {
        if (secret.has_key_versions())
            throw std::invalid_argument("version 1 signed values do not support key versions");
        std::string message(name);
        message.append(encoded).append(timestamp);
        std::string signature = d::hmac_hex(EVP_sha1(), secret.secret(), message);
        return encoded + "|" + timestamp + "|" + signature;
    }
    if (version != 2) throw std::invalid_argument("Unsupported version " + std::to_string(version));
    std::string key_text = std::to_string(key_version.value_or(0));
    std::string to_sign = "2|" + d::format_field(key_text, key_text.size()) + "|" +
                          d::format_field(timestamp, timestamp.size()) + "|" +
                          d::format_field(name, d::text_length(name)) + "|" +
                          d::format_field(encoded, encoded.size()) + "|";
    const std::string* key = &secret.secret();
    if (secret.has_key_versions()) {
        if (!key_version) throw std::invalid_argument("Key version must be set when sign key dict is used");
        key = secret.find(*key_version);
        if (!key) throw std::invalid_argument("no secret for key version " + std::to_string(*key_version));
    }
    return to_sign + d::hmac_hex(EVP_sha256(), *key, to_sign);
}

GALE_DECL std::optional<std::string> decode_signed_value(const cookie_secret& secret, std::string_view name,
                                                         std::string_view value, double max_age_days,
                                                         std::optional<double> now,
                                                         int min_version) {
    namespace d = detail::signed_value;
    if (min_version > 2) throw std::invalid_argument("Unsupported min_version " + std::to_string(min_version));
    if (value.empty()) return std::nullopt;
    int version = d::get_version(value);
    if (version < min_version) return std::nullopt;
    double clock = now ? *now : d::now_seconds();
    if (version == 1) {
        if (secret.has_key_versions()) return std::nullopt;  // Tornado: AssertionError
        return d::decode_v1(secret, name, value, max_age_days, clock);
    }
    if (version == 2) return d::decode_v2(secret, name, value, max_age_days, clock);
    return std::nullopt;
}

GALE_DECL std::optional<long long> get_signature_key_version(std::string_view value) {
    namespace d = detail::signed_value;
    if (d::get_version(value) < 2) return std::nullopt;
    auto fields = d::decode_fields_v2(value);
    if (!fields || fields->key_version.big) return std::nullopt;
    return fields->key_version.value;
}

GALE_DECL std::optional<xsrf_token_parts> decode_xsrf_token(std::string_view text,
                                                            std::optional<double> now) {
    namespace d = detail::signed_value;
    auto digits = d::version_prefix(text);
    if (!digits) {
        xsrf_token_parts parts{1, {}, std::trunc(now ? *now : d::now_seconds())};
        auto raw = d::from_hex(text);
        parts.token = raw ? std::move(*raw) : std::string(text);
        return parts;
    }
    if (*digits != "2") return std::nullopt;
    std::array<std::string_view, 4> pieces;
    std::size_t count = 0, start = 0;
    for (;;) {
        std::size_t bar = text.find('|', start);
        if (count == pieces.size()) return std::nullopt;
        pieces[count++] = text.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start);
        if (bar == std::string_view::npos) break;
        start = bar + 1;
    }
    if (count != 4) return std::nullopt;
    auto mask = d::from_hex(pieces[1]);
    auto masked = d::from_hex(pieces[2]);
    if (!mask || !masked) return std::nullopt;
    // tornado.util._websocket_mask in its Python form: byte i ^ mask[i % 4],
    // an error past a short mask (the C speedup reads beyond such a mask).
    for (std::size_t i = 0; i < masked->size(); ++i) {
        if (i % 4 >= mask->size()) return std::nullopt;
        (*masked)[i] = static_cast<char>((*masked)[i] ^ (*mask)[i % 4]);
    }
    auto timestamp = d::parse_int(pieces[3]);
    if (!timestamp) return std::nullopt;
    return xsrf_token_parts{2, std::move(*masked), static_cast<double>(timestamp->value)};
}

GALE_DECL xsrf_token_parts get_raw_xsrf_token(std::optional<std::string_view> cookie,
                                              std::optional<double> now) {
    namespace d = detail::signed_value;
    if (cookie && !cookie->empty()) {
        if (auto parts = decode_xsrf_token(*cookie, now)) return std::move(*parts);
    }
    xsrf_token_parts fresh{std::nullopt, std::string(16, '\0'), now ? *now : d::now_seconds()};
    d::random_bytes(reinterpret_cast<unsigned char*>(fresh.token.data()), 16);
    return fresh;
}

GALE_DECL std::string encode_xsrf_token(const xsrf_token_parts& parts, const std::array<unsigned char, 4>& mask) {
    namespace d = detail::signed_value;
    std::string masked = parts.token;
    for (std::size_t i = 0; i < masked.size(); ++i) masked[i] = static_cast<char>(masked[i] ^ mask[i % 4]);
    return "2|" + d::to_hex(std::string_view(reinterpret_cast<const char*>(mask.data()), mask.size())) + "|" +
           d::to_hex(masked) + "|" + d::int_text(parts.timestamp);
}

GALE_DECL std::string encode_xsrf_token(const xsrf_token_parts& parts, int version) {
    namespace d = detail::signed_value;
    if (version == 1) return d::to_hex(parts.token);
    if (version != 2) throw std::invalid_argument("unknown xsrf cookie version " + std::to_string(version));
    std::array<unsigned char, 4> mask{};
    d::random_bytes(mask.data(), 4);
    return encode_xsrf_token(parts, mask);
}

GALE_DECL std::string_view first_xsrf_submission(std::optional<std::string_view> argument,
                                                 std::optional<std::string_view> x_xsrftoken,
                                                 std::optional<std::string_view> x_csrftoken) {
    for (const auto& candidate : {argument, x_xsrftoken, x_csrftoken})
        if (candidate && !candidate->empty()) return *candidate;
    return {};
}

GALE_DECL std::optional<std::string> check_xsrf_token(std::string_view submitted, std::string_view expected_token) {
    if (submitted.empty()) return "'_xsrf' argument missing from POST";
    auto decoded = decode_xsrf_token(submitted);
    if (!decoded || decoded->token.empty()) return "'_xsrf' argument has invalid format";
    if (!detail::signed_value::equal_digests(decoded->token, expected_token))
        return "XSRF cookie does not match POST argument";
    return std::nullopt;
}

GALE_DECL std::string xsrf_form_html(std::string_view token) {
    std::string out = "<input type=\"hidden\" name=\"_xsrf\" value=\"";
    for (char c : token) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out + "\"/>";
}

GALE_DECL std::string format_set_cookie(std::string_view name, std::string_view value,
                                        const cookie_options& options,
                                        std::optional<double> now) {
    namespace d = detail::signed_value;
    for (std::string_view part : {name, value})
        for (unsigned char c : part)
            if (c <= 0x20) throw cookie_error("Invalid cookie " + d::repr(name) + ": " + d::repr(value));
    std::string lowered(name);
    for (char& c : lowered)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    for (std::string_view reserved :
         {"expires", "path", "comment", "domain", "max-age", "secure", "httponly", "version", "samesite"})
        if (lowered == reserved) throw cookie_error("Attempt to set a reserved key " + d::repr(name));
    if (!d::legal_cookie_key(name)) throw cookie_error("Illegal key " + d::repr(name));

    std::string out(name);
    out += '=';
    out += d::quote_cookie_value(value);
    // Python's truthiness: an expires of 0 is none.
    bool has_expires = options.expires.has_value() && double(*options.expires) != 0;
    double expires = has_expires ? double(*options.expires) : 0;
    if (options.expires_days && !has_expires) {
        expires = (now ? *now : d::now_seconds()) + *options.expires_days * 86400;
        has_expires = true;
    }
    if (!options.domain.empty()) out.append("; Domain=").append(options.domain);
    if (has_expires) out.append("; expires=").append(d::format_http_date(expires));
    if (options.httponly) out += "; HttpOnly";
    if (options.max_age) out.append("; Max-Age=").append(std::to_string(*options.max_age));
    if (!options.path.empty()) out.append("; Path=").append(options.path);
    if (!options.samesite.empty()) out.append("; SameSite=").append(options.samesite);
    if (options.secure) out += "; Secure";
    return out;
}

}  // namespace gale
