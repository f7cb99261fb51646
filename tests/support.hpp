// Shared helpers for gale's test suites.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include <doctest/doctest.h>

#include <gale/ioloop.hpp>

namespace gale_test {

using namespace std::chrono_literals;

// Runs an async test body on a fresh IOLoop with a deadline, so a hang fails
// the test instead of blocking CI.
template <class F>
auto run_async(F&& body, gale::IOLoop::duration limit = std::chrono::seconds(20)) {
    auto loop = std::make_unique<gale::IOLoop>();
    return loop->run_sync(std::forward<F>(body), limit);
}

// Counts constructions and destructions, to catch leaks and double
// destruction in coroutine code.
struct lifetime_counter {
    static inline std::atomic<int> alive{0};
    static inline std::atomic<int> constructed{0};
    lifetime_counter() {
        ++alive;
        ++constructed;
    }
    lifetime_counter(const lifetime_counter&) : lifetime_counter() {}
    lifetime_counter(lifetime_counter&&) noexcept : lifetime_counter() {}
    lifetime_counter& operator=(const lifetime_counter&) = default;
    ~lifetime_counter() { --alive; }
};

inline double elapsed_ms(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace gale_test
