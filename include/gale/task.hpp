// gale::task<T>: the coroutine type of every handler method and async API.
//
//   gale::task<int> answer() { co_await gale::sleep(10ms); co_return 42; }
//   int v = co_await answer();
//
// A task is lazy (nothing runs until it is awaited or spawned), move-only and
// awaited once. Awaiting transfers control symmetrically, so chains of
// awaits that complete synchronously do not grow the stack; an exception
// thrown in the task is rethrown in the awaiter.
#pragma once

#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

#include "detail/cancel.hpp"
#include "detail/frame_allocator.hpp"
#include "detail/result_slot.hpp"

namespace gale {

template <class T = void>
class task;

namespace detail {

// What every gale coroutine frame carries: who to resume when it finishes,
// and the cancellation scope it runs in (inherited from its awaiter).
struct promise_base : pooled_frame {
    std::coroutine_handle<> continuation;
    cancel_scope* scope = nullptr;
};

// The cancellation scope of the coroutine behind `h`, or null for coroutines
// that are not gale's (they cannot be cancelled).
template <class Promise>
cancel_scope* scope_of(std::coroutine_handle<Promise> h) noexcept {
    if constexpr (std::is_base_of_v<promise_base, Promise>) return h.promise().scope;
    else return nullptr;
}

struct final_transfer {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
        auto next = h.promise().continuation;
        return next ? next : std::noop_coroutine();
    }
    void await_resume() const noexcept {}
};

template <class T>
struct task_promise_storage : promise_base {
    result_slot<T> result;
    template <class U>
    void return_value(U&& value) {
        result.set_value(std::forward<U>(value));
    }
};

template <>
struct task_promise_storage<void> : promise_base {
    result_slot<void> result;
    void return_void() { result.set_value(); }
};

template <class T>
struct task_promise : task_promise_storage<T> {
    task<T> get_return_object() noexcept;
    std::suspend_always initial_suspend() const noexcept { return {}; }
    final_transfer final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { this->result.set_exception(std::current_exception()); }
};

// A coroutine that starts at once and frees itself when it ends. The
// runtime's drivers (spawn, gather, with_timeout) are built from it; each
// catches everything itself, so nothing escapes to unhandled_exception.
struct detached {
    struct promise_type : promise_base {
        detached get_return_object() const noexcept { return {}; }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() const noexcept { std::terminate(); }
    };
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;

    task() noexcept = default;
    explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() { destroy(); }

    // True while the task holds a coroutine (it was not moved from).
    bool valid() const noexcept { return static_cast<bool>(handle_); }

    struct awaiter {
        std::coroutine_handle<promise_type> handle;

        bool await_ready() const noexcept { return false; }
        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
            handle.promise().continuation = awaiting;
            handle.promise().scope = detail::scope_of(awaiting);
            return handle;
        }
        T await_resume() { return handle.promise().result.take(); }
    };

    // Awaiting runs the task; it may be awaited once.
    awaiter operator co_await() && noexcept { return awaiter{handle_}; }
    awaiter operator co_await() & noexcept { return awaiter{handle_}; }

private:
    void destroy() noexcept {
        if (handle_) handle_.destroy();
    }

    std::coroutine_handle<promise_type> handle_;
};

template <class T>
task<T> detail::task_promise<T>::get_return_object() noexcept {
    return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}

namespace detail {

template <class A>
concept has_member_co_await = requires(A&& a) { std::forward<A>(a).operator co_await(); };
template <class A>
concept has_free_co_await = requires(A&& a) { operator co_await(std::forward<A>(a)); };

template <class A>
decltype(auto) get_awaiter(A&& a) {
    if constexpr (has_member_co_await<A>) return std::forward<A>(a).operator co_await();
    else if constexpr (has_free_co_await<A>) return operator co_await(std::forward<A>(a));
    else return std::forward<A>(a);
}

}  // namespace detail

// The type `co_await a` produces.
template <class A>
using await_result_t = decltype(detail::get_awaiter(std::declval<A>()).await_resume());

}  // namespace gale
