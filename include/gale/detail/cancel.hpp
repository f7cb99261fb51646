// Cancellation scopes. with_timeout() opens a scope around the work it
// guards; every gale coroutine awaited inside inherits it, and the leaf
// operations a coroutine can be parked on (timers, socket operations, future
// and lock waits) register with it while they are suspended. When the
// timeout fires, the scope is cancelled and each registered leaf wakes its
// coroutine with CancelledError, so abandoned work unwinds instead of
// lingering.
#pragma once

#include <stdexcept>

namespace gale {

// Raised inside a coroutine whose cancellation scope was cancelled.
struct CancelledError : std::runtime_error {
    CancelledError() : std::runtime_error("operation cancelled") {}
};

// Raised by with_timeout, run_sync and the timed waits of locks and queues
// (Tornado's tornado.util.TimeoutError, whose message is "Timeout").
struct TimeoutError : std::runtime_error {
    TimeoutError() : std::runtime_error("Timeout") {}
    explicit TimeoutError(const char* what) : std::runtime_error(what) {}
};

namespace detail {

struct cancel_registration {
    cancel_registration* prev = nullptr;
    cancel_registration* next = nullptr;
    bool linked = false;
    void (*on_cancel)(cancel_registration&) = nullptr;
};

class cancel_scope {
public:
    cancel_scope() = default;
    cancel_scope(const cancel_scope&) = delete;
    cancel_scope& operator=(const cancel_scope&) = delete;

    bool cancelled() const { return cancelled_; }

    // The caller checks cancelled() first; a cancelled scope takes no registrations.
    void attach(cancel_registration& r, void (*on_cancel)(cancel_registration&)) {
        r.on_cancel = on_cancel;
        r.prev = nullptr;
        r.next = head_;
        if (head_) head_->prev = &r;
        head_ = &r;
        r.linked = true;
    }

    void detach(cancel_registration& r) {
        if (!r.linked) return;
        if (r.prev) r.prev->next = r.next;
        else head_ = r.next;
        if (r.next) r.next->prev = r.prev;
        r.prev = r.next = nullptr;
        r.linked = false;
    }

    void cancel() {
        if (cancelled_) return;
        cancelled_ = true;
        while (head_) {
            cancel_registration& r = *head_;
            detach(r);
            r.on_cancel(r);
        }
    }

private:
    cancel_registration* head_ = nullptr;
    bool cancelled_ = false;
};

}  // namespace detail
}  // namespace gale
