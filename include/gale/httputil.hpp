// Tornado's tornado.httputil for C++: the pieces of HTTP shared by the
// server and the client.
//
//   gale::HTTPHeaders h = gale::HTTPHeaders::parse("content-type: text/html\r\nSet-Cookie: A=B\r\n");
//   h.add("Set-Cookie", "C=D");
//   *h.get("CONTENT-TYPE");                  // "text/html"
//   *h.get("set-cookie");                    // "A=B,C=D" (values joined, as Tornado's h[name])
//   h.get_list("Set-Cookie");                // {"A=B", "C=D"}
//   for (auto& [name, value] : h) ...        // "Content-Type" "text/html", "Set-Cookie" "A=B", ...
//
//   gale::RequestStartLine start = gale::parse_request_start_line("GET /foo?a=1 HTTP/1.1");
//   gale::HTTPServerRequest request(start, std::move(h));   // path "/foo", query_arguments {a: [1]}
//
// Synopsis:
//   HTTPInputError, HTTPOutputError                      // malformed input / misuse of output
//   class HTTPHeaders                                    // case-insensitive ordered multi-dict
//     add(name, value), set(name, value), remove(name), clear()
//     get(name) -> optional<string_view>, get(name, default) -> string
//     get_list(name), get_all(), contains(name), size(), empty(), begin()/end()
//     parse_line(line), static parse(text), str()
//   RequestStartLine {method, path, version}, parse_request_start_line(line)
//   ResponseStartLine {version, code, reason}, parse_response_start_line(line)
//   HTTPFile {filename, body, content_type}, argument_map, file_map
//   class HTTPConnection                                 // declared here, defined by the server
//   class HTTPServerRequest                              // method, uri, headers, body, arguments, ...
//   parse_body_arguments(content_type, body, arguments, files, headers)
//   parse_multipart_form_data(boundary, data, arguments, files, limits)
//   parse_qs_bytes(qs, keep_blank_values), url_concat(url, args)
//   url_escape(s, plus), url_unescape(s, plus), url_unescape_bytes(s, plus)
//   format_timestamp(time_point or time_t), parse_cookie(header), split_host_and_port(netloc)
//
// HTTPHeaders. Names are stored in Tornado's Http-Header-Case
// ("content-TYPE" -> "Content-Type") and compared without regard to case.
// Values of one name stay together, in the order of the name's first
// appearance, which is the order Tornado's get_all() (and so the wire)
// uses. A handful of headers is the common case, so storage is one small
// vector searched linearly: no map, no allocation beyond the strings.
// get() returns a view that lives until the headers are next modified; for a
// name with several values it joins them with "," and caches the result (so
// an HTTPHeaders must not be read from two threads at once).
//
// Strings are bytes. Where Tornado decodes header bytes as latin-1 and
// names arguments with str, gale keeps the bytes as they came (names,
// values, argument names and values); url_unescape decodes UTF-8 as Tornado
// does, replacing invalid sequences with U+FFFD.
//
// Where gale is stricter than Tornado 6.2 it follows newer Tornado (6.5),
// as the spec asks: a request method must be an RFC 9110 token ("FOO,BAR"
// is malformed); a parsed header name must be a token, a parsed value may
// not hold CR or NUL, and header whitespace is space and tab only. A
// program's own add()/set() refuse CR, LF and NUL in values and non-token
// names with std::invalid_argument ("Unsafe header value ..."), so a
// response can never be split.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <forward_list>
#include <initializer_list>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gale {

// Malformed HTTP requests or responses from remote sources.
struct HTTPInputError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Errors in HTTP output (a program writing what HTTP cannot carry).
struct HTTPOutputError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {

// RFC 9110 tchar: "!#$%&'*+-.^_`|~", digits and letters.
inline constexpr std::array<bool, 256> tchar_table = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
    return t;
}();

inline bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s)
        if (!tchar_table[static_cast<unsigned char>(c)]) return false;
    return true;
}

inline constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; }
inline constexpr char ascii_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? char(c - 32) : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i] && ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

inline std::string ascii_lowered(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

// Tornado's _normalize_header: each '-'-separated word capitalised.
inline bool is_normalized_header(std::string_view name) noexcept {
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

inline std::string normalize_header(std::string_view name) {
    std::string out(name);
    if (is_normalized_header(name)) return out;
    bool first = true;
    for (char& c : out) {
        if (c == '-') {
            first = true;
            continue;
        }
        c = first ? ascii_upper(c) : ascii_lower(c);
        first = false;
    }
    return out;
}

inline bool is_http_ws(char c) noexcept { return c == ' ' || c == '\t'; }

inline std::string_view strip_http_ws(std::string_view s) noexcept {
    while (!s.empty() && is_http_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_http_ws(s.back())) s.remove_suffix(1);
    return s;
}

// Python's repr() of a str whose characters are the bytes of `s` read as
// latin-1 (how Tornado sees header bytes), as UTF-8 text.
inline std::string py_repr(std::string_view s) {
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
        } else if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad) {
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

// A case-insensitive multi-dict of header fields that keeps Http-Header-Case.
class HTTPHeaders {
public:
    struct field {
        std::string name;
        std::string value;
        friend bool operator==(const field&, const field&) = default;
    };
    using const_iterator = std::vector<field>::const_iterator;

    HTTPHeaders() = default;
    // Adds each pair in order: HTTPHeaders{{"Content-Type", "text/html"}}.
    HTTPHeaders(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
        fields_.reserve(fields.size());
        for (auto& [name, value] : fields) add(name, value);
    }

    // Appends a value for `name` (Tornado's add). Throws std::invalid_argument
    // for a name that is not a token or a value holding CR, LF or NUL.
    void add(std::string_view name, std::string_view value) {
        check_output(name, value);
        add_unchecked(name, value);
    }

    // Replaces every value of `name` with `value` (Tornado's h[name] = value);
    // the name keeps its place. Same checks as add().
    void set(std::string_view name, std::string_view value) {
        check_output(name, value);
        invalidate();
        std::size_t first = find_first(name);
        if (first == fields_.size()) {
            fields_.push_back(field{detail::normalize_header(name), std::string(value)});
            return;
        }
        std::size_t end = group_end(first);
        fields_[first].value.assign(value);
        fields_.erase(fields_.begin() + std::ptrdiff_t(first + 1), fields_.begin() + std::ptrdiff_t(end));
        if (last_ != npos && last_ >= first) last_ = last_ < end ? first : last_ - (end - first - 1);
    }

    // The value of `name`, several values joined by "," (Tornado's h[name]),
    // or nullopt. The view lives until the headers are next modified.
    std::optional<std::string_view> get(std::string_view name) const {
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
        joined_.push_front(field{fields_[first].name, std::move(value)});
        return std::string_view(joined_.front().value);
    }

    // Tornado's h.get(name, default).
    std::string get(std::string_view name, std::string_view default_value) const {
        std::optional<std::string_view> value = get(name);
        return std::string(value ? *value : default_value);
    }

    // Every value of `name`, in order; empty when there is none.
    std::vector<std::string_view> get_list(std::string_view name) const {
        std::vector<std::string_view> values;
        std::size_t first = find_first(name);
        if (first == fields_.size()) return values;
        std::size_t end = group_end(first);
        values.reserve(end - first);
        for (std::size_t i = first; i < end; ++i) values.push_back(fields_[i].value);
        return values;
    }

    // Every (name, value) pair: names in order of first appearance, the
    // values of one name together in the order they were added.
    const std::vector<field>& get_all() const noexcept { return fields_; }
    const_iterator begin() const noexcept { return fields_.begin(); }
    const_iterator end() const noexcept { return fields_.end(); }

    bool contains(std::string_view name) const noexcept { return find_first(name) != fields_.size(); }

    // Removes every value of `name` (Tornado's del h[name]); false if absent.
    bool remove(std::string_view name) {
        std::size_t first = find_first(name);
        if (first == fields_.size()) return false;
        invalidate();
        std::size_t end = group_end(first);
        fields_.erase(fields_.begin() + std::ptrdiff_t(first), fields_.begin() + std::ptrdiff_t(end));
        if (last_ != npos && last_ >= first) last_ = last_ < end ? npos : last_ - (end - first);
        return true;
    }

    // The number of distinct names (Tornado's len(h)).
    std::size_t size() const noexcept {
        std::size_t n = 0;
        for (std::size_t i = 0; i < fields_.size(); ++i)
            if (i == 0 || fields_[i].name != fields_[i - 1].name) ++n;
        return n;
    }
    bool empty() const noexcept { return fields_.empty(); }

    void clear() noexcept {
        fields_.clear();
        joined_.clear();
        last_ = npos;
    }

    // Adds one header line: "Name: value", or a continuation line (obs-fold,
    // starting with space or tab) that appends " " + its text to the value
    // added last. Throws HTTPInputError ("no colon in header line",
    // "first header line cannot start with whitespace", "Invalid header
    // name '...'", "Invalid header value '...'").
    void parse_line(std::string_view line) {
        if (!line.empty() && detail::is_http_ws(line.front())) {
            if (last_ == npos) throw HTTPInputError("first header line cannot start with whitespace");
            std::string_view part = detail::strip_http_ws(line);
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
        std::string_view name = line.substr(0, colon);
        std::string_view value = detail::strip_http_ws(line.substr(colon + 1));
        if (!detail::is_token(name)) throw HTTPInputError("Invalid header name " + detail::py_repr(name));
        if (!valid_input_value(value)) throw HTTPInputError("Invalid header value " + detail::py_repr(value));
        add_unchecked(name, value);
    }

    // Headers from a header block; lines end in CRLF or a bare LF, empty
    // lines are skipped. Throws HTTPInputError as parse_line does.
    static HTTPHeaders parse(std::string_view text) {
        HTTPHeaders headers;
        while (!text.empty()) {
            std::size_t eol = text.find('\n');
            std::string_view line = text.substr(0, eol);
            text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (!line.empty()) headers.parse_line(line);
        }
        return headers;
    }

    // "Name: value\n" for every pair (Tornado's str(h)).
    std::string str() const {
        std::string out;
        for (const field& f : fields_) {
            out += f.name;
            out += ": ";
            out += f.value;
            out.push_back('\n');
        }
        return out;
    }

    friend bool operator==(const HTTPHeaders& a, const HTTPHeaders& b) { return a.fields_ == b.fields_; }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    static void check_output(std::string_view name, std::string_view value) {
        if (!detail::is_token(name)) throw std::invalid_argument("Invalid header name " + detail::py_repr(name));
        if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
            throw std::invalid_argument("Unsafe header value " + detail::py_repr(value));
    }

    static bool valid_input_value(std::string_view value) noexcept {
        return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
    }

    std::size_t find_first(std::string_view name) const noexcept {
        std::size_t i = 0;
        for (; i < fields_.size(); ++i)
            if (detail::iequals(fields_[i].name, name)) break;
        return i;
    }

    std::size_t group_end(std::size_t first) const noexcept {
        std::size_t i = first + 1;
        while (i < fields_.size() && fields_[i].name == fields_[first].name) ++i;
        return i;
    }

    void invalidate() noexcept { joined_.clear(); }

    void add_unchecked(std::string_view name, std::string_view value) {
        invalidate();
        std::size_t first = find_first(name);
        if (first == fields_.size()) {
            fields_.push_back(field{detail::normalize_header(name), std::string(value)});
            last_ = fields_.size() - 1;
            return;
        }
        std::size_t end = group_end(first);
        fields_.insert(fields_.begin() + std::ptrdiff_t(end), field{fields_[first].name, std::string(value)});
        last_ = end;
    }

    std::vector<field> fields_;
    std::size_t last_ = npos;  // the field added last, for continuation lines
    mutable std::forward_list<field> joined_;  // get()'s joined values, until the next change
};

// "GET /foo HTTP/1.1".
struct RequestStartLine {
    std::string method;
    std::string path;
    std::string version;
    friend bool operator==(const RequestStartLine&, const RequestStartLine&) = default;
};

// "HTTP/1.1 200 OK".
struct ResponseStartLine {
    std::string version;
    int code = 0;
    std::string reason;
    friend bool operator==(const ResponseStartLine&, const ResponseStartLine&) = default;
};

// Splits an HTTP/1.x request line into method, path and version. Throws
// HTTPInputError("Malformed HTTP request line") unless there are exactly
// three parts separated by single spaces and the method is a token, and
// HTTPInputError("Malformed HTTP version in HTTP Request-Line: 'HTTP/2.0'")
// unless the version is HTTP/1.<digit>.
inline RequestStartLine parse_request_start_line(std::string_view line) {
    std::size_t sp1 = line.find(' ');
    std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        throw HTTPInputError("Malformed HTTP request line");
    std::string_view method = line.substr(0, sp1);
    std::string_view path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (!detail::is_token(method)) throw HTTPInputError("Malformed HTTP request line");
    if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' || version[7] > '9')
        throw HTTPInputError("Malformed HTTP version in HTTP Request-Line: " + detail::py_repr(version));
    return RequestStartLine{std::string(method), std::string(path), std::string(version)};
}

// Splits an HTTP/1.x status line as Tornado's regex
// "(HTTP/1.[0-9]) ([0-9]+) ([^\r]*)" does (matched at the start; the reason
// runs to the first CR). Throws HTTPInputError("Error parsing response start
// line"), also for a code too large for an int.
inline ResponseStartLine parse_response_start_line(std::string_view line) {
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

// An uploaded file from a multipart/form-data body.
struct HTTPFile {
    std::string filename;
    std::string body;
    std::string content_type;
    friend bool operator==(const HTTPFile&, const HTTPFile&) = default;
};

// Argument name -> values (Tornado's Dict[str, List[bytes]]), and form field
// name -> uploaded files.
using argument_map = std::map<std::string, std::vector<std::string>, std::less<>>;
using file_map = std::map<std::string, std::vector<HTTPFile>, std::less<>>;
// Cookie name -> value.
using cookie_map = std::map<std::string, std::string, std::less<>>;

// Tornado's split_host_and_port: "example.com:8080" -> ("example.com", 8080);
// "[::1]:80" -> ("[::1]", 80) (brackets kept); no ":digits" suffix -> (netloc, nullopt).
struct host_and_port {
    std::string_view host;
    std::optional<int> port;
};

inline host_and_port split_host_and_port(std::string_view netloc) {
    // The regex ^(.+):(\d+)$ : '.' matches no newline, and '$' also matches
    // before a final newline. A port too large for an int counts as no port.
    std::string_view s = netloc;
    if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    std::size_t colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return {netloc, std::nullopt};
    if (s.substr(0, colon).find('\n') != std::string_view::npos) return {netloc, std::nullopt};
    long long port = 0;
    for (char c : s.substr(colon + 1)) {
        if (c < '0' || c > '9') return {netloc, std::nullopt};
        port = port * 10 + (c - '0');
        if (port > 2147483647) return {netloc, std::nullopt};
    }
    return {s.substr(0, colon), static_cast<int>(port)};
}

// Tornado's HTTPConnection interface (write_headers, write, finish): defined
// by http1connection.hpp; a request only points at it.
class HTTPConnection;

// Placeholders completed below (parse_qs_bytes and parse_cookie).
inline argument_map parse_qs_bytes(std::string_view qs, bool keep_blank_values = false);
inline cookie_map parse_cookie(std::string_view cookie);
inline void parse_body_arguments(std::string_view content_type, std::string_view body, argument_map& arguments,
                                 file_map& files, const HTTPHeaders* headers = nullptr);

// A single HTTP request, as Tornado's HTTPServerRequest.
class HTTPServerRequest {
public:
    using clock = std::chrono::system_clock;

    std::string method;
    std::string uri;
    std::string version = "HTTP/1.0";
    HTTPHeaders headers;
    std::string body;
    std::string remote_ip;          // set by the server
    std::string protocol = "http";  // "http" or "https", set by the server
    std::string host;               // from the Host header, else "127.0.0.1"
    std::string host_name;          // host lower-cased, without the port
    std::string path;               // uri before the first '?'
    std::string query;              // uri after the first '?'
    argument_map arguments;         // query and body arguments together
    argument_map query_arguments;
    argument_map body_arguments;
    file_map files;
    HTTPConnection* connection = nullptr;  // set by the server
    clock::time_point start_time = clock::now();
    std::optional<clock::time_point> finish_time;  // set when the response is finished

    HTTPServerRequest() { derive(); }

    // Derives host, host_name, path, query and the query arguments as
    // Tornado's constructor does. `host` overrides the Host header.
    HTTPServerRequest(std::string method_, std::string uri_, std::string version_ = "HTTP/1.0",
                      HTTPHeaders headers_ = {}, std::string body_ = {}, std::string_view host_ = {})
        : method(std::move(method_)), uri(std::move(uri_)), version(std::move(version_)),
          headers(std::move(headers_)), body(std::move(body_)) {
        derive(host_);
    }

    HTTPServerRequest(RequestStartLine start_line, HTTPHeaders headers_, std::string body_ = {})
        : HTTPServerRequest(std::move(start_line.method), std::move(start_line.path),
                            std::move(start_line.version), std::move(headers_), std::move(body_)) {}

    // The Cookie headers parsed with parse_cookie, keeping only the names
    // Python's SimpleCookie accepts (as Tornado does). Parsed on first use.
    const cookie_map& cookies() const {
        if (!cookies_) {
            cookies_.emplace();
            if (std::optional<std::string_view> header = headers.get("Cookie")) {
                for (auto& [name, value] : parse_cookie(*header))
                    if (legal_cookie_name(name)) cookies_->insert_or_assign(name, value);
            }
        }
        return *cookies_;
    }

    // protocol + "://" + host + uri.
    std::string full_url() const { return protocol + "://" + host + uri; }

    // Seconds since the request started, or until it finished.
    double request_time() const {
        clock::time_point end = finish_time ? *finish_time : clock::now();
        return std::chrono::duration<double>(end - start_time).count();
    }

    // Parses the body into body_arguments and files by Content-Type, and
    // appends the body arguments to arguments (Tornado's _parse_body).
    // Throws HTTPInputError on a malformed body.
    void parse_body() {
        parse_body_arguments(headers.get("Content-Type", ""), body, body_arguments, files, &headers);
        for (auto& [name, values] : body_arguments) {
            std::vector<std::string>& all = arguments[name];
            all.insert(all.end(), values.begin(), values.end());
        }
    }

private:
    void derive(std::string_view host_override = {}) {
        if (!host_override.empty()) {
            host = host_override;
        } else {
            std::optional<std::string_view> header = headers.get("Host");
            host = header && !header->empty() ? *header : std::string_view("127.0.0.1");
        }
        std::string lowered = detail::ascii_lowered(host);
        host_name = split_host_and_port(lowered).host;
        std::size_t q = uri.find('?');
        path = uri.substr(0, q);
        query = q == std::string::npos ? std::string() : uri.substr(q + 1);
        arguments = parse_qs_bytes(query, true);
        query_arguments = arguments;
    }

    // Python's http.cookies: a name of _LegalChars, not a Morsel attribute.
    static bool legal_cookie_name(std::string_view name) {
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

    mutable std::optional<cookie_map> cookies_;
};

// ---------------------------------------------------------------------------
// Query strings, cookies, URLs.

namespace detail {

inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// urllib's unquote_to_bytes: "%XX" with two hex digits becomes the byte,
// anything else stays; with `plus`, '+' becomes a space first.
inline std::string percent_decode(std::string_view s, bool plus) {
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

}  // namespace detail

// Tornado's parse_qs_bytes (urllib's parse_qs over latin-1): "a=1&b=&a=2" ->
// {a: [1, 2]} (and b: [""] with keep_blank_values). Fields split on '&'; a
// field without '=' counts as blank; '+' and %XX are decoded in names and values.
inline argument_map parse_qs_bytes(std::string_view qs, bool keep_blank_values) {
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

// Tornado's parse_cookie (completed in the next revision).
inline cookie_map parse_cookie(std::string_view cookie) {
    cookie_map result;
    (void)cookie;
    return result;
}

// Tornado's parse_body_arguments (completed in the next revision).
inline void parse_body_arguments(std::string_view content_type, std::string_view body, argument_map& arguments,
                                 file_map& files, const HTTPHeaders* headers) {
    (void)content_type;
    (void)body;
    (void)arguments;
    (void)files;
    (void)headers;
}

}  // namespace gale
