// Definitions for detail/gzip.hpp: compiled in every translation unit that
// includes it in header-only mode, once (by <gale/src.hpp>) in separate
// compilation mode; see detail/config.hpp. zlib itself is included here
// only, so a file that includes gale's headers does not parse <zlib.h>.
#pragma once

#include "../detail/gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <ctime>

#include <fmt/core.h>

namespace gale::detail {

// zlib's 16 + MAX_WBITS: gzip header and trailer, 32 KiB window.
inline constexpr int gzip_window_bits = 16 + MAX_WBITS;

GALE_DECL gzip_decompressor::gzip_decompressor(std::size_t piece_size, std::size_t max_output)
    : z_(std::make_unique<z_stream>()),  // on the heap: zlib keeps a pointer back to it
      piece_size_(std::clamp<std::size_t>(piece_size, 1, std::size_t{1} << 30)),
      max_output_(max_output) {
    int rc = inflateInit2(z_.get(), gzip_window_bits);
    if (rc != Z_OK) {
        z_.reset();
        throw gzip_error(fmt::format("Error {} while preparing to decompress", rc));
    }
}

GALE_DECL gzip_decompressor::gzip_decompressor(gzip_decompressor&& other) noexcept = default;

GALE_DECL gzip_decompressor& gzip_decompressor::operator=(gzip_decompressor&& other) noexcept {
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

GALE_DECL gzip_decompressor::pieces gzip_decompressor::feed(std::string_view input) {
    if (!z_) throw gzip_error("Error while decompressing data: the decompressor was moved from");
    z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    z_->avail_in = static_cast<uInt>(std::min<std::size_t>(input.size(), std::numeric_limits<uInt>::max()));
    rest_ = input.substr(z_->avail_in);
    exhausted_ = false;
    return pieces(this);
}

GALE_DECL gzip_decompressor::pieces gzip_decompressor::finish() {
    if (!eof_) throw gzip_error("Error -5 while decompressing data: incomplete or truncated stream");
    return feed({});
}

GALE_DECL gzip_decompressor::~gzip_decompressor() { end(); }

GALE_DECL std::string gzip_decompressor::decompress(std::string_view input) {
    std::string out;
    for (std::string_view piece : feed(input)) out += piece;
    return out;
}

GALE_DECL void gzip_decompressor::next() {
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

GALE_DECL void gzip_decompressor::end() noexcept {
    if (z_) inflateEnd(z_.get());
    z_.reset();
}

struct gzip_compressor::state {
    z_stream z{};
    gz_header header{};  // zlib reads it when it writes the header
    bool finished = false;
};

GALE_DECL gzip_compressor::gzip_compressor(int level, std::optional<std::uint32_t> mtime)
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

GALE_DECL gzip_compressor::gzip_compressor(gzip_compressor&&) noexcept = default;

GALE_DECL gzip_compressor& gzip_compressor::operator=(gzip_compressor&& other) noexcept {
    if (this != &other) {
        end();
        state_ = std::move(other.state_);
    }
    return *this;
}

GALE_DECL gzip_compressor::~gzip_compressor() { end(); }

GALE_DECL std::string gzip_compressor::compress(std::string_view data) {
    std::string out;
    run(data, Z_NO_FLUSH, out);
    return out;
}

GALE_DECL std::string gzip_compressor::flush() {
    std::string out;
    run({}, Z_SYNC_FLUSH, out);
    return out;
}

GALE_DECL std::string gzip_compressor::finish() {
    std::string out;
    run({}, Z_FINISH, out);
    return out;
}

GALE_DECL std::string gzip_compressor::transform_chunk(std::string_view chunk, bool finishing) {
    std::string out;
    run(chunk, finishing ? Z_FINISH : Z_SYNC_FLUSH, out);
    return out;
}

GALE_DECL void gzip_compressor::transform_chunk(std::string_view chunk, bool finishing, std::string& out) {
    run(chunk, finishing ? Z_FINISH : Z_SYNC_FLUSH, out);
}

GALE_DECL bool gzip_compressor::finished() const noexcept { return !state_ || state_->finished; }

GALE_DECL void gzip_compressor::run(std::string_view data, int flush, std::string& out) {
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

GALE_DECL void gzip_compressor::end() noexcept {
    if (state_) deflateEnd(&state_->z);
    state_.reset();
}

GALE_DECL std::string gzip_compress(std::string_view data, int level,
                                    std::optional<std::uint32_t> mtime) {
    return gzip_compressor(level, mtime).transform_chunk(data, true);
}

GALE_DECL std::string gzip_decompress(std::string_view data,
                                      std::size_t max_output) {
    gzip_decompressor d(65536, max_output);
    std::string out = d.decompress(data);
    d.finish();
    return out;
}

}  // namespace gale::detail
