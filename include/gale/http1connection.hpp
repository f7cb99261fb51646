// Tornado's tornado.http1connection for C++: the HTTP/1.1 engine that both
// the server and the client speak through.
//
//   // server side, one connection
//   gale::HTTP1Connection conn(stream, /*is_client=*/false, params, address);
//   gale::RequestStartLine line;
//   gale::HTTPHeaders headers;
//   while (co_await conn.read_request_head(line, headers)) {
//       std::string body = co_await conn.read_body();
//       gale::HTTPHeaders out;
//       out.add("Content-Length", "5");
//       conn.write_headers(gale::ResponseStartLine{"HTTP/1.1", 200, "OK"}, out, "hello");
//       co_await conn.finish();
//       if (!conn.keep_alive()) break;
//   }
//
// Synopsis:
//   HTTP1ConnectionParameters: no_keep_alive, chunk_size, max_header_size,
//       header_timeout, max_body_size, body_timeout, decompress
//   task<bool> read_request_head(RequestStartLine&, HTTPHeaders&)      // server
//   task<bool> read_request_head(HTTPServerRequest&)  // server: into method, uri, version, headers
//   start_request_head(), try_request_head(request)    // server: the same in steps (no coroutine)
//   task<ResponseStartLine> read_response_head(HTTPHeaders&)           // client
//   task<std::string> read_body() / task<void> read_body(sink)         // both
//   write_headers(start_line, headers, first_chunk = {})              // both
//   write(chunk), finish()                                             // awaitable
//   keep_alive(), close(), stream(), context(), detach()                // detach: Tornado's, for WebSocket
//
// Reading. A message head ends at the first empty line; lines may end in
// CRLF or a bare LF, and empty lines before a request are skipped (RFC 9112
// section 2.2, as Tornado does). A malformed head throws HTTPInputError;
// the server answers it with "400 Bad Request" and closes. The body is
// framed as RFC 9112 section 6 says: Content-Length, chunked, or (a
// response only) until the connection closes. read_body(sink) hands the
// body over in pieces of at most chunk_size bytes, each a view into the
// connection's buffer valid during the call; the sink may return void or
// task<void> (then the next piece waits for it: flow control).
//
// Where Tornado is lax and the RFC strict, gale is strict, because a server
// and a proxy in front of it that frame a message differently are how
// request smuggling works. Requests are refused with 400 when they have:
// a Transfer-Encoding other than exactly "chunked" (Tornado ignores an
// unknown one and reads no body), Transfer-Encoding on HTTP/1.0, both
// Transfer-Encoding and Content-Length, a Content-Length that is not plain
// digits (Tornado takes "+5" and " 5"), differing Content-Length values, a
// header name that is not an RFC 9110 token (so "Name : v" is refused),
// control characters in a header value, no Host or several Host headers on
// HTTP/1.1 or a Host value that cannot be a host, chunk sizes that are not
// hexadecimal or are not followed by CRLF. Chunk extensions are ignored and
// trailer fields are read and dropped (Tornado fails on both).
//
// Limits. The head may not exceed max_header_size (the connection is
// closed, as Tornado does), the body max_body_size (HTTPInputError, so 400,
// before any of it is read when Content-Length announces it; counted after
// decompression when decompress is on). header_timeout bounds the wait for
// a head (it is the server's idle_connection_timeout), body_timeout the
// wait for a body; either closes the connection when it passes.
//
// Keep-alive is decided as Tornado does, except that Connection is read as
// a list of options (RFC 9110 section 7.6.1): "keep-alive, close" closes
// the connection, and "keep-alive" among others keeps an HTTP/1.0 one
// (Tornado compares the whole value).
//
// Writing follows Tornado: a response to an HTTP/1.1 request that has
// neither Content-Length nor Transfer-Encoding is sent chunked (except for
// HEAD, 1xx, 204 and 304, which have no body); "Connection: close" is added
// when the connection will close after a 1.1 response and
// "Connection: Keep-Alive" when a 1.0 client asked for it. Writing more or
// less than Content-Length announced throws HTTPOutputError and closes.
// write() queues the data at once; awaiting it waits for the kernel to take
// it. finish() ends the message.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <asio/steady_timer.hpp>
#include <fmt/core.h>

#include "detail/gzip.hpp"
#include "detail/logging.hpp"
#include "httputil.hpp"
#include "ioloop.hpp"
#include "iostream.hpp"
#include "task.hpp"

namespace gale {

struct HTTP1ConnectionParameters {
    bool no_keep_alive = false;
    // Largest piece a body is handed over in.
    std::size_t chunk_size = 65536;
    std::size_t max_header_size = 65536;
    // How long to wait for a whole message head; none: wait forever.
    std::optional<IOLoop::duration> header_timeout{};
    std::size_t max_body_size = 104857600;
    // How long to wait for a whole body; none: wait forever.
    std::optional<IOLoop::duration> body_timeout{};
    // Decompress gzip bodies (Content-Encoding: gzip) as they are read.
    bool decompress = false;
};

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

inline bool is_host_value(std::string_view s) noexcept {
    for (char c : s)
        if (!host_char_table[static_cast<unsigned char>(c)]) return false;
    return true;
}

// Finds the empty line that ends a message head ("\n\n" or "\n\r\n") at
// or after `from`; returns the offset just past it, or npos. `from` is
// advanced past what cannot start the end, so a search resumed after more
// bytes arrive does not rescan the head.
inline std::size_t find_head_end(std::string_view data, std::size_t& from) noexcept {
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
inline std::string_view next_line(std::string_view& rest) noexcept {
    std::size_t nl = rest.find('\n');
    std::string_view line(rest.data(), std::min(nl, rest.size()));
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

// Parses the header lines of a head (HTTPHeaders::parse_line refuses
// names that are not tokens and values holding CR or NUL).
inline void parse_header_lines(std::string_view rest, HTTPHeaders& headers) {
    while (!rest.empty()) {
        std::string_view line = next_line(rest);
        if (line.empty()) break;
        headers.parse_line(line);
    }
}

// Content-Length as RFC 9110 section 8.6 has it: digits only; a list of
// identical values (from repeated headers or a comma list) counts once.
inline std::uint64_t parse_content_length(const HTTPHeaders& headers) {
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

}  // namespace detail

// Tornado's HTTPConnection: how a request handler writes its response
// (request.connection), and, when the server leaves the body to the
// callback (HTTPServerOptions::read_body = false), reads the request's
// body. HTTP1Connection is the implementation.
class HTTPConnection {
public:
    using body_sink = std::function<task<void>(std::string_view)>;

    virtual ~HTTPConnection() = default;
    // Starts the response; `chunk` is the first piece of the body.
    virtual void write_headers(const ResponseStartLine& start_line, HTTPHeaders& headers,
                               std::string_view chunk = {}) = 0;
    virtual IOStream::write_awaiter write(std::string_view chunk) = 0;
    virtual IOStream::write_awaiter finish() = 0;
    // Whether write_headers has been called for the current request.
    virtual bool response_started() const noexcept = 0;

    // Whether the request's body has been read (true for a bodyless one).
    virtual bool read_finished() const noexcept = 0;
    // Reads the whole body, or hands it to sink piece by piece (each piece
    // a view valid during the call; the next waits for the sink's task).
    // HTTPInputError for a malformed or too large body.
    virtual task<std::string> read_body() = 0;
    virtual task<void> read_body_into(body_sink sink) = 0;
    // Called (from the loop, once) when the peer closes the connection
    // while it is not being read; null removes it.
    virtual void set_close_callback(std::function<void()> callback) = 0;
    // Tornado's detach: takes the stream away from HTTP (a WebSocket after
    // its 101 response). The server then reads no more requests from it
    // and lets it go; bytes already buffered stay readable in the stream.
    virtual std::shared_ptr<IOStream> detach() = 0;
};

class HTTP1Connection final : public HTTPConnection {
public:
    // `context` names the peer in log lines (the server passes its address).
    HTTP1Connection(std::shared_ptr<IOStream> stream, bool is_client, HTTP1ConnectionParameters params = {},
                    std::string context = {})
        : stream_(std::move(stream)),
          params_(std::move(params)),
          context_(std::move(context)),
          is_client_(is_client),
          watchdog_(std::make_shared<watchdog>(stream_, context_)) {}

    HTTP1Connection(const HTTP1Connection&) = delete;
    HTTP1Connection& operator=(const HTTP1Connection&) = delete;
    ~HTTP1Connection() override { watchdog_->disarm_forever(); }

    // ------------------------------------------------------------ reading

    // Server: reads the next request's head. Returns false when the
    // connection ends between requests: the peer closed, the head did not
    // come within header_timeout, or it outgrew max_header_size (these close
    // the stream). Throws HTTPInputError for a malformed head.
    task<bool> read_request_head(RequestStartLine& start_line, HTTPHeaders& headers) {
        return read_request_head(start_line.method, start_line.path, start_line.version, headers);
    }

    // The same, into a request object's method, uri, version and headers,
    // whose memory is reused.
    task<bool> read_request_head(HTTPServerRequest& request) {
        return read_request_head(request.method, request.uri, request.version, request.headers);
    }

    // read_request_head(request) in steps, for a caller that waits for the
    // bytes itself (HTTPServer does, which saves a coroutine frame per
    // request): start_request_head() once, then try_request_head(request)
    // until it is no longer incomplete, awaiting
    // IOStream::fill_awaiter(stream(), false) in between (which returning 0
    // means the connection ended).
    enum class head_progress { incomplete, complete, ended };

    void start_request_head() {
        begin_message();
        watchdog_->arm(params_.header_timeout);
        head_scanned_ = 0;
    }

    head_progress try_request_head(HTTPServerRequest& request) {
        return try_request_head(request.method, request.uri, request.version, request.headers);
    }

    // Client: reads a response head. Informational (1xx) heads are returned
    // too; they have no body, and the final response follows them.
    task<ResponseStartLine> read_response_head(HTTPHeaders& headers) {
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

    // Reads the body of the message whose head was just read, handing it to
    // sink(std::string_view) piece by piece. Throws HTTPInputError for a
    // malformed or too large body, StreamClosedError if the connection ends
    // early (or body_timeout passes, which closes it).
    template <class Sink>
    task<void> read_body(Sink sink) {
        if (body_mode_ == body_mode::none) {
            read_finished_ = true;
            co_return;
        }
        if (!is_client_ && expect_continue_ && !write_finished_) stream_->write("HTTP/1.1 100 (Continue)\r\n\r\n");
        watchdog_->arm(params_.body_timeout, true);
        if (decompressor_) {
            std::optional<HTTPInputError> bad_gzip;
            try {
                co_await read_framed([&](std::string_view piece) -> task<void> {
                    for (std::string_view out : decompressor_->feed(piece)) co_await deliver(sink, out);
                });
                for (std::string_view out : decompressor_->finish()) co_await deliver(sink, out);
            } catch (const detail::gzip_limit_error&) {
                bad_gzip.emplace("body too large after decompression");
            } catch (const detail::gzip_error& e) {
                bad_gzip.emplace(fmt::format("invalid gzip body: {}", e.what()));
            }
            if (bad_gzip) throw *bad_gzip;
        } else {
            co_await read_framed([&](std::string_view piece) { return deliver(sink, piece); });
        }
        watchdog_->arm(std::nullopt);
        read_finished_ = true;
    }

    task<void> read_body_into(body_sink sink) override { return read_body(std::move(sink)); }

    // Reads the whole body into a string.
    task<std::string> read_body() override {
        std::string body;
        if (body_mode_ == body_mode::fixed && !decompressor_) body.reserve(body_remaining_);
        co_await read_body([&body](std::string_view piece) { body.append(piece); });
        co_return body;
    }

    // ------------------------------------------------------------ writing

    // Client: starts a request. A POST, PUT or PATCH with neither
    // Content-Length nor Transfer-Encoding is sent chunked.
    void write_headers(const RequestStartLine& start_line, HTTPHeaders& headers, std::string_view chunk = {}) {
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

    // Server: starts the response to the request just read.
    void write_headers(const ResponseStartLine& start_line, HTTPHeaders& headers, std::string_view chunk = {}) override {
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

    // Sends a piece of the body (as a chunk when the output is chunked).
    IOStream::write_awaiter write(std::string_view chunk) override {
        count_written(chunk.size());
        if (chunking_output_ && !chunk.empty()) {
            chunk_size_line size(chunk.size());
            return stream_->write(size.text(), chunk, "\r\n");
        }
        return stream_->write(chunk);
    }

    // Ends the message. Awaiting it waits until the kernel has the data.
    IOStream::write_awaiter finish() override {
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

    // ------------------------------------------------------------ state

    // Whether another message may follow on this connection once this one
    // is finished.
    bool keep_alive() const noexcept { return !disconnect_on_finish_ && !stream_->closed(); }
    // Whether the message's body has been read; on the server, true as soon
    // as the head of a request without a body is.
    bool read_finished() const noexcept override { return read_finished_; }
    bool write_finished() const noexcept { return write_finished_; }
    bool response_started() const noexcept override { return response_started_; }
    std::shared_ptr<IOStream> detach() override {
        detached_ = true;
        watchdog_->disarm_forever();
        return stream_;
    }
    bool detached() const noexcept { return detached_; }
    void set_close_callback(std::function<void()> callback) override {
        stream_->set_close_callback(std::move(callback));
    }
    void close() { stream_->close(); }

    IOStream& stream() noexcept { return *stream_; }
    const std::shared_ptr<IOStream>& stream_ptr() const noexcept { return stream_; }
    const std::string& context() const noexcept { return context_; }
    const HTTP1ConnectionParameters& params() const noexcept { return params_; }

private:
    enum class body_mode { none, fixed, chunked, until_close };

    // "<size in hex>\r\n", the line before a chunk of a chunked body.
    class chunk_size_line {
    public:
        explicit chunk_size_line(std::size_t size) noexcept {
            char* end = std::to_chars(text_, text_ + 16, size, 16).ptr;
            *end++ = '\r';
            *end++ = '\n';
            size_ = static_cast<std::size_t>(end - text_);
        }
        std::string_view text() const noexcept { return {text_, size_}; }

    private:
        char text_[20];
        std::size_t size_;
    };

    // Closes the stream when a deadline passes. The timer is armed once and
    // re-armed only when it fires early, so moving the deadline for each
    // message costs a clock read, not a timer operation.
    struct watchdog : std::enable_shared_from_this<watchdog> {
        watchdog(const std::shared_ptr<IOStream>& s, const std::string& c)
            : stream(s), context(c), timer(IOLoop::current().context()) {}

        // `reading_body`: the timeout is body_timeout, which is logged.
        void arm(std::optional<IOLoop::duration> timeout, bool reading_body = false) {
            body = reading_body;
            if (!timeout) {
                deadline = IOLoop::time_point::max();
                return;
            }
            deadline = IOLoop::clock::now() + *timeout;
            if (!waiting || deadline < timer.expiry()) wait_until(deadline);
        }

        void disarm_forever() {
            deadline = IOLoop::time_point::max();
            if (waiting) timer.cancel();
        }

        void wait_until(IOLoop::time_point when) {
            waiting = true;
            timer.expires_at(when);
            timer.async_wait([self = shared_from_this()](std::error_code ec) {
                self->waiting = false;
                if (ec) return;
                self->on_timer();
            });
        }

        void on_timer() {
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

        std::weak_ptr<IOStream> stream;
        std::string context;
        bool body = false;
        asio::steady_timer timer;
        IOLoop::time_point deadline = IOLoop::time_point::max();
        bool waiting = false;
    };

    // Resets what describes the message being read. (The writing side is
    // reset by write_headers: a client may still be sending its body, after
    // a 100 Continue, when it reads the response.)
    void begin_message() {
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

    void begin_output() {
        expected_remaining_.reset();
        chunking_output_ = false;
        write_finished_ = false;
    }

    task<bool> read_request_head(std::string& method, std::string& target, std::string& version,
                                 HTTPHeaders& headers) {
        start_request_head();
        for (;;) {
            head_progress progress = try_request_head(method, target, version, headers);
            if (progress != head_progress::incomplete) co_return progress == head_progress::complete;
            if (co_await IOStream::fill_awaiter(*stream_, false) == 0) co_return false;
        }
    }

    head_progress try_request_head(std::string& method, std::string& target, std::string& version,
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

    enum class head_search { found, incomplete, too_large };

    // Looks for a whole head in the read buffer, after dropping the empty
    // lines before it; `scanned` carries the search over between calls. A
    // head larger than max_header_size is logged and closes the stream.
    head_search find_head(std::size_t& scanned, std::string_view& head) {
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

    // Request framing as RFC 9112 section 6 requires of a server.
    void check_request_framing(const detail::framing_fields& fields) const {
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

    // Tornado's _can_keep_alive, with Connection read as a list of options
    // (RFC 9110 section 7.6.1): "keep-alive, close" closes, where Tornado
    // compares the whole value.
    bool can_keep_alive(bool http11, const std::string* method, const detail::framing_fields& fields,
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

    // The body's announced length, checked against max_body_size; repeated
    // equal values become one value, as Tornado leaves them (get() joins
    // repeated headers with commas).
    std::uint64_t content_length(HTTPHeaders& headers) const {
        std::uint64_t length = detail::parse_content_length(headers);
        if (length > params_.max_body_size) throw HTTPInputError("Content-Length too long");
        char digits[24];
        std::string_view plain(digits, static_cast<std::size_t>(std::to_chars(digits, digits + sizeof digits, length).ptr - digits));
        std::optional<std::string_view> value = headers.get("Content-Length");
        if (value && value->find(',') != std::string_view::npos) headers.set("Content-Length", plain);
        return length;
    }

    // Whether a Connection field lists `option` (without regard to case).
    static bool has_connection_option(const HTTPHeaders& headers, std::string_view option) {
        for (std::string_view field : headers.get_list("Connection")) {
            while (!field.empty()) {
                std::size_t comma = field.find(',');
                if (detail::iequals(detail::strip_http_ws(field.substr(0, comma)), option)) return true;
                field.remove_prefix(comma == std::string_view::npos ? field.size() : comma + 1);
            }
        }
        return false;
    }

    void setup_decompression(HTTPHeaders& headers) {
        if (!params_.decompress || body_mode_ == body_mode::none) return;
        std::optional<std::string_view> encoding = headers.get("Content-Encoding");
        if (!encoding || !detail::iequals(*encoding, "gzip")) return;
        // Downstream sees the decompressed body, so the header moves aside,
        // as Tornado's _GzipMessageDelegate does.
        headers.add("X-Consumed-Content-Encoding", std::string(*encoding));
        headers.remove("Content-Encoding");
        decompressor_.emplace(params_.chunk_size, params_.max_body_size);
    }

    template <class Sink>
    task<void> deliver(Sink& sink, std::string_view piece) {
        if (is_client_ || !write_finished_) {
            if constexpr (std::is_same_v<std::invoke_result_t<Sink&, std::string_view>, task<void>>)
                co_await sink(piece);
            else
                sink(piece);
        }
    }

    // Reads the framed body, passing raw pieces to `piece` (a callable
    // returning task<void>).
    template <class Piece>
    task<void> read_framed(Piece piece) {
        switch (body_mode_) {
            case body_mode::fixed: co_await read_fixed(piece, body_remaining_); break;
            case body_mode::chunked: co_await read_chunked(piece); break;
            case body_mode::until_close: co_await read_until_close(piece); break;
            case body_mode::none: break;
        }
    }

    // Waits for at least one more byte; StreamClosedError if none comes.
    IOStream::fill_awaiter more() { return stream_->fill(); }

    template <class Piece>
    task<void> read_fixed(Piece& piece, std::uint64_t remaining) {
        while (remaining > 0) {
            if (stream_->read_buffer().empty()) co_await more();
            std::string_view data = stream_->read_buffer();
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>({remaining, data.size(), params_.chunk_size}));
            co_await piece(data.substr(0, n));
            stream_->consume(n);
            remaining -= n;
        }
    }

    template <class Piece>
    task<void> read_until_close(Piece& piece) {
        std::uint64_t total = 0;
        for (;;) {
            if (stream_->read_buffer().empty() && co_await IOStream::fill_awaiter(*stream_, false) == 0) co_return;
            std::string_view data = stream_->read_buffer();
            std::size_t n = std::min(data.size(), params_.chunk_size);
            total += n;
            if (total > params_.max_body_size) throw HTTPInputError("body too large");
            co_await piece(data.substr(0, n));
            stream_->consume(n);
        }
    }

    // Reads one CRLF-terminated line of a chunked body (size line or
    // trailer), at most `limit` bytes; returns it without the CRLF and
    // consumes it.
    task<std::string> read_crlf_line(std::size_t limit, std::string_view what) {
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

    template <class Piece>
    task<void> read_chunked(Piece& piece) {
        std::uint64_t total = 0;
        for (;;) {
            std::string line = co_await read_crlf_line(max_chunk_line, "chunk size line");
            std::string_view size_text = line;
            size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions are ignored
            size_text = detail::strip_http_ws(size_text);
            std::uint64_t size = 0;
            for (char c : size_text) {
                int digit = c >= '0' && c <= '9' ? c - '0'
                            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                   : -1;
                if (digit < 0 || size > (std::uint64_t{1} << 56)) throw HTTPInputError(fmt::format("invalid chunk size {:?}", line));
                size = size * 16 + static_cast<std::uint64_t>(digit);
            }
            if (size_text.empty()) throw HTTPInputError(fmt::format("invalid chunk size {:?}", line));
            if (size == 0) break;
            total += size;
            if (total > params_.max_body_size) throw HTTPInputError("chunked body too large");
            co_await read_fixed(piece, size);
            while (stream_->read_buffer().size() < 2) co_await more();
            if (stream_->read_buffer().substr(0, 2) != "\r\n") throw HTTPInputError("chunk not ended by CRLF");
            stream_->consume(2);
        }
        // Trailer fields, dropped; the section ends at an empty line.
        std::size_t trailer_bytes = 0;
        for (;;) {
            std::string line = co_await read_crlf_line(params_.max_header_size, "trailer line");
            if (line.empty()) break;
            trailer_bytes += line.size();
            if (trailer_bytes > params_.max_header_size) throw HTTPInputError("trailer section too long");
        }
    }

    static char* copy_to(char* out, std::string_view s) noexcept {
        if (!s.empty()) std::memcpy(out, s.data(), s.size());  // (an empty view may hold null)
        return out + s.size();
    }

    // Writes the head (the start line, line_size bytes that
    // write_start_line(out) writes, then the header fields) and sends it
    // with the first chunk of the body.
    template <class WriteStartLine>
    void send_head(std::size_t line_size, HTTPHeaders& headers, std::string_view chunk,
                   WriteStartLine write_start_line) {
        if (chunking_output_) headers.set("Transfer-Encoding", "chunked");
        std::size_t size = line_size + 2;
        for (const auto& [name, value] : headers) size += name.size() + value.size() + 4;
        if (size > head_capacity_) {
            head_ = std::make_unique_for_overwrite<char[]>(size);
            head_capacity_ = size;
        }
        char* out = head_.get();
        write_start_line(out);
        out += line_size;
        std::size_t lengths = 0;  // Content-Length fields (names are stored normalised)
        std::string_view length;
        for (const auto& [name, value] : headers) {
            if (name.size() == 14 && name == "Content-Length" && lengths++ == 0) length = value;
            out = copy_to(out, name);
            *out++ = ':';
            *out++ = ' ';
            out = copy_to(out, value);
            *out++ = '\r';
            *out++ = '\n';
        }
        *out++ = '\r';
        *out = '\n';
        std::string_view head(head_.get(), size);
        if (!expected_remaining_ && lengths > 0) {
            if (lengths > 1) length = *headers.get("Content-Length");  // joined with ",", so refused below
            std::uint64_t value = 0;
            for (char c : length) {
                if (c < '0' || c > '9') throw HTTPOutputError(fmt::format("Invalid Content-Length {}", length));
                value = value * 10 + static_cast<std::uint64_t>(c - '0');
            }
            expected_remaining_ = value;
        }
        if (stream_->closed()) throw StreamClosedError(stream_->error());
        count_written(chunk.size());
        if (chunking_output_ && !chunk.empty()) {
            chunk_size_line size(chunk.size());
            stream_->write(head, size.text(), chunk, "\r\n");
        } else if (!chunk.empty()) {
            stream_->write(head, chunk);
        } else {
            stream_->write(head);
        }
    }

    // Header fields cannot hold CR, LF or NUL (HTTPHeaders refuses them);
    // this checks the start line's free text the same way, as Tornado does.
    static void check_line_text(std::string_view text) {
        for (char c : text)
            if (c == '\r' || c == '\n' || c == '\0')
                throw HTTPOutputError("Illegal characters (CR, LF or NUL) in the start line");
    }

    void count_written(std::size_t n) {
        if (!expected_remaining_) return;
        if (n > *expected_remaining_) {
            stream_->close();
            throw HTTPOutputError("Tried to write more data than Content-Length");
        }
        *expected_remaining_ -= n;
    }

    static constexpr std::size_t max_chunk_line = 4096;

    std::shared_ptr<IOStream> stream_;
    HTTP1ConnectionParameters params_;
    std::string context_;
    bool is_client_;
    std::shared_ptr<watchdog> watchdog_;

    // The head being written, kept for the next one: plain memory, which
    // unlike a std::string is not zeroed when it grows before being written.
    std::unique_ptr<char[]> head_;
    std::size_t head_capacity_ = 0;
    bool head_request_ = false;    // the request's method is HEAD
    bool http11_request_ = false;  // the request's version is HTTP/1.1
    body_mode body_mode_ = body_mode::none;
    std::uint64_t body_remaining_ = 0;
    std::optional<std::uint64_t> expected_remaining_;
    std::optional<detail::gzip_decompressor> decompressor_;
    bool chunking_output_ = false;
    bool read_finished_ = false;
    bool response_started_ = false;
    bool detached_ = false;
    bool write_finished_ = false;
    bool expect_continue_ = false;
    bool request_wants_keep_alive_ = false;
    bool disconnect_on_finish_ = false;
    bool nodelay_ = false;
    std::size_t head_scanned_ = 0;  // how far the search for the head's end has got
};

}  // namespace gale
