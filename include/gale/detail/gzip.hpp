// Internal: streaming gzip over zlib, for HTTP's Content-Encoding: gzip.
//
//   gale::detail::gzip_decompressor in(65536);          // output in pieces of at most 64 KiB
//   for (std::string_view piece : in.feed(chunk)) deliver(piece);   // as chunks arrive
//   in.finish();                                        // throws if the stream was cut short
//
//   gale::detail::gzip_compressor out;                  // level 6, as Tornado
//   std::string wire = out.transform_chunk(chunk, /*finishing=*/false);  // decodable at once
//   wire += out.transform_chunk(last, /*finishing=*/true);               // with the trailer
//
// gzip_decompressor is Tornado's tornado.util.GzipDecompressor together with
// the loop of its _GzipMessageDelegate (decompress(chunk, chunk_size) while
// unconsumed_tail is left): feed() yields the output of a chunk in pieces
// of at most piece_size bytes, each decompressed only when the iteration
// reaches it, into one buffer reused for every piece, so a small input that
// inflates to gigabytes never sits in memory. It reads gzip only (zlib's
// 16 + MAX_WBITS; no raw deflate, no zlib wrapper) and one member; bytes
// after the end of the member are ignored, as Python's decompressobj leaves
// them in unused_data. Two differences from Tornado, both for safety: an
// optional limit on the total output (gzip_limit_error once it is passed,
// with no more than the limit ever produced), and finish() reports a
// truncated stream (Tornado's flush() returns b"" silently).
//
// gzip_compressor is the encoder of Tornado's GZipContentEncoding: Python's
// GzipFile at compresslevel 6 over the same zlib, flushed (Z_SYNC_FLUSH)
// after each chunk and closed with the last. Its bytes are GzipFile's
// (header without a name, mtime = now, OS 255), so gale and Tornado encode
// a response identically but for the timestamp.
//
// Errors are gzip_error, with Python's zlib messages where there is one
// ("Error -3 while decompressing data: incorrect header check").
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/core.h>

namespace gale::detail {

// Corrupt or truncated gzip data, or a failure inside zlib.
struct gzip_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The decompressed output passed the decompressor's max_output.
struct gzip_limit_error : gzip_error {
    using gzip_error::gzip_error;
};

// zlib's 16 + MAX_WBITS: gzip header and trailer, 32 KiB window.
inline constexpr int gzip_window_bits = 16 + MAX_WBITS;

class gzip_decompressor {
public:
    static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

    // piece_size: the most bytes one piece of output holds (Tornado passes
    // the connection's chunk_size). max_output: the most bytes produced in
    // all, past which gzip_limit_error is thrown.
    explicit gzip_decompressor(std::size_t piece_size = 65536, std::size_t max_output = unlimited)
        : z_(std::make_unique<z_stream>()),  // on the heap: zlib keeps a pointer back to it
          piece_size_(std::clamp<std::size_t>(piece_size, 1, std::size_t{1} << 30)),
          max_output_(max_output) {
        int rc = inflateInit2(z_.get(), gzip_window_bits);
        if (rc != Z_OK) {
            z_.reset();
            throw gzip_error(fmt::format("Error {} while preparing to decompress", rc));
        }
    }

    gzip_decompressor(gzip_decompressor&& other) noexcept = default;
    gzip_decompressor& operator=(gzip_decompressor&& other) noexcept {
        if (this != &other) {
            end();
            z_ = std::move(other.z_);
            piece_size_ = other.piece_size_;
            max_output_ = other.max_output_;
            total_out_ = other.total_out_;
            buffer_ = std::move(other.buffer_);
            piece_ = other.piece_;
            pending_output_ = other.pending_output_;
            exhausted_ = other.exhausted_;
            eof_ = other.eof_;
            broken_ = other.broken_;
        }
        return *this;
    }
    ~gzip_decompressor() { end(); }

    // The output of one feed(), a piece at a time: a single-pass range whose
    // pieces are valid until the iteration moves on (or the decompressor is
    // fed again). Each step decompresses the next piece.
    class pieces {
    public:
        class iterator {
        public:
            using value_type = std::string_view;
            using difference_type = std::ptrdiff_t;

            iterator() = default;
            std::string_view operator*() const noexcept { return owner_->piece_; }
            iterator& operator++() {
                owner_->next();
                return *this;
            }
            void operator++(int) { ++*this; }
            bool operator==(std::default_sentinel_t) const noexcept { return owner_->exhausted_; }

        private:
            friend class pieces;
            explicit iterator(gzip_decompressor* owner) : owner_(owner) {}
            gzip_decompressor* owner_ = nullptr;
        };

        // Decompresses the first piece.
        iterator begin() {
            owner_->next();
            return iterator(owner_);
        }
        std::default_sentinel_t end() const noexcept { return {}; }

    private:
        friend class gzip_decompressor;
        explicit pieces(gzip_decompressor* owner) : owner_(owner) {}
        gzip_decompressor* owner_;
    };

    // Takes the next chunk of compressed data, which must stay valid while
    // the returned pieces are iterated. Output the previous chunk still had
    // to give comes first. Iterating throws gzip_error on corrupt data and
    // gzip_limit_error past max_output.
    pieces feed(std::string_view input) {
        if (!z_) throw gzip_error("Error while decompressing data: the decompressor was moved from");
        z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
        z_->avail_in = static_cast<uInt>(std::min<std::size_t>(input.size(), std::numeric_limits<uInt>::max()));
        rest_ = input.substr(z_->avail_in);
        exhausted_ = false;
        return pieces(this);
    }

    // Ends the stream. Throws gzip_error unless the whole gzip member,
    // trailer included, was fed: the data was truncated. The pieces it
    // returns are always empty (feed() has given all there is); the range
    // is there so a caller can treat the end like any chunk.
    pieces finish() {
        if (!eof_) throw gzip_error("Error -5 while decompressing data: incomplete or truncated stream");
        return feed({});
    }

    // Decompresses a chunk at once and returns all its output.
    std::string decompress(std::string_view input) {
        std::string out;
        for (std::string_view piece : feed(input)) out += piece;
        return out;
    }

    // Whether the end of the gzip member has been seen.
    bool eof() const noexcept { return eof_; }
    // Decompressed bytes produced so far.
    std::uint64_t total_out() const noexcept { return total_out_; }

private:
    // Makes the next non-empty piece, or marks the current feed exhausted.
    void next() {
        piece_ = {};
        for (;;) {
            if (broken_) throw gzip_error("Error while decompressing data: the stream is corrupt");
            if (z_->avail_in == 0 && !rest_.empty()) {  // inputs past 4 GiB go in slices
                z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(rest_.data()));
                z_->avail_in = static_cast<uInt>(std::min<std::size_t>(rest_.size(), std::numeric_limits<uInt>::max()));
                rest_.remove_prefix(z_->avail_in);
            }
            if (eof_) {  // whatever follows the member is dropped, as in Tornado
                z_->avail_in = 0;
                rest_ = {};
                pending_output_ = false;
            }
            if (z_->avail_in == 0 && !pending_output_) {
                exhausted_ = true;
                return;
            }
            // One byte more than max_output allows is how passing it shows,
            // so nothing beyond the limit is ever produced.
            std::size_t room = piece_size_;
            if (max_output_ != unlimited)
                room = static_cast<std::size_t>(std::min<std::uint64_t>(room, std::uint64_t{max_output_} + 1 - total_out_));
            if (buffer_.size() < room) buffer_.resize(std::max(room, std::min<std::size_t>(piece_size_, 16 * 1024)));
            z_->next_out = reinterpret_cast<Bytef*>(buffer_.data());
            z_->avail_out = static_cast<uInt>(room);
            const uInt in_before = z_->avail_in;
            const int rc = ::inflate(z_.get(), Z_NO_FLUSH);
            const std::size_t produced = room - z_->avail_out;
            total_out_ += produced;
            pending_output_ = z_->avail_out == 0;  // the room filled up: more may be waiting
            if (max_output_ != unlimited && total_out_ > max_output_) {
                broken_ = true;
                throw gzip_limit_error(
                    fmt::format("Decompressed data is larger than the limit of {} bytes", max_output_));
            }
            switch (rc) {
                case Z_OK: break;
                case Z_STREAM_END: eof_ = true; break;
                case Z_BUF_ERROR:  // no progress possible: it needs more input
                    if (produced == 0 && z_->avail_in == in_before) {
                        pending_output_ = false;
                        z_->avail_in = 0;  // (none is left: inflate takes all it can)
                    }
                    break;
                default: {
                    broken_ = true;
                    const int code = rc == Z_NEED_DICT ? Z_DATA_ERROR : rc;
                    throw gzip_error(fmt::format("Error {} while decompressing data: {}", code,
                                                 z_->msg ? z_->msg : "invalid data"));
                }
            }
            if (produced > 0) {
                piece_ = std::string_view(buffer_.data(), produced);
                return;
            }
        }
    }

    void end() noexcept {
        if (z_) inflateEnd(z_.get());
        z_.reset();
    }

    std::unique_ptr<z_stream> z_;
    std::size_t piece_size_;
    std::size_t max_output_;
    std::uint64_t total_out_ = 0;
    std::string buffer_;       // holds the current piece; reused
    std::string_view piece_;
    std::string_view rest_;    // input beyond what avail_in can describe
    bool pending_output_ = false;
    bool exhausted_ = true;
    bool eof_ = false;
    bool broken_ = false;
};

class gzip_compressor {
public:
    // Tornado's GZipContentEncoding.GZIP_LEVEL.
    static constexpr int default_level = 6;

    // level: 0 (stored) to 9 (smallest). mtime: the header's timestamp in
    // seconds since the epoch; now when not given, as Python's GzipFile.
    explicit gzip_compressor(int level = default_level, std::optional<std::uint32_t> mtime = std::nullopt)
        : state_(std::make_unique<state>()) {
        if (level < 0 || level > 9) throw std::invalid_argument("gzip_compressor: level must be 0 to 9");
        int rc = deflateInit2(&state_->z, level, Z_DEFLATED, gzip_window_bits, 8, Z_DEFAULT_STRATEGY);
        if (rc != Z_OK) {
            state_.reset();
            throw gzip_error(fmt::format("Error {} while preparing to compress", rc));
        }
        state_->header.time = mtime ? *mtime : static_cast<uLong>(std::time(nullptr));
        state_->header.os = 255;  // "unknown", as GzipFile writes
        deflateSetHeader(&state_->z, &state_->header);
    }

    gzip_compressor(gzip_compressor&&) noexcept = default;
    gzip_compressor& operator=(gzip_compressor&& other) noexcept {
        if (this != &other) {
            end();
            state_ = std::move(other.state_);
        }
        return *this;
    }
    ~gzip_compressor() { end(); }

    // Compresses data; returns what zlib emits now (often nothing yet).
    std::string compress(std::string_view data) {
        std::string out;
        run(data, Z_NO_FLUSH, out);
        return out;
    }

    // Emits everything compressed so far, so the reader can decode all of it
    // now (Z_SYNC_FLUSH, as GzipFile.flush()).
    std::string flush() {
        std::string out;
        run({}, Z_SYNC_FLUSH, out);
        return out;
    }

    // Ends the stream with the gzip trailer; nothing may follow.
    std::string finish() {
        std::string out;
        run({}, Z_FINISH, out);
        return out;
    }

    // Tornado's GZipContentEncoding.transform_chunk: the chunk compressed
    // and flushed or, when finishing, compressed and the stream ended.
    std::string transform_chunk(std::string_view chunk, bool finishing) {
        std::string out;
        run(chunk, finishing ? Z_FINISH : Z_SYNC_FLUSH, out);
        return out;
    }

    // The same, appending to `out` (to reuse a buffer).
    void transform_chunk(std::string_view chunk, bool finishing, std::string& out) {
        run(chunk, finishing ? Z_FINISH : Z_SYNC_FLUSH, out);
    }

    bool finished() const noexcept { return !state_ || state_->finished; }

private:
    struct state {
        z_stream z{};
        gz_header header{};  // zlib reads it when it writes the header
        bool finished = false;
    };

    void run(std::string_view data, int flush, std::string& out) {
        if (!state_ || state_->finished) throw gzip_error("Error while compressing data: the stream is finished");
        z_stream& z = state_->z;
        constexpr std::size_t max_slice = std::size_t{1} << 30;  // avail_in is 32 bits
        for (;;) {
            const std::string_view slice = data.substr(0, max_slice);
            const bool last = slice.size() == data.size();
            const int slice_flush = last ? flush : Z_NO_FLUSH;
            z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(slice.data()));
            z.avail_in = static_cast<uInt>(slice.size());
            // A call that leaves output room unused has taken all the input
            // and completed the flush; Z_FINISH goes on to Z_STREAM_END.
            for (;;) {
                const std::size_t offset = out.size();
                const std::size_t room = std::max<std::size_t>(4096, deflateBound(&z, z.avail_in) / 2);
                out.resize(offset + room);
                z.next_out = reinterpret_cast<Bytef*>(out.data() + offset);
                z.avail_out = static_cast<uInt>(room);
                const int rc = ::deflate(&z, slice_flush);
                out.resize(offset + (room - z.avail_out));
                if (rc == Z_STREAM_END) {
                    state_->finished = true;
                    return;
                }
                if (rc == Z_BUF_ERROR) break;  // nothing to do: a flush with no new input
                if (rc != Z_OK)
                    throw gzip_error(fmt::format("Error {} while compressing data: {}", rc,
                                                 z.msg ? z.msg : "deflate failed"));
                if (z.avail_out != 0 && slice_flush != Z_FINISH) break;
            }
            data.remove_prefix(slice.size());
            if (last) return;
        }
    }

    void end() noexcept {
        if (state_) deflateEnd(&state_->z);
        state_.reset();
    }

    std::unique_ptr<state> state_;
};

// One-shot helpers: a whole body compressed as Tornado would send it in one
// chunk, and a whole body decompressed (truncation is an error).
inline std::string gzip_compress(std::string_view data, int level = gzip_compressor::default_level,
                                 std::optional<std::uint32_t> mtime = std::nullopt) {
    return gzip_compressor(level, mtime).transform_chunk(data, true);
}

inline std::string gzip_decompress(std::string_view data,
                                   std::size_t max_output = gzip_decompressor::unlimited) {
    gzip_decompressor d(65536, max_output);
    std::string out = d.decompress(data);
    d.finish();
    return out;
}

}  // namespace gale::detail
