// A per-thread recycling allocator for coroutine frames. A request handler
// creates and destroys the same few frame sizes over and over; keeping a
// short free list per size class turns those into pointer swaps.
#pragma once

#include <array>
#include <cstddef>
#include <new>

namespace gale::detail {

class frame_pool {
public:
    static constexpr std::size_t granule = 64;
    static constexpr std::size_t class_count = 32;  // frames up to 2 KiB are recycled
    // Each size class keeps up to 64 KiB of free frames: a gather of a
    // thousand small tasks recycles all of them, and big frames stay few.
    static constexpr std::size_t max_cached_bytes_per_class = 64 * 1024;

    explicit frame_pool(bool& destroyed_flag) : destroyed_(destroyed_flag) {}
    frame_pool(const frame_pool&) = delete;
    frame_pool& operator=(const frame_pool&) = delete;
    ~frame_pool() {
        destroyed_ = true;
        for (auto& list : lists_) {
            while (list.head) {
                free_block* next = list.head->next;
                release(list.head);
                list.head = next;
            }
        }
    }

    void* allocate(std::size_t size) {
        std::size_t index = class_of(size);
        if (index < class_count) {
            auto& list = lists_[index];
            if (list.head) {
                free_block* block = list.head;
                list.head = block->next;
                --list.count;
                return block;
            }
            return allocate_fresh((index + 1) * granule);
        }
        return allocate_fresh(size);
    }

    void deallocate(void* p, std::size_t size) noexcept {
        std::size_t index = class_of(size);
        if (index < class_count &&
            lists_[index].count < max_cached_bytes_per_class / ((index + 1) * granule)) {
            auto& list = lists_[index];
            list.head = ::new (p) free_block{list.head};
            ++list.count;
            return;
        }
        release(p);
    }

    // The calling thread's pool, or null once the thread's pool has been
    // destroyed at thread exit (a frame freed later by another thread_local's
    // destructor then goes straight to the global operator delete).
    static frame_pool* local() noexcept {
        thread_local bool destroyed = false;  // trivially destructible: valid to the end
        thread_local frame_pool pool(destroyed);
        return destroyed ? nullptr : &pool;
    }

    // The slow paths stay out of line: besides keeping the fast path small,
    // this stops GCC from pairing the global operator new it would otherwise
    // see through inlining with the class operator delete of coroutine frames
    // (a false -Wmismatched-new-delete).
    [[gnu::noinline]] static void* allocate_fresh(std::size_t size) { return ::operator new(size); }
    [[gnu::noinline]] static void release(void* p) noexcept { ::operator delete(p); }

private:
    struct free_block {
        free_block* next;
    };
    struct free_list {
        free_block* head = nullptr;
        std::size_t count = 0;
    };

    static std::size_t class_of(std::size_t size) { return (size + granule - 1) / granule - 1; }

    std::array<free_list, class_count> lists_{};
    bool& destroyed_;
};

#if defined(__SANITIZE_ADDRESS__)
#define GALE_SANITIZING_ADDRESSES 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GALE_SANITIZING_ADDRESSES 1
#endif
#endif

#if defined(GALE_SANITIZING_ADDRESSES)
// Under AddressSanitizer frames come straight from the global heap, so a use
// of a freed frame is reported instead of hidden by recycling.
struct pooled_frame {};
#else
// Mixed into promise types so every gale coroutine frame uses the pool.
struct pooled_frame {
    static void* operator new(std::size_t size) {
        frame_pool* pool = frame_pool::local();
        return pool ? pool->allocate(size) : frame_pool::allocate_fresh(size);
    }
    static void operator delete(void* p, std::size_t size) noexcept {
        if (frame_pool* pool = frame_pool::local()) pool->deallocate(p, size);
        else frame_pool::release(p);
    }
};
#endif

}  // namespace gale::detail
