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

template <class F>
class executor_awaiter {
public:
    using result_type = std::invoke_result_t<F&>;

    executor_awaiter(ThreadPoolExecutor& executor, F fn) : executor_(&executor), fn_(std::move(fn)) {}

    bool await_ready() const noexcept { return false; }

    void await_suspend(std::coroutine_handle<> h) {
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
    }

    result_type await_resume() { return result_.take(); }

private:
    ThreadPoolExecutor* executor_;
    F fn_;
    result_slot<result_type> result_;
};

}  // namespace detail

// Runs blocking fn() on the executor; awaiting it yields fn's result on the
// awaiting coroutine's loop. Work already running cannot be cancelled: a
// with_timeout around it stops waiting but the thread finishes the call.
template <class F>
[[nodiscard]] auto run_in_executor(ThreadPoolExecutor& executor, F&& fn) {
    return detail::executor_awaiter<std::decay_t<F>>(executor, std::forward<F>(fn));
}

template <class F>
[[nodiscard]] auto run_in_executor(F&& fn) {
    return run_in_executor(default_executor(), std::forward<F>(fn));
}

}  // namespace gale
