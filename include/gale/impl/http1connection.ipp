// Definitions for http1connection.hpp: parsing message heads, framing and
// writing messages, the timeouts. Compiled in every translation unit in
// header-only mode, or once by <gale/src.hpp> with GALE_SEPARATE_COMPILATION;
// see detail/config.hpp.
#pragma once

#include "../http1connection.hpp"

#include <array>

#include "../detail/logging.hpp"

namespace gale {

namespace detail {

// RFC 3986 host [ ":" port ]: reg-name, IPv4 or a bracketed IP literal.
// A comma, though a legal sub-delim, is refused: it is what two Host
// values folded into one look like.
inline constexpr std::array<bool, 256> host_char_table = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (char c : std::string_view("-._~%!$&'()*+;=:[]")) t[static_cast<unsigned char>(c)] = true;
    return t;
}();

GALE_DECL bool is_host_value(std::string_view s) noexcept {
    for (char c : s)
        if (!host_char_table[static_cast<unsigned char>(c)]) return false;
    return true;
}

// Finds the empty line that ends a message head ("\n\n" or "\n\r\n") at
// or after `from`; returns the offset just past it, or npos. `from` is
// advanced past what cannot start the end, so a search resumed after more
// bytes arrive does not rescan the head.
GALE_DECL std::size_t find_head_end(std::string_view data, std::size_t& from) noexcept {
    for (;;) {
        std::size_t nl = data.find('\n', from);
        if (nl == std::string_view::npos) {
            from = data.size();
            return nl;
        }
        from = nl;  // undecided until the bytes after it are here
        if (nl + 1 >= data.size()) return std::string_view::npos;
        if (data[nl + 1] == '\n') return nl + 2;
        if (data[nl + 1] == '\r') {
            if (nl + 2 >= data.size()) return std::string_view::npos;
            if (data[nl + 2] == '\n') return nl + 3;
        }
        from = nl + 1;
    }
}

// Splits off the next line of a head (without its CRLF or LF).
GALE_DECL std::string_view next_line(std::string_view& rest) noexcept {
    std::size_t nl = rest.find('\n');
    std::string_view line(rest.data(), std::min(nl, rest.size()));
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

// Parses the header lines of a head (HTTPHeaders::parse_line refuses
// names that are not tokens and values holding CR or NUL).
GALE_DECL void parse_header_lines(std::string_view rest, HTTPHeaders& headers) {
    while (!rest.empty()) {
        std::string_view line = next_line(rest);
        if (line.empty()) break;
        headers.parse_line(line);
    }
}

// Content-Length as RFC 9110 section 8.6 has it: digits only; a list of
// identical values (from repeated headers or a comma list) counts once.
GALE_DECL std::uint64_t parse_content_length(const HTTPHeaders& headers) {
    std::optional<std::uint64_t> length;
    for (std::string_view field : headers.get_list("Content-Length")) {
        while (!field.empty()) {
            std::size_t comma = field.find(',');
            std::string_view piece = strip_http_ws(field.substr(0, comma));
            field.remove_prefix(comma == std::string_view::npos ? field.size() : comma + 1);
            if (piece.empty() || piece.size() > 18 ||
                !std::all_of(piece.begin(), piece.end(), [](char c) { return c >= '0' && c <= '9'; }))
                throw HTTPInputError(fmt::format("Only integer Content-Length is allowed: {}", piece));
            std::uint64_t value = 0;
            for (char c : piece) value = value * 10 + static_cast<std::uint64_t>(c - '0');
            if (length && *length != value) throw HTTPInputError("Multiple unequal Content-Lengths");
            length = value;
        }
    }
    if (!length) throw HTTPInputError("Only integer Content-Length is allowed: ");
    return *length;
}

// The fields that frame a message or decide its connection's fate, found in
// one pass over its headers instead of a lookup each. HTTPHeaders stores
// names normalised ("content-LENGTH" is "Content-Length"), so exact
// comparisons find them. The views live until the headers are modified.
class framing_fields {
public:
    struct entry {
        std::size_t count = 0;   // how many fields have the name
        std::string_view first;  // the first one's value
    };

    explicit framing_fields(const HTTPHeaders& headers) : headers_(headers) {
        for (const HTTPHeaders::field& f : headers) {
            entry* e = entry_for(f.name);
            if (e && e->count++ == 0) e->first = f.value;
        }
    }

    // What HTTPHeaders::get(name) returns: nullopt, the only value, or
    // (rarely) the values joined with ",".
    std::optional<std::string_view> value(const entry& e, std::string_view name) const {
        if (e.count == 0) return std::nullopt;
        if (e.count == 1) return e.first;
        return headers_.get(name);
    }

    entry host, transfer_encoding, content_length, connection, expect;

private:
    entry* entry_for(std::string_view name) noexcept {
        switch (name.size()) {
            case 4: return name == "Host" ? &host : nullptr;
            case 6: return name == "Expect" ? &expect : nullptr;
            case 10: return name == "Connection" ? &connection : nullptr;
            case 14: return name == "Content-Length" ? &content_length : nullptr;
            case 17: return name == "Transfer-Encoding" ? &transfer_encoding : nullptr;
            default: return nullptr;
        }
    }

    const HTTPHeaders& headers_;
};

// A body sink that appends to a string. (A named type, not a lambda: a
// coroutine frame holding a lambda of a function compiled once, in
// separate-compilation mode, would be a type without linkage in a header.)
struct append_to {
    std::string& body;
    void operator()(std::string_view piece) const { body.append(piece); }
};

}  // namespace detail

GALE_DECL HTTP1Connection::HTTP1Connection(std::shared_ptr<IOStream> stream, bool is_client,
                                           HTTP1ConnectionParameters params, std::string context)
    : stream_(std::move(stream)),
      params_(std::move(params)),
      context_(std::move(context)),
      is_client_(is_client),
      watchdog_(std::make_shared<watchdog>(stream_, context_)) {}

GALE_DECL HTTP1Connection::~HTTP1Connection() { watchdog_->disarm_forever(); }

GALE_DECL task<ResponseStartLine> HTTP1Connection::read_response_head(HTTPHeaders& headers) {
    begin_message();
    watchdog_->arm(params_.header_timeout);
    std::size_t scanned = 0;
    std::string_view head;
    for (;;) {
        head_search found = find_head(scanned, head);
        if (found == head_search::found) break;
        if (found == head_search::too_large || co_await IOStream::fill_awaiter(*stream_, false) == 0)
            throw StreamClosedError(stream_->error());
    }
    std::string_view rest = head;
    ResponseStartLine start_line = parse_response_start_line(detail::next_line(rest));
    headers.clear();
    detail::parse_header_lines(rest, headers);
    stream_->consume(head.size());
    int code = start_line.code;
    detail::framing_fields fields(headers);
    bool has_te = fields.transfer_encoding.count > 0;
    bool has_cl = fields.content_length.count > 0;
    if (code >= 100 && code < 200) {
        if (has_te || has_cl) throw HTTPInputError(fmt::format("Response code {} cannot have body", code));
        body_mode_ = body_mode::none;
        co_return start_line;
    }
    if (has_te && has_cl) throw HTTPInputError("Response with both Transfer-Encoding and Content-Length");
    disconnect_on_finish_ =
        disconnect_on_finish_ || !can_keep_alive(start_line.version == "HTTP/1.1", nullptr, fields, headers);
    if (head_request_ || code == 304) {
        body_mode_ = body_mode::none;
    } else if (has_cl) {
        body_mode_ = body_mode::fixed;
        body_remaining_ = content_length(headers);
        if (code == 204 && body_remaining_ != 0)
            throw HTTPInputError(fmt::format("Response with code {} should not have body", code));
    } else if (has_te) {
        if (code == 204) throw HTTPInputError(fmt::format("Response with code {} should not have body", code));
        if (!detail::iequals(*fields.value(fields.transfer_encoding, "Transfer-Encoding"), "chunked"))
            throw HTTPInputError("Unsupported Transfer-Encoding");
        body_mode_ = body_mode::chunked;
    } else {
        body_mode_ = code == 204 ? body_mode::none : body_mode::until_close;
        if (body_mode_ == body_mode::until_close) disconnect_on_finish_ = true;
    }
    setup_decompression(headers);
    co_return start_line;
}

GALE_DECL task<void> HTTP1Connection::read_body_into(body_sink sink) { return read_body(std::move(sink)); }

GALE_DECL task<std::string> HTTP1Connection::read_body() {
    std::string body;
    if (body_mode_ == body_mode::fixed && !decompressor_) body.reserve(body_remaining_);
    co_await read_body(detail::append_to{body});
    co_return body;
}

GALE_DECL void HTTP1Connection::write_headers(const RequestStartLine& start_line, HTTPHeaders& headers,
                                             std::string_view chunk) {
    begin_output();
    head_request_ = start_line.method == "HEAD";
    http11_request_ = true;
    disconnect_on_finish_ = params_.no_keep_alive || detail::iequals(headers.get("Connection", ""), "close");
    chunking_output_ = (start_line.method == "POST" || start_line.method == "PUT" || start_line.method == "PATCH") &&
                       !headers.contains("Content-Length") && !headers.contains("Transfer-Encoding");
    check_line_text(start_line.method);
    check_line_text(start_line.path);
    std::size_t line_size = start_line.method.size() + start_line.path.size() + 12;
    send_head(line_size, headers, chunk, [&](char* out) {
        out = copy_to(out, start_line.method);
        *out++ = ' ';
        out = copy_to(out, start_line.path);
        std::memcpy(out, " HTTP/1.1\r\n", 11);
    });
}

GALE_DECL void HTTP1Connection::write_headers(const ResponseStartLine& start_line, HTTPHeaders& headers,
                                             std::string_view chunk) {
    begin_output();
    response_started_ = true;
    int code = start_line.code;
    bool no_body_code = code == 204 || code == 304 || (code >= 100 && code < 200);
    detail::framing_fields fields(headers);
    bool has_length = fields.content_length.count > 0;
    chunking_output_ = http11_request_ && !head_request_ && !no_body_code && !has_length &&
                       fields.transfer_encoding.count == 0;
    // Stricter than Tornado (RFC 9112 sections 6.3 and 9.6): a body
    // delimited by nothing ends when the connection closes, and a
    // response saying "Connection: close" is the last one.
    bool has_body = !head_request_ && !no_body_code;
    if ((has_body && !chunking_output_ && !has_length) || (fields.connection.count > 0 && has_connection_option(headers, "close")))
        disconnect_on_finish_ = true;
    if (http11_request_ && disconnect_on_finish_) headers.set("Connection", "close");
    if (request_wants_keep_alive_ && !disconnect_on_finish_) headers.set("Connection", "Keep-Alive");
    check_line_text(start_line.reason);
    char digits[16];
    std::size_t code_size = static_cast<std::size_t>(std::to_chars(digits, digits + sizeof digits, code).ptr - digits);
    if (head_request_ || code == 304) expected_remaining_ = 0;
    std::size_t line_size = 9 + code_size + 1 + start_line.reason.size() + 2;
    send_head(line_size, headers, chunk, [&](char* out) {
        std::memcpy(out, "HTTP/1.1 ", 9);
        out = copy_to(out + 9, std::string_view(digits, code_size));
        *out++ = ' ';
        out = copy_to(out, start_line.reason);
        std::memcpy(out, "\r\n", 2);
    });
}

GALE_DECL IOStream::write_awaiter HTTP1Connection::write(std::string_view chunk) {
    count_written(chunk.size());
    if (chunking_output_ && !chunk.empty()) {
        chunk_size_line size(chunk.size());
        return stream_->write(size.text(), chunk, "\r\n");
    }
    return stream_->write(chunk);
}

GALE_DECL task<void> HTTP1Connection::write_file(int fd, std::uint64_t offset, std::uint64_t count) {
    count_written(count);
    if (count == 0) co_return;
    if (chunking_output_) {
        chunk_size_line size(static_cast<std::size_t>(count));
        stream_->write(size.text());
    }
    co_await stream_->write_file(fd, offset, count);
    if (chunking_output_) co_await stream_->write("\r\n");
}

GALE_DECL IOStream::write_awaiter HTTP1Connection::finish() {
    if (expected_remaining_ && *expected_remaining_ != 0 && !stream_->closed()) {
        std::uint64_t missing = *expected_remaining_;
        stream_->close();
        throw HTTPOutputError(fmt::format("Tried to write {} bytes less than Content-Length", missing));
    }
    write_finished_ = true;
    // A response finished before its request was read: the rest of the
    // request cannot be told from the next one, so the connection ends.
    if (!is_client_ && !read_finished_) disconnect_on_finish_ = true;
    if (!nodelay_) {  // once per connection: it stays set
        stream_->set_nodelay(true);
        nodelay_ = true;
    }
    if (chunking_output_ && !stream_->closed()) return stream_->write("0\r\n\r\n");
    return stream_->write(std::string_view());
}

GALE_DECL void HTTP1Connection::watchdog::arm(std::optional<IOLoop::duration> timeout, bool reading_body) {
    body = reading_body;
    if (!timeout) {
        deadline = IOLoop::time_point::max();
        return;
    }
    deadline = IOLoop::clock::now() + *timeout;
    if (!waiting || deadline < timer.expiry()) wait_until(deadline);
}

GALE_DECL void HTTP1Connection::watchdog::disarm_forever() {
    deadline = IOLoop::time_point::max();
    if (waiting) timer.cancel();
}

GALE_DECL void HTTP1Connection::watchdog::wait_until(IOLoop::time_point when) {
    waiting = true;
    timer.expires_at(when);
    timer.async_wait([self = shared_from_this()](std::error_code ec) {
        self->waiting = false;
        if (ec) return;
        self->on_timer();
    });
}

GALE_DECL void HTTP1Connection::watchdog::on_timer() {
    if (deadline == IOLoop::time_point::max()) return;
    if (IOLoop::clock::now() < deadline) {
        wait_until(deadline);
        return;
    }
    auto s = stream.lock();
    if (!s) return;
    if (body)
        detail::log(detail::gen_log, detail::log_level::info, "http1connection", __LINE__,
                    "Timeout reading body from {}", context);
    s->close();
}

GALE_DECL void HTTP1Connection::begin_message() {
    body_mode_ = body_mode::none;
    body_remaining_ = 0;
    read_finished_ = false;
    expect_continue_ = false;
    decompressor_.reset();
    if (!is_client_) {  // a new request: its response is not started yet
        write_finished_ = false;
        response_started_ = false;
        request_wants_keep_alive_ = false;
        disconnect_on_finish_ = false;
    }
}

GALE_DECL void HTTP1Connection::begin_output() {
    expected_remaining_.reset();
    chunking_output_ = false;
    write_finished_ = false;
}

GALE_DECL task<bool> HTTP1Connection::read_request_head(std::string& method, std::string& target,
                                                       std::string& version, HTTPHeaders& headers) {
    start_request_head();
    for (;;) {
        head_progress progress = try_request_head(method, target, version, headers);
        if (progress != head_progress::incomplete) co_return progress == head_progress::complete;
        if (co_await IOStream::fill_awaiter(*stream_, false) == 0) co_return false;
    }
}

GALE_DECL HTTP1Connection::head_progress HTTP1Connection::try_request_head(std::string& method,
                                                                          std::string& target,
                                                                          std::string& version,
                                                                          HTTPHeaders& headers) {
    std::string_view head;
    head_search found = find_head(head_scanned_, head);
    if (found == head_search::incomplete) return head_progress::incomplete;
    if (found == head_search::too_large) return head_progress::ended;
    std::string_view rest = head;
    detail::parse_request_start_line(detail::next_line(rest), method, target, version);
    headers.clear();
    detail::parse_header_lines(rest, headers);
    stream_->consume(head.size());
    head_request_ = std::string_view(method) == "HEAD";
    // (parse_request_start_line has checked the version is "HTTP/1." and a digit.)
    http11_request_ = version.back() == '1';
    detail::framing_fields fields(headers);
    check_request_framing(fields);
    disconnect_on_finish_ = !can_keep_alive(http11_request_, &method, fields, headers);
    // A 1.0 client asking to keep the connection is told it is kept.
    request_wants_keep_alive_ = version.back() == '0' && !disconnect_on_finish_ && fields.connection.count > 0 &&
                                has_connection_option(headers, "keep-alive");
    expect_continue_ = detail::iequals(fields.value(fields.expect, "Expect").value_or(""), "100-continue");
    body_mode_ = fields.transfer_encoding.count > 0 ? body_mode::chunked
                 : fields.content_length.count > 0  ? body_mode::fixed
                                                    : body_mode::none;
    // A request without a body is read once its head is (so a server
    // can skip read_body).
    read_finished_ = body_mode_ == body_mode::none;
    // (From here on the headers may change, so `fields` is not used.)
    if (body_mode_ == body_mode::fixed) body_remaining_ = content_length(headers);
    setup_decompression(headers);
    return head_progress::complete;
}

GALE_DECL HTTP1Connection::head_search HTTP1Connection::find_head(std::size_t& scanned, std::string_view& head) {
    std::string_view data = stream_->read_buffer();
    std::size_t skip = 0;
    while (skip < data.size() && (data[skip] == '\r' || data[skip] == '\n')) ++skip;
    if (skip > 0) {
        stream_->consume(skip);
        data = stream_->read_buffer();
        scanned = 0;
    }
    if (data.empty()) return head_search::incomplete;
    std::size_t end = detail::find_head_end(data, scanned);
    if (end != std::string_view::npos && end <= params_.max_header_size) {
        watchdog_->arm(std::nullopt);
        head = std::string_view(data.data(), end);
        return head_search::found;
    }
    if (end != std::string_view::npos || data.size() > params_.max_header_size) {
        detail::log(detail::gen_log, detail::log_level::info, "http1connection", __LINE__,
                    "Unsatisfiable read, closing connection: header larger than {} bytes from {}",
                    params_.max_header_size, context_);
        stream_->close();
        return head_search::too_large;
    }
    return head_search::incomplete;
}

GALE_DECL void HTTP1Connection::check_request_framing(const detail::framing_fields& fields) const {
    if (http11_request_) {
        if (fields.host.count != 1)
            throw HTTPInputError(fields.host.count == 0 ? "Missing Host header" : "Multiple Host headers");
        if (!detail::is_host_value(fields.host.first)) throw HTTPInputError("Invalid Host header");
    }
    if (auto te = fields.value(fields.transfer_encoding, "Transfer-Encoding")) {
        if (fields.content_length.count > 0)
            throw HTTPInputError("Message with both Transfer-Encoding and Content-Length");
        if (!http11_request_) throw HTTPInputError("Transfer-Encoding in an HTTP/1.0 request");
        if (!detail::iequals(*te, "chunked"))
            throw HTTPInputError(fmt::format("Unsupported Transfer-Encoding {}", *te));
    }
}

GALE_DECL bool HTTP1Connection::can_keep_alive(bool http11, const std::string* method,
                                              const detail::framing_fields& fields,
                                              const HTTPHeaders& headers) const {
    if (params_.no_keep_alive) return false;
    bool close = fields.connection.count > 0 && has_connection_option(headers, "close");
    if (http11) return !close;
    if (fields.content_length.count > 0 ||
        detail::iequals(fields.value(fields.transfer_encoding, "Transfer-Encoding").value_or(""), "chunked") ||
        (method && (std::string_view(*method) == "HEAD" || std::string_view(*method) == "GET")))
        return !close && fields.connection.count > 0 && has_connection_option(headers, "keep-alive");
    return false;
}

GALE_DECL std::uint64_t HTTP1Connection::content_length(HTTPHeaders& headers) const {
    std::uint64_t length = detail::parse_content_length(headers);
    if (length > params_.max_body_size) throw HTTPInputError("Content-Length too long");
    char digits[24];
    std::string_view plain(digits, static_cast<std::size_t>(std::to_chars(digits, digits + sizeof digits, length).ptr - digits));
    std::optional<std::string_view> value = headers.get("Content-Length");
    if (value && value->find(',') != std::string_view::npos) headers.set("Content-Length", plain);
    return length;
}

GALE_DECL bool HTTP1Connection::has_connection_option(const HTTPHeaders& headers, std::string_view option) {
    for (std::string_view field : headers.get_list("Connection")) {
        while (!field.empty()) {
            std::size_t comma = field.find(',');
            if (detail::iequals(detail::strip_http_ws(field.substr(0, comma)), option)) return true;
            field.remove_prefix(comma == std::string_view::npos ? field.size() : comma + 1);
        }
    }
    return false;
}

GALE_DECL void HTTP1Connection::setup_decompression(HTTPHeaders& headers) {
    if (!params_.decompress || body_mode_ == body_mode::none) return;
    std::optional<std::string_view> encoding = headers.get("Content-Encoding");
    if (!encoding || !detail::iequals(*encoding, "gzip")) return;
    // Downstream sees the decompressed body, so the header moves aside,
    // as Tornado's _GzipMessageDelegate does.
    headers.add("X-Consumed-Content-Encoding", std::string(*encoding));
    headers.remove("Content-Encoding");
    decompressor_.emplace(params_.chunk_size, params_.max_body_size);
}

GALE_DECL task<std::string> HTTP1Connection::read_crlf_line(std::size_t limit, std::string_view what) {
    std::size_t scanned = 0;
    for (;;) {
        std::string_view data = stream_->read_buffer();
        std::size_t nl = data.find('\n', scanned);
        if (nl != std::string_view::npos) {
            if (nl > limit) throw HTTPInputError(fmt::format("{} too long", what));
            if (nl == 0 || data[nl - 1] != '\r') throw HTTPInputError(fmt::format("{} not ended by CRLF", what));
            std::string line(data.substr(0, nl - 1));
            stream_->consume(nl + 1);
            co_return line;
        }
        if (data.size() > limit) throw HTTPInputError(fmt::format("{} too long", what));
        scanned = data.size();
        co_await more();
    }
}

GALE_DECL void HTTP1Connection::check_line_text(std::string_view text) {
    for (char c : text)
        if (c == '\r' || c == '\n' || c == '\0')
            throw HTTPOutputError("Illegal characters (CR, LF or NUL) in the start line");
}

GALE_DECL void HTTP1Connection::count_written(std::size_t n) {
    if (!expected_remaining_) return;
    if (n > *expected_remaining_) {
        stream_->close();
        throw HTTPOutputError("Tried to write more data than Content-Length");
    }
    *expected_remaining_ -= n;
}

}  // namespace gale
