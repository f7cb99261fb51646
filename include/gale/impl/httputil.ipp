// Definitions for httputil.hpp: compiled in every translation unit that
// includes it in header-only mode, once (by <gale/src.hpp>) in separate
// compilation mode; see detail/config.hpp. The helpers only these
// definitions use (header name tables, percent coding, UTF-8, URL and
// Content-Disposition parsing) live here too.
#pragma once

#include "../httputil.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace gale {

namespace detail {

// Tornado's _normalize_header: each '-'-separated word capitalised.
GALE_DECL bool is_normalized_header(std::string_view name) noexcept {
    bool first = true;
    for (char c : name) {
        if (c == '-') {
            first = true;
            continue;
        }
        if (first ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z')) return false;
        first = false;
    }
    return true;
}

// For each byte: what it is (not a tchar, a lower-case or an upper-case
// letter), and what would be out of place in the byte after it (a
// lower-case letter starts no word, an upper-case one goes on none).
inline constexpr unsigned char name_not_tchar = 1, name_lower = 2, name_upper = 4;
struct header_name_tables {
    std::array<unsigned char, 256> kind{};
    std::array<unsigned char, 256> unwanted_next{};
};
inline constexpr header_name_tables header_name_table = [] {
    header_name_tables t;
    for (std::size_t c = 0; c < 256; ++c) {
        t.kind[c] = tchar_table[c] ? 0 : name_not_tchar;
        if (c >= 'a' && c <= 'z') t.kind[c] |= name_lower;
        if (c >= 'A' && c <= 'Z') t.kind[c] |= name_upper;
        t.unwanted_next[c] = name_not_tchar | (c == '-' ? name_lower : name_upper);
    }
    return t;
}();

// Whether `name` is, byte for byte, one of the names most requests and
// responses carry (each a token in Http-Header-Case). Matching a handful of
// constant-size words costs less than classifying byte by byte.
GALE_DECL bool is_common_header_name(std::string_view name) noexcept {
    auto is = [name](const auto& text) {
        return name.size() == sizeof text - 1 && std::memcmp(name.data(), text, sizeof text - 1) == 0;
    };
    switch (name.size()) {
        case 4: return is("Host") || is("Date") || is("Etag") || is("Vary");
        case 6: return is("Accept") || is("Cookie") || is("Server") || is("Origin");
        case 7: return is("Referer") || is("Expires");
        case 8: return is("Location");
        case 10: return is("Connection") || is("User-Agent") || is("Set-Cookie");
        case 12: return is("Content-Type");
        case 13: return is("Cache-Control") || is("Last-Modified") || is("Authorization") || is("If-None-Match");
        case 14: return is("Content-Length");
        case 15: return is("Accept-Encoding") || is("Accept-Language");
        case 16: return is("Content-Encoding");
        case 17: return is("Transfer-Encoding") || is("If-Modified-Since");
        default: return false;
    }
}

GALE_DECL header_name_kind classify_header_name(std::string_view name) noexcept {
    if (is_common_header_name(name)) return header_name_kind::normalized;
    if (name.empty()) return header_name_kind::invalid;
    unsigned char found = 0;                                // everything out of place
    unsigned char unwanted = name_not_tchar | name_lower;  // at a word's start
    for (char c : name) {
        auto byte = static_cast<unsigned char>(c);
        found |= header_name_table.kind[byte] & unwanted;
        unwanted = header_name_table.unwanted_next[byte];
    }
    if (found & name_not_tchar) return header_name_kind::invalid;
    return found ? header_name_kind::unnormalized : header_name_kind::normalized;
}

GALE_DECL void normalize_header_in_place(std::string& name) noexcept {
    bool first = true;
    for (char& c : name) {
        if (c == '-') {
            first = true;
            continue;
        }
        c = first ? ascii_upper(c) : ascii_lower(c);
        first = false;
    }
}

GALE_DECL std::string normalize_header(std::string_view name) {
    std::string out(name);
    if (!is_normalized_header(name)) normalize_header_in_place(out);
    return out;
}

// s = v, keeping s's memory; v must not point into s. This runs several
// times per request on strings reused from the previous request, which
// often hold the same text already (method, version, host...), so that is
// checked first; otherwise clear + append, because libstdc++'s append costs
// about half of its assign (which also copes with v inside s).
GALE_DECL void assign_view(std::string& s, std::string_view v) {
    if (s.size() == v.size() && (v.empty() || std::memcmp(s.data(), v.data(), v.size()) == 0)) return;
    s.clear();
    s.append(v.data(), v.size());
}

GALE_DECL std::string py_repr(std::string_view s, bool as_bytes) {
    bool has_single = s.find('\'') != std::string_view::npos;
    bool has_double = s.find('"') != std::string_view::npos;
    char quote = has_single && !has_double ? '"' : '\'';
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size() + 2);
    out.push_back(quote);
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '\\' || c == static_cast<unsigned char>(quote)) {
            out.push_back('\\');
            out.push_back(ch);
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c < 0x20 || (c >= 0x7f && (as_bytes || c <= 0xa0)) || c == 0xad) {
            out += "\\x";
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        } else if (c < 0x80) {
            out.push_back(ch);
        } else {
            out.push_back(static_cast<char>(0xc0 | (c >> 6)));
            out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
        }
    }
    out.push_back(quote);
    return out;
}

}  // namespace detail

GALE_DECL void HTTPHeaders::add(std::string_view name, std::string_view value) {
    add_unchecked(name, value, check_output(name, value));
}

GALE_DECL void HTTPHeaders::set(std::string_view name, std::string_view value) {
    detail::header_name_kind kind = check_output(name, value);
    invalidate();
    std::size_t first = find_first(name);
    if (first == fields_.size()) {
        append_field(name, value, kind);
        return;
    }
    std::size_t end = group_end(first);
    fields_[first].value.assign(value);
    fields_.erase(fields_.begin() + std::ptrdiff_t(first + 1), fields_.begin() + std::ptrdiff_t(end));
    if (last_ != npos && last_ >= first) last_ = last_ < end ? first : last_ - (end - first - 1);
}

GALE_DECL std::optional<std::string_view> HTTPHeaders::get(std::string_view name) const {
    std::size_t first = find_first(name);
    if (first == fields_.size()) return std::nullopt;
    std::size_t end = group_end(first);
    if (end == first + 1) return std::string_view(fields_[first].value);
    for (const field& j : joined_)
        if (j.name == fields_[first].name) return std::string_view(j.value);
    std::string value = fields_[first].value;
    for (std::size_t i = first + 1; i < end; ++i) {
        value.push_back(',');
        value += fields_[i].value;
    }
    field& joined = joined_.emplace_front();
    joined.name = fields_[first].name;
    joined.value = std::move(value);
    return std::string_view(joined_.front().value);
}

GALE_DECL std::string HTTPHeaders::get(std::string_view name, std::string_view default_value) const {
    std::optional<std::string_view> value = get(name);
    return std::string(value ? *value : default_value);
}

GALE_DECL std::vector<std::string_view> HTTPHeaders::get_list(std::string_view name) const {
    std::vector<std::string_view> values;
    std::size_t first = find_first(name);
    if (first == fields_.size()) return values;
    std::size_t end = group_end(first);
    values.reserve(end - first);
    for (std::size_t i = first; i < end; ++i) values.push_back(fields_[i].value);
    return values;
}

GALE_DECL bool HTTPHeaders::contains(std::string_view name) const noexcept {
    return find_first(name) != fields_.size();
}

GALE_DECL bool HTTPHeaders::remove(std::string_view name) {
    std::size_t first = find_first(name);
    if (first == fields_.size()) return false;
    invalidate();
    std::size_t end = group_end(first);
    fields_.erase(fields_.begin() + std::ptrdiff_t(first), fields_.begin() + std::ptrdiff_t(end));
    if (last_ != npos && last_ >= first) last_ = last_ < end ? npos : last_ - (end - first);
    return true;
}

GALE_DECL std::size_t HTTPHeaders::size() const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < fields_.size(); ++i)
        if (i == 0 || fields_[i].name != fields_[i - 1].name) ++n;
    return n;
}

GALE_DECL void HTTPHeaders::parse_line(std::string_view line) {
    if (!line.empty() && detail::is_http_ws(line.front())) {
        if (last_ == npos) throw HTTPInputError("first header line cannot start with whitespace");
        std::string_view part = line;  // lstrip only: trailing blanks stay, as in Tornado 6.2
        while (!part.empty() && detail::is_http_ws(part.front())) part.remove_prefix(1);
        if (!valid_input_value(part))
            throw HTTPInputError("Invalid header continuation " + detail::py_repr(" " + std::string(part)));
        invalidate();
        std::string& value = fields_[group_end(last_) - 1].value;
        value.push_back(' ');
        value += part;
        return;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) throw HTTPInputError("no colon in header line");
    std::string_view name(line.data(), colon);
    std::string_view value = detail::strip_http_ws(std::string_view(line.data() + colon + 1, line.size() - colon - 1));
    detail::header_name_kind kind = detail::classify_header_name(name);
    if (kind == detail::header_name_kind::invalid)
        throw HTTPInputError("Invalid header name " + detail::py_repr(name));
    if (!valid_input_value(value)) throw HTTPInputError("Invalid header value " + detail::py_repr(value));
    add_unchecked(name, value, kind);
}

GALE_DECL HTTPHeaders HTTPHeaders::parse(std::string_view text) {
    HTTPHeaders headers;
    headers.fields_.reserve(16);
    while (!text.empty()) {
        std::size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!line.empty()) headers.parse_line(line);
    }
    return headers;
}

GALE_DECL std::string HTTPHeaders::str() const {
    std::string out;
    for (const field& f : fields_) {
        out += f.name;
        out += ": ";
        out += f.value;
        out.push_back('\n');
    }
    return out;
}

GALE_DECL detail::header_name_kind HTTPHeaders::check_output(std::string_view name, std::string_view value) {
    detail::header_name_kind kind = detail::classify_header_name(name);
    if (kind == detail::header_name_kind::invalid)
        throw std::invalid_argument("Invalid header name " + detail::py_repr(name));
    if (!valid_input_value(value)) throw std::invalid_argument("Unsafe header value " + detail::py_repr(value));
    return kind;
}

GALE_DECL bool HTTPHeaders::valid_input_value(std::string_view value) noexcept {
    const char* p = value.data();
    std::size_t n = value.size();
    if (n < 8) {
        for (; n > 0; ++p, --n)
            if (*p == '\r' || *p == '\n' || *p == '\0') return false;
        return true;
    }
    for (std::size_t i = 0;; i += 8) {
        if (i > n - 8) i = n - 8;
        if (!valid_input_word(p + i)) return false;
        if (i == n - 8) return true;
    }
}

GALE_DECL bool HTTPHeaders::valid_input_word(const char* p) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    if (((word - ones * 0x0e) & ~word & highs) == 0) return true;
    for (int i = 0; i < 8; ++i)
        if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0') return false;
    return true;
}

GALE_DECL std::size_t HTTPHeaders::find_first(std::string_view name) const noexcept {
    std::size_t i = 0;
    for (; i < fields_.size(); ++i) {
        const std::string& candidate = fields_[i].name;
        if (candidate.size() == name.size() &&
            (std::memcmp(candidate.data(), name.data(), name.size()) == 0 || detail::iequals(candidate, name)))
            break;
    }
    return i;
}

GALE_DECL std::size_t HTTPHeaders::group_end(std::size_t first) const noexcept {
    std::size_t i = first + 1;
    while (i < fields_.size() && fields_[i].name == fields_[first].name) ++i;
    return i;
}

GALE_DECL void HTTPHeaders::append_field(std::string_view name, std::string_view value, detail::header_name_kind kind) {
    // Room for a typical head at once, instead of growing 1, 2, 4, 8.
    if (fields_.capacity() == 0) fields_.reserve(8);
    field& added = fields_.emplace_back(name, value);
    if (kind != detail::header_name_kind::normalized) detail::normalize_header_in_place(added.name);
}

GALE_DECL void HTTPHeaders::add_unchecked(std::string_view name, std::string_view value,
                                          detail::header_name_kind kind) {
    invalidate();
    std::size_t first = find_first(name);
    if (first == fields_.size()) {
        append_field(name, value, kind);
        last_ = fields_.size() - 1;
        return;
    }
    std::size_t end = group_end(first);
    fields_.insert(fields_.begin() + std::ptrdiff_t(end), field(fields_[first].name, value));
    last_ = end;
}

namespace detail {

GALE_DECL void parse_request_start_line(std::string_view line, std::string& method, std::string& path,
                                        std::string& version) {
    std::size_t sp1 = line.find(' ');
    std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        throw HTTPInputError("Malformed HTTP request line");
    std::string_view method_text(line.data(), sp1);
    std::string_view path_text(line.data() + sp1 + 1, sp2 - sp1 - 1);
    std::string_view version_text(line.data() + sp2 + 1, line.size() - sp2 - 1);
    if (version_text.size() != 8 || std::memcmp(version_text.data(), "HTTP/1.", 7) != 0 || version_text[7] < '0' ||
        version_text[7] > '9')
        throw HTTPInputError("Malformed HTTP version in HTTP Request-Line: " + detail::py_repr(version_text));
    if (!detail::is_token(method_text)) throw HTTPInputError("Malformed HTTP request line");
    assign_view(method, method_text);
    assign_view(path, path_text);
    assign_view(version, version_text);
}

}  // namespace detail

GALE_DECL RequestStartLine parse_request_start_line(std::string_view line) {
    RequestStartLine start_line;
    detail::parse_request_start_line(line, start_line.method, start_line.path, start_line.version);
    return start_line;
}

GALE_DECL ResponseStartLine parse_response_start_line(std::string_view line) {
    auto fail = [] { return HTTPInputError("Error parsing response start line"); };
    // "HTTP/1" then any character but a newline (the regex's unescaped '.') then a digit.
    if (line.size() < 10 || line.substr(0, 6) != "HTTP/1" || line[6] == '\n' || line[7] < '0' || line[7] > '9' ||
        line[8] != ' ')
        throw fail();
    std::size_t i = 9;
    long long code = 0;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') {
        code = code * 10 + (line[i] - '0');
        if (code > 2147483647) throw fail();
        ++i;
    }
    if (i == 9 || i >= line.size() || line[i] != ' ') throw fail();
    std::string_view reason = line.substr(i + 1);
    reason = reason.substr(0, reason.find('\r'));
    return ResponseStartLine{std::string(line.substr(0, 8)), static_cast<int>(code), std::string(reason)};
}

GALE_DECL host_and_port split_host_and_port(std::string_view netloc) {
    // The regex ^(.+):(\d+)$ : '.' matches no newline, and '$' also matches
    // before a final newline. A port too large for an int counts as no port.
    std::string_view s = netloc;
    if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    std::size_t colon = s.size();  // the last ':', if only digits follow it
    while (colon > 0 && s[colon - 1] >= '0' && s[colon - 1] <= '9') --colon;
    if (colon < 2 || colon == s.size() || s[colon - 1] != ':') return {netloc, std::nullopt};
    --colon;
    std::string_view host(s.data(), colon);
    if (host.find('\n') != std::string_view::npos) return {netloc, std::nullopt};
    long long port = 0;
    for (std::size_t i = colon + 1; i < s.size(); ++i) {
        port = port * 10 + (s[i] - '0');
        if (port > 2147483647) return {netloc, std::nullopt};
    }
    return {host, static_cast<int>(port)};
}

GALE_DECL std::string_view http_reason(int code) noexcept {
    switch (code) {
        case 100: return "Continue";
        case 101: return "Switching Protocols";
        case 102: return "Processing";
        case 103: return "Early Hints";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 203: return "Non-Authoritative Information";
        case 204: return "No Content";
        case 205: return "Reset Content";
        case 206: return "Partial Content";
        case 207: return "Multi-Status";
        case 208: return "Already Reported";
        case 226: return "IM Used";
        case 300: return "Multiple Choices";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 305: return "Use Proxy";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 402: return "Payment Required";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 406: return "Not Acceptable";
        case 407: return "Proxy Authentication Required";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 412: return "Precondition Failed";
        case 413: return "Request Entity Too Large";
        case 414: return "Request-URI Too Long";
        case 415: return "Unsupported Media Type";
        case 416: return "Requested Range Not Satisfiable";
        case 417: return "Expectation Failed";
        case 418: return "I'm a Teapot";
        case 421: return "Misdirected Request";
        case 422: return "Unprocessable Entity";
        case 423: return "Locked";
        case 424: return "Failed Dependency";
        case 425: return "Too Early";
        case 426: return "Upgrade Required";
        case 428: return "Precondition Required";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 451: return "Unavailable For Legal Reasons";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        case 506: return "Variant Also Negotiates";
        case 507: return "Insufficient Storage";
        case 508: return "Loop Detected";
        case 510: return "Not Extended";
        case 511: return "Network Authentication Required";
        default: return "Unknown";
    }
}

GALE_DECL const cookie_map& HTTPServerRequest::cookies() const {
    if (!cookies_) {
        cookies_.emplace();
        if (std::optional<std::string_view> header = headers.get("Cookie")) {
            for (auto& [name, value] : parse_cookie(*header))
                if (legal_cookie_name(name)) cookies_->insert_or_assign(name, value);
        }
    }
    return *cookies_;
}

GALE_DECL void HTTPServerRequest::parse_body(const multipart_limits& limits) {
    parse_body_arguments(headers.get("Content-Type", ""), body, body_arguments, files, &headers, limits);
    for (auto& [name, values] : body_arguments) {
        std::vector<std::string>& all = arguments[name];
        all.insert(all.end(), values.begin(), values.end());
    }
}

GALE_DECL void HTTPServerRequest::derive(std::string_view host_override) {
    if (host_override.empty()) {
        std::optional<std::string_view> header = headers.get("Host");
        host_override = header && !header->empty() ? *header : std::string_view("127.0.0.1");
    }
    detail::assign_view(host, host_override);
    // split_host_and_port's host is a prefix of its argument, and
    // lower-casing letters does not move where it ends.
    detail::assign_view(host_name, split_host_and_port(host).host);
    for (char& c : host_name) c = detail::ascii_lower(c);
    std::string_view target = uri;
    std::size_t q = target.find('?');
    if (q == std::string_view::npos) q = target.size();
    detail::assign_view(path, std::string_view(target.data(), q));
    detail::assign_view(query, q == target.size() ? std::string_view() : target.substr(q + 1));
    arguments.clear();
    query_arguments.clear();
    if (!query.empty()) {
        arguments = parse_qs_bytes(query, true);
        query_arguments = arguments;
    }
}

GALE_DECL void HTTPServerRequest::start_next(std::string_view remote_ip_, std::string_view protocol_,
                                             HTTPConnection* connection_) {
    body.clear();
    if (body.capacity() > 4096) body.shrink_to_fit();  // a large body is not kept for the next request
    detail::assign_view(remote_ip, remote_ip_);
    detail::assign_view(protocol, protocol_);
    body_arguments.clear();
    files.clear();
    connection = connection_;
    start_time = clock::now();
    finish_time.reset();
    cookies_.reset();
    derive();
}

GALE_DECL bool HTTPServerRequest::legal_cookie_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  std::string_view("!#$%&'*+-.^_`|~:").find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    for (std::string_view reserved :
         {"expires", "path", "comment", "domain", "max-age", "secure", "httponly", "version", "samesite"})
        if (detail::iequals(name, reserved)) return false;
    return true;
}

namespace detail {

// Python's ipaddress rules: four decimal octets 0-255 without leading zeros.
GALE_DECL bool is_ipv4_address(std::string_view s) noexcept {
    int parts = 0;
    while (true) {
        std::size_t dot = s.find('.');
        std::string_view octet = s.substr(0, dot);
        if (octet.empty() || octet.size() > 3 || (octet.size() > 1 && octet.front() == '0')) return false;
        int value = 0;
        for (char c : octet) {
            if (c < '0' || c > '9') return false;
            value = value * 10 + (c - '0');
        }
        if (value > 255 || ++parts > 4) return false;
        if (dot == std::string_view::npos) break;
        s.remove_prefix(dot + 1);
    }
    return parts == 4;
}

// Python's ipaddress.IPv6Address: eight groups of 1-4 hex digits, one "::"
// for a run of zero groups, optionally a final IPv4 address (two groups)
// and a "%scope" suffix.
GALE_DECL bool is_ipv6_address(std::string_view s) {
    if (std::size_t pct = s.find('%'); pct != std::string_view::npos) {
        std::string_view scope = s.substr(pct + 1);
        if (scope.empty() || scope.find('%') != std::string_view::npos) return false;
        s = s.substr(0, pct);
    }
    std::size_t last_colon = s.rfind(':');
    if (last_colon != std::string_view::npos && s.find('.', last_colon) != std::string_view::npos) {
        // A final IPv4 address stands for two groups.
        if (!is_ipv4_address(s.substr(last_colon + 1))) return false;
        return is_ipv6_address(std::string(s.substr(0, last_colon + 1)) + "0:0");
    }
    if (s.size() < 2) return false;
    int groups = 0;
    bool compressed = false;
    if (s.starts_with(':') && !s.starts_with("::")) return false;
    if (s.ends_with(':') && !s.ends_with("::")) return false;
    std::size_t i = 0;
    while (i < s.size()) {
        if (s.compare(i, 2, "::") == 0) {
            if (compressed) return false;
            compressed = true;
            i += 2;
            if (i < s.size() && s[i] == ':') return false;
            continue;
        }
        if (s[i] == ':') {
            ++i;
            if (i == s.size() || s[i] == ':') return false;
            continue;
        }
        std::size_t start = i;
        while (i < s.size() && hex_value(s[i]) >= 0) ++i;
        if (i == start || i - start > 4) return false;
        if (i < s.size() && s[i] != ':') return false;
        ++groups;
    }
    return compressed ? groups <= 7 : groups == 8;
}

// urllib's unquote_to_bytes: "%XX" with two hex digits becomes the byte,
// anything else stays; with `plus`, a literal '+' becomes a space.
GALE_DECL std::string percent_decode(std::string_view s, bool plus) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%' && i + 2 < s.size()) {
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(plus && c == '+' ? ' ' : c);
    }
    return out;
}

// urllib's quote over bytes: letters, digits and "_.-~" stay, so does '/'
// unless `plus` (quote_plus, where a space becomes '+'); the rest is %XX.
GALE_DECL std::string percent_encode(std::string_view s, bool plus) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size() + s.size() / 2);
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == '-' || c == '~' || (!plus && c == '/');
        if (safe) {
            out.push_back(ch);
        } else if (plus && c == ' ') {
            out.push_back('+');
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

// Walks UTF-8 as CPython's decoder does. For each ill-formed stretch (the
// longest valid prefix of a sequence, at least one byte) calls
// on_error(position, length, reason) with Python's reason text; well-formed
// characters go to on_valid(text).
template <class Valid, class Error>
void utf8_walk(std::string_view s, Valid&& on_valid, Error&& on_error) {
    std::size_t i = 0, run = 0;
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    while (i < s.size()) {
        unsigned char b = byte(i);
        if (b < 0x80) {
            ++i;
            continue;
        }
        std::size_t need = 0;
        unsigned char lo = 0x80, hi = 0xbf;
        if (b >= 0xc2 && b <= 0xdf) need = 1;
        else if (b == 0xe0) need = 2, lo = 0xa0;
        else if (b == 0xed) need = 2, hi = 0x9f;
        else if (b >= 0xe1 && b <= 0xef) need = 2;
        else if (b == 0xf0) need = 3, lo = 0x90;
        else if (b == 0xf4) need = 3, hi = 0x8f;
        else if (b >= 0xf1 && b <= 0xf3) need = 3;
        if (need == 0) {
            on_valid(s.substr(run, i - run));
            on_error(i, 1, "invalid start byte");
            run = ++i;
            continue;
        }
        std::size_t k = 1;
        for (; k <= need; ++k) {
            if (i + k >= s.size()) break;
            unsigned char c = byte(i + k);
            unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xbf;
            if (c < l || c > h) break;
        }
        if (k > need) {
            i += need + 1;
            continue;
        }
        on_valid(s.substr(run, i - run));
        on_error(i, k, i + k >= s.size() ? "unexpected end of data" : "invalid continuation byte");
        run = i += k;
    }
    on_valid(s.substr(run));
}

// bytes.decode("utf-8", "replace"): each ill-formed stretch becomes U+FFFD.
GALE_DECL std::string utf8_replace(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    utf8_walk(
        s, [&](std::string_view text) { out += text; },
        [&](std::size_t, std::size_t, const char*) { out += "\xef\xbf\xbd"; });
    return out;
}

GALE_DECL std::string utf8_error(std::string_view s) {
    std::string message;
    utf8_walk(
        s, [](std::string_view) {},
        [&](std::size_t pos, std::size_t len, const char* reason) {
            if (!message.empty()) return;
            static constexpr char hex[] = "0123456789abcdef";
            auto b = static_cast<unsigned char>(s[pos]);
            message = len == 1 ? std::string("'utf-8' codec can't decode byte 0x") + hex[b >> 4] + hex[b & 15] +
                                     " in position " + std::to_string(pos)
                               : "'utf-8' codec can't decode bytes in position " + std::to_string(pos) + "-" +
                                     std::to_string(pos + len - 1);
            message += ": ";
            message += reason;
        });
    return message;
}

GALE_DECL std::string latin1_to_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x80) {
            out.push_back(ch);
        } else {
            out.push_back(static_cast<char>(0xc0 | (c >> 6)));
            out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
        }
    }
    return out;
}

// bytes(utf8_text.decode(), "raw-unicode-escape"): characters below 256
// become one byte, others "\uXXXX" or "\UXXXXXXXX"; an ill-formed byte
// counts as the character of its value.
GALE_DECL std::string raw_unicode_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    static constexpr char hex[] = "0123456789abcdef";
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    utf8_walk(
        s,
        [&](std::string_view text) {
            for (std::size_t i = 0; i < text.size();) {
                auto b = static_cast<unsigned char>(text[i]);
                std::size_t len = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
                std::uint32_t cp = len == 1 ? b : len == 2 ? b & 0x1f : len == 3 ? b & 0x0f : b & 0x07;
                for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
                i += len;
                if (cp < 256) {
                    out.push_back(static_cast<char>(cp));
                } else {
                    int digits = cp > 0xffff ? 8 : 4;
                    out += digits == 8 ? "\\U" : "\\u";
                    for (int d = digits - 1; d >= 0; --d) out.push_back(hex[(cp >> (4 * d)) & 15]);
                }
            }
        },
        [&](std::size_t pos, std::size_t len, const char*) {
            for (std::size_t k = 0; k < len; ++k) out.push_back(static_cast<char>(byte(pos + k)));
        });
    return out;
}

GALE_DECL std::string py_replace(std::string_view s, std::string_view from, std::string_view to) {
    std::string out;
    out.reserve(s.size());
    std::size_t pos = 0;
    for (std::size_t hit; (hit = s.find(from, pos)) != std::string_view::npos; pos = hit + from.size()) {
        out += s.substr(pos, hit - pos);
        out += to;
    }
    out += s.substr(pos);
    return out;
}

// urllib's _check_bracketed_netloc: a host in brackets must be an IPv6
// address or "v<hex>.<text>" (IPvFuture), and nothing may stand between
// the brackets and the port.
GALE_DECL void check_bracketed_netloc(std::string_view netloc) {
    std::size_t at = netloc.rfind('@');
    std::string_view host_port = at == std::string_view::npos ? netloc : netloc.substr(at + 1);
    std::string_view host;
    if (std::size_t open = host_port.find('['); open != std::string_view::npos) {
        if (open != 0) throw std::invalid_argument("Invalid IPv6 URL");
        std::string_view bracketed = host_port.substr(1);
        std::size_t close = bracketed.find(']');
        host = bracketed.substr(0, close);
        std::string_view port = close == std::string_view::npos ? std::string_view() : bracketed.substr(close + 1);
        if (!port.empty() && port.front() != ':') throw std::invalid_argument("Invalid IPv6 URL");
    } else {
        host = host_port.substr(0, host_port.find(':'));
    }
    if (!host.empty() && host.front() == 'v') {
        std::size_t dot = host.find('.');
        bool ok = dot != std::string_view::npos && dot > 1 && dot + 1 < host.size();
        for (std::size_t i = 1; ok && i < dot; ++i) ok = hex_value(host[i]) >= 0;
        if (ok && host.substr(dot + 1).find('\n') != std::string_view::npos) ok = false;
        if (!ok) throw std::invalid_argument("IPvFuture address is invalid");
        return;
    }
    if (is_ipv4_address(host)) throw std::invalid_argument("An IPv4 address cannot be in brackets");
    if (!is_ipv6_address(host))
        throw std::invalid_argument(py_repr(host) + " does not appear to be an IPv4 or IPv6 address");
}

}  // namespace detail

GALE_DECL std::string url_escape(std::string_view value, bool plus) {
    return detail::percent_encode(value, plus);
}

GALE_DECL std::string url_unescape(std::string_view value, bool plus) {
    return detail::utf8_replace(detail::percent_decode(value, plus));
}

GALE_DECL std::string url_unescape_bytes(std::string_view value, bool plus) {
    return detail::percent_decode(value, plus);
}

GALE_DECL argument_map parse_qs_bytes(std::string_view qs, bool keep_blank_values) {
    argument_map result;
    while (!qs.empty()) {
        std::size_t amp = qs.find('&');
        std::string_view field = qs.substr(0, amp);
        qs.remove_prefix(amp == std::string_view::npos ? qs.size() : amp + 1);
        if (field.empty()) continue;
        std::size_t eq = field.find('=');
        std::string_view name = field.substr(0, eq);
        std::string_view value = eq == std::string_view::npos ? std::string_view() : field.substr(eq + 1);
        if (value.empty() && !keep_blank_values) continue;
        result[detail::percent_decode(name, true)].push_back(detail::percent_decode(value, true));
    }
    return result;
}

GALE_DECL std::string url_concat(std::string_view url, const std::vector<std::pair<std::string, std::string>>& args) {
    // urlsplit: strip leading C0 controls and spaces, drop tab, CR and LF.
    while (!url.empty() && static_cast<unsigned char>(url.front()) <= ' ') url.remove_prefix(1);
    std::string rest;
    rest.reserve(url.size());
    for (char c : url)
        if (c != '\t' && c != '\r' && c != '\n') rest.push_back(c);
    std::string scheme, netloc, query, fragment;
    std::size_t colon = rest.find(':');
    if (colon != std::string::npos && colon > 0 &&
        ((rest[0] >= 'a' && rest[0] <= 'z') || (rest[0] >= 'A' && rest[0] <= 'Z'))) {
        bool valid = true;
        for (std::size_t i = 0; i < colon && valid; ++i) {
            char c = rest[i];
            valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
                    c == '-' || c == '.';
        }
        if (valid) {
            scheme = detail::ascii_lowered(std::string_view(rest).substr(0, colon));
            rest.erase(0, colon + 1);
        }
    }
    if (rest.compare(0, 2, "//") == 0) {
        std::size_t end = rest.find_first_of("/?#", 2);
        if (end == std::string::npos) end = rest.size();
        netloc = rest.substr(2, end - 2);
        rest.erase(0, end);
        bool open = netloc.find('[') != std::string::npos, close = netloc.find(']') != std::string::npos;
        if (open != close) throw std::invalid_argument("Invalid IPv6 URL");
        if (open) detail::check_bracketed_netloc(netloc);
    }
    if (std::size_t hash = rest.find('#'); hash != std::string::npos) {
        fragment = rest.substr(hash + 1);
        rest.erase(hash);
    }
    if (std::size_t q = rest.find('?'); q != std::string::npos) {
        query = rest.substr(q + 1);
        rest.erase(q);
    }
    // urlparse splits ";params" off the last segment and urlunparse puts
    // them back only when not empty.
    static constexpr std::string_view uses_params[] = {"",    "ftp",  "hdl",   "prospero", "http",
                                                       "imap", "https", "shttp", "rtsp",     "rtspu",
                                                       "sip",  "sips",  "mms",   "sftp",     "tel"};
    bool has_params = false;
    for (std::string_view s : uses_params) has_params = has_params || s == scheme;
    if (has_params && rest.find(';') != std::string::npos) {
        std::size_t slash = rest.rfind('/');
        std::size_t semi = slash == std::string::npos ? rest.find(';') : rest.find(';', slash);
        if (semi != std::string::npos && semi + 1 == rest.size()) rest.pop_back();
    }
    // parse_qsl(query, keep_blank_values=True) then urlencode(pairs).
    std::string final_query;
    auto append_pair = [&](std::string_view name, std::string_view value) {
        if (!final_query.empty()) final_query.push_back('&');
        final_query += detail::percent_encode(name, true);
        final_query.push_back('=');
        final_query += detail::percent_encode(value, true);
    };
    std::string_view qs = query;
    while (!qs.empty()) {
        std::size_t amp = qs.find('&');
        std::string_view field = qs.substr(0, amp);
        qs.remove_prefix(amp == std::string_view::npos ? qs.size() : amp + 1);
        if (field.empty()) continue;
        std::size_t eq = field.find('=');
        std::string_view value = eq == std::string_view::npos ? std::string_view() : field.substr(eq + 1);
        append_pair(detail::utf8_replace(detail::percent_decode(field.substr(0, eq), true)),
                    detail::utf8_replace(detail::percent_decode(value, true)));
    }
    for (auto& [name, value] : args) append_pair(name, value);
    // urlunsplit.
    static constexpr std::string_view uses_netloc[] = {
        "",     "ftp",  "http",  "gopher", "nntp",  "telnet", "imap",    "wais", "file", "mms", "https", "shttp",
        "snews", "prospero", "rtsp", "rtspu", "rsync", "svn", "svn+ssh", "sftp", "nfs",  "git", "git+ssh", "ws",
        "wss"};
    bool netloc_scheme = false;
    for (std::string_view s : uses_netloc) netloc_scheme = netloc_scheme || (!scheme.empty() && s == scheme);
    std::string out;
    if (!netloc.empty() || (netloc_scheme && rest.compare(0, 2, "//") != 0)) {
        if (!rest.empty() && rest[0] != '/') rest.insert(0, 1, '/');
        rest.insert(0, "//" + netloc);
    }
    if (!scheme.empty()) out = scheme + ":";
    out += rest;
    if (!final_query.empty()) out += "?" + final_query;
    if (!fragment.empty()) out += "#" + fragment;
    return out;
}

GALE_DECL std::string format_timestamp(std::time_t seconds) {
    static constexpr const char* days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    long long t = seconds;
    long long day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    long long secs = t - day * 86400;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    long long z = day + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    long long d = doy - (153 * mp + 2) / 5 + 1;
    long long m = mp < 10 ? mp + 3 : mp - 9;
    long long y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    int weekday = static_cast<int>(((day % 7) + 7) % 7);
    std::string out;
    out.reserve(29);
    auto digits = [&out](long long v, int width) {
        char buf[24];
        int n = 0;
        bool negative = v < 0;
        unsigned long long u = negative ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
        do {
            buf[n++] = static_cast<char>('0' + u % 10);
            u /= 10;
        } while (u != 0);
        while (n < width) buf[n++] = '0';
        if (negative) out.push_back('-');
        while (n > 0) out.push_back(buf[--n]);
    };
    out += days[weekday];
    out += ", ";
    digits(d, 2);
    out.push_back(' ');
    out += months[m - 1];
    out.push_back(' ');
    digits(y, 4);
    out.push_back(' ');
    digits(secs / 3600, 2);
    out.push_back(':');
    digits(secs / 60 % 60, 2);
    out.push_back(':');
    digits(secs % 60, 2);
    out += " GMT";
    return out;
}

GALE_DECL std::string format_timestamp(std::chrono::system_clock::time_point when) {
    auto seconds = std::chrono::floor<std::chrono::seconds>(when.time_since_epoch()).count();
    return format_timestamp(static_cast<std::time_t>(seconds));
}

namespace detail {

// http.cookies._unquote: a double-quoted value loses its quotes, "\ooo"
// (octal, first digit 0-3) becomes that byte and "\x" becomes x.
GALE_DECL std::string unquote_cookie(std::string_view s) {
    if (s.size() < 2 || s.front() != '"' || s.back() != '"') return std::string(s);
    s = s.substr(1, s.size() - 2);
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out.push_back(s[i]);
            continue;
        }
        auto octal = [](char c, char top) { return c >= '0' && c <= top; };
        if (i + 3 < s.size() && octal(s[i + 1], '3') && octal(s[i + 2], '7') && octal(s[i + 3], '7')) {
            out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
            i += 3;
        } else if (s[i + 1] == '\n') {  // the regex's '.' matches no newline
            out.push_back('\\');
        } else {
            out.push_back(s[++i]);
        }
    }
    return out;
}

}  // namespace detail

GALE_DECL cookie_map parse_cookie(std::string_view cookie) {
    cookie_map result;
    while (true) {
        std::size_t semi = cookie.find(';');
        std::string_view chunk = cookie.substr(0, semi);
        std::size_t eq = chunk.find('=');
        std::string_view key = eq == std::string_view::npos ? std::string_view() : chunk.substr(0, eq);
        std::string_view value = eq == std::string_view::npos ? chunk : chunk.substr(eq + 1);
        key = detail::py_strip(key);
        value = detail::py_strip(value);
        if (!key.empty() || !value.empty()) result.insert_or_assign(std::string(key), detail::unquote_cookie(value));
        if (semi == std::string_view::npos) break;
        cookie.remove_prefix(semi + 1);
    }
    return result;
}

namespace detail {

// Python's str.find(sub, start) and str.count(sub, start, end) with their
// slice rules for out-of-range and negative indices.
GALE_DECL long long py_find(std::string_view s, char c, long long start) {
    long long n = static_cast<long long>(s.size());
    if (start < 0) start = std::max(0LL, start + n);
    if (start > n) return -1;
    std::size_t hit = s.find(c, static_cast<std::size_t>(start));
    return hit == std::string_view::npos ? -1 : static_cast<long long>(hit);
}

GALE_DECL long long py_count(std::string_view s, std::string_view sub, long long start, long long end) {
    long long n = static_cast<long long>(s.size());
    if (start < 0) start = std::max(0LL, start + n);
    if (end < 0) end = std::max(0LL, end + n);
    end = std::min(end, n);
    if (start >= end) return 0;
    long long count = 0;
    std::string_view window = s.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start));
    for (std::size_t pos = 0; (pos = window.find(sub, pos)) != std::string_view::npos; pos += sub.size()) ++count;
    return count;
}

// Tornado's _parseparam: splits on ';' outside double quotes.
GALE_DECL std::vector<std::string_view> parse_params(std::string_view s) {
    std::vector<std::string_view> parts;
    long long n = static_cast<long long>(s.size());
    long long start = 0;
    while (py_find(s, ';', start) == start) {
        start += 1;
        long long end = py_find(s, ';', start);
        long long ind = start, diff = 0;
        // A guard the Python loop lacks; it never binds on input that loop finishes.
        for (long long guard = 0; end > 0 && guard <= 2 * n + 4; ++guard) {
            diff += py_count(s, "\"", ind, end) - py_count(s, "\\\"", ind, end);
            if (diff % 2 == 0) break;
            long long next = py_find(s, ';', end + 1);
            end = ind;
            ind = next;
        }
        if (end < 0) end = n;
        if (end < start) end = start;  // Python's s[start:end] is then empty
        parts.push_back(py_strip(s.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start))));
        start = end;
    }
    return parts;
}

// email.utils.unquote and quote.
GALE_DECL std::string email_unquote(std::string_view s) {
    if (s.size() > 1) {
        if (s.front() == '"' && s.back() == '"')
            return py_replace(py_replace(s.substr(1, s.size() - 2), "\\\\", "\\"), "\\\"", "\"");
        if (s.front() == '<' && s.back() == '>') return std::string(s.substr(1, s.size() - 2));
    }
    return std::string(s);
}

GALE_DECL std::string email_quote(std::string_view s) { return py_replace(py_replace(s, "\\", "\\\\"), "\"", "\\\""); }

// The codecs Python's str(bytes, charset, "replace") is asked for in
// RFC 2231 values, by their normalised alias.
enum class charset_kind { utf8, latin1, ascii, unknown };

GALE_DECL charset_kind lookup_charset(std::string_view name) {
    std::string norm;  // encodings.normalize_encoding, lower-cased, '.' as '_'
    bool punct = false;
    for (char c : name) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum || c == '.') {
            if (punct && !norm.empty()) norm.push_back('_');
            norm.push_back(c == '.' ? '_' : ascii_lower(c));
            punct = false;
        } else {
            punct = true;
        }
    }
    for (std::string_view a : {"utf_8", "utf8", "u8", "utf", "utf8_ucs2", "utf8_ucs4", "cp65001"})
        if (norm == a) return charset_kind::utf8;
    for (std::string_view a : {"latin_1", "latin1", "iso_8859_1", "iso8859_1", "8859", "cp819", "l1", "latin",
                               "iso_ir_100", "csisolatin1", "ibm819", "iso_8859_1_1987"})
        if (norm == a) return charset_kind::latin1;
    for (std::string_view a : {"ascii", "us_ascii", "646", "ansi_x3_4_1968", "ansi_x3_4_1986", "cp367", "csascii",
                               "ibm367", "iso646_us", "iso_646_irv_1991", "iso_ir_6", "us"})
        if (norm == a) return charset_kind::ascii;
    return charset_kind::unknown;
}

// email.utils's rfc2231_continuation: ^(\w+)\*((\d+)\*?)?$ (ASCII); sets
// base and num ("" when absent; digits with leading zeros removed).
GALE_DECL bool rfc2231_name(std::string_view name, std::string_view& base, std::string& num, bool& has_num) {
    std::size_t star = name.find('*');
    if (star == 0 || star == std::string_view::npos) return false;
    for (char c : name.substr(0, star))
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    std::string_view tail = name.substr(star + 1);
    if (!tail.empty() && tail.back() == '*') tail.remove_suffix(1);
    has_num = !tail.empty();
    if (!has_num && name.size() != star + 1) return false;  // "a**"
    for (char c : tail)
        if (c < '0' || c > '9') return false;
    while (tail.size() > 1 && tail.front() == '0') tail.remove_prefix(1);
    base = name.substr(0, star);
    num = std::string(tail);
    return true;
}

GALE_DECL parsed_header parse_header(std::string_view line) {
    std::string with_semicolon = ";" + std::string(line);
    std::vector<std::string_view> parts = parse_params(with_semicolon);
    parsed_header result;
    result.value = parts.empty() ? std::string() : std::string(parts.front());
    struct continuation {
        bool has_num;
        std::string num;
        std::string value;
        bool encoded;
    };
    std::vector<std::pair<std::string, std::string>> plain;
    std::vector<std::pair<std::string, std::vector<continuation>>> extended_params;
    for (std::size_t p = 1; p < parts.size(); ++p) {
        std::size_t eq = parts[p].find('=');
        if (eq == std::string_view::npos) continue;
        std::string name = ascii_lowered(py_strip(parts[p].substr(0, eq)));
        std::string value = email_unquote(py_strip(parts[p].substr(eq + 1)));
        std::string_view base;
        std::string num;
        bool has_num = false;
        if (rfc2231_name(name, base, num, has_num)) {
            bool encoded = name.back() == '*';
            auto it = std::find_if(extended_params.begin(), extended_params.end(),
                                   [&](auto& e) { return e.first == base; });
            if (it == extended_params.end())
                it = extended_params.insert(extended_params.end(), {std::string(base), {}});
            it->second.push_back(continuation{has_num, std::move(num), std::move(value), encoded});
        } else {
            plain.emplace_back(std::move(name), email_unquote("\"" + email_quote(value) + "\""));
        }
    }
    auto strip_quotes = [](std::string v) {
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        return v;
    };
    for (auto& [name, value] : plain) result.set(name, strip_quotes(std::move(value)));
    for (auto& [name, conts] : extended_params) {
        if (conts.size() > 1) {
            bool with = false, without = false;
            for (auto& c : conts) (c.has_num ? with : without) = true;
            if (with && without)
                throw HTTPInputError("'<' not supported between instances of 'NoneType' and 'int'");
        }
        std::stable_sort(conts.begin(), conts.end(), [](const continuation& a, const continuation& b) {
            if (a.num.size() != b.num.size()) return a.num.size() < b.num.size();
            if (a.num != b.num) return a.num < b.num;
            if (a.value != b.value) return a.value < b.value;
            return a.encoded < b.encoded;
        });
        // The joined value as the Python str would be, in UTF-8: percent
        // escapes (in ASCII runs only, as urllib's unquote) give characters
        // below 256.
        std::string text;
        bool extended = false;
        for (auto& c : conts) {
            if (!c.encoded) {
                text += c.value;
                continue;
            }
            extended = true;
            std::string_view rest = c.value;
            while (!rest.empty()) {
                bool ascii = static_cast<unsigned char>(rest.front()) < 0x80;
                std::size_t n = 0;
                while (n < rest.size() && (static_cast<unsigned char>(rest[n]) < 0x80) == ascii) ++n;
                std::string_view run = rest.substr(0, n);
                text += ascii ? latin1_to_utf8(percent_decode(run, false)) : std::string(run);
                rest.remove_prefix(n);
            }
        }
        text = email_quote(text);
        std::string decoded;
        if (extended) {
            // decode_rfc2231: charset'language'text, or the whole as us-ascii.
            auto after_second_tick = [](const std::string& v) -> std::optional<std::size_t> {
                std::size_t t1 = v.find('\'');
                std::size_t t2 = t1 == std::string::npos ? t1 : v.find('\'', t1 + 1);
                if (t2 == std::string::npos) return std::nullopt;
                return t2 + 1;
            };
            charset_kind kind = charset_kind::ascii;
            if (std::optional<std::size_t> cut = after_second_tick(text)) {
                kind = lookup_charset(std::string_view(text).substr(0, text.find('\'')));
                text.erase(0, *cut);
            }
            // collapse_rfc2231_value: bytes(text, "raw-unicode-escape") decoded by the charset.
            std::string quoted = "\"" + raw_unicode_escape(text) + "\"";
            switch (kind) {
                case charset_kind::utf8: decoded = utf8_replace(quoted); break;
                case charset_kind::latin1: decoded = latin1_to_utf8(quoted); break;
                case charset_kind::ascii:
                    for (char c : quoted)
                        if (static_cast<unsigned char>(c) < 0x80) decoded.push_back(c);
                        else decoded += "\xef\xbf\xbd";
                    break;
                case charset_kind::unknown: decoded = email_unquote("\"" + text + "\""); break;
            }
        } else {
            decoded = email_unquote("\"" + text + "\"");
        }
        result.set(name, strip_quotes(std::move(decoded)));
    }
    return result;
}

}  // namespace detail

GALE_DECL void parse_multipart_form_data(std::string_view boundary, std::string_view data, argument_map& arguments,
                                         file_map& files, const multipart_limits& limits) {
    if (!boundary.empty() && boundary.front() == '"' && boundary.back() == '"')
        boundary = boundary.size() >= 2 ? boundary.substr(1, boundary.size() - 2) : std::string_view();
    std::string final_boundary = "--" + std::string(boundary) + "--";
    std::size_t final_index = data.rfind(final_boundary);
    if (final_index == std::string_view::npos)
        throw HTTPInputError("Invalid multipart/form-data: no final boundary found");
    std::string separator = "--" + std::string(boundary) + "\r\n";
    std::string_view rest = data.substr(0, final_index);
    std::size_t count = 0;
    while (true) {
        std::size_t cut = rest.find(separator);
        std::string_view part = rest.substr(0, cut);
        rest.remove_prefix(cut == std::string_view::npos ? rest.size() : cut + separator.size());
        if (!part.empty()) {
            if (++count > limits.max_parts)
                throw HTTPInputError("multipart/form-data has more than " + std::to_string(limits.max_parts) +
                                     " parts");
            std::size_t eoh = part.find("\r\n\r\n");
            if (eoh == std::string_view::npos) throw HTTPInputError("multipart/form-data missing headers");
            if (eoh > limits.max_part_header_size)
                throw HTTPInputError("multipart/form-data part headers longer than " +
                                     std::to_string(limits.max_part_header_size) + " bytes");
            std::string_view header_text = part.substr(0, eoh);
            if (std::string error = detail::utf8_error(header_text); !error.empty()) throw HTTPInputError(error);
            HTTPHeaders headers = HTTPHeaders::parse(header_text);
            detail::parsed_header disposition = detail::parse_header(headers.get("Content-Disposition", ""));
            if (disposition.value != "form-data" || part.size() < 2 || part.substr(part.size() - 2) != "\r\n")
                throw HTTPInputError("Invalid multipart/form-data");
            std::string_view value =
                eoh + 4 <= part.size() - 2 ? part.substr(eoh + 4, part.size() - 2 - (eoh + 4)) : std::string_view();
            const std::string* name = disposition.param("name");
            if (!name || name->empty()) throw HTTPInputError("multipart/form-data missing name");
            const std::string* filename = disposition.param("filename");
            if (filename && !filename->empty()) {
                files[*name].push_back(
                    HTTPFile{*filename, std::string(value), headers.get("Content-Type", "application/unknown")});
            } else {
                arguments[*name].emplace_back(value);
            }
        }
        if (cut == std::string_view::npos) break;
    }
}

GALE_DECL void parse_body_arguments(std::string_view content_type, std::string_view body, argument_map& arguments,
                                    file_map& files, const HTTPHeaders* headers, const multipart_limits& limits) {
    bool form = content_type.starts_with("application/x-www-form-urlencoded");
    bool multipart = !form && content_type.starts_with("multipart/form-data");
    if (!form && !multipart) return;
    if (headers && !headers->empty()) {
        if (std::optional<std::string_view> encoding = headers->get("Content-Encoding"))
            throw HTTPInputError("Unsupported Content-Encoding: " + std::string(*encoding));
    }
    if (form) {
        for (auto& [name, values] : parse_qs_bytes(body, true)) {
            std::vector<std::string>& all = arguments[name];
            all.insert(all.end(), std::make_move_iterator(values.begin()), std::make_move_iterator(values.end()));
        }
        return;
    }
    try {
        std::string_view fields = content_type;
        while (true) {
            std::size_t semi = fields.find(';');
            std::string_view field = detail::py_strip(fields.substr(0, semi));
            std::size_t eq = field.find('=');
            if (eq != std::string_view::npos && field.substr(0, eq) == "boundary" && eq + 1 < field.size()) {
                parse_multipart_form_data(field.substr(eq + 1), body, arguments, files, limits);
                return;
            }
            if (semi == std::string_view::npos) break;
            fields.remove_prefix(semi + 1);
        }
        throw HTTPInputError("multipart boundary not found");
    } catch (const HTTPInputError& e) {
        throw HTTPInputError(std::string("Invalid multipart/form-data: ") + e.what());
    }
}

}  // namespace gale
