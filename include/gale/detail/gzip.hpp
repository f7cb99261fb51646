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

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config.hpp"

struct z_stream_s;  // zlib's z_stream, known here by its tag only (<zlib.h> is in impl/gzip.ipp)

namespace gale::detail {

// Corrupt or truncated gzip data, or a failure inside zlib.
struct gzip_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The decompressed output passed the decompressor's max_output.
struct gzip_limit_error : gzip_error {
    using gzip_error::gzip_error;
};

class gzip_decompressor {
public:
    static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

    // piece_size: the most bytes one piece of output holds (Tornado passes
    // the connection's chunk_size). max_output: the most bytes produced in
    // all, past which gzip_limit_error is thrown.
    explicit gzip_decompressor(std::size_t piece_size = 65536, std::size_t max_output = unlimited);

    gzip_decompressor(gzip_decompressor&& other) noexcept;
    gzip_decompressor& operator=(gzip_decompressor&& other) noexcept;
    ~gzip_decompressor();

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
    pieces feed(std::string_view input);

    // Ends the stream. Throws gzip_error unless the whole gzip member,
    // trailer included, was fed: the data was truncated. The pieces it
    // returns are always empty (feed() has given all there is); the range
    // is there so a caller can treat the end like any chunk.
    pieces finish();

    // Decompresses a chunk at once and returns all its output.
    std::string decompress(std::string_view input);

    // Whether the end of the gzip member has been seen.
    bool eof() const noexcept { return eof_; }
    // Decompressed bytes produced so far.
    std::uint64_t total_out() const noexcept { return total_out_; }

private:
    // Makes the next non-empty piece, or marks the current feed exhausted.
    void next();

    void end() noexcept;

    std::unique_ptr<z_stream_s> z_;
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
    explicit gzip_compressor(int level = default_level, std::optional<std::uint32_t> mtime = std::nullopt);

    gzip_compressor(gzip_compressor&&) noexcept;
    gzip_compressor& operator=(gzip_compressor&& other) noexcept;
    ~gzip_compressor();

    // Compresses data; returns what zlib emits now (often nothing yet).
    std::string compress(std::string_view data);

    // Emits everything compressed so far, so the reader can decode all of it
    // now (Z_SYNC_FLUSH, as GzipFile.flush()).
    std::string flush();

    // Ends the stream with the gzip trailer; nothing may follow.
    std::string finish();

    // Tornado's GZipContentEncoding.transform_chunk: the chunk compressed
    // and flushed or, when finishing, compressed and the stream ended.
    std::string transform_chunk(std::string_view chunk, bool finishing);

    // The same, appending to `out` (to reuse a buffer).
    void transform_chunk(std::string_view chunk, bool finishing, std::string& out);

    bool finished() const noexcept;

private:
    struct state;  // zlib's stream and gzip header

    void run(std::string_view data, int flush, std::string& out);

    void end() noexcept;

    std::unique_ptr<state> state_;
};

// One-shot helpers: a whole body compressed as Tornado would send it in one
// chunk, and a whole body decompressed (truncation is an error).
GALE_DECL std::string gzip_compress(std::string_view data, int level = gzip_compressor::default_level,
                                    std::optional<std::uint32_t> mtime = std::nullopt);

GALE_DECL std::string gzip_decompress(std::string_view data,
                                      std::size_t max_output = gzip_decompressor::unlimited);

}  // namespace gale::detail

#if GALE_HEADER_ONLY
#include "../impl/gzip.ipp"
#endif
