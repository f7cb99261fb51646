// Tests for <gale/locks.hpp>: Lock, Semaphore, BoundedSemaphore, Event, Condition.
#include <gale/locks.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gale/future.hpp>
#include <gale/gen.hpp>

#include "support.hpp"

using namespace std::chrono_literals;
using gale_test::elapsed_ms;
using gale_test::run_async;
using gale_test::throws;
using strings = std::vector<std::string>;

namespace {


// Awaits `work` and returns the message of the exception it throws ("" if none).
template <class A>
gale::task<std::string> message_of(A work) {
    try {
        (void)co_await std::move(work);
    } catch (const std::exception& e) {
        co_return e.what();
    }
    co_return "";
}

// Yields to the loop until `flag` is set, so a test ends only after the
// coroutines it started have finished.
gale::task<void> until(const bool& flag) {
    while (!flag) co_await gale::moment;
}

// Runs `work` inside `scope`, the way with_timeout runs the work it guards,
// and records how it ended: "done", "cancelled" or "timeout".
gale::detail::scoped_detached run_in_scope(gale::detail::in_scope, gale::task<void> work,
                                           std::string& outcome) {
    try {
        co_await std::move(work);
        outcome = "done";
    } catch (const gale::CancelledError&) {
        outcome = "cancelled";
    } catch (const gale::TimeoutError&) {
        outcome = "timeout";
    }
}

}  // namespace

// ------------------------------------------------------------------ Lock

TEST_CASE("Lock: acquire takes a free lock at once and the guard releases it") {
    run_async([]() -> gale::task<void> {
        gale::Lock lock;
        {
            auto held = co_await lock.acquire();
            CHECK(held.holds());
            bool blocked = co_await throws<gale::TimeoutError>(lock.acquire(10ms));
            CHECK(blocked);
        }
        // Released by the guard: acquiring again does not wait.
        auto again = co_await lock.acquire(0ms);
        CHECK(again.holds());
    });
}

TEST_CASE("Lock: releasing an unlocked lock throws std::runtime_error") {
    gale::Lock lock;
    CHECK_THROWS_WITH_AS(lock.release(), "release unlocked lock", std::runtime_error);
    run_async([&]() -> gale::task<void> {
        auto held = co_await lock.acquire();
        held.release();
        CHECK_FALSE(held.holds());
        CHECK_THROWS_WITH_AS(lock.release(), "release unlocked lock", std::runtime_error);
        held.release();  // a released guard has nothing left to release
    });
}

TEST_CASE("Lock: waiters get the lock in the order they asked (FIFO)") {
    run_async([]() -> gale::task<void> {
        gale::Lock lock;
        std::vector<int> history;
        auto worker = [&](int id) -> gale::task<void> {
            auto held = co_await lock.acquire();
            history.push_back(id);
            co_await gale::moment;  // hold it across a turn of the loop
        };
        auto held = co_await lock.acquire();
        std::vector<gale::future<void>> workers;
        for (int id = 0; id < 5; ++id) workers.push_back(gale::spawn(worker(id)));
        for (auto& w : workers) CHECK_FALSE(w.done());
        CHECK(history.empty());
        held.release();
        for (auto& w : workers) co_await w;
        CHECK(history == std::vector<int>{0, 1, 2, 3, 4});
    });
}

TEST_CASE("Lock: a newcomer does not overtake a waiter") {
    run_async([]() -> gale::task<void> {
        gale::Lock lock;
        std::vector<std::string> order;
        auto take = [&](std::string name) -> gale::task<void> {
            auto held = co_await lock.acquire();
            order.push_back(name);
        };
        auto held = co_await lock.acquire();
        auto waiting = gale::spawn(take("waiter"));
        held.release();  // handed to the waiter, which has not run yet
        auto late = gale::spawn(take("newcomer"));
        CHECK_FALSE(late.done());
        co_await waiting;
        co_await late;
        CHECK(order == strings{"waiter", "newcomer"});
    });
}

TEST_CASE("Lock: acquire times out with TimeoutError and leaves the line") {
    run_async([]() -> gale::task<void> {
        gale::Lock lock;
        std::vector<std::string> got;
        auto take = [&](std::string name, std::optional<gale::IOLoop::duration> timeout) -> gale::task<void> {
            try {
                auto held = co_await lock.acquire(timeout);
                got.push_back(name);
            } catch (const gale::TimeoutError& e) {
                got.push_back(name + " timed out: " + e.what());
            }
        };
        auto held = co_await lock.acquire();
        auto start = std::chrono::steady_clock::now();
        auto impatient = gale::spawn(take("impatient", 30ms));
        auto patient = gale::spawn(take("patient", std::nullopt));
        co_await impatient;
        CHECK(elapsed_ms(start) >= 29);
        CHECK(got == strings{"impatient timed out: Timeout"});
        held.release();
        co_await patient;
        CHECK(got == strings{"impatient timed out: Timeout", "patient"});
        // Nobody holds it now.
        auto last = co_await lock.acquire(0ms);
        CHECK(last.holds());
    });
}

TEST_CASE("Lock: acquire accepts a deadline") {
    run_async([]() -> gale::task<void> {
        gale::Lock lock;
        auto held = co_await lock.acquire(gale::IOLoop::clock::now() + 1s);
        auto start = std::chrono::steady_clock::now();
        bool timed_out =
            co_await throws<gale::TimeoutError>(lock.acquire(gale::IOLoop::clock::now() + 20ms));
        CHECK(timed_out);
        CHECK(elapsed_ms(start) >= 19);
        CHECK(held.holds());
    });
}

TEST_CASE("Lock: with_timeout cancels a waiting acquire, which never gets the lock") {
    run_async([]() -> gale::task<void> {
        gale::Lock lock;
        std::string inside;
        bool finished = false;
        auto take = [&]() -> gale::task<void> {
            try {
                auto held = co_await lock.acquire();
                inside = "acquired";
            } catch (const gale::CancelledError&) {
                inside = "cancelled";
                finished = true;
                throw;  // with_timeout then reports TimeoutError
            }
            finished = true;
        };
        auto held = co_await lock.acquire();
        bool timed_out = co_await throws<gale::TimeoutError>(gale::with_timeout(20ms, take()));
        CHECK(timed_out);
        co_await until(finished);
        CHECK(inside == "cancelled");
        held.release();
        // The cancelled waiter left the line: the lock is free again.
        auto again = co_await lock.acquire(0ms);
        CHECK(again.holds());
    });
}

TEST_CASE("Lock: a waiter handed the lock keeps it even if its scope is cancelled before it runs") {
    run_async([]() -> gale::task<void> {
        gale::Lock lock;
        gale::detail::cancel_scope scope;
        std::string outcome;
        bool ran = false;
        auto take = [&]() -> gale::task<void> {
            auto held = co_await lock.acquire();
            ran = true;
        };
        auto held = co_await lock.acquire();
        run_in_scope(gale::detail::in_scope{&scope}, take(), outcome);
        held.release();  // hands the lock over...
        scope.cancel();  // ...then cancels, before the waiter resumes
        while (outcome.empty()) co_await gale::moment;
        CHECK(outcome == "done");
        CHECK(ran);
        auto again = co_await lock.acquire(0ms);  // and it released it
        CHECK(again.holds());
    });
}

TEST_CASE("Lock: a cancelled scope wakes a waiter with CancelledError") {
    run_async([]() -> gale::task<void> {
        gale::Lock lock;
        gale::detail::cancel_scope scope;
        std::string outcome;
        auto take = [&]() -> gale::task<void> { auto held = co_await lock.acquire(); };
        auto held = co_await lock.acquire();
        run_in_scope(gale::detail::in_scope{&scope}, take(), outcome);
        co_await gale::moment;
        CHECK(outcome.empty());
        scope.cancel();
        CHECK(outcome.empty());  // woken on a later turn, never inside cancel()
        while (outcome.empty()) co_await gale::moment;
        CHECK(outcome == "cancelled");

        // Waiting in an already cancelled scope fails at once.
        std::string second;
        run_in_scope(gale::detail::in_scope{&scope}, take(), second);
        CHECK(second == "cancelled");
        held.release();
        auto again = co_await lock.acquire(0ms);
        CHECK(again.holds());
    });
}

TEST_CASE("Lock: the guard releases when an exception leaves the block") {
    run_async([]() -> gale::task<void> {
        gale::Lock lock;
        auto failing = [&]() -> gale::task<void> {
            auto held = co_await lock.acquire();
            throw std::runtime_error("boom");
        };
        std::string what = co_await message_of(failing());
        CHECK(what == "boom");
        auto again = co_await lock.acquire(0ms);
        CHECK(again.holds());
    });
}

TEST_CASE("Lock: guards move, release early, and can be dismissed") {
    run_async([]() -> gale::task<void> {
        gale::Lock lock;
        gale::Lock::guard outer;
        CHECK_FALSE(outer.holds());
        {
            auto held = co_await lock.acquire();
            outer = std::move(held);
            CHECK_FALSE(held.holds());
            CHECK(static_cast<bool>(outer));
        }
        bool blocked = co_await throws<gale::TimeoutError>(lock.acquire(5ms));
        CHECK(blocked);  // the moved-from guard released nothing
        outer.release();
        CHECK_FALSE(outer.holds());

        auto kept = co_await lock.acquire();
        kept.dismiss();  // Tornado's style: release by hand later
        CHECK_FALSE(kept.holds());
        blocked = co_await throws<gale::TimeoutError>(lock.acquire(5ms));
        CHECK(blocked);
        lock.release();
        auto again = co_await lock.acquire(0ms);
        CHECK(again.holds());

        // Moving a guard into one that holds releases the old permit first.
        gale::Semaphore sem(2);
        auto first = co_await sem.acquire();
        auto second = co_await sem.acquire();
        first = std::move(second);
        auto third = co_await sem.acquire(0ms);
        CHECK(third.holds());
    });
}

// ------------------------------------------------------------------ Semaphore

TEST_CASE("Semaphore: two workers at a time (Tornado's example)") {
    run_async([]() -> gale::task<void> {
        gale::Semaphore sem(2);
        strings out;
        std::deque<gale::future<void>> resources(3);
        std::vector<gale::future<void>> pending(resources.begin(), resources.end());
        // Resolves the resources one per turn of the loop.
        auto simulator = [&]() -> gale::task<void> {
            for (auto& f : pending) {
                co_await gale::moment;
                f.set_result();
            }
        };
        auto worker = [&](int id) -> gale::task<void> {
            auto permit = co_await sem.acquire();
            out.push_back("Worker " + std::to_string(id) + " is working");
            gale::future<void> resource = resources.front();
            resources.pop_front();
            co_await resource;
            out.push_back("Worker " + std::to_string(id) + " is done");
        };
        auto simulation = gale::spawn(simulator());
        co_await gale::gather(worker(0), worker(1), worker(2));
        co_await simulation;
        CHECK(out == strings{"Worker 0 is working", "Worker 1 is working", "Worker 0 is done",
                             "Worker 2 is working", "Worker 1 is done", "Worker 2 is done"});
    });
}

TEST_CASE("Semaphore: counts permits and serves waiters in order") {
    run_async([]() -> gale::task<void> {
        gale::Semaphore sem(2);
        auto a = co_await sem.acquire(0ms);
        auto b = co_await sem.acquire(0ms);
        bool blocked = co_await throws<gale::TimeoutError>(sem.acquire(5ms));
        CHECK(blocked);

        std::vector<int> order;
        auto waiter = [&](int id) -> gale::task<void> {
            auto permit = co_await sem.acquire();
            order.push_back(id);
            permit.dismiss();  // keep it, to count what is left
        };
        auto w0 = gale::spawn(waiter(0));
        auto w1 = gale::spawn(waiter(1));
        a.release();
        co_await w0;
        CHECK(order == std::vector<int>{0});
        CHECK_FALSE(w1.done());
        b.release();
        co_await w1;
        CHECK(order == std::vector<int>{0, 1});
        sem.release();
        sem.release();
        auto c = co_await sem.acquire(0ms);
        auto d = co_await sem.acquire(0ms);
        CHECK((c.holds() && d.holds()));
    });
}

TEST_CASE("Semaphore: release beyond the initial value raises the count") {
    run_async([]() -> gale::task<void> {
        gale::Semaphore sem(0);
        bool blocked = co_await throws<gale::TimeoutError>(sem.acquire(5ms));
        CHECK(blocked);
        sem.release();
        sem.release();
        auto a = co_await sem.acquire(0ms);
        auto b = co_await sem.acquire(0ms);
        CHECK((a.holds() && b.holds()));
        a.dismiss();
        b.dismiss();
    });
}

TEST_CASE("Semaphore: a negative initial value is rejected") {
    CHECK_THROWS_AS(gale::Semaphore(-1), std::invalid_argument);
    CHECK_THROWS_AS(gale::BoundedSemaphore(-1), std::invalid_argument);
    CHECK_NOTHROW(gale::Semaphore(0));
}

TEST_CASE("Semaphore: acquire times out and the permit goes to the next live waiter") {
    run_async([]() -> gale::task<void> {
        gale::Semaphore sem(1);
        std::vector<std::string> got;
        auto take = [&](std::string name, std::optional<gale::IOLoop::duration> timeout) -> gale::task<void> {
            try {
                auto permit = co_await sem.acquire(timeout);
                got.push_back(name);
            } catch (const gale::TimeoutError&) {
                got.push_back(name + " timed out");
            }
        };
        auto held = co_await sem.acquire();
        auto start = std::chrono::steady_clock::now();
        auto first = gale::spawn(take("first", 25ms));
        auto second = gale::spawn(take("second", std::nullopt));
        co_await first;
        CHECK(elapsed_ms(start) >= 24);
        held.release();
        co_await second;
        CHECK(got == strings{"first timed out", "second"});
    });
}

TEST_CASE("Semaphore: with_timeout cancels a waiting acquire") {
    run_async([]() -> gale::task<void> {
        gale::Semaphore sem(0);
        bool cancelled = false;
        bool finished = false;
        auto take = [&]() -> gale::task<void> {
            try {
                auto permit = co_await sem.acquire();
            } catch (const gale::CancelledError&) {
                cancelled = true;
                finished = true;
                throw;  // with_timeout then reports TimeoutError
            }
            finished = true;
        };
        bool timed_out = co_await throws<gale::TimeoutError>(gale::with_timeout(15ms, take()));
        CHECK(timed_out);
        co_await until(finished);
        CHECK(cancelled);
        sem.release();  // goes to the pool, not to the cancelled waiter
        auto permit = co_await sem.acquire(0ms);
        CHECK(permit.holds());
    });
}

TEST_CASE("BoundedSemaphore: releasing too many times throws std::invalid_argument") {
    run_async([]() -> gale::task<void> {
        gale::BoundedSemaphore sem(2);
        CHECK_THROWS_WITH_AS(sem.release(), "Semaphore released too many times", std::invalid_argument);
        auto a = co_await sem.acquire();
        auto b = co_await sem.acquire();
        a.release();
        b.release();
        CHECK_THROWS_WITH_AS(sem.release(), "Semaphore released too many times", std::invalid_argument);

        // With a waiter, a release hands the permit over and is never "too many".
        auto c = co_await sem.acquire();
        auto d = co_await sem.acquire();
        bool got = false;
        auto waiter = [&]() -> gale::task<void> {
            auto permit = co_await sem.acquire();
            got = true;
        };
        auto w = gale::spawn(waiter());
        c.release();
        co_await w;
        CHECK(got);
        d.release();
        CHECK_THROWS_AS(sem.release(), std::invalid_argument);
    });
}

// ------------------------------------------------------------------ Event

TEST_CASE("Event: wait blocks until set, then returns at once (Tornado's example)") {
    run_async([]() -> gale::task<void> {
        gale::Event event;
        strings out;
        auto waiter = [&]() -> gale::task<void> {
            out.push_back("Waiting for event");
            co_await event.wait();
            out.push_back("Not waiting this time");
            co_await event.wait();
            out.push_back("Done");
        };
        auto setter = [&]() -> gale::task<void> {
            out.push_back("About to set the event");
            event.set();
            co_return;
        };
        co_await gale::gather(waiter(), setter());
        CHECK(out == strings{"Waiting for event", "About to set the event", "Not waiting this time", "Done"});
        CHECK(event.is_set());
    });
}

TEST_CASE("Event: set wakes every waiter; clear makes wait block again") {
    run_async([]() -> gale::task<void> {
        gale::Event event;
        CHECK_FALSE(event.is_set());
        int woken = 0;
        auto waiter = [&]() -> gale::task<void> {
            co_await event.wait();
            ++woken;
        };
        auto a = gale::spawn(waiter());
        auto b = gale::spawn(waiter());
        auto c = gale::spawn(waiter());
        co_await gale::moment;
        CHECK(woken == 0);
        event.set();
        CHECK(woken == 0);  // they resume on a later turn
        co_await gale::gather(a, b, c);
        CHECK(woken == 3);

        event.clear();
        CHECK_FALSE(event.is_set());
        auto start = std::chrono::steady_clock::now();
        bool timed_out = co_await throws<gale::TimeoutError>(event.wait(20ms));
        CHECK(timed_out);
        CHECK(elapsed_ms(start) >= 19);
        timed_out = co_await throws<gale::TimeoutError>(event.wait(gale::IOLoop::clock::now() + 5ms));
        CHECK(timed_out);
    });
}

TEST_CASE("Event: a waiter woken by set returns even if the event is cleared before it runs") {
    run_async([]() -> gale::task<void> {
        gale::Event event;
        bool returned = false;
        auto waiter = [&]() -> gale::task<void> {
            co_await event.wait();
            returned = true;
        };
        auto w = gale::spawn(waiter());
        event.set();
        event.clear();
        co_await w;
        CHECK(returned);
        CHECK_FALSE(event.is_set());
    });
}

TEST_CASE("Event: with_timeout cancels a wait; a later set still wakes the others") {
    run_async([]() -> gale::task<void> {
        gale::Event event;
        bool cancelled = false;
        bool finished = false;
        auto cancellable = [&]() -> gale::task<void> {
            try {
                co_await event.wait();
            } catch (const gale::CancelledError&) {
                cancelled = true;
                finished = true;
                throw;  // with_timeout then reports TimeoutError
            }
            finished = true;
        };
        bool other_woken = false;
        auto other = [&]() -> gale::task<void> {
            co_await event.wait();
            other_woken = true;
        };
        auto w = gale::spawn(other());
        std::string what = co_await message_of(gale::with_timeout(15ms, cancellable()));
        CHECK(what == "Timeout");
        co_await until(finished);
        CHECK(cancelled);
        event.set();
        co_await w;
        CHECK(other_woken);
    });
}

// ------------------------------------------------------------------ Condition

TEST_CASE("Condition: notify wakes a waiter (Tornado's example)") {
    run_async([]() -> gale::task<void> {
        gale::Condition condition;
        strings out;
        auto waiter = [&]() -> gale::task<void> {
            out.push_back("I'll wait right here");
            bool notified = co_await condition.wait();
            CHECK(notified);
            out.push_back("I'm done waiting");
        };
        auto notifier = [&]() -> gale::task<void> {
            out.push_back("About to notify");
            condition.notify();
            out.push_back("Done notifying");
            co_return;
        };
        co_await gale::gather(waiter(), notifier());
        CHECK(out == strings{"I'll wait right here", "About to notify", "Done notifying", "I'm done waiting"});
    });
}

TEST_CASE("Condition: wait returns false on timeout") {
    run_async([]() -> gale::task<void> {
        gale::Condition condition;
        auto start = std::chrono::steady_clock::now();
        bool notified = co_await condition.wait(20ms);
        CHECK_FALSE(notified);
        CHECK(elapsed_ms(start) >= 19);
        notified = co_await condition.wait(gale::IOLoop::clock::now() + 5ms);
        CHECK_FALSE(notified);
    });
}

TEST_CASE("Condition: notify(n) wakes the n longest waiters; notify_all the rest") {
    run_async([]() -> gale::task<void> {
        gale::Condition condition;
        std::vector<int> woken;
        auto waiter = [&](int id) -> gale::task<void> {
            if (co_await condition.wait()) woken.push_back(id);
        };
        std::vector<gale::future<void>> waiters;
        for (int id = 0; id < 5; ++id) waiters.push_back(gale::spawn(waiter(id)));
        condition.notify(2);
        co_await waiters[0];
        co_await waiters[1];
        co_await gale::moment;
        CHECK(woken == std::vector<int>{0, 1});
        condition.notify();
        co_await waiters[2];
        CHECK(woken == std::vector<int>{0, 1, 2});
        condition.notify_all();
        co_await waiters[3];
        co_await waiters[4];
        CHECK(woken == std::vector<int>{0, 1, 2, 3, 4});
        condition.notify(3);  // nobody waits: nothing is remembered
        bool notified = co_await condition.wait(5ms);
        CHECK_FALSE(notified);
    });
}

TEST_CASE("Condition: notify skips waiters that timed out or were cancelled") {
    run_async([]() -> gale::task<void> {
        gale::Condition condition;
        strings results;
        auto timed = [&]() -> gale::task<void> {
            bool notified = co_await condition.wait(10ms);
            results.push_back(notified ? "timed: notified" : "timed: timeout");
        };
        bool cancelled_done = false;
        auto cancellable = [&]() -> gale::task<void> {
            try {
                co_await condition.wait();
                results.push_back("cancellable: notified");
            } catch (const gale::CancelledError&) {
                results.push_back("cancellable: cancelled");
                cancelled_done = true;
                throw;  // with_timeout then reports TimeoutError
            }
            cancelled_done = true;
        };
        auto patient = [&]() -> gale::task<void> {
            bool notified = co_await condition.wait();
            results.push_back(notified ? "patient: notified" : "patient: timeout");
        };
        auto t = gale::spawn(timed());
        auto guarded = gale::spawn(gale::with_timeout(10ms, cancellable()));
        auto p = gale::spawn(patient());
        co_await t;
        bool timed_out = co_await throws<gale::TimeoutError>(guarded);
        CHECK(timed_out);
        co_await until(cancelled_done);
        condition.notify(1);
        co_await p;
        CHECK(results.size() == 3);
        CHECK(results.back() == "patient: notified");
        CHECK(std::count(results.begin(), results.end(), "timed: timeout") == 1);
        CHECK(std::count(results.begin(), results.end(), "cancellable: cancelled") == 1);
    });
}
