// run_in_executor and ThreadPoolExecutor: blocking work off the loop, results back on it.
#include <gale/concurrent.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gale/gen.hpp>

#include "support.hpp"

using namespace std::chrono_literals;
using gale::task;
using gale_test::elapsed_ms;
using gale_test::run_async;

TEST_CASE("run_in_executor runs on another thread and resumes on the loop's thread") {
    run_async([]() -> task<void> {
        auto loop_thread = std::this_thread::get_id();
        std::thread::id worker_thread;
        std::string r = co_await gale::run_in_executor([&] {
            worker_thread = std::this_thread::get_id();
            return std::string("computed");
        });
        CHECK(r == "computed");
        CHECK(worker_thread != loop_thread);
        CHECK(std::this_thread::get_id() == loop_thread);
    });
}

TEST_CASE("an exception thrown by the blocking function reaches the awaiter") {
    run_async([]() -> task<void> {
        CHECK_THROWS_WITH_AS(co_await gale::run_in_executor([]() -> int {
            throw std::domain_error("disk on fire");
        }),
                             "disk on fire", std::domain_error);
        co_await gale::run_in_executor([] {});  // void functions too
    });
}

TEST_CASE("blocking calls run in parallel and the loop stays responsive") {
    run_async([]() -> task<void> {
        auto start = std::chrono::steady_clock::now();
        std::vector<decltype(gale::run_in_executor(std::function<int()>{}))> calls;
        for (int i = 0; i < 4; ++i)
            calls.push_back(gale::run_in_executor(std::function<int()>([i] {
                std::this_thread::sleep_for(100ms);
                return i;
            })));
        int ticks = 0;
        gale::PeriodicCallback ticker([&] { ++ticks; }, 10ms);
        ticker.start();
        std::vector<int> results = co_await gale::gather(std::move(calls));
        ticker.stop();
        CHECK(results == std::vector<int>{0, 1, 2, 3});
        CHECK(elapsed_ms(start) < 350.0);  // four 100 ms calls, not run one after another
        CHECK(ticks >= 3);                 // the loop kept turning meanwhile
    });
}

TEST_CASE("a dedicated ThreadPoolExecutor can be used instead of the default") {
    gale::ThreadPoolExecutor pool(2);
    std::atomic<int> ran{0};
    run_async([&]() -> task<void> {
        auto [a, b] = co_await gale::gather(gale::run_in_executor(pool, [&] { return ++ran; }),
                                            gale::run_in_executor(pool, [&] { return ++ran; }));
        CHECK(a + b == 3);
    });
    pool.shutdown();
    CHECK(ran == 2);
}

TEST_CASE("with_timeout around executor work waits for the call, then reports the timeout") {
    run_async([]() -> task<void> {
        std::atomic<bool> finished{false};
        auto start = std::chrono::steady_clock::now();
        std::string path = "/var/data";  // referenced by the thread: must outlive it
        CHECK_THROWS_AS(co_await gale::with_timeout(20ms, gale::run_in_executor([&] {
                            std::this_thread::sleep_for(80ms);
                            finished = !path.empty();
                        })),
                        gale::TimeoutError);
        // A thread cannot be interrupted: the timeout is late, never unsafe.
        CHECK(finished);
        CHECK(elapsed_ms(start) >= 79.0);
    });
}

TEST_CASE("a cancelled coroutine starts no new executor work") {
    run_async([]() -> task<void> {
        bool ran = false;
        auto work = [&]() -> task<void> {
            try {
                co_await gale::sleep(10s);
            } catch (const gale::CancelledError&) {
            }
            co_await gale::run_in_executor([&] { ran = true; });  // scope already cancelled
        };
        CHECK_THROWS_AS(co_await gale::with_timeout(10ms, work()), gale::TimeoutError);
        CHECK_FALSE(ran);
    });
}
