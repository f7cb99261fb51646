// gale::future<T>: Tornado's Future, a result that may arrive later.
//
//   gale::future<int> f = gale::spawn(compute());   // compute() starts now
//   int v = co_await f;                             // any number may await
//
// A future belongs to the loop that uses it: set_result and friends are
// called on that loop's thread. To complete a future from another thread or
// from a callback API, hand out a gale::resolver (see from_callback).
// An exception stored in a future that nobody retrieves is logged when the
// future is dropped, as Tornado logs "Future exception was never retrieved".
#pragma once

#include <atomic>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/cancel.hpp"
#include "detail/logging.hpp"
#include "detail/result_slot.hpp"
#include "ioloop.hpp"
#include "task.hpp"

namespace gale {

// Using a future in a way its state forbids (result() before done, a second set_result).
struct InvalidStateError : std::logic_error {
    using std::logic_error::logic_error;
};

// A resolver dropped without resolving its future completes it with this.
struct BrokenPromise : std::runtime_error {
    BrokenPromise() : std::runtime_error("resolver dropped without a result") {}
};

template <class T = void>
class future;

namespace detail {

struct future_waiter : cancel_registration {
    std::coroutine_handle<> handle;
    IOLoop* loop = nullptr;
    cancel_scope* scope = nullptr;
    future_waiter* prev_waiter = nullptr;
    future_waiter* next_waiter = nullptr;
    bool cancelled = false;
};

template <class T>
struct future_state : std::enable_shared_from_this<future_state<T>> {
    result_slot<T> result;
    bool retrieved = false;
    future_waiter* waiters = nullptr;  // resumed first-come, first-served
    future_waiter* last_waiter = nullptr;
    // Done-callbacks take the future when they run; holding no handle to it
    // before, they keep no future alive that never completes.
    std::vector<std::pair<IOLoop*, std::function<void(const future<T>&)>>> callbacks;

    future_state() = default;
    future_state(const future_state&) = delete;
    future_state& operator=(const future_state&) = delete;
    ~future_state() {
        if (result.has_exception() && !retrieved) {
            try {
                std::rethrow_exception(result.exception());
            } catch (...) {
                log(app_log, log_level::error, "concurrent", __LINE__,
                    "Future exception was never retrieved: {}", describe_current_exception());
            }
        }
    }

    void add_waiter(future_waiter& w) {
        w.next_waiter = nullptr;
        w.prev_waiter = last_waiter;
        if (last_waiter) last_waiter->next_waiter = &w;
        else waiters = &w;
        last_waiter = &w;
    }

    void remove_waiter(future_waiter& w) {
        if (w.prev_waiter) w.prev_waiter->next_waiter = w.next_waiter;
        else waiters = w.next_waiter;
        if (w.next_waiter) w.next_waiter->prev_waiter = w.prev_waiter;
        else last_waiter = w.prev_waiter;
        w.prev_waiter = w.next_waiter = nullptr;
    }

    // Wakes everything waiting on the newly completed result, each on its own
    // loop. A waiter is resumed at once only when the caller is a fresh loop
    // turn of that waiter's loop (a resolver's posted completion); otherwise
    // it is scheduled, so set_result never runs other coroutines re-entrantly.
    void complete(IOLoop* resuming_loop = nullptr) {
        while (future_waiter* w = waiters) {
            remove_waiter(*w);
            if (w->scope) w->scope->detach(*w);
            if (w->loop == resuming_loop) w->handle.resume();
            else w->loop->resume_soon(w->handle);
        }
        for (auto& [loop, fn] : callbacks)
            loop->add_callback([self = this->shared_from_this(), fn = std::move(fn)] {
                fn(future<T>(self));
            });
        callbacks.clear();
    }
};

}  // namespace detail

template <class T>
class future {
public:
    using value_type = T;

    // A new, pending future.
    future() : state_(std::make_shared<detail::future_state<T>>()) {}

    bool done() const noexcept { return state_->result.ready(); }

    // The value; throws the stored exception, or InvalidStateError if not done.
    decltype(auto) result() const {
        require_done();
        state_->retrieved = true;
        if constexpr (std::is_void_v<T>) state_->result.get();
        else return static_cast<const T&>(state_->result.value_ref());
    }

    // The stored exception (null if the future holds a value).
    std::exception_ptr exception() const {
        require_done();
        state_->retrieved = true;
        return state_->result.exception();
    }

    template <class... Args>
    void set_result(Args&&... args) const {
        require_pending();
        state_->result.set_value(std::forward<Args>(args)...);
        state_->complete();
    }

    void set_exception(std::exception_ptr e) const {
        require_pending();
        state_->result.set_exception(std::move(e));
        state_->complete();
    }

    // fn(future) runs on the current loop once the future is done (at once
    // on the next turn if it already is).
    template <class F>
    void add_done_callback(F&& fn) const {
        IOLoop* loop = &IOLoop::current();
        if (done()) loop->add_callback([self = *this, fn = std::forward<F>(fn)]() mutable { fn(self); });
        else state_->callbacks.emplace_back(loop, std::forward<F>(fn));
    }

    struct awaiter : detail::future_waiter {
        std::shared_ptr<detail::future_state<T>> state;

        explicit awaiter(std::shared_ptr<detail::future_state<T>> s) : state(std::move(s)) {}
        awaiter(const awaiter&) = delete;
        awaiter& operator=(const awaiter&) = delete;

        bool await_ready() const noexcept { return state->result.ready(); }

        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> h) {
            scope = detail::scope_of(h);
            if (scope && scope->cancelled()) {
                cancelled = true;
                return false;
            }
            handle = h;
            loop = &IOLoop::current();
            state->add_waiter(*this);
            if (scope) scope->attach(*this, &on_cancel);
            return true;
        }

        T await_resume() {
            if (cancelled) throw CancelledError();
            state->retrieved = true;
            if constexpr (std::is_void_v<T>) state->result.get();
            else if constexpr (std::is_copy_constructible_v<T>) return state->result.get();
            else return state->result.take();  // a move-only value goes to its one reader
        }

        static void on_cancel(detail::cancel_registration& r) {
            auto& self = static_cast<awaiter&>(r);
            self.state->remove_waiter(self);
            self.cancelled = true;
            self.loop->resume_soon(self.handle);
        }
    };

    awaiter operator co_await() const noexcept { return awaiter(state_); }

private:
    template <class>
    friend class resolver;
    friend struct detail::future_state<T>;

    explicit future(std::shared_ptr<detail::future_state<T>> state) : state_(std::move(state)) {}

    // Completions posted by a resolver already run in a turn of their own, so
    // waiters on that loop resume directly instead of waiting one more turn.
    template <class... Args>
    void complete_in_turn(IOLoop& loop, Args&&... args) const {
        require_pending();
        state_->result.set_value(std::forward<Args>(args)...);
        state_->complete(&loop);
    }
    void fail_in_turn(IOLoop& loop, std::exception_ptr e) const {
        require_pending();
        state_->result.set_exception(std::move(e));
        state_->complete(&loop);
    }

    void require_done() const {
        if (!done()) throw InvalidStateError("future is not done");
    }
    void require_pending() const {
        if (done()) throw InvalidStateError("future is already done");
    }

    std::shared_ptr<detail::future_state<T>> state_;
};

namespace detail {

template <class A, class T>
detached drive_into_future(A awaitable, future<T> f) {
    result_slot<T> outcome;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(awaitable);
            outcome.set_value();
        } else {
            outcome.set_value(co_await std::move(awaitable));
        }
    } catch (...) {
        outcome.set_exception(std::current_exception());
    }
    if (f.done()) co_return;  // someone resolved the future by hand first
    if (outcome.has_exception()) f.set_exception(outcome.exception());
    else if constexpr (std::is_void_v<T>) f.set_result();
    else f.set_result(outcome.take());
}

}  // namespace detail

// Starts a task (or any awaitable) now and returns its future. The task runs
// until its first suspension before spawn returns, as a Tornado coroutine does.
template <class A>
auto spawn(A&& awaitable) {
    using T = await_result_t<A>;
    future<T> f;
    detail::drive_into_future(std::forward<A>(awaitable), f);
    return f;
}

// Completes a future from any thread; the completion is posted to the loop
// the resolver was made on, so awaiting coroutines resume there. Copyable;
// the first resolution wins, and if every copy is dropped without one the
// future fails with BrokenPromise instead of hanging its awaiters.
template <class T = void>
class resolver {
public:
    resolver(future<T> f, IOLoop& loop) : core_(std::make_shared<core>(std::move(f), loop)) {}

    template <class... Args>
    void operator()(Args&&... args) const {
        if (core_->claim())
            core_->loop.add_callback([f = core_->fut, loop = &core_->loop,
                                      v = detail::stored_t<T>(std::forward<Args>(args)...)]() mutable {
                if constexpr (std::is_void_v<T>) f.complete_in_turn(*loop);
                else f.complete_in_turn(*loop, std::move(v));
            });
    }

    void set_exception(std::exception_ptr e) const {
        if (core_->claim()) core_->fail(std::move(e));
    }

private:
    struct core {
        future<T> fut;
        IOLoop& loop;
        std::atomic<bool> used{false};

        core(future<T> f, IOLoop& l) : fut(std::move(f)), loop(l) {}
        ~core() {
            if (claim()) fail(std::make_exception_ptr(BrokenPromise()));
        }
        bool claim() { return !used.exchange(true, std::memory_order_acq_rel); }
        void fail(std::exception_ptr e) {
            loop.add_callback([f = fut, l = &loop, e = std::move(e)] { f.fail_in_turn(*l, e); });
        }
    };
    std::shared_ptr<core> core_;
};

// Bridges a callback API: start(resolve) begins the operation and arranges
// for resolve(value) to be called, from any thread, when it completes.
//
//   int v = co_await gale::from_callback<int>([](gale::resolver<int> resolve) {
//       legacy_async_op([resolve](int result) { resolve(result); });
//   });
template <class T, class Start>
future<T> from_callback(Start&& start) {
    future<T> f;
    start(resolver<T>(f, IOLoop::current()));
    return f;
}

}  // namespace gale
