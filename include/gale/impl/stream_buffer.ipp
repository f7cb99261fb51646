// Definitions for detail/stream_buffer.hpp: the block pool and the buffer's
// growth. Compiled in every translation unit in header-only mode, or once by
// <gale/src.hpp> with GALE_SEPARATE_COMPILATION; see detail/config.hpp.
#pragma once

#include "../detail/stream_buffer.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace gale::detail {

GALE_DECL char* stream_block_pool::acquire() {
    if (stream_block_pool* pool = local(); pool && pool->count_ > 0) return pool->free_[--pool->count_];
    return static_cast<char*>(::operator new(block_size));
}

GALE_DECL void stream_block_pool::recycle(char* block) noexcept {
    stream_block_pool* pool = local();
    if (pool && pool->count_ < max_cached) pool->free_[pool->count_++] = block;
    else ::operator delete(block);
}

GALE_DECL stream_block_pool::~stream_block_pool() {
    while (count_ > 0) ::operator delete(free_[--count_]);
    destroyed() = true;
}

GALE_DECL stream_block_pool* stream_block_pool::local() noexcept {
    if (destroyed()) return nullptr;
    thread_local stream_block_pool pool;
    return &pool;
}

GALE_DECL bool& stream_block_pool::destroyed() noexcept {
    thread_local bool flag = false;  // trivially destructible: valid until the thread ends
    return flag;
}

GALE_DECL std::span<char> stream_buffer::prepare(std::size_t limit) {
    if (!data_) {
        data_ = stream_block_pool::acquire();
        capacity_ = stream_block_pool::block_size;
    } else if (capacity_ - end_ < min_read) {
        // Compacting moves at most half a block; otherwise doubling keeps
        // the copies of a large message amortised.
        if (begin_ >= capacity_ / 2) move_to(data_, capacity_);
        else move_to(allocate(capacity_ * 2), capacity_ * 2);
    }
    return {data_ + end_, std::min(capacity_ - end_, limit)};
}

GALE_DECL void stream_buffer::reserve(std::size_t total) {
    if (total <= capacity_ - begin_) return;
    if (total <= capacity_) move_to(data_, capacity_);
    else move_to(allocate(total), total);
}

GALE_DECL char* stream_buffer::allocate(std::size_t size) {
    return size == stream_block_pool::block_size ? stream_block_pool::acquire()
                                                 : static_cast<char*>(::operator new(size));
}

GALE_DECL void stream_buffer::free_storage() noexcept {
    if (!data_) return;
    if (capacity_ == stream_block_pool::block_size) stream_block_pool::recycle(data_);
    else ::operator delete(data_);
    data_ = nullptr;
    capacity_ = begin_ = end_ = 0;
}

GALE_DECL void stream_buffer::move_to(char* target, std::size_t target_capacity) noexcept {
    std::size_t n = size();
    if (n > 0) std::memmove(target, data_ + begin_, n);
    if (target != data_) {
        free_storage();
        data_ = target;
        capacity_ = target_capacity;
    }
    begin_ = 0;
    end_ = n;
}

}  // namespace gale::detail
