// Tornado's tornado.concurrent: threads, executors, and callback bridges.
//
//   std::string text = co_await gale::run_in_executor([&] { return read_file(path); });
//
// The function runs on a thread pool; the awaiting coroutine resumes on its
// own loop with the result (or the exception). Bridges from callback APIs to
// futures (gale::from_callback, gale::resolver) are in future.hpp, included here.
#pragma once

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <thread>
#include <type_traits>
#include <utility>

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include "detail/cancel.hpp"
#include "detail/result_slot.hpp"
#include "future.hpp"
#include "ioloop.hpp"

namespace gale {

// A pool of threads for blocking work (Python's ThreadPoolExecutor).
class ThreadPoolExecutor {
public:
    explicit ThreadPoolExecutor(std::size_t max_workers) : pool_(max_workers) {}
    ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
    ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;
    ~ThreadPoolExecutor() { shutdown(); }

    // Waits for submitted work to finish and stops the threads.
    void shutdown() {
        pool_.join();
    }

    template <class F>
    void post(F&& fn) {
        asio::post(pool_, std::forward<F>(fn));
    }

private:
    asio::thread_pool pool_;
};

// The executor run_in_executor uses by default: min(32, cores + 4) threads, as Python's.
inline ThreadPoolExecutor& default_executor() {
    static ThreadPoolExecutor executor(
        std::min<std::size_t>(32, std::max(1u, std::thread::hardware_concurrency()) + 4));
    return executor;
}

namespace detail {

// A thread cannot be interrupted, so cancellation waits for the call to
// return and then discards its result: the awaiter sees CancelledError.
template <class F>
class executor_awaiter : cancel_registration {
public:
    using result_type = std::invoke_result_t<F&>;

    executor_awaiter(ThreadPoolExecutor& executor, F fn) : executor_(&executor), fn_(std::move(fn)) {}

    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
        scope_ = scope_of(h);
        if (scope_ && scope_->cancelled()) {
            cancelled_ = true;
            return false;  // a cancelled coroutine starts no new thread work
        }
        IOLoop* loop = &IOLoop::current();
        executor_->post([this, h, loop] {
            try {
                if constexpr (std::is_void_v<result_type>) {
                    fn_();
                    result_.set_value();
                } else {
                    result_.set_value(fn_());
                }
            } catch (...) {
                result_.set_exception(std::current_exception());
            }
            loop->resume_soon(h);
        });
        if (scope_) scope_->attach(*this, &on_cancel);
        return true;
    }

    result_type await_resume() {
        if (scope_) scope_->detach(*this);
        if (cancelled_) throw CancelledError();
        return result_.take();
    }

private:
    static void on_cancel(cancel_registration& r) { static_cast<executor_awaiter&>(r).cancelled_ = true; }

    cancel_scope* scope_ = nullptr;
    bool cancelled_ = false;  // touched on the loop's thread only
    ThreadPoolExecutor* executor_;
    F fn_;
    result_slot<result_type> result_;
};

}  // namespace detail

// Runs blocking fn() on the executor; awaiting it yields fn's result on the
// awaiting coroutine's loop. Work already running on a thread cannot be
// interrupted: a with_timeout around it waits for the call to return.
template <class F>
[[nodiscard]] auto run_in_executor(ThreadPoolExecutor& executor, F&& fn) {
    return detail::executor_awaiter<std::decay_t<F>>(executor, std::forward<F>(fn));
}

template <class F>
[[nodiscard]] auto run_in_executor(F&& fn) {
    return run_in_executor(default_executor(), std::forward<F>(fn));
}

}  // namespace gale
