// future, spawn, resolver and from_callback: Tornado's Future and the
// bridge from callback APIs (including ones driven by other threads).
#include <gale/future.hpp>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gale/gen.hpp>

#include "support.hpp"

using namespace std::chrono_literals;
using gale::future;
using gale::task;
using gale_test::run_async;

namespace {

// A callback API of the kind gale must bridge: it finishes on a thread of its own.
void legacy_square_async(int x, std::function<void(int)> on_done) {
    std::thread([x, on_done = std::move(on_done)] {
        std::this_thread::sleep_for(5ms);
        on_done(x * x);
    }).detach();
}

void legacy_failing_async(std::function<void(std::exception_ptr)> on_error) {
    std::thread([on_error = std::move(on_error)] {
        on_error(std::make_exception_ptr(std::runtime_error("device unplugged")));
    }).detach();
}

task<int> twice_later(int v) {
    co_await gale::sleep(5ms);
    co_return 2 * v;
}

}  // namespace

TEST_CASE("a future set before it is awaited yields its value at once") {
    run_async([]() -> task<void> {
        future<int> f;
        CHECK_FALSE(f.done());
        f.set_result(3);
        CHECK(f.done());
        CHECK(f.result() == 3);
        CHECK(co_await f == 3);
        CHECK(co_await f == 3);  // awaitable any number of times
    });
}

TEST_CASE("several coroutines await one future and all resume with its value") {
    run_async([]() -> task<void> {
        future<std::string> f;
        std::vector<std::string> seen;
        auto reader = [&](std::string name) -> task<void> {
            seen.push_back(name + ":" + co_await f);
        };
        auto a = gale::spawn(reader("a"));
        auto b = gale::spawn(reader("b"));
        co_await gale::sleep(2ms);
        CHECK(seen.empty());
        f.set_result("go");
        co_await gale::gather(a, b);
        CHECK(seen == std::vector<std::string>{"a:go", "b:go"});
    });
}

TEST_CASE("set_exception reaches every awaiter; result() rethrows") {
    run_async([]() -> task<void> {
        future<int> f;
        f.set_exception(std::make_exception_ptr(std::out_of_range("nope")));
        CHECK_THROWS_AS(co_await f, std::out_of_range);
        CHECK_THROWS_AS(f.result(), std::out_of_range);
        CHECK(f.exception() != nullptr);
    });
}

TEST_CASE("misuse raises InvalidStateError") {
    future<int> f;
    CHECK_THROWS_AS(f.result(), gale::InvalidStateError);
    f.set_result(1);
    CHECK_THROWS_AS(f.set_result(2), gale::InvalidStateError);
    CHECK_THROWS_AS(f.set_exception(std::make_exception_ptr(std::runtime_error("x"))),
                    gale::InvalidStateError);
    CHECK(f.result() == 1);
}

TEST_CASE("add_done_callback runs on the loop after completion, or soon if already done") {
    run_async([]() -> task<void> {
        future<int> f;
        std::vector<int> got;
        f.add_done_callback([&](const future<int>& done) { got.push_back(done.result()); });
        co_await gale::moment;
        CHECK(got.empty());
        f.set_result(5);
        CHECK(got.empty());  // scheduled, not called re-entrantly
        co_await gale::moment;
        CHECK(got == std::vector<int>{5});
        f.add_done_callback([&](const future<int>& done) { got.push_back(done.result() + 1); });
        co_await gale::moment;
        CHECK(got == std::vector<int>{5, 6});
    });
}

TEST_CASE("spawn starts the task at once and its future carries the result") {
    run_async([]() -> task<void> {
        bool started = false;
        auto work = [&]() -> task<int> {
            started = true;
            co_return co_await twice_later(21);
        };
        future<int> f = gale::spawn(work());
        CHECK(started);
        CHECK_FALSE(f.done());
        CHECK(co_await f == 42);
        future<void> v = gale::spawn(gale::sleep(1ms));
        co_await v;
        CHECK(v.done());
    });
}

TEST_CASE("an exception nobody retrieves is logged, never swallowed") {
    gale_test::log_capture logs;
    run_async([]() -> task<void> {
        {
            auto ignored = gale::spawn([]() -> task<void> {
                co_await gale::sleep(1ms);
                throw std::runtime_error("lost in the void");
            }());
        }
        co_await gale::sleep(10ms);
    });
    CHECK(logs.matching("Future exception was never retrieved: lost in the void").size() == 1);
}

TEST_CASE("a retrieved exception is not logged") {
    gale_test::log_capture logs;
    run_async([]() -> task<void> {
        auto f = gale::spawn([]() -> task<void> {
            throw std::runtime_error("handled");
            co_return;
        }());
        CHECK_THROWS_AS(co_await f, std::runtime_error);
    });
    CHECK(logs.matching("handled").empty());
}

TEST_CASE("from_callback bridges a callback API driven by another thread") {
    run_async([]() -> task<void> {
        std::thread::id loop_thread = std::this_thread::get_id();
        int squared = co_await gale::from_callback<int>([](gale::resolver<int> resolve) {
            legacy_square_async(9, [resolve](int v) { resolve(v); });
        });
        CHECK(squared == 81);
        CHECK(std::this_thread::get_id() == loop_thread);  // resumed on its own loop

        std::vector<future<int>> many;
        for (int i = 0; i < 20; ++i)
            many.push_back(gale::from_callback<int>([i](gale::resolver<int> resolve) {
                legacy_square_async(i, [resolve](int v) { resolve(v); });
            }));
        std::vector<int> squares = co_await gale::gather(std::move(many));
        CHECK(squares[19] == 361);
        CHECK(std::this_thread::get_id() == loop_thread);
    });
}

TEST_CASE("a resolver carries exceptions, and only the first resolution counts") {
    run_async([]() -> task<void> {
        auto failing = gale::from_callback<int>([](gale::resolver<int> resolve) {
            legacy_failing_async([resolve](std::exception_ptr e) { resolve.set_exception(e); });
        });
        CHECK_THROWS_WITH_AS(co_await failing, "device unplugged", std::runtime_error);

        auto twice = gale::from_callback<std::string>([](gale::resolver<std::string> resolve) {
            resolve("first");
            resolve("second");
        });
        CHECK(co_await twice == "first");
    });
}

TEST_CASE("a resolver dropped without a result fails its future with BrokenPromise") {
    run_async([]() -> task<void> {
        auto abandoned = gale::from_callback<void>([](gale::resolver<void> resolve) {
            std::thread([r = std::move(resolve)] { (void)r; }).detach();
        });
        CHECK_THROWS_AS(co_await abandoned, gale::BrokenPromise);
    });
}

TEST_CASE("move-only results pass through a future to its one reader") {
    run_async([]() -> task<void> {
        auto f = gale::spawn([]() -> task<std::unique_ptr<int>> {
            co_await gale::sleep(1ms);
            co_return std::make_unique<int>(11);
        }());
        std::unique_ptr<int> p = co_await f;
        REQUIRE(p);
        CHECK(*p == 11);
    });
}

TEST_CASE("a future awaited inside a cancelled scope wakes with CancelledError") {
    run_async([]() -> task<void> {
        future<int> never;
        bool cancelled = false;
        auto waiter = [&]() -> task<void> {
            try {
                co_await never;
            } catch (const gale::CancelledError&) {
                cancelled = true;
                throw;
            }
        };
        CHECK_THROWS_AS(co_await gale::with_timeout(10ms, waiter()), gale::TimeoutError);
        co_await gale::moment;
        CHECK(cancelled);
        never.set_result(1);  // no stale waiter is resumed
        co_await gale::moment;
    });
}

TEST_CASE("a pending future with a done-callback is freed when dropped") {
    gale_test::lifetime_counter::alive = 0;
    {
        future<int> f;
        f.add_done_callback([counter = gale_test::lifetime_counter{}](const future<int>&) {});
        CHECK(gale_test::lifetime_counter::alive == 1);
    }
    CHECK(gale_test::lifetime_counter::alive == 0);
}

TEST_CASE("a spawned future resolved by hand first keeps that result") {
    run_async([]() -> task<void> {
        future<int> f = gale::spawn(twice_later(1));
        f.set_result(100);
        co_await gale::sleep(15ms);  // the task ends meanwhile; its result is dropped
        CHECK(co_await f == 100);
    });
}
