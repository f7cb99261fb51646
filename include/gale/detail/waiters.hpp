// The wait list shared by locks.hpp and queues.hpp: a coroutine parked on a
// Lock, Semaphore, Event, Condition or Queue is a `waiter`, a node embedded
// in its awaiter (so a wait allocates nothing; a timed wait adds one timer),
// linked into the primitive's `waiter_list` in arrival order.
//
// A wait ends in exactly one of three ways, decided on the spot so that no
// two can both happen: the primitive takes the waiter off its list and calls
// wake() (it has been handed the lock, the item, the notification), its
// deadline passes, or its cancellation scope is cancelled. A waiter that
// timed out or was cancelled is off the list at once, so it is never handed
// anything later. The coroutine always resumes on a later turn of the loop,
// never inside the call that woke it, as Tornado resolves its futures.
#pragma once

#include <coroutine>
#include <optional>

#include <asio/steady_timer.hpp>

#include "../ioloop.hpp"
#include "../task.hpp"
#include "cancel.hpp"

namespace gale::detail {

class waiter_list;

class waiter : cancel_registration {
public:
    enum class outcome { waiting, woken, timed_out, cancelled };

    waiter() = default;
    waiter(const waiter&) = delete;
    waiter& operator=(const waiter&) = delete;

    // The body of an awaiter's await_suspend: parks `h` at the back of `list`
    // until wake(), the deadline or cancellation. Returns false (the wait then
    // ends as cancelled without suspending) if h's scope is already cancelled.
    template <class Promise>
    bool park(std::coroutine_handle<Promise> h, waiter_list& list,
              std::optional<IOLoop::time_point> deadline);

    // Ends the wait successfully. The primitive has already taken this waiter
    // off its list and handed over whatever it was waiting for.
    void wake() {
        if (scope_) scope_->detach(*this);
        outcome_ = outcome::woken;
        resume_later();
    }

    // How the wait ended; `waiting` if it never suspended (await_ready was true).
    outcome result() const noexcept { return outcome_; }

    // Throws TimeoutError or CancelledError if the wait failed.
    void throw_if_failed() const {
        if (outcome_ == outcome::timed_out) throw TimeoutError();
        if (outcome_ == outcome::cancelled) throw CancelledError();
    }

private:
    friend class waiter_list;

    static void on_cancel(cancel_registration& r);  // the scope has already detached r
    void on_timer();

    // With a timer, the coroutine resumes from the timer's handler (cancelling
    // the timer queues it), so the handler never outlives the awaiter.
    void resume_later() {
        if (timer_) timer_->cancel();
        else loop_->resume_soon(handle_);
    }

    waiter* prev_ = nullptr;
    waiter* next_ = nullptr;
    waiter_list* list_ = nullptr;
    std::coroutine_handle<> handle_;
    IOLoop* loop_ = nullptr;
    cancel_scope* scope_ = nullptr;
    std::optional<asio::steady_timer> timer_;
    outcome outcome_ = outcome::waiting;
};

// The waiters of one primitive, first come first served.
class waiter_list {
public:
    waiter_list() = default;
    waiter_list(const waiter_list&) = delete;
    waiter_list& operator=(const waiter_list&) = delete;

    // Waiters still parked on a destroyed primitive stay parked (as Tornado's
    // futures stay pending), but a later timeout or cancellation no longer
    // touches the list.
    ~waiter_list() {
        while (pop_front()) {
        }
    }

    bool empty() const noexcept { return head_ == nullptr; }

    // The longest-waiting waiter; the list must not be empty.
    waiter& front() const noexcept { return *head_; }

    // Takes the longest-waiting waiter off the list (null if there is none).
    waiter* pop_front() noexcept {
        waiter* w = head_;
        if (w) remove(*w);
        return w;
    }

    void push_back(waiter& w) noexcept {
        w.list_ = this;
        w.prev_ = tail_;
        w.next_ = nullptr;
        if (tail_) tail_->next_ = &w;
        else head_ = &w;
        tail_ = &w;
    }

    void remove(waiter& w) noexcept {
        if (w.prev_) w.prev_->next_ = w.next_;
        else head_ = w.next_;
        if (w.next_) w.next_->prev_ = w.prev_;
        else tail_ = w.prev_;
        w.prev_ = w.next_ = nullptr;
        w.list_ = nullptr;
    }

private:
    waiter* head_ = nullptr;
    waiter* tail_ = nullptr;
};

template <class Promise>
bool waiter::park(std::coroutine_handle<Promise> h, waiter_list& list,
                  std::optional<IOLoop::time_point> deadline) {
    scope_ = scope_of(h);
    if (scope_ && scope_->cancelled()) {
        outcome_ = outcome::cancelled;
        return false;
    }
    handle_ = h;
    loop_ = &IOLoop::current();
    list.push_back(*this);
    if (scope_) scope_->attach(*this, &on_cancel);
    if (deadline) {
        timer_.emplace(loop_->context(), *deadline);
        timer_->async_wait([this](std::error_code) { on_timer(); });
    }
    return true;
}

inline void waiter::on_cancel(cancel_registration& r) {
    auto& self = static_cast<waiter&>(r);
    if (self.list_) self.list_->remove(self);
    self.outcome_ = outcome::cancelled;
    self.resume_later();
}

inline void waiter::on_timer() {
    // Still waiting means the deadline passed; otherwise the wait already
    // ended (woken or cancelled) and cancelled the timer to resume us.
    if (outcome_ == outcome::waiting) {
        if (list_) list_->remove(*this);
        if (scope_) scope_->detach(*this);
        outcome_ = outcome::timed_out;
    }
    handle_.resume();
}

// A relative timeout as the deadline it means now.
inline std::optional<IOLoop::time_point> deadline_after(std::optional<IOLoop::duration> timeout) {
    if (!timeout) return std::nullopt;
    return IOLoop::clock::now() + *timeout;
}

}  // namespace gale::detail
