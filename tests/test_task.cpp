// gale::task: laziness, values, exceptions, lifetimes, and deep await chains.
#include <gale/task.hpp>

#include <memory>
#include <stdexcept>
#include <string>

#include "support.hpp"

using gale::task;
using gale_test::lifetime_counter;
using gale_test::run_async;

namespace {

task<int> answer() { co_return 42; }
task<void> nothing() { co_return; }
task<int> fails() {
    throw std::runtime_error("boom");
    co_return 0;
}
task<int> add_one(task<int> inner) { co_return 1 + co_await std::move(inner); }
task<std::unique_ptr<int>> boxed(int v) { co_return std::make_unique<int>(v); }

task<int> sync_value(int v) { co_return v; }

task<long> sequential(int count) {
    long sum = 0;
    for (int i = 0; i < count; ++i) sum += co_await sync_value(i);
    co_return sum;
}

task<int> nested(int depth) {
    if (depth == 0) co_return 0;
    co_return 1 + co_await nested(depth - 1);
}

task<int> holds_counter(lifetime_counter, int v) { co_return v; }

}  // namespace

TEST_CASE("a task does not run until it is awaited") {
    bool ran = false;
    auto make = [&]() -> task<void> {
        ran = true;
        co_return;
    };
    run_async([&]() -> task<void> {
        task<void> t = make();
        CHECK_FALSE(ran);
        co_await std::move(t);
        CHECK(ran);
    });
}

TEST_CASE("values, void and move-only results reach the awaiter") {
    run_async([]() -> task<void> {
        CHECK(co_await answer() == 42);
        co_await nothing();
        CHECK(co_await add_one(add_one(answer())) == 44);
        auto p = co_await boxed(7);
        REQUIRE(p);
        CHECK(*p == 7);
    });
}

TEST_CASE("an exception thrown in a task is rethrown in its awaiter") {
    run_async([]() -> task<void> {
        std::string caught;
        try {
            co_await add_one(fails());
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
        CHECK(caught == "boom");
    });
}

TEST_CASE("a task destroyed before it ran leaks nothing") {
    lifetime_counter::alive = 0;
    {
        task<int> t = holds_counter(lifetime_counter{}, 3);
        CHECK(lifetime_counter::alive == 1);  // the argument copy lives in the frame
        CHECK(t.valid());
    }
    CHECK(lifetime_counter::alive == 0);
}

TEST_CASE("a finished task releases its frame and arguments") {
    lifetime_counter::alive = 0;
    run_async([]() -> task<void> {
        CHECK(co_await holds_counter(lifetime_counter{}, 5) == 5);
    });
    CHECK(lifetime_counter::alive == 0);
}

TEST_CASE("a moved-from task is empty and the move target runs") {
    run_async([]() -> task<void> {
        task<int> a = answer();
        task<int> b = std::move(a);
        CHECK_FALSE(a.valid());
        CHECK(co_await std::move(b) == 42);
    });
}

TEST_CASE("a million sequential awaits that complete synchronously do not grow the stack") {
    long sum = run_async([]() { return sequential(1'000'000); });
    CHECK(sum == 499'999'500'000L);
}

TEST_CASE("a chain of a million nested awaits completes without stack overflow") {
    // Symmetric transfer: each await is a tail call into the awaited frame and
    // each completion a tail call back, so depth costs heap, not stack.
    CHECK(run_async([]() { return nested(1'000'000); }) == 1'000'000);
}
