// The outcome of an asynchronous operation: nothing yet, a value, or an exception.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

namespace gale::detail {

// Stands in for the value of a void operation wherever a value is stored.
struct void_value {
    friend bool operator==(void_value, void_value) = default;
};

template <class T>
using stored_t = std::conditional_t<std::is_void_v<T>, void_value, T>;

template <class T>
class result_slot {
public:
    bool ready() const { return state_.index() != 0; }
    bool has_exception() const { return state_.index() == 2; }
    std::exception_ptr exception() const {
        return has_exception() ? std::get<2>(state_) : nullptr;
    }

    template <class... Args>
    void set_value(Args&&... args) {
        state_.template emplace<1>(std::forward<Args>(args)...);
    }
    void set_exception(std::exception_ptr e) { state_.template emplace<2>(std::move(e)); }

    // Moves the value out, or rethrows the stored exception.
    T take() {
        if (state_.index() == 2) std::rethrow_exception(std::get<2>(state_));
        if constexpr (!std::is_void_v<T>) return std::move(std::get<1>(state_));
    }

    // Copies the value out, leaving it for other readers.
    T get() const {
        if (state_.index() == 2) std::rethrow_exception(std::get<2>(state_));
        if constexpr (!std::is_void_v<T>) return std::get<1>(state_);
    }

    const stored_t<T>& value_ref() const {
        if (state_.index() == 2) std::rethrow_exception(std::get<2>(state_));
        return std::get<1>(state_);
    }

private:
    std::variant<std::monostate, stored_t<T>, std::exception_ptr> state_;
};

}  // namespace gale::detail
