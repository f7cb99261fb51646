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
//   write(chunk), write_file(fd, offset, count), finish()              // awaitable
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
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <asio/steady_timer.hpp>
#include <fmt/core.h>

#include "detail/config.hpp"
#include "detail/gzip.hpp"
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
class framing_fields;  // the fields that frame a message (impl/http1connection.ipp)
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
    // Sends count bytes of the open file fd, from offset, as a piece of the
    // body (sendfile where the connection allows it; see IOStream::write_file).
    virtual task<void> write_file(int fd, std::uint64_t offset, std::uint64_t count) = 0;
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
                    std::string context = {});

    HTTP1Connection(const HTTP1Connection&) = delete;
    HTTP1Connection& operator=(const HTTP1Connection&) = delete;
    ~HTTP1Connection() override;

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
    task<ResponseStartLine> read_response_head(HTTPHeaders& headers);

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

    task<void> read_body_into(body_sink sink) override;

    // Reads the whole body into a string.
    task<std::string> read_body() override;

    // ------------------------------------------------------------ writing

    // Client: starts a request. A POST, PUT or PATCH with neither
    // Content-Length nor Transfer-Encoding is sent chunked.
    void write_headers(const RequestStartLine& start_line, HTTPHeaders& headers, std::string_view chunk = {});

    // Server: starts the response to the request just read.
    void write_headers(const ResponseStartLine& start_line, HTTPHeaders& headers, std::string_view chunk = {}) override;

    // Sends a piece of the body (as a chunk when the output is chunked).
    IOStream::write_awaiter write(std::string_view chunk) override;

    // Sends count bytes of the open file fd, from offset, with
    // IOStream::write_file (sendfile on a plain connection), counted against
    // Content-Length like write() and sent as one chunk when the output is
    // chunked. No other write may start until it completes.
    task<void> write_file(int fd, std::uint64_t offset, std::uint64_t count) override;

    // Ends the message. Awaiting it waits until the kernel has the data.
    IOStream::write_awaiter finish() override;

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
        void arm(std::optional<IOLoop::duration> timeout, bool reading_body = false);

        void disarm_forever();

        void wait_until(IOLoop::time_point when);

        void on_timer();

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
    void begin_message();

    void begin_output();

    task<bool> read_request_head(std::string& method, std::string& target, std::string& version,
                                 HTTPHeaders& headers);

    head_progress try_request_head(std::string& method, std::string& target, std::string& version,
                                   HTTPHeaders& headers);

    enum class head_search { found, incomplete, too_large };

    // Looks for a whole head in the read buffer, after dropping the empty
    // lines before it; `scanned` carries the search over between calls. A
    // head larger than max_header_size is logged and closes the stream.
    head_search find_head(std::size_t& scanned, std::string_view& head);

    // Request framing as RFC 9112 section 6 requires of a server.
    void check_request_framing(const detail::framing_fields& fields) const;

    // Tornado's _can_keep_alive, with Connection read as a list of options
    // (RFC 9110 section 7.6.1): "keep-alive, close" closes, where Tornado
    // compares the whole value.
    bool can_keep_alive(bool http11, const std::string* method, const detail::framing_fields& fields,
                        const HTTPHeaders& headers) const;

    // The body's announced length, checked against max_body_size; repeated
    // equal values become one value, as Tornado leaves them (get() joins
    // repeated headers with commas).
    std::uint64_t content_length(HTTPHeaders& headers) const;

    // Whether a Connection field lists `option` (without regard to case).
    static bool has_connection_option(const HTTPHeaders& headers, std::string_view option);

    void setup_decompression(HTTPHeaders& headers);

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
    task<std::string> read_crlf_line(std::size_t limit, std::string_view what);

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
    static void check_line_text(std::string_view text);

    void count_written(std::size_t n);

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

#if GALE_HEADER_ONLY
#include "impl/http1connection.ipp"
#endif
