// Tornado's tornado.gen for C++: the coroutine vocabulary.
//
//   co_await gale::sleep(100ms);
//   auto [a, b] = co_await gale::gather(fetch(x), fetch(y));     // concurrently
//   std::vector<int> all = co_await gale::gather(std::move(tasks));
//   auto r = co_await gale::with_timeout(2s, fetch(z));          // TimeoutError
//
// gather, with_timeout and WaitIterator accept any awaitable: tasks, futures,
// sleeps, Asio operations started with gale::use_task.
#pragma once

#include <chrono>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <asio/steady_timer.hpp>

#include "detail/cancel.hpp"
#include "detail/logging.hpp"
#include "detail/result_slot.hpp"
#include "future.hpp"
#include "ioloop.hpp"
#include "task.hpp"

namespace gale {

template <class A>
concept awaitable = requires(A&& a) {
    { detail::get_awaiter(std::forward<A>(a)).await_ready() } -> std::convertible_to<bool>;
};

namespace detail {

// Yields the cancellation scope of the awaiting coroutine without suspending.
struct current_scope {
    cancel_scope* scope = nullptr;
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) noexcept {
        scope = scope_of(h);
        return false;
    }
    cancel_scope* await_resume() const noexcept { return scope; }
};

// Movable until it is awaited, so a sleep can be handed to gather or with_timeout.
class sleep_awaiter : cancel_registration {
public:
    explicit sleep_awaiter(IOLoop::time_point deadline) : deadline_(deadline) {}
    sleep_awaiter(sleep_awaiter&& other) noexcept : deadline_(other.deadline_) {}
    sleep_awaiter& operator=(sleep_awaiter&&) = delete;

    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
        scope_ = scope_of(h);
        if (scope_ && scope_->cancelled()) {
            cancelled_ = true;
            return false;
        }
        timer_.emplace(IOLoop::current().context(), deadline_);
        timer_->async_wait([this, h](std::error_code) {
            if (scope_) scope_->detach(*this);
            h.resume();
        });
        if (scope_) scope_->attach(*this, &on_cancel);  // last: nothing after it can throw
        return true;
    }

    void await_resume() const {
        if (cancelled_) throw CancelledError();
    }

private:
    static void on_cancel(cancel_registration& r) {
        auto& self = static_cast<sleep_awaiter&>(r);
        self.cancelled_ = true;
        self.timer_->cancel();
    }

    IOLoop::time_point deadline_;
    std::optional<asio::steady_timer> timer_;
    cancel_scope* scope_ = nullptr;
    bool cancelled_ = false;
};

class moment_awaiter {
public:
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
        cancel_scope* scope = scope_of(h);
        if (scope && scope->cancelled()) {
            cancelled_ = true;  // a cancelled loop of moments must end
            return false;
        }
        IOLoop::current().resume_soon(h);
        return true;
    }
    void await_resume() const {
        if (cancelled_) throw CancelledError();
    }

private:
    bool cancelled_ = false;
};

struct moment_t {
    moment_awaiter operator co_await() const noexcept { return {}; }
};

}  // namespace detail

// Suspends the coroutine for `delay` (Tornado's gen.sleep). Cancellable.
[[nodiscard]] inline detail::sleep_awaiter sleep(IOLoop::duration delay) {
    return detail::sleep_awaiter(IOLoop::clock::now() + delay);
}

// Suspends until `deadline`.
[[nodiscard]] inline detail::sleep_awaiter sleep_until(IOLoop::time_point deadline) {
    return detail::sleep_awaiter(deadline);
}

// Yields for one turn of the loop (Tornado's gen.moment): `co_await gale::moment;`
inline constexpr detail::moment_t moment{};

// ---------------------------------------------------------------- with_timeout

namespace detail {

template <class R>
struct guarded_state {
    cancel_scope scope;  // the guarded work runs in this scope
    result_slot<R> result;
    bool finished = false;
    bool timed_out = false;
    std::coroutine_handle<> waiter;
};

template <class R, class A>
scoped_detached drive_guarded(in_scope, std::shared_ptr<guarded_state<R>> st, A awaitable) {
    try {
        if constexpr (std::is_void_v<R>) {
            co_await std::move(awaitable);
            st->result.set_value();
        } else {
            st->result.set_value(co_await std::move(awaitable));
        }
    } catch (...) {
        st->result.set_exception(std::current_exception());
    }
    st->finished = true;
    if (auto waiter = std::exchange(st->waiter, {})) waiter.resume();
}

// Parks the with_timeout coroutine until the guarded work has finished. When
// the deadline passes first, the work is cancelled and still awaited: it has
// unwound (its destructors ran, its references to the caller are dropped)
// before with_timeout reports anything.
template <class R>
class deadline_wait : cancel_registration {
public:
    deadline_wait(std::shared_ptr<guarded_state<R>> st, IOLoop::time_point deadline)
        : st_(std::move(st)), timer_(IOLoop::current().context(), deadline) {}
    deadline_wait(const deadline_wait&) = delete;
    deadline_wait& operator=(const deadline_wait&) = delete;

    bool await_ready() const noexcept { return st_->finished; }

    template <class Promise>
    void await_suspend(std::coroutine_handle<Promise> h) {
        st_->waiter = h;
        timer_.async_wait([st = st_](std::error_code ec) {
            if (ec || st->finished) return;
            st->timed_out = true;
            st->scope.cancel();
        });
        // Cancelling the outer scope cancels the guarded work too.
        outer_ = scope_of(h);
        if (outer_) {
            if (outer_->cancelled()) st_->scope.cancel();
            else outer_->attach(*this, &on_cancel);
        }
    }

    void await_resume() {
        if (outer_) outer_->detach(*this);
        timer_.cancel();
    }

private:
    static void on_cancel(cancel_registration& r) {
        static_cast<deadline_wait&>(r).st_->scope.cancel();
    }

    std::shared_ptr<guarded_state<R>> st_;
    asio::steady_timer timer_;
    cancel_scope* outer_ = nullptr;
};

template <class R, class A>
task<R> with_deadline(IOLoop::time_point deadline, A awaitable) {
    auto st = std::make_shared<guarded_state<R>>();
    drive_guarded<R>(in_scope{&st->scope}, st, std::move(awaitable));
    co_await deadline_wait<R>(st, deadline);
    if (st->timed_out) {
        try {
            co_return st->result.take();
        } catch (const CancelledError&) {
            throw TimeoutError();
        }
    }
    co_return st->result.take();
}

}  // namespace detail

// Awaits `work`, throwing TimeoutError if it has not finished by `deadline`.
//
// Timeouts are structured: at the deadline the work is cancelled (whatever it
// is parked on, a sleep, an Asio operation, a future, lock or queue wait,
// throws CancelledError inside it) and with_timeout waits for it to unwind
// before throwing TimeoutError, so nothing the work references is used after
// the caller moves on. Work that finishes with a value although it was
// cancelled (it caught the error, or completed in that same turn) returns its
// value; any other exception it ends with is rethrown. Work that cannot be
// interrupted (a function running on a thread via run_in_executor) makes the
// timeout late, never unsafe. Tornado instead raises at once and leaves the
// wrapped future running.
template <awaitable A>
auto with_timeout(IOLoop::time_point deadline, A&& work) {
    return detail::with_deadline<await_result_t<A>>(deadline, std::forward<A>(work));
}

template <awaitable A>
auto with_timeout(IOLoop::duration timeout, A&& work) {
    return with_timeout(IOLoop::clock::now() + timeout, std::forward<A>(work));
}

// ---------------------------------------------------------------- gather

namespace detail {

// A void result inside a gathered tuple.
template <class T>
using gathered_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

struct join_state {
    std::size_t remaining = 0;
    std::coroutine_handle<> waiter;
    std::exception_ptr first_error;
    std::size_t first_error_index = 0;

    // Tornado's multi(): once all are done, the error of the earliest failed
    // child in argument order is raised and the others are logged.
    void record_error(std::size_t index, std::exception_ptr e) {
        if (!first_error || index < first_error_index) {
            std::swap(first_error, e);
            first_error_index = index;
        }
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const CancelledError&) {
            // Siblings of a cancelled scope all end this way; nothing is lost.
        } catch (...) {
            log(app_log, log_level::error, "gen", __LINE__, "Multiple exceptions in yield list: {}",
                describe_current_exception());
        }
    }

    void child_done() {
        if (--remaining == 0 && waiter) std::exchange(waiter, {}).resume();
    }

    struct all_done {
        join_state& js;
        bool await_ready() const noexcept { return js.remaining == 0; }
        void await_suspend(std::coroutine_handle<> h) noexcept { js.waiter = h; }
        void await_resume() const {
            if (js.first_error) std::rethrow_exception(js.first_error);
        }
    };
    all_done wait() { return all_done{*this}; }
};

// Runs one gathered child and stores its value in `out`.
template <class A, class Slot>
scoped_detached drive_child(in_scope, join_state* js, std::size_t index, A awaitable, Slot* out) {
    try {
        if constexpr (std::is_void_v<await_result_t<A>>) {
            co_await std::move(awaitable);
            if constexpr (!std::is_void_v<Slot>) out->emplace();
        } else {
            out->emplace(co_await std::move(awaitable));
        }
    } catch (...) {
        js->record_error(index, std::current_exception());
    }
    js->child_done();
}

template <class... A, std::size_t... I>
task<std::tuple<gathered_t<await_result_t<A>>...>> gather_tuple(std::index_sequence<I...>,
                                                                 A... awaitables) {
    std::tuple<std::optional<gathered_t<await_result_t<A>>>...> slots;
    join_state js;
    js.remaining = sizeof...(A);
    cancel_scope* scope = co_await current_scope{};
    (drive_child(in_scope{scope}, &js, I, std::move(awaitables), &std::get<I>(slots)), ...);
    co_await js.wait();
    co_return std::tuple<gathered_t<await_result_t<A>>...>(std::move(*std::get<I>(slots))...);
}

template <class A>
task<std::vector<await_result_t<A>>> gather_values(std::vector<A> awaitables) {
    using R = await_result_t<A>;
    std::vector<std::optional<R>> slots(awaitables.size());
    join_state js;
    js.remaining = awaitables.size();
    cancel_scope* scope = co_await current_scope{};
    for (std::size_t i = 0; i < awaitables.size(); ++i)
        drive_child(in_scope{scope}, &js, i, std::move(awaitables[i]), &slots[i]);
    co_await js.wait();
    std::vector<R> values;
    values.reserve(slots.size());
    for (auto& slot : slots) values.push_back(std::move(*slot));
    co_return values;
}

template <class A>
task<void> gather_void(std::vector<A> awaitables) {
    join_state js;
    js.remaining = awaitables.size();
    cancel_scope* scope = co_await current_scope{};
    for (std::size_t i = 0; i < awaitables.size(); ++i)
        drive_child<A, void>(in_scope{scope}, &js, i, std::move(awaitables[i]), nullptr);
    co_await js.wait();
}

// The map type with the same keys and ordering, holding results instead.
template <class Map, class V>
struct rebind_map;
template <class K, class A, class C, class Al, class V>
struct rebind_map<std::map<K, A, C, Al>, V> {
    using type = std::map<K, V, C>;
};
template <class K, class A, class H, class E, class Al, class V>
struct rebind_map<std::unordered_map<K, A, H, E, Al>, V> {
    using type = std::unordered_map<K, V, H, E>;
};

template <class Map>
auto gather_map(Map awaitables) {
    using K = typename Map::key_type;
    using A = typename Map::mapped_type;
    using R = await_result_t<A>;
    using Out = typename rebind_map<Map, gathered_t<R>>::type;
    std::vector<K> keys;
    std::vector<A> values;
    keys.reserve(awaitables.size());
    values.reserve(awaitables.size());
    for (auto& [k, v] : awaitables) {
        keys.push_back(k);
        values.push_back(std::move(v));
    }
    return [](std::vector<K> keys, std::vector<A> values) -> task<Out> {
        Out out;
        if constexpr (std::is_void_v<R>) {
            co_await gather_void(std::move(values));
            for (auto& k : keys) out.emplace(std::move(k), std::monostate{});
        } else {
            auto results = co_await gather_values(std::move(values));
            for (std::size_t i = 0; i < keys.size(); ++i)
                out.emplace(std::move(keys[i]), std::move(results[i]));
        }
        co_return out;
    }(std::move(keys), std::move(values));
}

}  // namespace detail

// Runs the awaitables concurrently; the result is ready when all are done.
// If children fail, the exception of the first failed one in argument order
// is rethrown once every child has finished, and the others are logged
// (Tornado's gen.multi). void children yield std::monostate.
template <awaitable... A>
    requires(sizeof...(A) > 0)
auto gather(A&&... awaitables) {
    return detail::gather_tuple(std::index_sequence_for<A...>{},
                                std::decay_t<A>(std::forward<A>(awaitables))...);
}

// gather over a list: a vector of results in the same order (void for void children).
template <awaitable A>
auto gather(std::vector<A> awaitables) {
    if constexpr (std::is_void_v<await_result_t<A>>) return detail::gather_void(std::move(awaitables));
    else return detail::gather_values(std::move(awaitables));
}

// gather over a map: the results under the same keys.
template <class K, awaitable A, class C, class Al>
auto gather(std::map<K, A, C, Al> awaitables) {
    return detail::gather_map(std::move(awaitables));
}

template <class K, awaitable A, class H, class E, class Al>
auto gather(std::unordered_map<K, A, H, E, Al> awaitables) {
    return detail::gather_map(std::move(awaitables));
}

// ---------------------------------------------------------------- WaitIterator

// Yields results in the order the awaitables finish (Tornado's WaitIterator).
//
//   gale::WaitIterator<int> it(std::move(tasks));
//   while (!it.done()) {
//       int v = co_await it.next();          // rethrows that child's exception
//       use(it.current_index(), v);
//   }
template <class T>
class WaitIterator {
public:
    template <awaitable A>
    explicit WaitIterator(std::vector<A> awaitables) : state_(std::make_shared<shared>()) {
        state_->results.resize(awaitables.size());
        remaining_ = awaitables.size();
        for (std::size_t i = 0; i < awaitables.size(); ++i) drive(state_, i, std::move(awaitables[i]));
    }

    // True once every result has been handed out by next().
    bool done() const noexcept { return remaining_ == 0; }

    // The index (in the input order) of the result next() last returned.
    std::size_t current_index() const noexcept { return current_index_; }

    // Awaits the next result to finish.
    task<T> next() {
        if (done()) throw std::out_of_range("WaitIterator has no more results");
        auto st = state_;
        if (st->finished.empty()) co_await finished_wait(*st);
        current_index_ = st->finished.front();
        st->finished.pop_front();
        --remaining_;
        co_return st->results[current_index_].take();
    }

private:
    struct shared {
        std::vector<detail::result_slot<T>> results;
        std::deque<std::size_t> finished;
        std::coroutine_handle<> waiter;
    };

    // Parks next() until a result arrives; cancellable like every gale wait.
    struct finished_wait : detail::cancel_registration {
        shared& st;
        detail::cancel_scope* scope = nullptr;
        std::coroutine_handle<> handle;
        bool cancelled = false;

        explicit finished_wait(shared& s) : st(s) {}
        bool await_ready() const noexcept { return !st.finished.empty(); }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> h) {
            scope = detail::scope_of(h);
            if (scope && scope->cancelled()) {
                cancelled = true;
                return false;
            }
            handle = h;
            st.waiter = h;
            if (scope) scope->attach(*this, &on_cancel);
            return true;
        }
        void await_resume() {
            if (scope) scope->detach(*this);
            if (cancelled) throw CancelledError();
        }
        static void on_cancel(detail::cancel_registration& r) {
            auto& self = static_cast<finished_wait&>(r);
            self.cancelled = true;
            self.st.waiter = {};
            IOLoop::current().resume_soon(self.handle);
        }
    };

    template <class A>
    static detail::detached drive(std::shared_ptr<shared> st, std::size_t index, A awaitable) {
        try {
            if constexpr (std::is_void_v<T>) {
                co_await std::move(awaitable);
                st->results[index].set_value();
            } else {
                st->results[index].set_value(co_await std::move(awaitable));
            }
        } catch (...) {
            st->results[index].set_exception(std::current_exception());
        }
        st->finished.push_back(index);
        if (auto waiter = std::exchange(st->waiter, {})) waiter.resume();
    }

    std::shared_ptr<shared> state_;
    std::size_t remaining_ = 0;
    std::size_t current_index_ = 0;
};

}  // namespace gale
