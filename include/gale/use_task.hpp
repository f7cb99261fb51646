// gale::use_task: an Asio completion token that makes any Asio operation
// awaitable from a gale coroutine, so handlers never see an Asio callback.
//
//   co_await timer.async_wait(gale::use_task);                 // throws std::system_error
//   std::size_t n = co_await sock.async_read_some(buf, gale::use_task);
//   auto [ec, n] = co_await sock.async_read_some(buf, gale::use_task_nothrow);
//
// The operation starts when it is awaited and is cancelled (the coroutine
// then sees CancelledError) when an enclosing with_timeout expires.
#pragma once

#include <coroutine>
#include <optional>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

#include <asio/async_result.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/error.hpp>

#include "detail/cancel.hpp"
#include "task.hpp"

namespace gale {

template <bool Throw>
struct basic_use_task_t {
    constexpr basic_use_task_t() noexcept = default;
};

// Errors are thrown as std::system_error.
inline constexpr basic_use_task_t<true> use_task{};
// Errors are returned: the result is a tuple starting with the error_code.
inline constexpr basic_use_task_t<false> use_task_nothrow{};

namespace detail {

template <class... T>
auto pack_results(std::tuple<T...>&& t) {
    if constexpr (sizeof...(T) == 0) return;
    else if constexpr (sizeof...(T) == 1) return std::get<0>(std::move(t));
    else return std::move(t);
}

template <class... T>
inline constexpr bool starts_with_error_code = false;
template <class... Rest>
inline constexpr bool starts_with_error_code<std::error_code, Rest...> = true;

template <bool Throw, class Init, class InitArgs, class... Results>
class asio_op_awaiter : cancel_registration {
public:
    asio_op_awaiter(Init init, InitArgs args) : init_(std::move(init)), args_(std::move(args)) {}
    // Movable until awaited, so an operation can be handed to gather or with_timeout.
    asio_op_awaiter(asio_op_awaiter&& other) noexcept(std::is_nothrow_move_constructible_v<Init> &&
                                                      std::is_nothrow_move_constructible_v<InitArgs>)
        : init_(std::move(other.init_)), args_(std::move(other.args_)) {}
    asio_op_awaiter& operator=(asio_op_awaiter&&) = delete;

    bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
        scope_ = scope_of(h);
        if (scope_ && scope_->cancelled()) {
            cancelled_ = true;
            return false;
        }
        signal_.emplace();
        std::apply(
            [&](auto&... args) { std::move(init_)(handler{this, h}, std::move(args)...); }, args_);
        // Last, once nothing can throw; Asio never completes an operation
        // inside its initiating call, so no completion can come before this.
        if (scope_) scope_->attach(*this, &on_cancel);
        return true;
    }

    auto await_resume() {
        if (cancelled_) throw CancelledError();
        if constexpr (Throw && starts_with_error_code<Results...>) {
            auto& ec = std::get<0>(*results_);
            if (ec) throw std::system_error(ec);
            return std::apply(
                [](std::error_code, auto&&... rest) {
                    return pack_results(std::tuple<std::decay_t<decltype(rest)>...>(std::move(rest)...));
                },
                std::move(*results_));
        } else {
            return pack_results(std::move(*results_));
        }
    }

private:
    struct handler {
        asio_op_awaiter* self;
        std::coroutine_handle<> coroutine;

        using cancellation_slot_type = asio::cancellation_slot;
        cancellation_slot_type get_cancellation_slot() const noexcept { return self->signal_->slot(); }

        void operator()(Results... results) {
            self->results_.emplace(std::move(results)...);
            if (self->scope_) self->scope_->detach(*self);
            coroutine.resume();
        }
    };

    static void on_cancel(cancel_registration& r) {
        auto& self = static_cast<asio_op_awaiter&>(r);
        self.cancelled_ = true;
        self.signal_->emit(asio::cancellation_type::terminal);
    }

    Init init_;
    InitArgs args_;
    std::optional<std::tuple<Results...>> results_;
    std::optional<asio::cancellation_signal> signal_;
    cancel_scope* scope_ = nullptr;
    bool cancelled_ = false;
};

}  // namespace detail
}  // namespace gale

template <bool Throw, class R, class... Args>
struct asio::async_result<gale::basic_use_task_t<Throw>, R(Args...)> {
    template <class Init, class... InitArgs>
    static auto initiate(Init&& init, gale::basic_use_task_t<Throw>, InitArgs&&... args) {
        return gale::detail::asio_op_awaiter<Throw, std::decay_t<Init>,
                                             std::tuple<std::decay_t<InitArgs>...>,
                                             std::decay_t<Args>...>(
            std::forward<Init>(init), std::make_tuple(std::forward<InitArgs>(args)...));
    }
};
