// Definitions for ioloop.hpp: the loop's start and the thread's current
// loop, and PeriodicCallback's scheduling. Compiled in every translation
// unit in header-only mode, or once by <gale/src.hpp> with
// GALE_SEPARATE_COMPILATION; see detail/config.hpp.
#pragma once

#include "../ioloop.hpp"

#include <memory>
#include <stdexcept>

namespace gale {

GALE_DECL IOLoop& IOLoop::current() {
    IOLoop*& slot = current_slot();
    if (!slot) {
        thread_local std::unique_ptr<IOLoop> owned;
        if (!owned) owned = std::make_unique<IOLoop>();
        slot = owned.get();
    }
    return *slot;
}

GALE_DECL void IOLoop::start() {
    if (running_) throw std::logic_error("IOLoop is already running");
    current_guard guard(this);
    if (stop_requested_.exchange(false)) return;  // stop() came before start()
    auto work = asio::make_work_guard(context_);
    running_ = true;
    context_.restart();
    try {
        context_.run();
    } catch (...) {
        running_ = false;
        throw;
    }
    running_ = false;
    stop_requested_ = false;
}

GALE_DECL void PeriodicCallback::start() {
    impl& s = *impl_;
    if (s.running) return;
    s.running = true;
    s.loop = &IOLoop::current();
    s.next = s.loop->time();
    schedule_next(impl_);
}

GALE_DECL void PeriodicCallback::stop() {
    impl_->running = false;
    if (impl_->loop) impl_->loop->remove_timeout(impl_->pending);
    if (auto scope = impl_->tick_scope.lock()) scope->cancel();
}

GALE_DECL double PeriodicCallback::unit_random() {
    thread_local std::uint64_t state =
        static_cast<std::uint64_t>(IOLoop::clock::now().time_since_epoch().count()) | 1;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<double>(state >> 11) * 0x1.0p-53;
}

GALE_DECL IOLoop::duration PeriodicCallback::tick_length(const impl& s) {
    if (s.jitter == 0.0) return s.interval;
    double factor = 1.0 + s.jitter * (unit_random() - 0.5);
    return std::chrono::duration_cast<IOLoop::duration>(s.interval * factor);
}

GALE_DECL void PeriodicCallback::schedule_next(const std::shared_ptr<impl>& self) {
    impl& s = *self;
    if (!s.running) return;
    auto now = s.loop->time();
    auto step = tick_length(s);
    if (s.next <= now) {
        auto behind = (now - s.next) / step;  // whole ticks missed
        s.next += (behind + 1) * step;
    } else {
        s.next += step;
    }
    std::weak_ptr<impl> weak = self;
    s.pending = s.loop->call_at(s.next, [weak] { run_tick(weak); });
}

GALE_DECL void PeriodicCallback::run_tick(const std::weak_ptr<impl>& weak) {
    auto self = weak.lock();
    if (!self || !self->running) return;
    if (self->async_fn) {
        auto scope = std::make_shared<detail::cancel_scope>();
        self->tick_scope = scope;
        run_async_tick(detail::in_scope{scope.get()}, self, scope);
        return;
    }
    detail::invoke_callback(self->sync_fn);
    schedule_next(self);
}

GALE_DECL detail::scoped_detached PeriodicCallback::run_async_tick(detail::in_scope, std::shared_ptr<impl> self,
                                                                   std::shared_ptr<detail::cancel_scope>) {
    try {
        co_await self->async_fn();
    } catch (const CancelledError&) {
        // stop() cancelled this tick.
    } catch (...) {
        detail::log(detail::app_log, detail::log_level::error, "ioloop", __LINE__,
                    "Exception in callback: {}", detail::describe_current_exception());
    }
    schedule_next(self);
}

}  // namespace gale
