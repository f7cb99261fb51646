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
//   http_reason(code)                                    // "Not Found"; "Unknown" if not standard
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
// does, replacing invalid sequences with U+FFFD (url_unescape_bytes does
// not decode, as Tornado's encoding=None).
//
// Differences from Tornado 6.2, on purpose:
// - Stricter parsing, the rules of newer Tornado that the spec names: a
//   request method must be an RFC 9110 token ("FOO,BAR" is malformed, "FOO"
//   is not); a parsed header name must be a token and a parsed value may not
//   hold CR or NUL ("Invalid header name 'a b'"); header whitespace (for
//   continuation lines and stripping) is space and tab only.
// - add() and set() refuse a name that is not a token and a value holding
//   CR, LF or NUL, with std::invalid_argument (Python's ValueError), so a
//   response can never be split.
// - Whitespace that Python's str.strip() removes is ASCII here: bytes 0x85
//   and 0xA0, which Tornado strips from latin-1 text, are kept, so UTF-8
//   text ending in them survives (cookie values, Content-Disposition).
// - A malformed multipart/form-data body throws HTTPInputError as Debian's
//   Tornado 6.2 (with its security fixes, and newer Tornado) does, instead
//   of logging and going on; the web layer answers 400. multipart_limits
//   caps the number of parts and the size of a part's headers.
// - Numbers Python would hold in an unbounded int (a status code, a port in
//   split_host_and_port) must fit an int here.

#pragma once

#include <array>
#include <chrono>
#include <cstddef>
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

#include "detail/config.hpp"

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

// What a header name is: no token (so no name), a token already in
// Http-Header-Case, or one that normalize_header changes. One pass does
// both checks, since every header added or parsed needs them.
enum class header_name_kind { invalid, normalized, unnormalized };

inline bool is_http_ws(char c) noexcept { return c == ' ' || c == '\t'; }

inline std::string_view strip_http_ws(std::string_view s) noexcept {
    while (!s.empty() && is_http_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_http_ws(s.back())) s.remove_suffix(1);
    return s;
}

// Python's repr() of a str whose characters are the bytes of `s` read as
// latin-1 (how Tornado sees header bytes), as UTF-8 text; with as_bytes,
// the repr of the bytes themselves without its leading b.
GALE_DECL std::string py_repr(std::string_view s, bool as_bytes = false);

// Python's repr() of bytes: b'...'.
inline std::string py_bytes_repr(std::string_view s) { return "b" + py_repr(s, true); }

}  // namespace detail

// A case-insensitive multi-dict of header fields that keeps Http-Header-Case.
class HTTPHeaders {
public:
    struct field {
        field() = default;
        field(std::string_view n, std::string_view v) : name(n), value(v) {}
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
    void add(std::string_view name, std::string_view value);

    // Replaces every value of `name` with `value` (Tornado's h[name] = value);
    // the name keeps its place. Same checks as add().
    void set(std::string_view name, std::string_view value);

    // The value of `name`, several values joined by "," (Tornado's h[name]),
    // or nullopt. The view lives until the headers are next modified.
    std::optional<std::string_view> get(std::string_view name) const;

    // Tornado's h.get(name, default).
    std::string get(std::string_view name, std::string_view default_value) const;

    // Every value of `name`, in order; empty when there is none.
    std::vector<std::string_view> get_list(std::string_view name) const;

    // Every (name, value) pair: names in order of first appearance, the
    // values of one name together in the order they were added.
    const std::vector<field>& get_all() const noexcept { return fields_; }
    const_iterator begin() const noexcept { return fields_.begin(); }
    const_iterator end() const noexcept { return fields_.end(); }

    bool contains(std::string_view name) const noexcept;

    // Removes every value of `name` (Tornado's del h[name]); false if absent.
    bool remove(std::string_view name);

    // The number of distinct names (Tornado's len(h)).
    std::size_t size() const noexcept;
    bool empty() const noexcept { return fields_.empty(); }

    void clear() noexcept {
        fields_.clear();
        invalidate();
        last_ = npos;
    }

    // Adds one header line: "Name: value", or a continuation line (obs-fold,
    // starting with space or tab) that appends " " + its text to the value
    // added last. Throws HTTPInputError ("no colon in header line",
    // "first header line cannot start with whitespace", "Invalid header
    // name '...'", "Invalid header value '...'").
    void parse_line(std::string_view line);

    // Headers from a header block; lines end in CRLF or a bare LF, empty
    // lines are skipped. Throws HTTPInputError as parse_line does.
    static HTTPHeaders parse(std::string_view text);

    // "Name: value\n" for every pair (Tornado's str(h)).
    std::string str() const;

    friend bool operator==(const HTTPHeaders& a, const HTTPHeaders& b) { return a.fields_ == b.fields_; }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    static detail::header_name_kind check_output(std::string_view name, std::string_view value);

    // No CR, LF or NUL. Eight bytes at a time: a word with no byte below
    // 0x0e (the common case, tabs aside) cannot hold any of them. The last
    // word overlaps the one before it rather than leaving a tail.
    static bool valid_input_value(std::string_view value) noexcept;

    static bool valid_input_word(const char* p) noexcept;

    // Names are stored normalised and usually looked up that way too, so an
    // exact comparison settles most candidates before the caseless one.
    std::size_t find_first(std::string_view name) const noexcept;

    std::size_t group_end(std::size_t first) const noexcept;

    void invalidate() noexcept {
        if (!joined_.empty()) joined_.clear();
    }

    // A field with a name not present yet, built in place (no temporaries).
    void append_field(std::string_view name, std::string_view value, detail::header_name_kind kind);

    // `kind` is classify_header_name(name), which is not invalid.
    void add_unchecked(std::string_view name, std::string_view value, detail::header_name_kind kind);

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
namespace detail {

// parse_request_start_line into existing strings, keeping their memory.
GALE_DECL void parse_request_start_line(std::string_view line, std::string& method, std::string& path,
                                        std::string& version);

}  // namespace detail

GALE_DECL RequestStartLine parse_request_start_line(std::string_view line);

// Splits an HTTP/1.x status line as Tornado's regex
// "(HTTP/1.[0-9]) ([0-9]+) ([^\r]*)" does (matched at the start; the reason
// runs to the first CR). Throws HTTPInputError("Error parsing response start
// line"), also for a code too large for an int.
GALE_DECL ResponseStartLine parse_response_start_line(std::string_view line);

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
    std::string_view host;  // a view into the netloc given
    std::optional<int> port;
};

GALE_DECL host_and_port split_host_and_port(std::string_view netloc);

// Tornado's HTTPConnection interface (write_headers, write, finish): defined
// by http1connection.hpp; a request only points at it.
class HTTPConnection;
// Defined by httpserver.hpp; it reuses a request object for each request of
// a connection.
class HTTPServer;

// Limits on a multipart/form-data body (Tornado 6.2 has none): more parts,
// or a part's header block longer, than this is an HTTPInputError, so a
// hostile body cannot make the parser and the argument maps grow without
// end. Pass other limits to parse_body_arguments / HTTPServerRequest::parse_body.
struct multipart_limits {
    std::size_t max_parts = 100;
    std::size_t max_part_header_size = 10 * 1024;
};

// The standard reason phrase of a status code (Python's
// http.client.responses, Tornado's httputil.responses); "Unknown" otherwise.
GALE_DECL std::string_view http_reason(int code) noexcept;

// A single HTTP request, as Tornado's HTTPServerRequest.
class HTTPServerRequest {
public:
    using clock = std::chrono::system_clock;

    // (start_next, which the server uses to reuse one request object for the
    // requests of a connection, resets every field: keep it in step.)
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
        : method(std::move(start_line.method)), uri(std::move(start_line.path)),
          version(std::move(start_line.version)), headers(std::move(headers_)), body(std::move(body_)) {
        derive();
    }

    // The Cookie headers parsed with parse_cookie, keeping only the names
    // Python's SimpleCookie accepts (as Tornado does). Parsed on first use.
    const cookie_map& cookies() const;

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
    void parse_body(const multipart_limits& limits = {});

private:
    friend class HTTPServer;

    // Host, host_name, path, query and the query arguments from the fields
    // before them, assigned so that a reused request keeps their memory.
    void derive(std::string_view host_override = {});

    // The server's way to make this object the next request read on its
    // connection (HTTP1Connection::read_request_head(request) has filled in
    // method, uri, version and headers), keeping the memory of its strings:
    // every other field is set as a new request's would be.
    void start_next(std::string_view remote_ip_, std::string_view protocol_, HTTPConnection* connection_);

    // Python's http.cookies: a name of _LegalChars, not a Morsel attribute.
    static bool legal_cookie_name(std::string_view name);

    mutable std::optional<cookie_map> cookies_;
};

// ---------------------------------------------------------------------------
// Text helpers shared by the parsers below.

namespace detail {

inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Python's UnicodeDecodeError text for the first ill-formed stretch, or "".
GALE_DECL std::string utf8_error(std::string_view s);

// str.isspace() for ASCII (Python also counts \x1c-\x1f).
inline constexpr bool is_py_space(char c) noexcept {
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

inline std::string_view py_strip(std::string_view s) noexcept {
    while (!s.empty() && is_py_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_py_space(s.back())) s.remove_suffix(1);
    return s;
}

// Python's str.replace(from, to) (non-overlapping, left to right).
GALE_DECL std::string py_replace(std::string_view s, std::string_view from, std::string_view to);

}  // namespace detail

// ---------------------------------------------------------------------------
// URLs and query strings.

// Tornado's url_escape: UTF-8 bytes percent-encoded as urllib's quote_plus
// (plus: space -> '+', '/' encoded) or quote (space -> "%20", '/' kept).
// Letters, digits and "_.-~" are never encoded.
GALE_DECL std::string url_escape(std::string_view value, bool plus = true);

// Tornado's url_unescape(value, encoding="utf-8"): %XX decoded (and '+' as a
// space if `plus`), then the bytes read as UTF-8 with ill-formed sequences
// replaced by U+FFFD.
GALE_DECL std::string url_unescape(std::string_view value, bool plus = true);

// Tornado's url_unescape(value, encoding=None): the decoded bytes as they are.
GALE_DECL std::string url_unescape_bytes(std::string_view value, bool plus = true);

// Tornado's parse_qs_bytes (urllib's parse_qs over latin-1): "a=1&b=&a=2" ->
// {a: [1, 2]}, and b: [""] with keep_blank_values (which Tornado's request
// parsing always uses). Fields split on '&'; a field without '=' counts as
// blank; '+' and %XX are decoded in names and values, bytes kept as bytes.
GALE_DECL argument_map parse_qs_bytes(std::string_view qs, bool keep_blank_values = false);

// Tornado's url_concat: appends `args` to the query of `url`, keeping what is
// there. As Tornado (urllib's urlparse, parse_qsl, urlencode, urlunparse)
// the existing query is re-encoded ("a=b c" -> "a=b+c", "x" -> "x=") and
// the fragment kept:
//   url_concat("http://example.com/foo?a=b#f", {{"c", "d"}}) == "http://example.com/foo?a=b&c=d#f"
// Throws std::invalid_argument("Invalid IPv6 URL") for an unbalanced '[' or
// ']' in the host, as urllib does.
GALE_DECL std::string url_concat(std::string_view url, const std::vector<std::pair<std::string, std::string>>& args);

// Tornado's format_timestamp: "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 7231
// IMF-fixdate), for a time in seconds since the epoch; fractions are dropped
// (rounded down).
GALE_DECL std::string format_timestamp(std::time_t seconds);

GALE_DECL std::string format_timestamp(std::chrono::system_clock::time_point when);

// ---------------------------------------------------------------------------
// Cookies.

// Tornado's parse_cookie (the browsers' algorithm, not the RFCs'): the
// header splits on ';'; a chunk without '=' is a value with the name "";
// names and values are stripped of whitespace and values unquoted as
// Python's http.cookies does. Chunks with neither name nor value are
// skipped; a repeated name keeps its last value.
GALE_DECL cookie_map parse_cookie(std::string_view cookie);

// ---------------------------------------------------------------------------
// Form bodies.

namespace detail {

// Content-Disposition style header: "form-data; name=\"a\"; filename*=UTF-8''%C3%A4".
struct parsed_header {
    std::string value;
    std::vector<std::pair<std::string, std::string>> params;

    const std::string* param(std::string_view name) const {
        for (auto& [k, v] : params)
            if (k == name) return &v;
        return nullptr;
    }
    void set(std::string name, std::string value_) {
        for (auto& [k, v] : params)
            if (k == name) {
                v = std::move(value_);
                return;
            }
        params.emplace_back(std::move(name), std::move(value_));
    }
};

// Tornado's _parse_header (with email.utils.decode_params and
// collapse_rfc2231_value): the first value, and parameters with quotes
// removed and RFC 2231 / 5987 values (name*=charset'lang'%XX, name*0=...)
// decoded to UTF-8.
GALE_DECL parsed_header parse_header(std::string_view line);

}  // namespace detail


// Tornado's parse_multipart_form_data: fields with a filename go to `files`,
// the others to `arguments`. The boundary may be quoted. Throws
// HTTPInputError("Invalid multipart/form-data: no final boundary found",
// "multipart/form-data missing headers", "Invalid multipart/form-data",
// "multipart/form-data missing name", or a header parsing error).
GALE_DECL void parse_multipart_form_data(std::string_view boundary, std::string_view data, argument_map& arguments,
                                         file_map& files, const multipart_limits& limits = {});

// Tornado's parse_body_arguments: application/x-www-form-urlencoded and
// multipart/form-data bodies add to `arguments` and `files`; other content
// types are left alone. Throws HTTPInputError for a Content-Encoding on
// such a body ("Unsupported Content-Encoding: gzip") and for a malformed
// multipart body ("Invalid multipart/form-data: <reason>"), as Tornado 6.2
// with its security fixes does (the web layer answers 400); it does not
// log.
GALE_DECL void parse_body_arguments(std::string_view content_type, std::string_view body, argument_map& arguments,
                                    file_map& files, const HTTPHeaders* headers = nullptr,
                                    const multipart_limits& limits = {});

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/httputil.ipp"
#endif
