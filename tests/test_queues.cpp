// Tests for <gale/queues.hpp>: Queue, PriorityQueue, LifoQueue.
#include <gale/queues.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gale/future.hpp>
#include <gale/gen.hpp>

#include "support.hpp"

using namespace std::chrono_literals;
using gale_test::elapsed_ms;
using gale_test::lifetime_counter;
using gale_test::run_async;
using gale_test::throws;
using strings = std::vector<std::string>;

namespace {


// Yields to the loop until `flag` is set, so a test ends only after the
// coroutines it started have finished.
gale::task<void> until(const bool& flag) {
    while (!flag) co_await gale::moment;
}

// Runs `work` inside `scope`, the way with_timeout runs the work it guards,
// and records how it ended: "done" or "cancelled".
gale::detail::scoped_detached run_in_scope(gale::detail::in_scope, gale::task<void> work,
                                           std::string& outcome) {
    try {
        co_await std::move(work);
        outcome = "done";
    } catch (const gale::CancelledError&) {
        outcome = "cancelled";
    }
}

// An item that counts its live copies. Not an aggregate on purpose: GCC 12
// destroys a brace-initialized aggregate temporary twice when its
// full-expression contains a co_await.
struct counted {
    explicit counted(int v) : value(v) {}
    int value;
    lifetime_counter counter;
};

}  // namespace

// ------------------------------------------------------------------ without waiting

TEST_CASE("Queue: put_nowait and get_nowait, first in first out") {
    gale::Queue<int> q;
    CHECK(q.maxsize() == 0);
    CHECK(q.empty());
    CHECK_FALSE(q.full());
    for (int i = 0; i < 100; ++i) q.put_nowait(i);  // unbounded
    CHECK(q.qsize() == 100);
    CHECK_FALSE(q.full());
    for (int i = 0; i < 100; ++i) CHECK(q.get_nowait() == i);
    CHECK(q.empty());
    CHECK_THROWS_WITH_AS(q.get_nowait(), "queue is empty", gale::QueueEmpty);
}

TEST_CASE("Queue: a bounded queue is full at maxsize and put_nowait throws QueueFull") {
    gale::Queue<std::string> q(2);
    CHECK(q.maxsize() == 2);
    q.put_nowait("a");
    CHECK_FALSE(q.full());
    q.put_nowait("b");
    CHECK(q.full());
    CHECK(q.qsize() == 2);
    CHECK_THROWS_WITH_AS(q.put_nowait("c"), "queue is full", gale::QueueFull);
    CHECK(q.qsize() == 2);
    CHECK(q.get_nowait() == "a");
    CHECK_FALSE(q.full());
    q.put_nowait("c");
    CHECK(q.get_nowait() == "b");
    CHECK(q.get_nowait() == "c");
}

TEST_CASE("PriorityQueue: smallest first (Tornado's example)") {
    gale::PriorityQueue<std::pair<int, std::string>> q;
    q.put_nowait({1, "medium-priority item"});
    q.put_nowait({0, "high-priority item"});
    q.put_nowait({10, "low-priority item"});
    CHECK(q.get_nowait() == std::pair<int, std::string>{0, "high-priority item"});
    CHECK(q.get_nowait() == std::pair<int, std::string>{1, "medium-priority item"});
    CHECK(q.get_nowait() == std::pair<int, std::string>{10, "low-priority item"});
}

TEST_CASE("PriorityQueue: order of many items, and a custom comparison") {
    gale::PriorityQueue<int> smallest;
    gale::PriorityQueue<int, std::greater<int>> largest;
    for (int v : {5, 3, 9, 1, 7, 3, 8}) {
        smallest.put_nowait(v);
        largest.put_nowait(v);
    }
    std::vector<int> up, down;
    while (!smallest.empty()) up.push_back(smallest.get_nowait());
    while (!largest.empty()) down.push_back(largest.get_nowait());
    CHECK(up == std::vector<int>{1, 3, 3, 5, 7, 8, 9});
    CHECK(down == std::vector<int>{9, 8, 7, 5, 3, 3, 1});
}

TEST_CASE("LifoQueue: most recent first (Tornado's example)") {
    gale::LifoQueue<int> q;
    q.put_nowait(3);
    q.put_nowait(2);
    q.put_nowait(1);
    CHECK(q.get_nowait() == 1);
    CHECK(q.get_nowait() == 2);
    CHECK(q.get_nowait() == 3);
}

TEST_CASE("Queue: task_done called too many times throws std::logic_error") {
    gale::Queue<int> q;
    CHECK_THROWS_WITH_AS(q.task_done(), "task_done() called too many times", std::logic_error);
    q.put_nowait(1);
    q.put_nowait(2);
    (void)q.get_nowait();
    (void)q.get_nowait();
    q.task_done();
    q.task_done();
    CHECK_THROWS_AS(q.task_done(), std::logic_error);
}

// ------------------------------------------------------------------ waiting

TEST_CASE("Queue: the producer/consumer example from Tornado's docs") {
    run_async([]() -> gale::task<void> {
        gale::Queue<int> q(2);
        strings out;
        gale::Event consumer_done;
        // Tornado's consumer runs forever; this one stops at -1 so the test
        // leaves nothing running.
        auto consumer = [&]() -> gale::task<void> {
            for (;;) {
                int item = co_await q.get();
                if (item < 0) break;
                out.push_back("Doing work on " + std::to_string(item));
                co_await gale::sleep(10ms);
                q.task_done();
            }
            q.task_done();
            consumer_done.set();
        };
        auto producer = [&]() -> gale::task<void> {
            for (int item = 0; item < 5; ++item) {
                co_await q.put(item);
                out.push_back("Put " + std::to_string(item));
            }
        };
        gale::IOLoop::current().spawn_callback(consumer());
        co_await producer();
        co_await q.join();
        out.push_back("Done");
        CHECK(out == strings{"Put 0", "Put 1", "Doing work on 0", "Put 2", "Doing work on 1", "Put 3",
                             "Doing work on 2", "Put 4", "Doing work on 3", "Doing work on 4", "Done"});
        co_await q.put(-1);
        co_await consumer_done.wait();
        CHECK(q.empty());
    });
}

TEST_CASE("Queue: a put hands the item straight to a waiting getter") {
    run_async([]() -> gale::task<void> {
        gale::Queue<int> q;
        std::optional<int> received;
        auto getter = [&]() -> gale::task<void> { received = co_await q.get(); };
        auto g = gale::spawn(getter());
        CHECK_FALSE(g.done());
        co_await q.put(42);
        CHECK(q.qsize() == 0);  // it went to the getter, not into the queue
        CHECK_FALSE(received.has_value());  // which resumes on a later turn
        co_await g;
        CHECK(received == 42);
        CHECK_THROWS_AS(q.get_nowait(), gale::QueueEmpty);
    });
}

TEST_CASE("Queue: getters are served in the order they arrived") {
    run_async([]() -> gale::task<void> {
        gale::Queue<std::string> q;
        strings received(4);
        auto getter = [&](int id) -> gale::task<void> { received[id] = co_await q.get(); };
        std::vector<gale::future<void>> getters;
        for (int id = 0; id < 4; ++id) getters.push_back(gale::spawn(getter(id)));
        q.put_nowait("a");
        q.put_nowait("b");
        co_await q.put("c");
        co_await q.put("d");
        for (auto& g : getters) co_await g;
        CHECK(received == strings{"a", "b", "c", "d"});
    });
}

TEST_CASE("Queue: putters wait while the queue is full and are served in order") {
    run_async([]() -> gale::task<void> {
        gale::Queue<int> q(1);
        std::vector<int> put_order;
        auto putter = [&](int item) -> gale::task<void> {
            co_await q.put(item);
            put_order.push_back(item);
        };
        q.put_nowait(0);
        std::vector<gale::future<void>> putters;
        for (int item = 1; item <= 3; ++item) putters.push_back(gale::spawn(putter(item)));
        co_await gale::moment;
        CHECK(put_order.empty());
        CHECK(q.qsize() == 1);
        std::vector<int> got;
        for (int i = 0; i < 4; ++i) got.push_back(co_await q.get());
        for (auto& p : putters) co_await p;
        CHECK(got == std::vector<int>{0, 1, 2, 3});
        CHECK(put_order == std::vector<int>{1, 2, 3});
        CHECK(q.empty());
    });
}

TEST_CASE("Queue: get_nowait on a full queue lets the first waiting putter in") {
    run_async([]() -> gale::task<void> {
        gale::LifoQueue<int> q(2);
        q.put_nowait(1);
        q.put_nowait(2);
        bool put = false;
        auto putter = [&]() -> gale::task<void> {
            co_await q.put(3);
            put = true;
        };
        auto p = gale::spawn(putter());
        // As in Tornado, the putter's item goes in before the get, so a
        // LIFO queue hands that newest item out.
        CHECK(q.get_nowait() == 3);
        CHECK(q.qsize() == 2);
        co_await p;
        CHECK(put);
        CHECK(q.get_nowait() == 2);
        CHECK(q.get_nowait() == 1);
    });
}

TEST_CASE("PriorityQueue: waiting getters and putters") {
    run_async([]() -> gale::task<void> {
        gale::PriorityQueue<int> q(2);
        auto got = gale::spawn(q.get());
        co_await q.put(7);
        int value = co_await got;
        CHECK(value == 7);
        q.put_nowait(5);
        q.put_nowait(9);
        auto blocked = gale::spawn(q.put(1));
        CHECK_FALSE(blocked.done());
        value = co_await q.get();
        CHECK(value == 1);
        co_await blocked;
        std::vector<int> rest;
        rest.push_back(co_await q.get());
        rest.push_back(co_await q.get());
        CHECK(rest == std::vector<int>{5, 9});
    });
}

TEST_CASE("Queue: move-only items pass through, also to a waiting getter") {
    run_async([]() -> gale::task<void> {
        gale::Queue<std::unique_ptr<int>> q(1);
        auto waiting = gale::spawn(q.get());
        co_await q.put(std::make_unique<int>(1));
        q.put_nowait(std::make_unique<int>(2));
        auto blocked = gale::spawn(q.put(std::make_unique<int>(3)));
        std::unique_ptr<int> first = co_await waiting;
        std::unique_ptr<int> second = co_await q.get();
        co_await blocked;
        std::unique_ptr<int> third = q.get_nowait();
        CHECK(*first == 1);
        CHECK(*second == 2);
        CHECK(*third == 3);
    });
}

// ------------------------------------------------------------------ timeouts

TEST_CASE("Queue: get times out with TimeoutError and does not swallow a later item") {
    run_async([]() -> gale::task<void> {
        gale::Queue<int> q;
        auto start = std::chrono::steady_clock::now();
        bool timed_out = co_await throws<gale::TimeoutError>(q.get(30ms));
        CHECK(timed_out);
        CHECK(elapsed_ms(start) >= 29);
        q.put_nowait(7);
        CHECK(q.qsize() == 1);  // no stale getter took it
        int item = co_await q.get(0ms);
        CHECK(item == 7);

        // A timed-out getter behind a live one: the live one gets the item.
        std::optional<int> received;
        auto patient = [&]() -> gale::task<void> { received = co_await q.get(); };
        bool impatient_timed_out = false;
        auto impatient = [&]() -> gale::task<void> {
            impatient_timed_out = co_await throws<gale::TimeoutError>(q.get(10ms));
        };
        auto i = gale::spawn(impatient());
        auto p = gale::spawn(patient());
        co_await i;
        CHECK(impatient_timed_out);
        q.put_nowait(8);
        q.put_nowait(9);
        co_await p;
        CHECK(received == 8);
        CHECK(q.get_nowait() == 9);
    });
}

TEST_CASE("Queue: get accepts a deadline") {
    run_async([]() -> gale::task<void> {
        gale::Queue<int> q;
        auto start = std::chrono::steady_clock::now();
        bool timed_out = co_await throws<gale::TimeoutError>(q.get(gale::IOLoop::clock::now() + 20ms));
        CHECK(timed_out);
        CHECK(elapsed_ms(start) >= 19);
        q.put_nowait(1);
        int item = co_await q.get(gale::IOLoop::clock::now() + 1s);
        CHECK(item == 1);
    });
}

TEST_CASE("Queue: a put that times out does not put its item") {
    run_async([]() -> gale::task<void> {
        gale::Queue<int> q(1);
        q.put_nowait(1);
        auto start = std::chrono::steady_clock::now();
        bool timed_out = co_await throws<gale::TimeoutError>(q.put(2, 20ms));
        CHECK(timed_out);
        CHECK(elapsed_ms(start) >= 19);
        timed_out = co_await throws<gale::TimeoutError>(q.put(3, gale::IOLoop::clock::now() + 5ms));
        CHECK(timed_out);
        CHECK(q.qsize() == 1);
        CHECK(q.get_nowait() == 1);
        CHECK(q.empty());
        co_await q.put(4, 1s);
        CHECK(q.get_nowait() == 4);
    });
}

TEST_CASE("Queue: items are neither leaked nor duplicated") {
    lifetime_counter::alive = 0;
    run_async([]() -> gale::task<void> {
        gale::Queue<counted> q(1);
        q.put_nowait(counted(1));
        bool timed_out = co_await throws<gale::TimeoutError>(q.put(counted(2), 5ms));
        CHECK(timed_out);
        CHECK(lifetime_counter::alive.load() == 1);  // the refused item is gone
        auto getter = gale::spawn(q.get());
        counted first = co_await getter;
        CHECK(first.value == 1);
        auto waiting = gale::spawn(q.get());
        co_await q.put(counted(3));
        counted third = co_await waiting;
        CHECK(third.value == 3);
        q.put_nowait(counted(4));
    });
    CHECK(lifetime_counter::alive.load() == 0);  // the queue destroyed what it held
}

// ------------------------------------------------------------------ cancellation

TEST_CASE("Queue: with_timeout cancels a waiting get, and the next item is not lost") {
    run_async([]() -> gale::task<void> {
        gale::Queue<int> q;
        bool cancelled = false;
        bool finished = false;
        auto getter = [&]() -> gale::task<int> {
            try {
                co_return co_await q.get();
            } catch (const gale::CancelledError&) {
                cancelled = true;
                finished = true;
                throw;
            }
        };
        bool timed_out = co_await throws<gale::TimeoutError>(gale::with_timeout(20ms, getter()));
        CHECK(timed_out);
        co_await until(finished);
        CHECK(cancelled);
        q.put_nowait(5);
        CHECK(q.qsize() == 1);
        CHECK(q.get_nowait() == 5);

        // with_timeout straight around q.get() behaves the same.
        timed_out = co_await throws<gale::TimeoutError>(gale::with_timeout(10ms, q.get()));
        CHECK(timed_out);
        co_await gale::moment;  // lets the cancelled get unwind
        q.put_nowait(6);
        CHECK(q.get_nowait() == 6);
    });
}

TEST_CASE("Queue: with_timeout cancels a waiting put, whose item is not put") {
    run_async([]() -> gale::task<void> {
        gale::Queue<int> q(1);
        q.put_nowait(1);
        bool cancelled = false;
        bool finished = false;
        auto putter = [&]() -> gale::task<void> {
            try {
                co_await q.put(2);
            } catch (const gale::CancelledError&) {
                cancelled = true;
                finished = true;
                throw;  // with_timeout then reports TimeoutError
            }
            finished = true;
        };
        bool timed_out = co_await throws<gale::TimeoutError>(gale::with_timeout(15ms, putter()));
        CHECK(timed_out);
        co_await until(finished);
        CHECK(cancelled);
        CHECK(q.get_nowait() == 1);
        CHECK(q.empty());
    });
}

TEST_CASE("Queue: a getter handed an item keeps it even if its scope is cancelled before it runs") {
    run_async([]() -> gale::task<void> {
        gale::Queue<int> q;
        gale::detail::cancel_scope scope;
        std::string outcome;
        std::optional<int> received;
        auto getter = [&]() -> gale::task<void> { received = co_await q.get(); };
        run_in_scope(gale::detail::in_scope{&scope}, getter(), outcome);
        q.put_nowait(11);  // handed over...
        scope.cancel();    // ...then cancelled, before the getter resumes
        while (outcome.empty()) co_await gale::moment;
        CHECK(outcome == "done");
        CHECK(received == 11);
    });
}

TEST_CASE("Queue: a cancelled scope wakes getters and putters with CancelledError") {
    run_async([]() -> gale::task<void> {
        gale::Queue<int> empty_q;
        gale::Queue<int> full_q(1);
        full_q.put_nowait(1);
        gale::detail::cancel_scope scope;
        std::string get_outcome, put_outcome;
        auto getter = [&]() -> gale::task<void> { (void)co_await empty_q.get(); };
        auto putter = [&]() -> gale::task<void> { co_await full_q.put(2); };
        run_in_scope(gale::detail::in_scope{&scope}, getter(), get_outcome);
        run_in_scope(gale::detail::in_scope{&scope}, putter(), put_outcome);
        co_await gale::moment;
        CHECK(get_outcome.empty());
        CHECK(put_outcome.empty());
        scope.cancel();
        while (get_outcome.empty() || put_outcome.empty()) co_await gale::moment;
        CHECK(get_outcome == "cancelled");
        CHECK(put_outcome == "cancelled");
        empty_q.put_nowait(3);
        CHECK(empty_q.get_nowait() == 3);
        CHECK(full_q.get_nowait() == 1);
        CHECK(full_q.empty());
    });
}

// ------------------------------------------------------------------ join

TEST_CASE("Queue: join waits until every item is marked done") {
    run_async([]() -> gale::task<void> {
        gale::Queue<int> q;
        co_await q.join(0ms);  // nothing was put: returns at once
        q.put_nowait(1);
        q.put_nowait(2);
        auto start = std::chrono::steady_clock::now();
        bool timed_out = co_await throws<gale::TimeoutError>(q.join(20ms));
        CHECK(timed_out);
        CHECK(elapsed_ms(start) >= 19);
        bool joined = false;
        auto joiner = [&]() -> gale::task<void> {
            co_await q.join();
            joined = true;
        };
        auto j = gale::spawn(joiner());
        (void)q.get_nowait();
        q.task_done();
        co_await gale::moment;
        CHECK_FALSE(joined);
        (void)q.get_nowait();
        q.task_done();
        co_await j;
        CHECK(joined);
        timed_out = co_await throws<gale::TimeoutError>(q.join(gale::IOLoop::clock::now() + 1s));
        CHECK_FALSE(timed_out);
    });
}
