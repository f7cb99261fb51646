// Replaces the global operator new and delete with malloc/free plus a
// counter. Kept in its own translation unit so the replacements are never
// inlined into code that g++ would then flag as mismatched new/free.
//
// Asio's recycling allocator (which holds awaitable frames and handler
// memory) calls std::aligned_alloc directly rather than operator new, so
// aligned_alloc is replaced as well; without it Asio's allocations would go
// uncounted. It forwards to posix_memalign, whose memory free() releases.
//
// Every thread gets its own counter slot, written only by that thread, so
// counting costs a plain load and store rather than a locked instruction.

#include "alloc_count.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace alloc_count {
namespace {

constexpr int max_threads = 16;

struct alignas(64) slot {
    std::atomic<std::uint64_t> allocations{0};
};

slot slots[max_threads];
std::atomic<int> next_slot{0};
thread_local int my_slot = -1;

void note_allocation() noexcept {
    int s = my_slot;
    if (s < 0) {
        s = std::min(next_slot.fetch_add(1, std::memory_order_relaxed), max_threads - 1);
        my_slot = s;
    }
    auto& counter = slots[s].allocations;
    if (s == max_threads - 1) counter.fetch_add(1, std::memory_order_relaxed);  // may be shared
    else counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void* allocate(std::size_t size) noexcept {
    note_allocation();
    return std::malloc(size ? size : 1);
}

void* allocate_aligned(std::size_t size, std::size_t align) noexcept {
    note_allocation();
    void* p = nullptr;
    if (posix_memalign(&p, std::max(align, sizeof(void*)), size ? size : 1) != 0) return nullptr;
    return p;
}

}  // namespace

std::uint64_t total() noexcept {
    std::uint64_t sum = 0;
    for (auto& s : slots) sum += s.allocations.load(std::memory_order_relaxed);
    return sum;
}

}  // namespace alloc_count

extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
    return alloc_count::allocate_aligned(size, alignment);
}

void* operator new(std::size_t size) {
    if (void* p = alloc_count::allocate(size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    if (void* p = alloc_count::allocate(size)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return alloc_count::allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return alloc_count::allocate(size); }
void* operator new(std::size_t size, std::align_val_t align) {
    if (void* p = alloc_count::allocate_aligned(size, std::size_t(align))) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) {
    if (void* p = alloc_count::allocate_aligned(size, std::size_t(align))) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
    return alloc_count::allocate_aligned(size, std::size_t(align));
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
    return alloc_count::allocate_aligned(size, std::size_t(align));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
