// Tornado's tornado.iostream for C++: a buffered, awaitable byte stream.
//
//   std::shared_ptr<gale::IOStream> stream = co_await gale::TCPClient().connect("127.0.0.1", 8888);
//   co_await stream->write("GET / HTTP/1.0\r\n\r\n");
//   std::string head = co_await stream->read_until("\r\n\r\n", 64 * 1024);
//   std::string body = co_await stream->read_until_close();
//
// Synopsis. An IOStream is held by std::shared_ptr and shared between
// coroutines, as Tornado shares its streams; make it with std::make_shared.
//
//   task<std::string> read_until(delimiter, max_bytes = nullopt)  // includes the delimiter
//   task<std::string> read_bytes(n, partial = false)              // exactly n, or 1..n
//   task<std::string> read_until_close()
//   write(data)               // queued at the call; co_await it to wait until the kernel has it
//   task<void> write_file(fd, offset, count)                      // sendfile(2) where it can
//   fill() / read_buffer() / consume(n)   // zero-copy reading: parse in place over the buffer
//   close(error = {}), closed(), error(), set_close_callback(fn), set_nodelay(on)
//
// Reading. One read at a time; starting a second while one is in progress
// throws std::logic_error("Already reading"). A read that the buffered bytes
// cannot satisfy on a closed stream throws StreamClosedError, and its
// real_error() tells why the stream closed: a socket error,
// UnsatisfiableReadError (read_until passed max_bytes without finding its
// delimiter) or StreamBufferFullError (more than max_buffer_size buffered).
// As in Tornado those failures close the stream; bytes received before a
// close stay readable.
//
// Writing. Any number of coroutines may write; data goes out in call order,
// and small writes queued behind a busy socket are coalesced. write() queues
// its data at once (so it may be left un-awaited, as in Tornado); awaiting it
// completes when the data has been handed to the kernel, which is usually
// immediately, without suspending.
//
// Cancellation. A read or write awaited inside gale::with_timeout stops
// waiting when the timeout fires (CancelledError inside, TimeoutError at the
// with_timeout). The stream stays usable: received bytes remain buffered and
// the data of an abandoned write is still sent.
//
// Memory. The read buffer goes back to a per-thread pool whenever the stream
// waits with nothing buffered, so an idle connection holds no read buffer;
// the write queue is empty once everything is sent.
//
// Lifetime. Pending waits keep their stream alive, so queued writes are
// delivered even if every owner lets go. A stream whose close callback is set
// watches an idle connection for the peer closing (as Tornado does); that
// watch keeps it open until close() or the peer closes.
#pragma once

#include <algorithm>
#include <array>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <asio/buffer.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>

#include "detail/cancel.hpp"
#include "detail/config.hpp"
#include "detail/stream_buffer.hpp"
#include "ioloop.hpp"
#include "task.hpp"

namespace gale {

// Raised by IOStream operations on a closed stream (Tornado's
// StreamClosedError). real_error() is what closed it, or null when one side
// simply closed the connection.
class StreamClosedError : public std::runtime_error {
public:
    explicit StreamClosedError(std::exception_ptr real_error = nullptr)
        : std::runtime_error(describe(real_error)), real_error_(std::move(real_error)) {}

    const std::exception_ptr& real_error() const noexcept { return real_error_; }

private:
    static std::string describe(const std::exception_ptr& cause);

    std::exception_ptr real_error_;
};

// read_until found no delimiter within max_bytes (the stream is closed).
struct UnsatisfiableReadError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The read buffer reached max_buffer_size (the stream is closed), or a write
// would pass max_write_buffer_size (the write is refused).
struct StreamBufferFullError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct stream_options {
    // Most bytes buffered for reading (Tornado's max_buffer_size: 100 MB).
    std::size_t max_buffer_size = 104857600;
    // Most bytes queued for writing; unlimited by default, as in Tornado.
    std::optional<std::size_t> max_write_buffer_size{};
};

class IOStream;

// ---------------------------------------------------------------- transports

// The seam between an IOStream and what carries its bytes, in the shape of
// Tornado's read_from_fd / write_to_fd over a non-blocking socket plus the
// IOLoop's readiness events: read_some and write_some never block (they
// report asio::error::would_block instead), and async_wait says when trying
// again may make progress. tcp_transport below is the plain TCP transport.
//
// TLS (ssl_transport, in <gale/ssl.hpp>) implements the same interface with
// OpenSSL over the socket's descriptor: SSL_read / SSL_write become read_some
// / write_some, SSL_ERROR_WANT_READ / WANT_WRITE become would_block, and
// async_wait waits for whichever direction OpenSSL asked for (a handshake may
// need to read while the stream wants to write). IOStream never sees the
// difference, and the plain path neither includes <asio/ssl.hpp> nor pays
// for TLS beyond one virtual call per system call.
class stream_transport {
public:
    enum class wait_type { read, write };

    // Completes a readiness wait. Call it once, with operation_aborted when
    // the wait is cancelled or the transport closed; attach its cancellation
    // slot to the Asio operation that waits.
    class ready_handler {
    public:
        using cancellation_slot_type = asio::cancellation_slot;

        ready_handler(std::shared_ptr<IOStream> stream, wait_type what,
                      asio::cancellation_slot slot) noexcept
            : stream_(std::move(stream)), what_(what), slot_(slot) {}

        cancellation_slot_type get_cancellation_slot() const noexcept { return slot_; }
        void operator()(std::error_code ec);

    private:
        std::shared_ptr<IOStream> stream_;
        wait_type what_;
        asio::cancellation_slot slot_;
    };

    stream_transport() = default;
    stream_transport(const stream_transport&) = delete;
    stream_transport& operator=(const stream_transport&) = delete;
    virtual ~stream_transport() = default;

    // Receives what is available now: a byte count, or would_block when
    // nothing is, or eof when the peer has closed its side.
    virtual std::size_t read_some(asio::mutable_buffer buffer, std::error_code& ec) = 0;
    // True when the last read_some is known to have emptied what the peer
    // had sent, so that trying again before a readiness wait would only
    // find nothing. The stream then waits at once, saving a system call per
    // message; a transport that cannot tell (TLS may buffer records) says
    // false.
    virtual bool read_would_block() const noexcept { return false; }
    // Sends what the kernel takes now; would_block when it takes nothing.
    virtual std::size_t write_some(std::span<const asio::const_buffer> buffers,
                                   std::error_code& ec) = 0;
    // Calls handler once the stream may make progress in that direction.
    virtual void async_wait(wait_type what, ready_handler handler) = 0;
    // Closes the connection; pending waits complete with operation_aborted.
    virtual void close() noexcept = 0;
    // The TCP socket underneath, for addresses and socket options.
    virtual asio::ip::tcp::socket& socket() noexcept = 0;
};

// A plain TCP connection.
class tcp_transport final : public stream_transport {
public:
    explicit tcp_transport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
        std::error_code ec;  // a socket that is not open fails its first operation instead
        socket_.non_blocking(true, ec);
    }

    std::size_t read_some(asio::mutable_buffer buffer, std::error_code& ec) override {
        std::size_t n = socket_.read_some(buffer, ec);
        // A TCP receive that returns less than it was offered has taken the
        // whole queue. Bytes arriving later wake the readiness wait (Asio
        // re-arms epoll for each wait, so none is missed), and the read that
        // would have found nothing is skipped.
        drained_ = ec == asio::error::would_block || (!ec && n < buffer.size());
        return n;
    }

    bool read_would_block() const noexcept override { return drained_; }

    std::size_t write_some(std::span<const asio::const_buffer> buffers, std::error_code& ec) override {
        return socket_.write_some(buffers, ec);
    }

    void async_wait(wait_type what, ready_handler handler) override {
        socket_.async_wait(what == wait_type::read ? asio::socket_base::wait_read
                                                   : asio::socket_base::wait_write,
                           std::move(handler));
    }

    void close() noexcept override {
        std::error_code ignored;
        socket_.close(ignored);
    }

    asio::ip::tcp::socket& socket() noexcept override { return socket_; }

private:
    asio::ip::tcp::socket socket_;
    bool drained_ = false;
};

// ---------------------------------------------------------------- IOStream

class IOStream : public std::enable_shared_from_this<IOStream> {
public:
    using wait_type = stream_transport::wait_type;
    class fill_awaiter;
    class write_awaiter;

    // A stream over a connected TCP socket. Make it with std::make_shared
    // (its pending waits hold it by shared_ptr). It belongs to the calling
    // thread's IOLoop, which must also run the socket, and is used on that
    // thread only.
    explicit IOStream(asio::ip::tcp::socket socket, stream_options options = {})
        : IOStream(std::make_unique<tcp_transport>(std::move(socket)), std::move(options)) {}

    // A stream over any transport (see stream_transport).
    explicit IOStream(std::unique_ptr<stream_transport> transport, stream_options options = {})
        : transport_(std::move(transport)), loop_(&IOLoop::current()), options_(std::move(options)) {
        if (options_.max_buffer_size == 0) throw std::invalid_argument("max_buffer_size must be positive");
    }

    IOStream(const IOStream&) = delete;
    IOStream& operator=(const IOStream&) = delete;

    // ------------------------------------------------------------ reading

    // Reads up to and including `delimiter`. With max_bytes, a delimiter not
    // found within that many bytes closes the stream (StreamClosedError with
    // an UnsatisfiableReadError as real_error()).
    task<std::string> read_until(std::string delimiter, std::optional<std::size_t> max_bytes = std::nullopt);

    // Reads exactly num_bytes; with partial, returns as soon as any bytes are
    // available (at most num_bytes).
    task<std::string> read_bytes(std::size_t num_bytes, bool partial = false);

    // Reads everything until the connection closes, however it closes.
    // Unlike Tornado, more than max_buffer_size fails (StreamClosedError)
    // instead of returning the data cut short.
    task<std::string> read_until_close();

    // The zero-copy read interface, for parsers that work in place:
    //
    //   for (;;) {
    //       if (auto n = parse(stream->read_buffer())) { stream->consume(n); break; }
    //       co_await stream->fill();
    //   }
    //
    // fill() receives at least one more byte into the buffer, as many as are
    // available, and returns how many. It throws StreamClosedError once the
    // stream is closed (what is buffered stays readable) or when
    // max_buffer_size bytes are already buffered, and std::logic_error if
    // another read is in progress. read_buffer() is valid until the next
    // fill() or consume().
    [[nodiscard]] fill_awaiter fill();
    std::string_view read_buffer() const noexcept { return in_.data(); }
    void consume(std::size_t n);

    // Bytes of memory the read buffer holds (0 while the stream is idle).
    std::size_t read_buffer_capacity() const noexcept { return in_.capacity(); }

    // ------------------------------------------------------------ writing

    // Queues data (copied, or moved for an rvalue string) behind earlier
    // writes and starts sending it. Throws StreamClosedError on a closed
    // stream and StreamBufferFullError past max_write_buffer_size. Awaiting
    // the result waits until the kernel has the data.
    write_awaiter write(std::string_view data) { return write_pieces({&data, 1}); }
    write_awaiter write(const char* data) { return write(std::string_view(data)); }
    write_awaiter write(std::string&& data);
    // Several pieces at once, in one system call when the socket is free
    // (e.g. a message head and its body): write(head, body).
    template <class... Pieces>
        requires(sizeof...(Pieces) >= 2 && (std::is_convertible_v<const Pieces&, std::string_view> && ...))
    write_awaiter write(const Pieces&... pieces) {
        const std::array<std::string_view, sizeof...(Pieces)> views{std::string_view(pieces)...};
        return write_pieces(views);
    }

    // Sends count bytes of the open file fd from offset, after the data
    // already queued: with sendfile(2) on a plain TCP stream (the bytes go
    // from the page cache to the socket, never through user memory),
    // otherwise (TLS, or a file sendfile refuses) read and written in 64 KiB
    // pieces. Completes when the kernel has the last byte. Starting another
    // write meanwhile throws std::logic_error. Throws StreamClosedError if
    // the stream closes first; a file that cannot be read, or ends before
    // count bytes, closes the stream with that error as the cause.
    task<void> write_file(int fd, std::uint64_t offset, std::uint64_t count);

    // Between hold_writes() and release_writes(), writes are queued and not
    // sent, so that the replies to several requests that arrived together
    // leave in one system call (the WebSocket handler holds while it
    // dispatches messages already received). Awaiting a held write, or
    // closing the stream without an error, releases the writes first:
    // holding never delays a writer that waits.
    void hold_writes() noexcept { writes_held_ = !closed_; }
    void release_writes();

    // ------------------------------------------------------------ state

    // Closes the stream, failing pending reads and writes with
    // StreamClosedError (unsent data is dropped). `error` becomes error().
    void close(std::exception_ptr error = nullptr);
    bool closed() const noexcept { return closed_; }
    // Why the stream closed; null if it is open or was closed cleanly.
    std::exception_ptr error() const noexcept { return error_; }

    // Runs callback on the loop once the stream closes (at once if it
    // already has); an empty function removes it. While it is set, an idle
    // stream watches for the peer closing, as Tornado's does.
    void set_close_callback(std::function<void()> callback);

    // Sets TCP_NODELAY: small writes go out at once instead of waiting to be
    // combined (Nagle's algorithm). Ignored on a closed stream.
    void set_nodelay(bool value);

    bool reading() const noexcept { return read_owner_ != nullptr || reader_ != nullptr; }
    bool writing() const noexcept { return !out_.empty(); }

    const stream_options& options() const noexcept { return options_; }
    stream_transport& transport() noexcept { return *transport_; }
    asio::ip::tcp::socket& socket() noexcept { return transport_->socket(); }

    // ------------------------------------------------------------ awaiters

    class fill_awaiter : detail::cancel_registration {
    public:
        fill_awaiter(IOStream& stream, bool closed_is_error) noexcept
            : stream_(stream), closed_is_error_(closed_is_error) {}
        // Movable until awaited, so it can be handed to with_timeout or gather.
        fill_awaiter(fill_awaiter&&) noexcept = default;

        bool await_ready() {
            if (stream_.reader_) throw std::logic_error("Already reading");
            if (!stream_.closed_ && !stream_.transport_->read_would_block()) received_ = stream_.read_now();
            return received_ > 0 || stream_.closed_;
        }

        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> h) {
            scope_ = detail::scope_of(h);
            if (scope_ && scope_->cancelled()) {
                cancelled_ = true;
                return false;
            }
            stream_.in_.release();  // if nothing is buffered, hold no memory while waiting
            stream_.arm(wait_type::read);
            if (scope_) scope_->attach(*this, &on_cancel);
            handle_ = h;
            stream_.reader_ = this;
            return true;
        }

        // The number of bytes received; 0 only on a closed stream when the
        // close is not an error for this read.
        std::size_t await_resume() const {
            if (cancelled_) throw CancelledError();
            if (received_ == 0 && closed_is_error_) throw StreamClosedError(stream_.error_);
            return received_;
        }

    private:
        friend class IOStream;

        // The stream lets go of the reader at once, so the coroutine may read
        // again as soon as it sees the cancellation; the wait is cancelled too
        // so that it does not keep the stream alive.
        static void on_cancel(detail::cancel_registration& r) {
            auto& self = static_cast<fill_awaiter&>(r);
            self.cancelled_ = true;
            self.stream_.reader_ = nullptr;
            self.stream_.read_owner_ = nullptr;
            self.stream_.read_cancel_.emit(asio::cancellation_type::terminal);
            self.stream_.loop_->resume_soon(self.handle_);
        }

        IOStream& stream_;
        detail::cancel_scope* scope_ = nullptr;
        std::coroutine_handle<> handle_;
        std::size_t received_ = 0;
        bool closed_is_error_;
        bool cancelled_ = false;
    };

    class write_awaiter : detail::cancel_registration {
    public:
        write_awaiter(IOStream& stream, std::uint64_t target) noexcept
            : stream_(stream), target_(target) {}
        // Movable until awaited, so it can be handed to with_timeout or gather.
        write_awaiter(write_awaiter&&) noexcept = default;

        bool await_ready() const noexcept { return stream_.sent_ >= target_ || stream_.closed_; }

        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> h) {
            scope_ = detail::scope_of(h);
            if (scope_ && scope_->cancelled()) {
                cancelled_ = true;
                return false;
            }
            stream_.release_writes();
            if (await_ready()) return false;
            if (scope_) scope_->attach(*this, &on_cancel);
            handle_ = h;
            stream_.add_writer(*this);
            return true;
        }

        void await_resume() const {
            if (cancelled_) throw CancelledError();
            if (stream_.sent_ < target_) throw StreamClosedError(stream_.error_);
        }

    private:
        friend class IOStream;

        static void on_cancel(detail::cancel_registration& r) {
            auto& self = static_cast<write_awaiter&>(r);
            self.cancelled_ = true;
            self.stream_.remove_writer(self);
            self.stream_.loop_->resume_soon(self.handle_);
        }

        IOStream& stream_;
        std::uint64_t target_;  // done once this many bytes in all have been sent
        detail::cancel_scope* scope_ = nullptr;
        std::coroutine_handle<> handle_;
        write_awaiter* next_ = nullptr;
        bool cancelled_ = false;
    };

private:
    friend class stream_transport::ready_handler;
    class writable_awaiter;

    // Queued chunks up to this size take later small writes appended to them.
    static constexpr std::size_t coalesce_limit = 64 * 1024;
    // Most buffers handed to one write_some.
    static constexpr std::size_t max_gather = 16;

    // Marks a high-level read (read_until, ...) as in progress for its whole
    // duration, so another coroutine cannot take its bytes between fills. A
    // cancelled fill ends the ownership at once: the cancelled read only
    // unwinds afterwards, and a new read may already have begun.
    class read_guard {
    public:
        explicit read_guard(IOStream& stream) : stream_(stream) {
            if (stream.reading()) throw std::logic_error("Already reading");
            stream.read_owner_ = this;
        }
        read_guard(const read_guard&) = delete;
        read_guard& operator=(const read_guard&) = delete;
        ~read_guard() {
            if (stream_.read_owner_ == this) stream_.read_owner_ = nullptr;
        }

    private:
        IOStream& stream_;
    };

    std::string take(std::size_t n) {
        std::string result(in_.data().substr(0, n));
        consume(n);
        return result;
    }

    [[noreturn]] void fail_unsatisfiable(std::string_view delimiter, std::size_t max_bytes);
    void fail_buffer_full();
    std::size_t read_now();
    write_awaiter write_pieces(std::span<const std::string_view> pieces);
    template <std::size_t N>
    std::size_t send_pieces(std::span<const std::string_view> pieces) {
        std::array<asio::const_buffer, N> buffers;
        std::size_t count = 0;
        for (std::string_view piece : pieces)
            if (!piece.empty() && count < N) buffers[count++] = asio::buffer(piece.data(), piece.size());
        return send({buffers.data(), count});
    }
    std::size_t send(std::span<const asio::const_buffer> buffers);
    void flush_queue();
    void mark_sent(std::size_t n);
    void enqueue(std::string_view piece);
    void check_writable(std::size_t size) const;
    void fail(std::error_code ec, std::string_view during);

    void arm(wait_type what);
    void on_ready(wait_type what, std::error_code ec);
    void on_readable(std::error_code ec);
    void on_writable(std::error_code ec);
    void wake_reader();
    void wake_writers();
    void wake_file_writer();
    void watch_for_close();

    task<std::uint64_t> sendfile_range(int fd, std::uint64_t offset, std::uint64_t end);
    task<void> copy_file_pieces(int fd, std::uint64_t offset, std::uint64_t end);
    [[noreturn]] void fail_file(int error, std::uint64_t offset, std::uint64_t end);

    void add_writer(write_awaiter& w) noexcept {
        if (writers_tail_) writers_tail_->next_ = &w;
        else writers_head_ = &w;
        writers_tail_ = &w;
    }

    void remove_writer(write_awaiter& w) noexcept {
        write_awaiter* prev = nullptr;
        for (write_awaiter* p = writers_head_; p; prev = p, p = p->next_) {
            if (p != &w) continue;
            (prev ? prev->next_ : writers_head_) = p->next_;
            if (writers_tail_ == p) writers_tail_ = prev;
            p->next_ = nullptr;
            return;
        }
    }

    std::unique_ptr<stream_transport> transport_;
    IOLoop* loop_;
    stream_options options_;

    detail::stream_buffer in_;
    fill_awaiter* reader_ = nullptr;        // the coroutine parked in fill()
    const read_guard* read_owner_ = nullptr;  // the high-level read in progress
    bool read_wait_armed_ = false;
    asio::cancellation_signal read_cancel_;

    // Unsent bytes: out_[out_head_] from out_offset_ on, then later chunks.
    std::vector<std::string> out_;
    std::size_t out_head_ = 0;
    std::size_t out_offset_ = 0;
    std::uint64_t accepted_ = 0;  // bytes ever passed to write()
    std::uint64_t sent_ = 0;      // bytes ever handed to the kernel
    write_awaiter* writers_head_ = nullptr;
    write_awaiter* writers_tail_ = nullptr;
    bool write_wait_armed_ = false;
    bool writes_held_ = false;              // see hold_writes()
    bool file_sending_ = false;             // a write_file is in progress
    writable_awaiter* file_waiter_ = nullptr;  // the write_file parked until the socket is writable

    bool closed_ = false;
    std::exception_ptr error_;
    std::function<void()> close_callback_;
};

inline IOStream::fill_awaiter IOStream::fill() { return fill_awaiter(*this, true); }

// ---------------------------------------------------------------- TLS hook

// What TCPServer and TCPClient know of TLS: something that runs a handshake
// over a connected socket and hands out the secured stream. It keeps the
// plain path free of OpenSSL: gale::ssl_context (<gale/ssl.hpp>, the only
// header that includes it) implements this, and a
// std::shared_ptr<ssl_context> converts to std::shared_ptr<const
// ssl_handshaker>, which is what TCPServer and TCPClient::connect take as
// their ssl_options.
class ssl_handshaker {
public:
    ssl_handshaker() = default;
    ssl_handshaker(const ssl_handshaker&) = delete;
    ssl_handshaker& operator=(const ssl_handshaker&) = delete;
    virtual ~ssl_handshaker() = default;

    // Completes with the secured stream once the handshake succeeds; fails
    // with the handshake's error, the connection then closed.
    // server_hostname (client side) is the name sent in SNI and checked
    // against the server's certificate.
    virtual task<std::shared_ptr<IOStream>> handshake(asio::ip::tcp::socket socket, bool server_side,
                                                      std::string server_hostname,
                                                      stream_options options) const = 0;
};

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/iostream.ipp"
#endif
