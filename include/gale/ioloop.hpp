// gale::IOLoop: the event loop, one per thread, as in Tornado. It wraps an
// asio::io_context; every coroutine of a thread runs on that thread's loop.
//
//   gale::IOLoop::current().run_sync([]() -> gale::task<void> { ... });
//   gale::IOLoop::current().start();   // serve until stop()
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "detail/cancel.hpp"
#include "detail/config.hpp"
#include "detail/logging.hpp"
#include "task.hpp"

namespace gale {

class IOLoop;

namespace detail {

// Marks the cancellation scope a detached driver runs in; passed as the
// driver's first argument so the promise can pick it up before the body runs.
struct in_scope {
    cancel_scope* scope;
};

// A detached coroutine that runs inside a given cancellation scope.
struct scoped_detached {
    struct promise_type : promise_base {
        template <class... Rest>
        explicit promise_type(in_scope s, Rest&...) noexcept {
            scope = s.scope;
        }
        scoped_detached get_return_object() const noexcept { return {}; }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() const noexcept { std::terminate(); }
    };
};

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

// Runs the task fn() returns to its end with nobody waiting; an exception is
// logged. fn is kept in this frame: a coroutine lambda's captures live in the
// lambda object, which must outlive the task it made.
template <class F>
detached run_and_log(F fn) {
    try {
        co_await fn();
    } catch (...) {
        log(app_log, log_level::error, "ioloop", __LINE__, "Exception in callback: {}",
            describe_current_exception());
    }
}

// Calls a loop callback. A callback may be a coroutine (returns a task), which
// then runs on its own; exceptions are logged, as Tornado logs them, never lost.
template <class F>
void invoke_callback(F& fn) noexcept {
    try {
        if constexpr (is_task<std::invoke_result_t<F&>>::value) run_and_log(std::move(fn));
        else fn();
    } catch (...) {
        log(app_log, log_level::error, "ioloop", __LINE__, "Exception in callback: {}",
            describe_current_exception());
    }
}

}  // namespace detail

// Returned by call_later / call_at; pass it to remove_timeout to cancel.
class timeout_handle {
public:
    timeout_handle() = default;

private:
    friend class IOLoop;
    explicit timeout_handle(std::weak_ptr<asio::steady_timer> timer) : timer_(std::move(timer)) {}
    std::weak_ptr<asio::steady_timer> timer_;
};

class IOLoop {
public:
    using clock = std::chrono::steady_clock;
    using duration = clock::duration;
    using time_point = clock::time_point;

    IOLoop() : context_(1) {}
    IOLoop(const IOLoop&) = delete;
    IOLoop& operator=(const IOLoop&) = delete;
    ~IOLoop() {
        if (current_slot() == this) current_slot() = nullptr;
    }

    // The loop of the calling thread, created on first use.
    static IOLoop& current();

    // The loop of the calling thread, or null if it has none yet.
    static IOLoop* current_or_null() noexcept { return current_slot(); }

    // Makes this the calling thread's current loop.
    void make_current() noexcept { current_slot() = this; }

    asio::io_context& context() noexcept { return context_; }
    asio::io_context::executor_type get_executor() noexcept { return context_.get_executor(); }

    // Runs the loop until stop(). The loop is current on this thread meanwhile.
    void start();

    // Makes start() return once the callbacks now running finish; a stop()
    // before start() makes the next start() return at once. Thread-safe.
    void stop() {
        stop_requested_ = true;
        context_.stop();
    }

    bool is_running() const noexcept { return running_; }

    // Schedules fn on the loop's next turn. The only IOLoop method that is safe
    // to call from another thread. fn may return a task, which then runs.
    template <class F>
    void add_callback(F&& fn) {
        asio::post(context_, [fn = std::forward<F>(fn)]() mutable { detail::invoke_callback(fn); });
    }

    // Runs a task on its own; an exception it ends with is logged.
    template <class T>
    void spawn_callback(task<T> t) {
        add_callback([t = std::move(t)]() mutable { return std::move(t); });
    }

    // Resumes a suspended coroutine on the loop's next turn (thread-safe).
    void resume_soon(std::coroutine_handle<> h) {
        asio::post(context_, [h] { h.resume(); });
    }

    template <class F>
    timeout_handle call_at(time_point when, F&& fn) {
        auto timer = std::make_shared<asio::steady_timer>(context_, when);
        timer->async_wait([timer, fn = std::forward<F>(fn)](std::error_code ec) mutable {
            if (!ec) detail::invoke_callback(fn);
        });
        return timeout_handle(timer);
    }

    template <class F>
    timeout_handle call_later(duration delay, F&& fn) {
        return call_at(time() + delay, std::forward<F>(fn));
    }

    // Cancels a pending call_later / call_at; harmless if it already ran.
    void remove_timeout(const timeout_handle& handle) {
        if (auto timer = handle.timer_.lock()) timer->cancel();
    }

    // The loop's clock (monotonic), as Tornado's IOLoop.time().
    time_point time() const { return clock::now(); }

    // Runs the loop until the coroutine fn() returns, and returns its value
    // (or rethrows its exception). With a timeout, the work is cancelled when
    // it expires and, once it has unwound, TimeoutError is thrown (as with
    // with_timeout: late, never leaving work behind). A stop() meanwhile also
    // cancels the work; run_sync then throws std::runtime_error.
    template <class F>
    auto run_sync(F&& fn, std::optional<duration> timeout = std::nullopt);

private:
    struct current_guard {
        IOLoop* previous;
        explicit current_guard(IOLoop* loop) : previous(current_slot()) { current_slot() = loop; }
        ~current_guard() {
            if (previous) current_slot() = previous;
        }
    };

    static IOLoop*& current_slot() noexcept {
        thread_local IOLoop* current = nullptr;
        return current;
    }

    template <class R>
    struct sync_state {
        detail::cancel_scope scope;
        detail::result_slot<R> result;
        bool finished = false;
        bool timed_out = false;
    };

    template <class R, class F>
    static detail::scoped_detached drive_sync(detail::in_scope, std::shared_ptr<sync_state<R>> st,
                                              IOLoop* loop, F& fn) {
        try {
            if constexpr (std::is_void_v<R>) {
                co_await fn();
                st->result.set_value();
            } else {
                st->result.set_value(co_await fn());
            }
        } catch (...) {
            st->result.set_exception(std::current_exception());
        }
        st->finished = true;
        loop->context_.stop();
    }

    asio::io_context context_;
    bool running_ = false;
    std::atomic<bool> stop_requested_{false};
};

template <class F>
auto IOLoop::run_sync(F&& fn, std::optional<duration> timeout) {
    using R = await_result_t<std::invoke_result_t<F&>>;
    if (running_) throw std::logic_error("IOLoop is already running");
    current_guard guard(this);
    auto st = std::make_shared<sync_state<R>>();
    context_.restart();
    drive_sync<R>(detail::in_scope{&st->scope}, st, this, fn);
    bool stopped = false;
    if (!st->finished) {
        std::optional<asio::steady_timer> deadline;
        if (timeout) {
            deadline.emplace(context_, *timeout);
            deadline->async_wait([st](std::error_code ec) {
                if (ec || st->finished) return;
                st->timed_out = true;
                st->scope.cancel();
            });
        }
        auto work = asio::make_work_guard(context_);
        running_ = true;
        // The driver stops the loop when the work has finished; any other
        // stop() cancels the work, which is still run until it has unwound.
        while (!st->finished) {
            context_.restart();
            context_.run();
            if (!st->finished && !stopped) {
                stopped = true;
                st->scope.cancel();
            }
        }
        running_ = false;
        stop_requested_ = false;
        if (deadline) deadline->cancel();
    }
    // Give work left unwinding by inner timeouts, and the cancelled timer, a
    // few turns to finish, so their frames go now rather than at the next start.
    for (int turn = 0; turn < 64; ++turn) {
        context_.restart();
        if (context_.poll() == 0) break;
    }
    context_.restart();
    if (st->timed_out || stopped) {
        try {
            return st->result.take();
        } catch (const CancelledError&) {
            if (st->timed_out) throw TimeoutError();
            throw std::runtime_error("Event loop stopped before Future completed.");
        }
    }
    return st->result.take();
}

// Calls fn every interval, as Tornado's PeriodicCallback. Ticks that fall
// behind are skipped rather than run in a burst. fn may be a coroutine; the
// next tick is then scheduled once it finishes.
class PeriodicCallback {
public:
    template <class F>
    PeriodicCallback(F&& fn, IOLoop::duration interval, double jitter = 0.0)
        : impl_(std::make_shared<impl>(std::forward<F>(fn), interval, jitter)) {
        if (interval <= IOLoop::duration::zero())
            throw std::invalid_argument("Periodic callback must have a positive callback_time");
    }
    PeriodicCallback(const PeriodicCallback&) = delete;
    PeriodicCallback& operator=(const PeriodicCallback&) = delete;
    ~PeriodicCallback() { stop(); }

    void start();

    // Stops the ticks. A coroutine callback still running is cancelled (it
    // sees CancelledError at its next wait), so it does not outlive the state
    // it captured by much.
    void stop();

    bool is_running() const noexcept { return impl_->running; }

private:
    struct impl {
        template <class F>
        impl(F&& f, IOLoop::duration i, double j) : interval(i), jitter(j) {
            if constexpr (detail::is_task<std::invoke_result_t<F&>>::value)
                async_fn = std::forward<F>(f);
            else
                sync_fn = std::forward<F>(f);
        }
        std::function<void()> sync_fn;
        std::function<task<void>()> async_fn;
        IOLoop::duration interval;
        double jitter;
        bool running = false;
        IOLoop* loop = nullptr;
        IOLoop::time_point next{};
        timeout_handle pending;
        std::weak_ptr<detail::cancel_scope> tick_scope;  // of the coroutine tick running
    };

    // A uniform number in [0, 1) for the jitter (xorshift: <random> is a heavy
    // include for every translation unit, and jitter needs no quality).
    static double unit_random();
    static IOLoop::duration tick_length(const impl& s);
    static void schedule_next(const std::shared_ptr<impl>& self);
    static void run_tick(const std::weak_ptr<impl>& weak);
    static detail::scoped_detached run_async_tick(detail::in_scope, std::shared_ptr<impl> self,
                                                  std::shared_ptr<detail::cancel_scope>);

    std::shared_ptr<impl> impl_;
};

}  // namespace gale

#if GALE_HEADER_ONLY
#include "impl/ioloop.ipp"
#endif
