// The read buffer of an IOStream: one contiguous block holding the bytes
// received and not yet consumed, so a parser can work in place over them.
//
// Blocks of the standard size are recycled through a small per-thread pool.
// A stream hands its block back whenever it goes idle with nothing buffered
// (see IOStream), so an idle connection holds no read memory at all, and a
// busy one reuses a warm block instead of allocating per request. Larger
// blocks, grown for big messages, are freed as soon as they empty.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "config.hpp"

namespace gale::detail {

class stream_block_pool {
public:
    static constexpr std::size_t block_size = 16 * 1024;
    static constexpr std::size_t max_cached = 32;

    static char* acquire();
    static void recycle(char* block) noexcept;

    stream_block_pool() = default;
    stream_block_pool(const stream_block_pool&) = delete;
    stream_block_pool& operator=(const stream_block_pool&) = delete;
    ~stream_block_pool();

private:
    // Null once the thread's pool is gone: streams destroyed later in thread
    // teardown (by a loop owned by another thread_local) then free directly.
    static stream_block_pool* local() noexcept;
    static bool& destroyed() noexcept;

    std::array<char*, max_cached> free_{};
    std::size_t count_ = 0;
};

class stream_buffer {
public:
    // Reads into the buffer aim for at least this much free space.
    static constexpr std::size_t min_read = 4096;

    stream_buffer() = default;
    stream_buffer(const stream_buffer&) = delete;
    stream_buffer& operator=(const stream_buffer&) = delete;
    ~stream_buffer() { free_storage(); }

    std::string_view data() const noexcept { return {data_ + begin_, end_ - begin_}; }
    std::size_t size() const noexcept { return end_ - begin_; }
    bool empty() const noexcept { return begin_ == end_; }
    std::size_t capacity() const noexcept { return capacity_; }

    // Drops the first n buffered bytes (n <= size()).
    void consume(std::size_t n) noexcept {
        begin_ += n;
        if (begin_ == end_) {
            begin_ = end_ = 0;
            if (capacity_ > stream_block_pool::block_size) free_storage();
        }
    }

    // Free space to receive into, at most `limit` bytes (limit > 0). The
    // buffer compacts or grows so a read is never starved to a few bytes.
    std::span<char> prepare(std::size_t limit);

    // Marks n bytes of the span from prepare() as received.
    void commit(std::size_t n) noexcept { end_ += n; }

    // Makes room for `total` buffered bytes in all, so a read of known size
    // does not grow the block step by step.
    void reserve(std::size_t total);

    // Hands the block back when nothing is buffered (an idle stream).
    void release() noexcept {
        if (empty()) free_storage();
    }

private:
    static char* allocate(std::size_t size);
    void free_storage() noexcept;
    // Moves the buffered bytes to the start of `target` (which may be the
    // current block), adopting it.
    void move_to(char* target, std::size_t target_capacity) noexcept;

    char* data_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

}  // namespace gale::detail

#if GALE_HEADER_ONLY
#include "../impl/stream_buffer.ipp"
#endif
