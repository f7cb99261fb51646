// Tornado's tornado.queues: queues that coordinate producer and consumer coroutines.
//
//   Queue<T>(maxsize = 0)                          // 0: unbounded
//     put(item, timeout = nullopt)   awaitable; waits while full, TimeoutError
//     get(timeout = nullopt) -> T    awaitable; waits while empty, TimeoutError
//     put_nowait(item) / get_nowait()              // throw QueueFull / QueueEmpty
//     qsize() empty() full() maxsize()
//     task_done(); join(timeout = nullopt)         // wait until every item is done
//   PriorityQueue<T, Compare = std::less<T>>       // smallest first, like heapq
//   LifoQueue<T>                                   // newest first
//
//   gale::Queue<int> q(2);
//   gale::task<void> consumer() {
//       for (;;) { int item = co_await q.get(); co_await work(item); q.task_done(); }
//   }
//   gale::task<void> producer() { for (int i = 0; i < 5; ++i) co_await q.put(i); }
//
// Like Tornado's, these queues belong to one loop and are not thread-safe
// (from another thread, go through IOLoop::add_callback). Getters and putters
// are served first come, first served; a put into an empty queue that has a
// getter waiting hands the item straight to that getter. A timeout is either
// a duration or a deadline (an IOLoop::time_point). A waiter that times out,
// or whose scope is cancelled (it then throws CancelledError), leaves the
// queue at once: it never receives an item later, and its own item is not put.
//
// Where C++ differs from Tornado: put() and get() return awaitables that do
// nothing until awaited (Tornado's put() acts at once even if nobody awaits
// it), so an unawaited put() puts nothing; use put_nowait() for that. Prefer
// get(timeout) to gale::with_timeout(d, q.get()): with_timeout gives up on a
// getter that was handed an item in the same turn its deadline passed, and
// that item is dropped; the queue's own timeout decides one way or the other.
#pragma once

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "detail/waiters.hpp"
#include "ioloop.hpp"
#include "locks.hpp"

namespace gale {

// Raised by get_nowait() when the queue has no items.
struct QueueEmpty : std::runtime_error {
    QueueEmpty() : std::runtime_error("queue is empty") {}
};

// Raised by put_nowait() when the queue is at its maxsize.
struct QueueFull : std::runtime_error {
    QueueFull() : std::runtime_error("queue is full") {}
};

namespace detail {

template <class T>
class fifo_store {
public:
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& item) { items_.push_back(std::move(item)); }
    T pop() {
        T item = std::move(items_.front());
        items_.pop_front();
        return item;
    }

private:
    std::deque<T> items_;
};

template <class T>
class lifo_store {
public:
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& item) { items_.push_back(std::move(item)); }
    T pop() {
        T item = std::move(items_.back());
        items_.pop_back();
        return item;
    }

private:
    std::vector<T> items_;
};

// A binary heap with the smallest item (by Compare) on top, as Python's heapq.
template <class T, class Compare>
class heap_store {
public:
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& item) {
        items_.push_back(std::move(item));
        std::push_heap(items_.begin(), items_.end(), greater());
    }
    T pop() {
        std::pop_heap(items_.begin(), items_.end(), greater());
        T item = std::move(items_.back());
        items_.pop_back();
        return item;
    }

private:
    // std's heap functions keep the largest on top; inverting the order keeps the smallest.
    auto greater() const {
        return [this](const T& a, const T& b) { return less_(b, a); };
    }

    std::vector<T> items_;
    [[no_unique_address]] Compare less_;
};

}  // namespace detail

// A queue whose order is given by Store, which has size(), push(T&&) and
// pop() -> T (the next item to hand out). Queue, PriorityQueue and LifoQueue
// are its instances; Store plays the part of Tornado's _init/_put/_get.
template <class T, class Store>
class basic_queue {
public:
    using value_type = T;

    explicit basic_queue(std::size_t maxsize = 0) : maxsize_(maxsize) { finished_.set(); }
    basic_queue(const basic_queue&) = delete;
    basic_queue& operator=(const basic_queue&) = delete;

    // Number of items allowed in the queue; 0 means unbounded.
    std::size_t maxsize() const noexcept { return maxsize_; }
    // Number of items in the queue.
    std::size_t qsize() const noexcept { return store_.size(); }
    bool empty() const noexcept { return qsize() == 0; }
    bool full() const noexcept { return maxsize_ != 0 && qsize() >= maxsize_; }

    // What put() returns: awaiting it puts the item, waiting for room.
    class [[nodiscard]] put_operation {
    public:
        put_operation(basic_queue& queue, T item, std::optional<IOLoop::time_point> deadline)
            : queue_(&queue), item_(std::move(item)), deadline_(deadline) {}

        class awaiter : detail::waiter {
        public:
            explicit awaiter(put_operation&& op)
                : queue_(op.queue_), item_(std::move(op.item_)), deadline_(op.deadline_) {}
            bool await_ready() { return queue_->try_put(item_); }
            template <class Promise>
            bool await_suspend(std::coroutine_handle<Promise> h) {
                return park(h, queue_->putters_, deadline_);
            }
            void await_resume() const { throw_if_failed(); }

        private:
            friend class basic_queue;
            basic_queue* queue_;
            T item_;  // taken by the getter that makes room
            std::optional<IOLoop::time_point> deadline_;
        };

        awaiter operator co_await() && { return awaiter(std::move(*this)); }

    private:
        basic_queue* queue_;
        T item_;
        std::optional<IOLoop::time_point> deadline_;
    };

    // What get() returns: awaiting it yields the next item, waiting for one.
    class [[nodiscard]] get_operation {
    public:
        get_operation(basic_queue& queue, std::optional<IOLoop::time_point> deadline)
            : queue_(&queue), deadline_(deadline) {}

        class awaiter : detail::waiter {
        public:
            explicit awaiter(const get_operation& op) : queue_(op.queue_), deadline_(op.deadline_) {}
            bool await_ready() { return queue_->try_get(item_); }
            template <class Promise>
            bool await_suspend(std::coroutine_handle<Promise> h) {
                return park(h, queue_->getters_, deadline_);
            }
            T await_resume() {
                throw_if_failed();
                return std::move(*item_);
            }

        private:
            friend class basic_queue;
            basic_queue* queue_;
            std::optional<T> item_;  // handed over by a put
            std::optional<IOLoop::time_point> deadline_;
        };

        awaiter operator co_await() && { return awaiter(*this); }

    private:
        basic_queue* queue_;
        std::optional<IOLoop::time_point> deadline_;
    };

    // Puts an item, waiting while the queue is full; throws TimeoutError once
    // the timeout passes (the item is then not put).
    put_operation put(T item, std::optional<IOLoop::duration> timeout = std::nullopt) {
        return {*this, std::move(item), detail::deadline_after(timeout)};
    }
    put_operation put(T item, IOLoop::time_point deadline) { return {*this, std::move(item), deadline}; }

    // Puts an item without waiting; throws QueueFull if there is no room.
    void put_nowait(T item) {
        if (!try_put(item)) throw QueueFull();
    }

    // Removes and returns an item, waiting while the queue is empty; throws
    // TimeoutError once the timeout passes.
    get_operation get(std::optional<IOLoop::duration> timeout = std::nullopt) {
        return {*this, detail::deadline_after(timeout)};
    }
    get_operation get(IOLoop::time_point deadline) { return {*this, deadline}; }

    // Removes and returns an item without waiting; throws QueueEmpty if there is none.
    T get_nowait() {
        std::optional<T> item;
        if (!try_get(item)) throw QueueEmpty();
        return std::move(*item);
    }

    // Tells the queue that the processing of an item got earlier is complete.
    // join() returns once every put item has been matched by a task_done().
    // Throws std::logic_error if called more times than items were put.
    void task_done() {
        if (unfinished_tasks_ == 0) throw std::logic_error("task_done() called too many times");
        if (--unfinished_tasks_ == 0) finished_.set();
    }

    // Waits until every item put has been processed; throws TimeoutError once
    // the timeout passes.
    Event::wait_operation join(std::optional<IOLoop::duration> timeout = std::nullopt) {
        return finished_.wait(timeout);
    }
    Event::wait_operation join(IOLoop::time_point deadline) { return finished_.wait(deadline); }

private:
    // Puts `item` (moving from it) if there is room or a getter waiting.
    bool try_put(T& item) {
        if (!getters_.empty()) {
            // A waiting getter means the queue is empty: the item goes straight to it.
            auto& getter = static_cast<typename get_operation::awaiter&>(getters_.front());
            getter.item_.emplace(std::move(item));
            note_put();
            getters_.pop_front();
            getter.wake();
            return true;
        }
        if (full()) return false;
        store_.push(std::move(item));
        note_put();
        return true;
    }

    // Takes the next item into `out`, if there is one; a waiting putter's item
    // moves in to take its place.
    bool try_get(std::optional<T>& out) {
        if (!putters_.empty()) {
            auto& putter = static_cast<typename put_operation::awaiter&>(putters_.front());
            store_.push(std::move(putter.item_));
            note_put();
            putters_.pop_front();
            putter.wake();
        }
        if (empty()) return false;
        out.emplace(store_.pop());
        return true;
    }

    void note_put() {
        ++unfinished_tasks_;
        finished_.clear();
    }

    std::size_t maxsize_;
    Store store_;
    detail::waiter_list getters_;
    detail::waiter_list putters_;
    std::size_t unfinished_tasks_ = 0;
    Event finished_;
};

// First in, first out.
template <class T>
using Queue = basic_queue<T, detail::fifo_store<T>>;

// Hands out the smallest item first (by Compare), as Tornado's heapq-based
// PriorityQueue; items are typically pairs of (priority, data).
template <class T, class Compare = std::less<T>>
using PriorityQueue = basic_queue<T, detail::heap_store<T, Compare>>;

// Hands out the most recently put item first.
template <class T>
using LifoQueue = basic_queue<T, detail::lifo_store<T>>;

}  // namespace gale
