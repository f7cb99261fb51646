// gen.hpp: sleep, moment, gather over tuples/lists/maps, with_timeout and
// its cancellation, WaitIterator.
#include <gale/gen.hpp>

#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using gale::task;
using gale_test::elapsed_ms;
using gale_test::run_async;

namespace {

task<int> after(gale::IOLoop::duration delay, int value) {
    co_await gale::sleep(delay);
    co_return value;
}

task<void> fail_after(gale::IOLoop::duration delay, std::string message) {
    co_await gale::sleep(delay);
    throw std::runtime_error(message);
}

}  // namespace

TEST_CASE("sleep waits at least the given time") {
    run_async([]() -> task<void> {
        auto start = std::chrono::steady_clock::now();
        co_await gale::sleep(30ms);
        CHECK(elapsed_ms(start) >= 29.0);
    });
}

TEST_CASE("moment lets other ready work run first") {
    std::vector<std::string> order;
    run_async([&]() -> task<void> {
        gale::IOLoop::current().add_callback([&] { order.push_back("callback"); });
        order.push_back("before");
        co_await gale::moment;
        order.push_back("after");
    });
    CHECK(order == std::vector<std::string>{"before", "callback", "after"});
}

TEST_CASE("three gathered 100 ms sleeps take about 100 ms, not 300") {
    run_async([]() -> task<void> {
        auto start = std::chrono::steady_clock::now();
        auto [a, b, c] = co_await gale::gather(after(100ms, 1), after(100ms, 2), after(100ms, 3));
        double took = elapsed_ms(start);
        CHECK(a == 1);
        CHECK(b == 2);
        CHECK(c == 3);
        CHECK(took >= 99.0);
        CHECK(took < 250.0);
    });
}

TEST_CASE("gather over a tuple mixes types and void children") {
    run_async([]() -> task<void> {
        auto text = []() -> task<std::string> { co_return "text"; };
        auto [n, s, v] = co_await gale::gather(after(5ms, 7), text(), gale::sleep(1ms));
        CHECK(n == 7);
        CHECK(s == "text");
        CHECK((std::is_same_v<decltype(v), std::monostate>));
    });
}

TEST_CASE("gather over a list keeps the input order") {
    run_async([]() -> task<void> {
        std::vector<task<int>> tasks;
        for (int i = 0; i < 10; ++i) tasks.push_back(after(std::chrono::milliseconds(20 - 2 * i), i));
        std::vector<int> values = co_await gale::gather(std::move(tasks));
        CHECK(values == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

        std::vector<task<int>> none;
        CHECK((co_await gale::gather(std::move(none))).empty());
    });
}

TEST_CASE("gather over a list of void tasks waits for all") {
    run_async([]() -> task<void> {
        int done = 0;
        auto work = [&](int ms) -> task<void> {
            co_await gale::sleep(std::chrono::milliseconds(ms));
            ++done;
        };
        std::vector<task<void>> tasks;
        for (int i = 0; i < 5; ++i) tasks.push_back(work(i * 3));
        co_await gale::gather(std::move(tasks));
        CHECK(done == 5);
    });
}

TEST_CASE("gather over a map and an unordered_map keeps the keys") {
    run_async([]() -> task<void> {
        std::map<std::string, task<int>> m;
        m["slow"] = after(30ms, 1);
        m["fast"] = after(1ms, 2);
        std::map<std::string, int> r = co_await gale::gather(std::move(m));
        CHECK(r == std::map<std::string, int>{{"fast", 2}, {"slow", 1}});

        std::unordered_map<int, task<int>> u;
        for (int i = 0; i < 4; ++i) u.emplace(i, after(1ms, i * i));
        std::unordered_map<int, int> ur = co_await gale::gather(std::move(u));
        CHECK(ur.size() == 4);
        CHECK(ur.at(3) == 9);
    });
}

TEST_CASE("gather accepts futures and mixes them with tasks") {
    run_async([]() -> task<void> {
        gale::future<int> f = gale::spawn(after(5ms, 10));
        auto [x, y] = co_await gale::gather(f, after(1ms, 20));
        CHECK(x + y == 30);
    });
}

TEST_CASE("gather raises the first error after every child finished and logs the rest") {
    gale_test::log_capture logs;
    run_async([]() -> task<void> {
        bool slow_finished = false;
        auto slow = [&]() -> task<int> {
            co_await gale::sleep(40ms);
            slow_finished = true;
            co_return 1;
        };
        std::string caught;
        try {
            co_await gale::gather(fail_after(1ms, "first"), fail_after(10ms, "second"), slow());
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
        CHECK(caught == "first");
        CHECK(slow_finished);
    });
    CHECK(logs.matching("Multiple exceptions in yield list: second").size() == 1);
}

TEST_CASE("with_timeout returns the value of work that finishes in time") {
    run_async([]() -> task<void> {
        CHECK(co_await gale::with_timeout(500ms, after(5ms, 3)) == 3);
        CHECK(co_await gale::with_timeout(gale::IOLoop::clock::now() + 500ms, after(1ms, 4)) == 4);
        co_await gale::with_timeout(100ms, gale::sleep(1ms));
    });
}

TEST_CASE("with_timeout rethrows the work's own exception") {
    run_async([]() -> task<void> {
        std::string caught;
        try {
            co_await gale::with_timeout(500ms, fail_after(1ms, "inner"));
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
        CHECK(caught == "inner");
    });
}

TEST_CASE("with_timeout throws TimeoutError and cancels the abandoned work") {
    gale_test::lifetime_counter::alive = 0;
    run_async([]() -> task<void> {
        bool saw_cancel = false;
        bool reached_end = false;
        auto slow = [&]() -> task<int> {
            gale_test::lifetime_counter resource;  // must be released by the unwinding
            try {
                co_await gale::sleep(10s);
            } catch (const gale::CancelledError&) {
                saw_cancel = true;
                throw;
            }
            reached_end = true;
            co_return 1;
        };
        auto start = std::chrono::steady_clock::now();
        bool timed_out = false;
        try {
            co_await gale::with_timeout(30ms, slow());
        } catch (const gale::TimeoutError& e) {
            timed_out = true;
            CHECK(std::string(e.what()) == "Timeout");
        }
        CHECK(timed_out);
        CHECK(elapsed_ms(start) < 2000.0);
        co_await gale::sleep(5ms);  // the cancelled sleep completes on the loop
        CHECK(saw_cancel);
        CHECK_FALSE(reached_end);
        CHECK(gale_test::lifetime_counter::alive == 0);
    });
}

TEST_CASE("a timeout cancels every child of a gather inside it") {
    run_async([]() -> task<void> {
        int cancelled = 0;
        auto child = [&]() -> task<void> {
            try {
                co_await gale::sleep(10s);
            } catch (const gale::CancelledError&) {
                ++cancelled;
                throw;
            }
        };
        CHECK_THROWS_AS(co_await gale::with_timeout(20ms, gale::gather(child(), child(), child())),
                        gale::TimeoutError);
        co_await gale::sleep(5ms);
        CHECK(cancelled == 3);
    });
}

TEST_CASE("nested timeouts: the inner one fires first, the outer one cancels the inner") {
    run_async([]() -> task<void> {
        // Inner expires first: its TimeoutError is handled inside the outer.
        auto inner_first = []() -> task<std::string> {
            try {
                co_await gale::with_timeout(10ms, gale::sleep(10s));
            } catch (const gale::TimeoutError&) {
                co_return "inner";
            }
            co_return "none";
        };
        CHECK(co_await gale::with_timeout(1s, inner_first()) == "inner");

        // Outer expires first: the inner wait is cancelled through both scopes.
        bool inner_cancelled = false;
        auto outer_first = [&]() -> task<void> {
            try {
                co_await gale::with_timeout(10s, gale::sleep(10s));
            } catch (const gale::CancelledError&) {
                inner_cancelled = true;
                throw;
            }
        };
        CHECK_THROWS_AS(co_await gale::with_timeout(20ms, outer_first()), gale::TimeoutError);
        co_await gale::sleep(5ms);
        CHECK(inner_cancelled);
    });
}

TEST_CASE("with_timeout on a future stops waiting but leaves the future usable") {
    run_async([]() -> task<void> {
        gale::future<int> f;
        CHECK_THROWS_AS(co_await gale::with_timeout(10ms, f), gale::TimeoutError);
        CHECK_FALSE(f.done());
        f.set_result(5);
        CHECK(co_await f == 5);
    });
}

TEST_CASE("WaitIterator yields results in completion order with their indices") {
    run_async([]() -> task<void> {
        std::vector<task<int>> tasks;
        tasks.push_back(after(30ms, 0));
        tasks.push_back(after(1ms, 1));
        tasks.push_back(after(15ms, 2));
        gale::WaitIterator<int> it(std::move(tasks));
        std::vector<std::size_t> indices;
        std::vector<int> values;
        while (!it.done()) {
            values.push_back(co_await it.next());
            indices.push_back(it.current_index());
        }
        CHECK(indices == std::vector<std::size_t>{1, 2, 0});
        CHECK(values == std::vector<int>{1, 2, 0});
    });
}

TEST_CASE("WaitIterator rethrows a failed child's exception from next()") {
    run_async([]() -> task<void> {
        std::vector<task<void>> tasks;
        auto ok = []() -> task<void> { co_await gale::sleep(20ms); };
        tasks.push_back(ok());
        tasks.push_back(fail_after(1ms, "bad"));
        gale::WaitIterator<void> it(std::move(tasks));
        CHECK_THROWS_WITH_AS(co_await it.next(), "bad", std::runtime_error);
        CHECK(it.current_index() == 1);
        CHECK_FALSE(it.done());
        co_await it.next();
        CHECK(it.current_index() == 0);
        CHECK(it.done());
    });
}

TEST_CASE("with_timeout waits for the cancelled work to unwind before it throws") {
    run_async([]() -> task<void> {
        std::vector<std::string> order;
        auto work = [&]() -> task<void> {
            struct cleanup {
                std::vector<std::string>& order;
                ~cleanup() { order.push_back("work unwound"); }
            } guard{order};
            co_await gale::sleep(10s);
        };
        try {
            co_await gale::with_timeout(10ms, work());
        } catch (const gale::TimeoutError&) {
            order.push_back("timeout seen");
        }
        CHECK(order == std::vector<std::string>{"work unwound", "timeout seen"});
    });
}

TEST_CASE("work that handles its cancellation and returns a value is not a timeout") {
    run_async([]() -> task<void> {
        auto stubborn = []() -> task<int> {
            try {
                co_await gale::sleep(10s);
            } catch (const gale::CancelledError&) {
                co_return -1;  // a fallback chosen by the work itself
            }
            co_return 1;
        };
        CHECK(co_await gale::with_timeout(10ms, stubborn()) == -1);
    });
}

TEST_CASE("a loop of moments ends when its scope is cancelled") {
    run_async([]() -> task<void> {
        long turns = 0;
        auto spin = [&]() -> task<void> {
            for (;;) {
                co_await gale::moment;
                ++turns;
            }
        };
        CHECK_THROWS_AS(co_await gale::with_timeout(10ms, spin()), gale::TimeoutError);
        CHECK(turns > 0);
    });
}

TEST_CASE("gather raises the error of the first failed child in argument order") {
    gale_test::log_capture logs;
    run_async([]() -> task<void> {
        std::string caught;
        try {
            co_await gale::gather(fail_after(20ms, "earlier in the list"), fail_after(1ms, "finished first"));
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
        CHECK(caught == "earlier in the list");
    });
    CHECK(logs.matching("Multiple exceptions in yield list: finished first").size() == 1);
}

TEST_CASE("WaitIterator::next is cancellable and leaves the iterator usable") {
    run_async([]() -> task<void> {
        std::vector<task<int>> tasks;
        tasks.push_back(after(40ms, 5));
        gale::WaitIterator<int> it(std::move(tasks));
        CHECK_THROWS_AS(co_await gale::with_timeout(5ms, it.next()), gale::TimeoutError);
        CHECK_FALSE(it.done());
        CHECK(co_await it.next() == 5);
        CHECK(it.done());
    });
}
