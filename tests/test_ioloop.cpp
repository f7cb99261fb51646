// IOLoop: current loops per thread, callbacks, timeouts, run_sync, start/stop,
// PeriodicCallback.
#include <gale/ioloop.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gale/gen.hpp>

#include "support.hpp"

using namespace std::chrono_literals;
using gale::IOLoop;
using gale::task;
using gale_test::run_async;

TEST_CASE("current() is one loop per thread") {
    IOLoop* main_loop = &IOLoop::current();
    CHECK(&IOLoop::current() == main_loop);
    IOLoop* other = nullptr;
    std::thread([&] { other = &IOLoop::current(); }).join();
    CHECK(other != nullptr);
    CHECK(other != main_loop);
}

TEST_CASE("run_sync returns the coroutine's value and rethrows its exception") {
    IOLoop loop;
    CHECK(loop.run_sync([]() -> task<int> {
        co_await gale::sleep(1ms);
        co_return 7;
    }) == 7);
    CHECK_THROWS_WITH_AS(loop.run_sync([]() -> task<void> {
        co_await gale::sleep(1ms);
        throw std::invalid_argument("bad");
    }),
                         "bad", std::invalid_argument);
    // The loop can run again afterwards.
    CHECK(loop.run_sync([]() -> task<std::string> { co_return "again"; }) == "again");
}

TEST_CASE("run_sync with a timeout throws TimeoutError and cancels the work") {
    IOLoop loop;
    bool cancelled = false;
    CHECK_THROWS_AS(loop.run_sync(
                        [&]() -> task<void> {
                            try {
                                co_await gale::sleep(10s);
                            } catch (const gale::CancelledError&) {
                                cancelled = true;
                                throw;
                            }
                        },
                        20ms),
                    gale::TimeoutError);
    CHECK(cancelled);
}

TEST_CASE("run_sync makes its loop current while it runs") {
    IOLoop loop;
    IOLoop* seen = nullptr;
    loop.run_sync([&]() -> task<void> {
        seen = &IOLoop::current();
        co_return;
    });
    CHECK(seen == &loop);
}

TEST_CASE("add_callback from another thread runs the callback on the loop's thread") {
    IOLoop loop;
    std::thread::id loop_thread;
    std::thread::id callback_thread;
    loop.add_callback([&] { loop_thread = std::this_thread::get_id(); });
    std::thread poster([&] {
        std::this_thread::sleep_for(10ms);
        loop.add_callback([&] {
            callback_thread = std::this_thread::get_id();
            loop.stop();
        });
    });
    loop.start();
    poster.join();
    CHECK(callback_thread == loop_thread);
    CHECK(callback_thread == std::this_thread::get_id());
}

TEST_CASE("call_later runs callbacks in deadline order and remove_timeout cancels") {
    IOLoop loop;
    std::vector<int> order;
    loop.call_later(30ms, [&] { order.push_back(3); });
    loop.call_later(10ms, [&] { order.push_back(1); });
    auto removed = loop.call_later(20ms, [&] { order.push_back(99); });
    loop.call_at(loop.time() + 20ms, [&] { order.push_back(2); });
    loop.call_later(40ms, [&] { loop.stop(); });
    loop.remove_timeout(removed);
    loop.start();
    CHECK(order == std::vector<int>{1, 2, 3});
    CHECK_FALSE(loop.is_running());
}

TEST_CASE("an exception in a callback is logged and the loop keeps going") {
    gale_test::log_capture logs;
    IOLoop loop;
    bool later_ran = false;
    loop.add_callback([] { throw std::runtime_error("callback failed"); });
    loop.call_later(5ms, [&] {
        later_ran = true;
        loop.stop();
    });
    loop.start();
    CHECK(later_ran);
    CHECK(logs.matching("Exception in callback: callback failed").size() == 1);
}

TEST_CASE("a coroutine callback runs as a task; spawn_callback logs its failure") {
    gale_test::log_capture logs;
    IOLoop loop;
    int steps = 0;
    loop.add_callback([&]() -> task<void> {
        co_await gale::sleep(1ms);
        ++steps;
    });
    loop.spawn_callback([]() -> task<void> {
        co_await gale::sleep(1ms);
        throw std::runtime_error("spawned failure");
    }());
    loop.call_later(30ms, [&] { loop.stop(); });
    loop.start();
    CHECK(steps == 1);
    CHECK(logs.matching("spawned failure").size() == 1);
}

TEST_CASE("PeriodicCallback ticks at its interval until stopped") {
    run_async([]() -> task<void> {
        int ticks = 0;
        gale::PeriodicCallback pc([&] { ++ticks; }, 10ms);
        CHECK_FALSE(pc.is_running());
        pc.start();
        CHECK(pc.is_running());
        co_await gale::sleep(105ms);
        pc.stop();
        int at_stop = ticks;
        CHECK(at_stop >= 5);
        CHECK(at_stop <= 11);
        co_await gale::sleep(30ms);
        CHECK(ticks == at_stop);
    });
}

TEST_CASE("PeriodicCallback skips ticks it fell behind on instead of bursting") {
    run_async([]() -> task<void> {
        std::vector<IOLoop::time_point> at;
        gale::PeriodicCallback pc(
            [&] {
                at.push_back(IOLoop::clock::now());
                if (at.size() == 1) std::this_thread::sleep_for(55ms);  // overrun ~5 ticks
            },
            10ms);
        pc.start();
        co_await gale::sleep(100ms);
        pc.stop();
        REQUIRE(at.size() >= 3);
        // After the overrun the next tick waits for the next interval boundary
        // rather than firing the missed ticks back to back.
        auto gap = std::chrono::duration<double, std::milli>(at[2] - at[1]).count();
        CHECK(gap >= 5.0);
        CHECK(at.size() <= 7);
    });
}

TEST_CASE("PeriodicCallback awaits a coroutine callback before the next tick") {
    run_async([]() -> task<void> {
        int running = 0;
        int max_running = 0;
        int runs = 0;
        gale::PeriodicCallback pc(
            [&]() -> task<void> {
                ++running;
                max_running = std::max(max_running, running);
                co_await gale::sleep(25ms);
                --running;
                ++runs;
            },
            5ms);
        pc.start();
        co_await gale::sleep(120ms);
        pc.stop();
        CHECK(max_running == 1);
        CHECK(runs >= 2);
    });
}

TEST_CASE("PeriodicCallback refuses a non-positive interval") {
    CHECK_THROWS_AS(gale::PeriodicCallback([] {}, 0ms), std::invalid_argument);
}

TEST_CASE("start() refuses to run a loop that is already running") {
    IOLoop loop;
    bool refused = false;
    loop.add_callback([&] {
        try {
            loop.start();
        } catch (const std::logic_error&) {
            refused = true;
        }
        loop.stop();
    });
    loop.start();
    CHECK(refused);
}

TEST_CASE("run_sync lets work cancelled in its last step unwind before it returns") {
    gale_test::lifetime_counter::alive = 0;
    IOLoop loop;
    loop.run_sync([]() -> task<void> {
        auto held = []() -> task<void> {
            gale_test::lifetime_counter resource;
            co_await gale::sleep(10s);
        };
        try {
            co_await gale::with_timeout(10ms, held());
        } catch (const gale::TimeoutError&) {
        }
    });
    // The cancelled sleep's completion was still queued when the body ended.
    CHECK(gale_test::lifetime_counter::alive == 0);
}

TEST_CASE("a stop() before start() makes start() return at once") {
    IOLoop loop;
    loop.stop();
    loop.start();  // would block forever if the stop were lost
    bool ran = false;
    loop.add_callback([&] {
        ran = true;
        loop.stop();
    });
    loop.start();
    CHECK(ran);
}

TEST_CASE("stop() inside run_sync cancels the work and run_sync reports it") {
    IOLoop loop;
    bool unwound = false;
    CHECK_THROWS_WITH_AS(loop.run_sync([&]() -> task<void> {
        loop.call_later(5ms, [&] { loop.stop(); });
        try {
            co_await gale::sleep(10s);
        } catch (const gale::CancelledError&) {
            unwound = true;
            throw;
        }
    }),
                         "Event loop stopped before Future completed.", std::runtime_error);
    CHECK(unwound);
}

TEST_CASE("PeriodicCallback with jitter still ticks about once per interval") {
    run_async([]() -> task<void> {
        int ticks = 0;
        gale::PeriodicCallback pc([&] { ++ticks; }, 10ms, 0.5);  // each wait 7.5 to 12.5 ms
        pc.start();
        co_await gale::sleep(105ms);
        pc.stop();
        CHECK(ticks >= 5);
        CHECK(ticks <= 14);
    });
}

TEST_CASE("PeriodicCallback::stop cancels a coroutine tick that is still running") {
    run_async([]() -> task<void> {
        bool cancelled = false;
        bool completed = false;
        gale::PeriodicCallback pc(
            [&]() -> task<void> {
                try {
                    co_await gale::sleep(10s);
                    completed = true;
                } catch (const gale::CancelledError&) {
                    cancelled = true;
                    throw;
                }
            },
            5ms);
        pc.start();
        co_await gale::sleep(20ms);
        pc.stop();
        co_await gale::sleep(5ms);
        CHECK(cancelled);
        CHECK_FALSE(completed);
    });
}
