// Definitions for iostream.hpp: the reads, writes and readiness handling of
// IOStream. Compiled in every translation unit in header-only mode, or once
// by <gale/src.hpp> with GALE_SEPARATE_COMPILATION; see detail/config.hpp.
#pragma once

#include "../iostream.hpp"

#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <ctime>

#include <fmt/core.h>

#include "../detail/logging.hpp"

namespace gale {

GALE_DECL std::string StreamClosedError::describe(const std::exception_ptr& cause) {
    if (!cause) return "Stream is closed";
    try {
        std::rethrow_exception(cause);
    } catch (...) {
        return "Stream is closed: " + detail::describe_current_exception();
    }
}

// ---------------------------------------------------------------- reading

GALE_DECL task<std::string> IOStream::read_until(std::string delimiter, std::optional<std::size_t> max_bytes) {
    auto self = shared_from_this();
    read_guard guard(*this);
    std::size_t searched = 0;  // the delimiter does not start before this offset
    for (;;) {
        std::string_view data = in_.data();
        std::size_t found = data.find(delimiter, searched);
        if (found != std::string_view::npos) {
            std::size_t end = found + delimiter.size();
            if (max_bytes && end > *max_bytes) fail_unsatisfiable(delimiter, *max_bytes);
            co_return take(end);
        }
        if (max_bytes && data.size() > *max_bytes) fail_unsatisfiable(delimiter, *max_bytes);
        searched = data.size() < delimiter.size() ? 0 : data.size() - delimiter.size() + 1;
        co_await fill_awaiter(*this, true);
    }
}

GALE_DECL task<std::string> IOStream::read_bytes(std::size_t num_bytes, bool partial) {
    auto self = shared_from_this();
    read_guard guard(*this);
    for (;;) {
        std::size_t buffered = in_.size();
        if (buffered >= num_bytes || (partial && buffered > 0)) co_return take(std::min(num_bytes, buffered));
        if (!partial && buffered > 0) in_.reserve(std::min(num_bytes, options_.max_buffer_size));
        co_await fill_awaiter(*this, true);
    }
}

GALE_DECL task<std::string> IOStream::read_until_close() {
    auto self = shared_from_this();
    read_guard guard(*this);
    while (!closed_) {
        if (in_.size() >= options_.max_buffer_size) {
            fail_buffer_full();
            throw StreamClosedError(error_);
        }
        co_await fill_awaiter(*this, false);
    }
    co_return take(in_.size());
}

GALE_DECL void IOStream::consume(std::size_t n) {
    if (n > in_.size()) throw std::out_of_range("IOStream::consume: more bytes than are buffered");
    in_.consume(n);
    watch_for_close();
}

GALE_DECL void IOStream::fail_unsatisfiable(std::string_view delimiter, std::size_t max_bytes) {
    std::string shown;
    for (unsigned char c : delimiter) {
        switch (c) {
            case '\r': shown += "\\r"; break;
            case '\n': shown += "\\n"; break;
            case '\t': shown += "\\t"; break;
            case '"': shown += "\\\""; break;
            case '\\': shown += "\\\\"; break;
            default:
                if (c < 0x20 || c >= 0x7f) shown += fmt::format("\\x{:02x}", c);
                else shown += static_cast<char>(c);
        }
    }
    std::string message = fmt::format("delimiter \"{}\" not found within {} bytes", shown, max_bytes);
    detail::log(detail::gen_log, detail::log_level::info, "iostream", __LINE__,
                "Unsatisfiable read, closing connection: {}", message);
    close(std::make_exception_ptr(UnsatisfiableReadError(message)));
    throw StreamClosedError(error_);
}

GALE_DECL void IOStream::fail_buffer_full() {
    detail::log(detail::gen_log, detail::log_level::error, "iostream", __LINE__,
                "Reached maximum read buffer size");
    close(std::make_exception_ptr(StreamBufferFullError("Reached maximum read buffer size")));
}

// One non-blocking receive into the buffer. Returns the byte count, or 0 when
// nothing was available or the stream closed (end of stream, an error, or a
// full buffer).
GALE_DECL std::size_t IOStream::read_now() {
    std::size_t room = options_.max_buffer_size - std::min(in_.size(), options_.max_buffer_size);
    if (room == 0) {
        fail_buffer_full();
        return 0;
    }
    std::span<char> space = in_.prepare(room);
    std::error_code ec;
    std::size_t n = transport_->read_some(asio::buffer(space.data(), space.size()), ec);
    if (!ec && n > 0) {
        in_.commit(n);
        return n;
    }
    if (ec == asio::error::would_block) return 0;
    if (ec && ec != asio::error::eof) fail(ec, "read");
    else close();
    return 0;
}

// ---------------------------------------------------------------- writing

GALE_DECL IOStream::write_awaiter IOStream::write_pieces(std::span<const std::string_view> pieces) {
    std::size_t total = 0;
    for (std::string_view piece : pieces) total += piece.size();
    check_writable(total);
    accepted_ += total;
    if (total == 0) return write_awaiter(*this, accepted_);
    std::size_t sent = 0;
    if (out_.empty() && !write_wait_armed_ && !writes_held_) {
        // Nothing queued: send straight from the caller's memory. (Most
        // writes have a few pieces, and each asio buffer in the array is
        // constructed, so a small array serves them.)
        sent = pieces.size() <= 4 ? send_pieces<4>(pieces) : send_pieces<max_gather>(pieces);
    }
    if (!closed_ && sent < total) {
        for (std::string_view piece : pieces) {
            std::size_t skip = std::min(sent, piece.size());
            sent -= skip;
            if (skip < piece.size()) enqueue(piece.substr(skip));
        }
        if (!writes_held_) arm(wait_type::write);
    }
    return write_awaiter(*this, accepted_);
}

GALE_DECL IOStream::write_awaiter IOStream::write(std::string&& data) {
    check_writable(data.size());
    accepted_ += data.size();
    if (data.empty()) return write_awaiter(*this, accepted_);
    if (!out_.empty() || write_wait_armed_ || writes_held_) {
        if (!out_.empty() && out_.back().size() + data.size() <= coalesce_limit) out_.back() += data;
        else out_.push_back(std::move(data));
        if (!writes_held_) arm(wait_type::write);
        return write_awaiter(*this, accepted_);
    }
    asio::const_buffer buffer = asio::buffer(data);
    std::size_t sent = send({&buffer, 1});
    if (!closed_ && sent < data.size()) {
        out_offset_ = sent;  // the queue was empty: the string becomes its only chunk
        out_.push_back(std::move(data));
        arm(wait_type::write);
    }
    return write_awaiter(*this, accepted_);
}

// Sends what was held back. No writer can be waiting for held bytes (an
// awaited write releases first), and bytes queued before the hold already
// have a write wait armed, whose completion wakes their writers.
GALE_DECL void IOStream::release_writes() {
    if (!std::exchange(writes_held_, false) || closed_ || write_wait_armed_ || out_.empty()) return;
    flush_queue();
    if (!out_.empty()) arm(wait_type::write);
}

GALE_DECL void IOStream::check_writable(std::size_t size) const {
    if (closed_) throw StreamClosedError(error_);
    if (file_sending_) throw std::logic_error("IOStream::write while write_file is in progress");
    if (options_.max_write_buffer_size && accepted_ - sent_ + size > *options_.max_write_buffer_size)
        throw StreamBufferFullError("Reached maximum write buffer size");
}

GALE_DECL void IOStream::enqueue(std::string_view piece) {
    if (!out_.empty() && out_.back().size() + piece.size() <= coalesce_limit) out_.back().append(piece);
    else out_.emplace_back(piece);
}

// One non-blocking send. Returns the bytes the kernel took (0 when it took
// none, or on an error, which closes the stream).
GALE_DECL std::size_t IOStream::send(std::span<const asio::const_buffer> buffers) {
    std::error_code ec;
    std::size_t n = transport_->write_some(buffers, ec);
    if (ec == asio::error::would_block) return 0;
    if (ec) {
        fail(ec, "write");
        return 0;
    }
    sent_ += n;
    return n;
}

// Sends queued chunks until the kernel stops taking them.
GALE_DECL void IOStream::flush_queue() {
    while (!out_.empty() && !closed_) {
        std::array<asio::const_buffer, max_gather> buffers;
        std::size_t count = 0;
        for (std::size_t i = out_head_; i < out_.size() && count < buffers.size(); ++i) {
            std::string_view chunk = out_[i];
            if (i == out_head_) chunk.remove_prefix(out_offset_);
            buffers[count++] = asio::buffer(chunk.data(), chunk.size());
        }
        std::size_t n = send({buffers.data(), count});
        if (n == 0) return;
        mark_sent(n);
    }
}

// Drops n sent bytes from the front of the queue.
GALE_DECL void IOStream::mark_sent(std::size_t n) {
    while (n > 0) {
        std::size_t left = out_[out_head_].size() - out_offset_;
        if (n < left) {
            out_offset_ += n;
            return;
        }
        n -= left;
        ++out_head_;
        out_offset_ = 0;
    }
    if (out_head_ == out_.size()) {
        out_.clear();
        out_head_ = 0;
    } else if (out_head_ >= 32) {
        out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_head_));
        out_head_ = 0;
    }
}

// ---------------------------------------------------------------- files

// Waits until the socket may take more bytes, through the stream's own wait
// for writability (arm / on_writable): write_file's wait.
class IOStream::writable_awaiter : detail::cancel_registration {
public:
    explicit writable_awaiter(IOStream& stream) noexcept : stream_(stream) {}

    bool await_ready() const noexcept { return stream_.closed_; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
        scope_ = detail::scope_of(h);
        if (scope_) {
            if (scope_->cancelled()) {
                cancelled_ = true;
                return false;
            }
            scope_->attach(*this, &on_cancel);
        }
        handle_ = h;
        stream_.file_waiter_ = this;
        stream_.arm(wait_type::write);
        return true;
    }

    void await_resume() const {
        if (cancelled_) throw CancelledError();
        if (stream_.closed_) throw StreamClosedError(stream_.error_);
    }

private:
    friend class IOStream;

    static void on_cancel(detail::cancel_registration& r) {
        auto& self = static_cast<writable_awaiter&>(r);
        self.cancelled_ = true;
        self.stream_.file_waiter_ = nullptr;
        self.stream_.loop_->resume_soon(self.handle_);
    }

    IOStream& stream_;
    detail::cancel_scope* scope_ = nullptr;
    std::coroutine_handle<> handle_;
    bool cancelled_ = false;
};

namespace detail {

// Pieces write_file reads and writes when it cannot use sendfile.
inline constexpr std::size_t file_piece_size = 64 * 1024;

// Marks a write_file in progress for its whole duration.
class file_sending_flag {
public:
    explicit file_sending_flag(bool& flag) noexcept : flag_(flag) { flag_ = true; }
    file_sending_flag(const file_sending_flag&) = delete;
    file_sending_flag& operator=(const file_sending_flag&) = delete;
    ~file_sending_flag() { flag_ = false; }

private:
    bool& flag_;
};

// sendfile(2) with SIGPIPE held back: a peer gone mid-file is EPIPE, as
// the MSG_NOSIGNAL of ordinary writes makes it, never a signal that would
// end the process. (The signal is blocked for the call and, if this call
// raised it, taken back.)
GALE_DECL ssize_t sendfile_nosignal(int socket, int fd, off_t& position, std::size_t count) {
    sigset_t sigpipe, previous, pending;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    sigpending(&pending);
    const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &sigpipe, &previous);
    ssize_t n = ::sendfile(socket, fd, &position, count);
    const int error = errno;
    if (n < 0 && error == EPIPE && !was_pending) {
        const timespec no_wait{};
        while (sigtimedwait(&sigpipe, nullptr, &no_wait) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    errno = error;
    return n;
}

}  // namespace detail

GALE_DECL task<void> IOStream::write_file(int fd, std::uint64_t offset, std::uint64_t count) {
    auto self = shared_from_this();
    co_await write(std::string_view());  // the data queued before goes first
    check_writable(0);
    detail::file_sending_flag sending(file_sending_);
    const std::uint64_t end = offset + count;
    if (dynamic_cast<tcp_transport*>(transport_.get())) offset = co_await sendfile_range(fd, offset, end);
    if (offset < end) co_await copy_file_pieces(fd, offset, end);
}

// Sends [offset, end) of the file with sendfile. Returns how far it got:
// `end`, or less when sendfile refuses the file before sending any of it
// (the rest is then copied).
GALE_DECL task<std::uint64_t> IOStream::sendfile_range(int fd, std::uint64_t offset, std::uint64_t end) {
    const std::uint64_t start = offset;
    while (offset < end) {
        if (closed_) throw StreamClosedError(error_);
        off_t position = static_cast<off_t>(offset);
        // (Linux sends at most 0x7ffff000 bytes per call.)
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(end - offset, 0x40000000));
        const ssize_t n = detail::sendfile_nosignal(socket().native_handle(), fd, position, want);
        if (n > 0) {
            offset += static_cast<std::uint64_t>(n);
            accepted_ += static_cast<std::uint64_t>(n);
            sent_ += static_cast<std::uint64_t>(n);
            continue;
        }
        const int error = n == 0 ? 0 : errno;
        if (error == EAGAIN || error == EWOULDBLOCK) {
            co_await writable_awaiter(*this);
        } else if (error == EINTR) {
            continue;
        } else if ((error == EINVAL || error == ENOSYS || error == EOPNOTSUPP) && offset == start) {
            co_return offset;  // a file sendfile cannot read (a pipe, say): copy it instead
        } else {
            fail_file(error, offset, end);
        }
    }
    co_return offset;
}

// Sends [offset, end) of the file by reading it and writing the pieces.
GALE_DECL task<void> IOStream::copy_file_pieces(int fd, std::uint64_t offset, std::uint64_t end) {
    std::string piece;
    while (offset < end) {
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(end - offset, detail::file_piece_size));
        piece.resize(want);
        const ssize_t n = ::pread(fd, piece.data(), want, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail_file(n == 0 ? 0 : errno, offset, end);
        piece.resize(static_cast<std::size_t>(n));
        offset += static_cast<std::uint64_t>(n);
        file_sending_ = false;  // this piece is the file's own write
        write_awaiter written = write(piece);
        file_sending_ = true;
        co_await written;
    }
}

// Closes the stream because the file could not be sent: an error of the
// file or the socket (errno `error`), or the file ended (0) before `end`.
GALE_DECL void IOStream::fail_file(int error, std::uint64_t offset, std::uint64_t end) {
    if (error == 0) {
        close(std::make_exception_ptr(std::runtime_error(
            fmt::format("write_file: the file ended at offset {}, before {}", offset, end))));
    } else {
        fail(std::error_code(error, asio::error::get_system_category()), "write_file");
    }
    throw StreamClosedError(error_);
}

GALE_DECL void IOStream::wake_file_writer() {
    writable_awaiter* waiter = std::exchange(file_waiter_, nullptr);
    if (!waiter) return;
    if (waiter->scope_) waiter->scope_->detach(*waiter);
    waiter->handle_.resume();
}

// ---------------------------------------------------------------- state

GALE_DECL void IOStream::close(std::exception_ptr error) {
    if (closed_) return;
    if (!error) {
        release_writes();  // what was held goes out first, as it would have unheld
        if (closed_) return;  // the send failed and closed the stream
    }
    closed_ = true;
    error_ = std::move(error);
    transport_->close();  // parked readers and writers wake through their cancelled waits
    out_ = {};
    out_head_ = out_offset_ = 0;
    in_.release();
    if (close_callback_) loop_->add_callback(std::exchange(close_callback_, nullptr));
}

GALE_DECL void IOStream::set_close_callback(std::function<void()> callback) {
    if (closed_) {
        if (callback) loop_->add_callback(std::move(callback));
        return;
    }
    close_callback_ = std::move(callback);
    if (close_callback_) watch_for_close();
    else if (read_wait_armed_ && !reader_) read_cancel_.emit(asio::cancellation_type::terminal);  // end the watch
}

GALE_DECL void IOStream::set_nodelay(bool value) {
    if (closed_) return;
    std::error_code ec;
    socket().set_option(asio::ip::tcp::no_delay(value), ec);
    // EINVAL means the connection is already reset, which the next read or
    // write reports.
    if (ec && ec != asio::error::invalid_argument) throw std::system_error(ec, "set_nodelay");
}

GALE_DECL void IOStream::fail(std::error_code ec, std::string_view during) {
    bool reset = ec == asio::error::connection_reset || ec == asio::error::connection_aborted ||
                 ec == asio::error::broken_pipe || ec == asio::error::timed_out;
    if (!reset)  // resets are routine; Tornado keeps them out of the log too
        detail::log(detail::gen_log, detail::log_level::warning, "iostream", __LINE__,
                    "Error on {}: {}", during, ec.message());
    close(std::make_exception_ptr(std::system_error(ec, std::string(during))));
}

// ---------------------------------------------------------------- readiness

GALE_DECL void IOStream::arm(wait_type what) {
    bool& armed = what == wait_type::read ? read_wait_armed_ : write_wait_armed_;
    if (armed || closed_) return;
    armed = true;
    asio::cancellation_slot slot = what == wait_type::read ? read_cancel_.slot() : asio::cancellation_slot();
    transport_->async_wait(what, stream_transport::ready_handler(shared_from_this(), what, slot));
}

GALE_DECL void stream_transport::ready_handler::operator()(std::error_code ec) {
    stream_->on_ready(what_, ec);
}

GALE_DECL void IOStream::on_ready(wait_type what, std::error_code ec) {
    if (what == wait_type::read) on_readable(ec);
    else on_writable(ec);
}

GALE_DECL void IOStream::on_readable(std::error_code ec) {
    read_wait_armed_ = false;
    if (!closed_) {
        // operation_aborted without a close: a cancelled reader's wait, which
        // a new reader may have inherited; it then just waits again.
        if (ec && ec != asio::error::operation_aborted) {
            fail(ec, "wait for read");
        } else if (reader_ || (close_callback_ && in_.empty())) {
            std::size_t n = read_now();
            if (n == 0 && !closed_) {  // woken for nothing
                in_.release();
                arm(wait_type::read);
                return;
            }
            if (reader_) reader_->received_ = n;
        }
    }
    wake_reader();
    watch_for_close();
}

GALE_DECL void IOStream::wake_reader() {
    fill_awaiter* reader = std::exchange(reader_, nullptr);
    if (!reader) return;
    if (reader->scope_) reader->scope_->detach(*reader);
    reader->handle_.resume();
}

GALE_DECL void IOStream::on_writable(std::error_code ec) {
    write_wait_armed_ = false;
    if (!closed_) {
        if (ec && ec != asio::error::operation_aborted) fail(ec, "wait for write");
        else flush_queue();
    }
    if (!out_.empty()) arm(wait_type::write);
    wake_writers();
    wake_file_writer();
}

// Resumes, in order, the writers whose data has all been sent (all of them
// once the stream is closed).
GALE_DECL void IOStream::wake_writers() {
    while (write_awaiter* w = writers_head_) {
        if (!closed_ && w->target_ > sent_) return;
        writers_head_ = w->next_;
        if (!writers_head_) writers_tail_ = nullptr;
        w->next_ = nullptr;
        if (w->scope_) w->scope_->detach(*w);
        w->handle_.resume();  // the pending handler keeps the stream alive meanwhile
    }
}

// Tornado's error listener: with a close callback set, an idle stream waits
// for readability so that a peer closing is noticed without a read.
GALE_DECL void IOStream::watch_for_close() {
    if (close_callback_ && !closed_ && !reader_ && !read_wait_armed_ && in_.empty()) {
        in_.release();
        arm(wait_type::read);
    }
}

}  // namespace gale
