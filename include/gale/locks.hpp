// Tornado's tornado.locks: synchronization primitives for coroutines.
//
//   class Lock       { acquire(timeout = nullopt) -> Lock::guard;  release(); }
//   class Semaphore  { Semaphore(int value = 1); acquire(timeout) -> Semaphore::guard; release(); }
//   class BoundedSemaphore : Semaphore  // release() past the initial value throws
//   class Event      { is_set(); set(); clear(); wait(timeout = nullopt); }
//   class Condition  { wait(timeout = nullopt) -> bool; notify(n = 1); notify_all(); }
//
//   gale::Lock lock;
//   gale::task<void> update(Store& store) {
//       auto held = co_await lock.acquire();      // released when `held` goes
//       co_await store.write(co_await store.read() + 1);
//   }
//
// Like Tornado's, these coordinate the coroutines of one loop; they are not
// thread-safe. Waiters are served first come, first served, and resume on a
// later turn of the loop. Every timeout is either a duration or a deadline
// (an IOLoop::time_point); a wait that times out throws TimeoutError, except
// Condition::wait, which returns false. Every wait is also cancellable: under
// gale::with_timeout, or in any cancelled scope, it throws CancelledError and
// leaves the wait list, so it never receives the lock afterwards.
//
// Where C++ differs from Tornado: acquire() returns a guard, which releases
// when it is destroyed (Tornado's `with (yield lock.acquire()):`); the calls
// return awaitables that do nothing until awaited, so an acquire that is never
// awaited takes nothing.
#pragma once

#include <coroutine>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <utility>

#include "detail/waiters.hpp"
#include "ioloop.hpp"

namespace gale {

// Releases a held Lock or Semaphore when destroyed. Move-only. Release either
// through the guard or by hand (after dismiss()), not both: a Lock released
// twice throws, and from the guard's destructor that terminates.
template <class Primitive>
class [[nodiscard]] release_guard {
public:
    // A guard that holds nothing.
    release_guard() noexcept = default;
    // Adopts a permit the caller already holds.
    explicit release_guard(Primitive& held) noexcept : held_(&held) {}
    release_guard(release_guard&& other) noexcept : held_(std::exchange(other.held_, nullptr)) {}
    release_guard& operator=(release_guard&& other) {
        if (this != &other) {
            release();
            held_ = std::exchange(other.held_, nullptr);
        }
        return *this;
    }
    ~release_guard() { release(); }

    // True while the guard still has something to release.
    bool holds() const noexcept { return held_ != nullptr; }
    explicit operator bool() const noexcept { return holds(); }

    // Releases now rather than at destruction.
    void release() {
        if (held_) std::exchange(held_, nullptr)->release();
    }

    // Keeps the permit held and leaves its release to a later Primitive::release().
    void dismiss() noexcept { held_ = nullptr; }

private:
    Primitive* held_ = nullptr;
};

namespace detail {

// The counter behind Semaphore and Lock. A release with waiters hands its
// permit straight to the first one, so the value is positive only while
// nobody waits and a newcomer can never overtake a waiter.
class permit_pool {
public:
    explicit permit_pool(int value) : value_(value) {}

    int value() const noexcept { return value_; }
    waiter_list& waiters() noexcept { return waiters_; }

    bool try_take() noexcept {
        if (value_ == 0) return false;
        --value_;
        return true;
    }

    void give() {
        if (waiter* w = waiters_.pop_front()) w->wake();
        else ++value_;
    }

private:
    int value_;
    waiter_list waiters_;
};

// What Lock::acquire and Semaphore::acquire return: awaiting it takes a
// permit and yields a release_guard. It does nothing until awaited and moves
// cheaply, so it can be handed to gather or with_timeout.
template <class Primitive>
class [[nodiscard]] acquire_operation {
public:
    acquire_operation(Primitive& owner, permit_pool& permits, std::optional<IOLoop::time_point> deadline)
        : owner_(&owner), permits_(&permits), deadline_(deadline) {}

    class awaiter : waiter {
    public:
        explicit awaiter(const acquire_operation& op)
            : owner_(op.owner_), permits_(op.permits_), deadline_(op.deadline_) {}

        bool await_ready() noexcept { return permits_->try_take(); }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> h) {
            return park(h, permits_->waiters(), deadline_);
        }
        release_guard<Primitive> await_resume() const {
            throw_if_failed();
            return release_guard<Primitive>(*owner_);
        }

    private:
        Primitive* owner_;
        permit_pool* permits_;
        std::optional<IOLoop::time_point> deadline_;
    };

    awaiter operator co_await() && noexcept { return awaiter(*this); }

private:
    Primitive* owner_;
    permit_pool* permits_;
    std::optional<IOLoop::time_point> deadline_;
};

}  // namespace detail

// A counter of permits: acquire() takes one, waiting while there are none;
// release() gives one back. Raises std::invalid_argument for a negative value.
//
//   gale::Semaphore sem(2);                       // two workers at a time
//   gale::task<void> worker(int id) {
//       auto permit = co_await sem.acquire();
//       co_await use_some_resource(id);
//   }
class Semaphore {
public:
    using guard = release_guard<Semaphore>;

    explicit Semaphore(int value = 1) : Semaphore(value, false) {}
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    // Takes a permit, waiting for one if needed; throws TimeoutError once the
    // timeout passes. The permit is returned when the guard is destroyed.
    detail::acquire_operation<Semaphore> acquire(std::optional<IOLoop::duration> timeout = std::nullopt) {
        return {*this, permits_, detail::deadline_after(timeout)};
    }
    detail::acquire_operation<Semaphore> acquire(IOLoop::time_point deadline) {
        return {*this, permits_, deadline};
    }

    // Returns a permit, waking the longest waiter. A BoundedSemaphore throws
    // std::invalid_argument if that would exceed its initial value.
    void release() {
        if (bounded_ && permits_.value() >= initial_)
            throw std::invalid_argument("Semaphore released too many times");
        permits_.give();
    }

protected:
    Semaphore(int value, bool bounded) : permits_(checked(value)), initial_(value), bounded_(bounded) {}

private:
    static int checked(int value) {
        if (value < 0) throw std::invalid_argument("semaphore initial value must be >= 0");
        return value;
    }

    detail::permit_pool permits_;
    int initial_;
    bool bounded_;
};

// A Semaphore that refuses to be released more often than acquired: release()
// beyond the initial value throws std::invalid_argument, a sign of a bug.
class BoundedSemaphore : public Semaphore {
public:
    explicit BoundedSemaphore(int value = 1) : Semaphore(value, true) {}
};

// A lock for coroutines. It starts unlocked; acquire() locks it, waiting while
// another holder has it. Releasing an unlocked lock throws std::runtime_error.
//
//   auto held = co_await lock.acquire(1s);        // TimeoutError after 1s
//   held.release();                               // or let it go out of scope
class Lock {
public:
    using guard = release_guard<Lock>;

    Lock() = default;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

    // Locks, waiting for the holder to release; throws TimeoutError once the
    // timeout passes. The lock is released when the guard is destroyed.
    detail::acquire_operation<Lock> acquire(std::optional<IOLoop::duration> timeout = std::nullopt) {
        return {*this, permits_, detail::deadline_after(timeout)};
    }
    detail::acquire_operation<Lock> acquire(IOLoop::time_point deadline) { return {*this, permits_, deadline}; }

    // Unlocks; the first coroutine waiting in acquire() gets the lock.
    void release() {
        if (permits_.value() > 0) throw std::runtime_error("release unlocked lock");
        permits_.give();
    }

private:
    detail::permit_pool permits_{1};
};

// A flag coroutines can wait for: wait() returns at once while it is set and
// otherwise until set() is called (threading.Event for coroutines).
//
//   gale::Event ready;
//   co_await ready.wait(5s);                      // in one coroutine; TimeoutError after 5s
//   ready.set();                                  // in another: wakes every waiter
class Event {
public:
    Event() = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    bool is_set() const noexcept { return flag_; }

    // Sets the flag and wakes every waiter.
    void set() {
        flag_ = true;
        while (detail::waiter* w = waiters_.pop_front()) w->wake();
    }

    // Clears the flag; wait() blocks again until the next set(). Waiters woken
    // by an earlier set() still return normally.
    void clear() noexcept { flag_ = false; }

    // What wait() returns: awaiting it waits for the flag.
    class [[nodiscard]] wait_operation {
    public:
        wait_operation(Event& event, std::optional<IOLoop::time_point> deadline)
            : event_(&event), deadline_(deadline) {}

        class awaiter : detail::waiter {
        public:
            explicit awaiter(const wait_operation& op) : event_(op.event_), deadline_(op.deadline_) {}
            bool await_ready() const noexcept { return event_->flag_; }
            template <class Promise>
            bool await_suspend(std::coroutine_handle<Promise> h) {
                return park(h, event_->waiters_, deadline_);
            }
            void await_resume() const { throw_if_failed(); }

        private:
            Event* event_;
            std::optional<IOLoop::time_point> deadline_;
        };

        awaiter operator co_await() && noexcept { return awaiter(*this); }

    private:
        Event* event_;
        std::optional<IOLoop::time_point> deadline_;
    };

    // Waits until the flag is set; throws TimeoutError once the timeout passes.
    wait_operation wait(std::optional<IOLoop::duration> timeout = std::nullopt) {
        return {*this, detail::deadline_after(timeout)};
    }
    wait_operation wait(IOLoop::time_point deadline) { return {*this, deadline}; }

private:
    bool flag_ = false;
    detail::waiter_list waiters_;
};

// Lets coroutines wait until another notifies them. Unlike threading.Condition
// it needs no lock: the loop runs one coroutine at a time.
//
//   gale::Condition changed;
//   while (!ready()) co_await changed.wait();     // in the waiter
//   changed.notify_all();                         // in the notifier
class Condition {
public:
    Condition() = default;
    Condition(const Condition&) = delete;
    Condition& operator=(const Condition&) = delete;

    // What wait() returns: awaiting it waits for a notification.
    class [[nodiscard]] wait_operation {
    public:
        wait_operation(Condition& condition, std::optional<IOLoop::time_point> deadline)
            : condition_(&condition), deadline_(deadline) {}

        class awaiter : detail::waiter {
        public:
            explicit awaiter(const wait_operation& op) : condition_(op.condition_), deadline_(op.deadline_) {}
            bool await_ready() const noexcept { return false; }
            template <class Promise>
            bool await_suspend(std::coroutine_handle<Promise> h) {
                return park(h, condition_->waiters_, deadline_);
            }
            bool await_resume() const {
                if (result() == outcome::cancelled) throw CancelledError();
                return result() == outcome::woken;
            }

        private:
            Condition* condition_;
            std::optional<IOLoop::time_point> deadline_;
        };

        awaiter operator co_await() && noexcept { return awaiter(*this); }

    private:
        Condition* condition_;
        std::optional<IOLoop::time_point> deadline_;
    };

    // Waits for notify(): true when notified, false once the timeout passes.
    wait_operation wait(std::optional<IOLoop::duration> timeout = std::nullopt) {
        return {*this, detail::deadline_after(timeout)};
    }
    wait_operation wait(IOLoop::time_point deadline) { return {*this, deadline}; }

    // Wakes the n longest waiters (fewer if fewer wait).
    void notify(std::size_t n = 1) {
        for (; n > 0; --n) {
            detail::waiter* w = waiters_.pop_front();
            if (!w) return;
            w->wake();
        }
    }

    // Wakes every waiter.
    void notify_all() {
        while (detail::waiter* w = waiters_.pop_front()) w->wake();
    }

private:
    detail::waiter_list waiters_;
};

}  // namespace gale
