// Micro benchmark of gale's coroutine runtime against plain asio::awaitable.
//
// Each operation is measured for gale and for its asio::awaitable / co_spawn
// counterpart in the same process, interleaved repetition by repetition, and
// reported as the median nanoseconds and heap allocations per operation.
// Allocations are counted by replacing the global operator new (and
// aligned_alloc, which Asio's recycling allocator calls directly; see
// alloc_count.cpp). Each benchmark first runs a tenth of its operations
// untimed, so the figures are the steady state: gale's frame pool and
// Asio's recycled handler memory are already primed.
//
//   runtime_bench [--reps N] [--scale F] [--only NAME] [--side gale|asio] [--raw]
//
// Output is a markdown table on stdout; --raw adds every repetition on
// stderr. --only runs one benchmark (by its short name, see --raw) and
// --side one side of it, which is handy under valgrind --tool=callgrind.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/version.hpp>

#include <gale/future.hpp>
#include <gale/gen.hpp>
#include <gale/ioloop.hpp>
#include <gale/task.hpp>

#include "alloc_count.hpp"

// ------------------------------------------------------------ measurement

namespace {

using bench_clock = std::chrono::steady_clock;

// Keeps a value alive as far as the optimiser can tell.
template <class T>
void keep(const T& value) {
    asm volatile("" : : "r,m"(value) : "memory");
}

struct sample {
    double ns_per_op = 0;
    double allocs_per_op = 0;
};

// Brackets the timed part of one repetition.
class stopwatch {
public:
    explicit stopwatch(std::size_t ops) : ops_(ops) {
        allocs_ = alloc_count::total();
        start_ = bench_clock::now();
    }
    sample stop() const {
        auto elapsed = bench_clock::now() - start_;
        auto allocs = alloc_count::total() - allocs_;
        double ns = std::chrono::duration<double, std::nano>(elapsed).count();
        return {ns / double(ops_), double(allocs) / double(ops_)};
    }

private:
    std::size_t ops_;
    std::uint64_t allocs_;
    bench_clock::time_point start_;
};

// A thread with its own io_context, standing in for "another thread" that
// completes work: a thread pool, a blocking library, a second event loop.
// Both sides of the comparison use this same worker.
class worker_thread {
public:
    worker_thread() : guard_(asio::make_work_guard(context_)), thread_([this] { context_.run(); }) {}
    ~worker_thread() {
        guard_.reset();
        thread_.join();
    }
    asio::io_context& context() { return context_; }

private:
    asio::io_context context_{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::thread thread_;
};

worker_thread* the_worker = nullptr;

// The asio side runs on its own io_context, made once and kept (like gale's
// per-thread IOLoop), with the same concurrency hint as gale's.
asio::io_context& asio_context() {
    static asio::io_context context(1);
    return context;
}

// Runs an asio::awaitable<sample> to its end on asio_context().
sample run_asio(asio::awaitable<sample> body) {
    auto& context = asio_context();
    context.restart();
    std::optional<sample> result;
    std::exception_ptr error;
    auto guard = asio::make_work_guard(context);
    asio::co_spawn(context, std::move(body), [&](std::exception_ptr e, sample s) {
        error = e;
        result = s;
        guard.reset();
    });
    context.run();
    if (error) std::rethrow_exception(error);
    return *result;
}

// Runs a gale task<sample> to its end on the thread's IOLoop.
template <class F>
sample run_gale(F make_body) {
    return gale::IOLoop::current().run_sync(make_body);
}

// ------------------------------------------------------------ 1. create + await an empty task

gale::task<int> gale_empty(int v) { co_return v; }

gale::task<sample> gale_create_await(std::size_t ops) {
    co_await gale::moment;  // from here on the loop is running
    int sum = 0;
    for (std::size_t i = 0; i < ops / 10 + 1; ++i) sum += co_await gale_empty(int(i));
    stopwatch watch(ops);
    for (std::size_t i = 0; i < ops; ++i) sum += co_await gale_empty(int(i));
    sample s = watch.stop();
    keep(sum);
    co_return s;
}

asio::awaitable<int> asio_empty(int v) { co_return v; }

asio::awaitable<sample> asio_create_await(std::size_t ops) {
    int sum = 0;
    for (std::size_t i = 0; i < ops / 10 + 1; ++i) sum += co_await asio_empty(int(i));
    stopwatch watch(ops);
    for (std::size_t i = 0; i < ops; ++i) sum += co_await asio_empty(int(i));
    sample s = watch.stop();
    keep(sum);
    co_return s;
}

// ------------------------------------------------------------ 2. gather of 1,000 tasks

constexpr std::size_t gather_width = 1000;

gale::task<int> gale_trivial(int v) { co_return v; }

gale::task<int> gale_gather_once() {
    std::vector<gale::task<int>> tasks;
    tasks.reserve(gather_width);
    for (std::size_t i = 0; i < gather_width; ++i) tasks.push_back(gale_trivial(int(i)));
    std::vector<int> values = co_await gale::gather(std::move(tasks));
    co_return values.back();
}

gale::task<sample> gale_gather(std::size_t ops) {
    co_await gale::moment;
    int sum = 0;
    for (std::size_t i = 0; i < ops / 10 + 1; ++i) sum += co_await gale_gather_once();
    stopwatch watch(ops);
    for (std::size_t i = 0; i < ops; ++i) sum += co_await gale_gather_once();
    sample s = watch.stop();
    keep(sum);
    co_return s;
}

asio::awaitable<int> asio_trivial(int v) { co_return v; }

// Asio 1.22 has no ranged parallel group (make_parallel_group takes a fixed
// pack of operations), so the children are co_spawned and joined with a
// counter; the parent parks on a timer that the last child cancels.
asio::awaitable<int> asio_gather_once() {
    auto executor = co_await asio::this_coro::executor;
    std::vector<asio::awaitable<int>> children;
    children.reserve(gather_width);
    for (std::size_t i = 0; i < gather_width; ++i) children.push_back(asio_trivial(int(i)));

    std::vector<int> values(gather_width);
    std::size_t remaining = gather_width;
    std::exception_ptr first_error;
    asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
    for (std::size_t i = 0; i < gather_width; ++i) {
        asio::co_spawn(executor, std::move(children[i]), [&, i](std::exception_ptr e, int v) {
            if (e && !first_error) first_error = e;
            values[i] = v;
            if (--remaining == 0) all_done.cancel();
        });
    }
    if (remaining > 0) {
        std::error_code ignored;
        co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    if (first_error) std::rethrow_exception(first_error);
    co_return values.back();
}

asio::awaitable<sample> asio_gather(std::size_t ops) {
    int sum = 0;
    for (std::size_t i = 0; i < ops / 10 + 1; ++i) sum += co_await asio_gather_once();
    stopwatch watch(ops);
    for (std::size_t i = 0; i < ops; ++i) sum += co_await asio_gather_once();
    sample s = watch.stop();
    keep(sum);
    co_return s;
}

// ------------------------------------------------------------ 3. a result from another thread

// gale: a future completed by a resolver that the worker thread calls.
gale::task<int> gale_cross_thread_once(int v) {
    co_return co_await gale::from_callback<int>([v](gale::resolver<int> resolve) {
        asio::post(the_worker->context(), [resolve = std::move(resolve), v] { resolve(v); });
    });
}

gale::task<sample> gale_cross_thread(std::size_t ops) {
    co_await gale::moment;
    int sum = 0;
    for (std::size_t i = 0; i < ops / 10 + 1; ++i) sum += co_await gale_cross_thread_once(int(i));
    stopwatch watch(ops);
    for (std::size_t i = 0; i < ops; ++i) sum += co_await gale_cross_thread_once(int(i));
    sample s = watch.stop();
    keep(sum);
    co_return s;
}

// asio, as the idiom goes: co_spawn the work on the worker's io_context and
// await it with use_awaitable (the result is dispatched back to our executor).
asio::awaitable<sample> asio_cross_thread_spawn(std::size_t ops) {
    auto& worker = the_worker->context();
    int sum = 0;
    for (std::size_t i = 0; i < ops / 10 + 1; ++i)
        sum += co_await asio::co_spawn(worker, asio_trivial(int(i)), asio::use_awaitable);
    stopwatch watch(ops);
    for (std::size_t i = 0; i < ops; ++i)
        sum += co_await asio::co_spawn(worker, asio_trivial(int(i)), asio::use_awaitable);
    sample s = watch.stop();
    keep(sum);
    co_return s;
}

// asio, by hand: post a job to the worker, which posts the completion
// handler back to the awaiting coroutine's executor. This is the closest
// match to what gale's resolver does.
template <class Token>
auto async_on_worker(int v, Token&& token) {
    return asio::async_initiate<Token, void(int)>(
        [](auto handler, int value) {
            auto home = asio::prefer(asio::get_associated_executor(handler),
                                     asio::execution::outstanding_work.tracked);
            asio::post(the_worker->context(),
                       [handler = std::move(handler), home = std::move(home), value]() mutable {
                           asio::post(home, [handler = std::move(handler), value]() mutable {
                               std::move(handler)(value);
                           });
                       });
        },
        token, v);
}

asio::awaitable<sample> asio_cross_thread_post(std::size_t ops) {
    int sum = 0;
    for (std::size_t i = 0; i < ops / 10 + 1; ++i)
        sum += co_await async_on_worker(int(i), asio::use_awaitable);
    stopwatch watch(ops);
    for (std::size_t i = 0; i < ops; ++i) sum += co_await async_on_worker(int(i), asio::use_awaitable);
    sample s = watch.stop();
    keep(sum);
    co_return s;
}

// ------------------------------------------------------------ 4. timer round trip

gale::task<sample> gale_timer(std::size_t ops) {
    co_await gale::moment;
    for (std::size_t i = 0; i < ops / 10 + 1; ++i) co_await gale::sleep(std::chrono::nanoseconds(0));
    stopwatch watch(ops);
    for (std::size_t i = 0; i < ops; ++i) co_await gale::sleep(std::chrono::nanoseconds(0));
    co_return watch.stop();
}

// A fresh timer per wait, as gale::sleep makes one per call.
asio::awaitable<sample> asio_timer(std::size_t ops) {
    auto executor = co_await asio::this_coro::executor;
    for (std::size_t i = 0; i < ops / 10 + 1; ++i) {
        asio::steady_timer timer(executor, std::chrono::nanoseconds(0));
        co_await timer.async_wait(asio::use_awaitable);
    }
    stopwatch watch(ops);
    for (std::size_t i = 0; i < ops; ++i) {
        asio::steady_timer timer(executor, std::chrono::nanoseconds(0));
        co_await timer.async_wait(asio::use_awaitable);
    }
    co_return watch.stop();
}

// ------------------------------------------------------------ 5. one turn of the loop (reference)

gale::task<sample> gale_yield(std::size_t ops) {
    co_await gale::moment;
    for (std::size_t i = 0; i < ops / 10 + 1; ++i) co_await gale::moment;
    stopwatch watch(ops);
    for (std::size_t i = 0; i < ops; ++i) co_await gale::moment;
    co_return watch.stop();
}

asio::awaitable<sample> asio_yield(std::size_t ops) {
    auto executor = co_await asio::this_coro::executor;
    for (std::size_t i = 0; i < ops / 10 + 1; ++i) co_await asio::post(executor, asio::use_awaitable);
    stopwatch watch(ops);
    for (std::size_t i = 0; i < ops; ++i) co_await asio::post(executor, asio::use_awaitable);
    co_return watch.stop();
}

// ------------------------------------------------------------ driver

struct benchmark {
    const char* name;
    const char* label;
    const char* asio_label;
    std::size_t ops;
    std::function<sample(std::size_t)> gale;  // empty: the gale side is the previous row's
    std::function<sample(std::size_t)> asio;
};

struct result_row {
    std::vector<sample> gale, asio;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double median_ns(const std::vector<sample>& s) {
    std::vector<double> v;
    for (auto& x : s) v.push_back(x.ns_per_op);
    return median(v);
}

double median_allocs(const std::vector<sample>& s) {
    std::vector<double> v;
    for (auto& x : s) v.push_back(x.allocs_per_op);
    return median(v);
}

std::string format_ns(double ns) {
    char buf[32];
    if (ns >= 100) std::snprintf(buf, sizeof buf, "%.0f", ns);
    else std::snprintf(buf, sizeof buf, "%.1f", ns);
    return buf;
}

std::string format_allocs(double a) {
    char buf[32];
    if (a == 0) return "0";
    if (a >= 100) std::snprintf(buf, sizeof buf, "%.0f", a);
    else std::snprintf(buf, sizeof buf, "%.2f", a);
    return buf;
}

std::string compiler_name() {
#if defined(__clang__)
    std::string version = __clang_version__;
    while (!version.empty() && version.back() == ' ') version.pop_back();
    return "clang " + version;
#elif defined(__GNUC__)
    return "g++ " __VERSION__;
#else
    return "unknown compiler";
#endif
}

}  // namespace

int main(int argc, char** argv) {
    int reps = 7;
    double scale = 1.0;
    bool raw = false;
    std::string only;
    std::string side;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
        else if (arg == "--scale" && i + 1 < argc) scale = std::atof(argv[++i]);
        else if (arg == "--only" && i + 1 < argc) only = argv[++i];
        else if (arg == "--side" && i + 1 < argc) side = argv[++i];
        else if (arg == "--raw") raw = true;
        else {
            std::fprintf(stderr,
                         "usage: %s [--reps N] [--scale F] [--only NAME] [--side gale|asio] [--raw]\n",
                         argv[0]);
            return 2;
        }
    }

    worker_thread worker;
    the_worker = &worker;

    // Both loops get their timer service (and with it the epoll reactor) up
    // front, so both wait for work the same way whichever benchmark runs first.
    asio::steady_timer prime_gale(gale::IOLoop::current().context());
    asio::steady_timer prime_asio(asio_context());

    auto scaled = [&](std::size_t n) { return std::max<std::size_t>(1, std::size_t(double(n) * scale)); };

    std::vector<benchmark> benchmarks = {
        {"create_await", "create + await an empty task", "co_await an empty asio::awaitable<int>",
         scaled(2'000'000), [](std::size_t n) { return run_gale([n] { return gale_create_await(n); }); },
         [](std::size_t n) { return run_asio(asio_create_await(n)); }},
        {"gather", "gather of 1,000 trivial tasks (per gather)",
         "co_spawn x1000 + counter, parent parks on a timer", scaled(1'000),
         [](std::size_t n) { return run_gale([n] { return gale_gather(n); }); },
         [](std::size_t n) { return run_asio(asio_gather(n)); }},
        {"cross_thread", "future resolved from another thread (round trip)",
         "co_spawn on the worker's io_context, use_awaitable", scaled(20'000),
         [](std::size_t n) { return run_gale([n] { return gale_cross_thread(n); }); },
         [](std::size_t n) { return run_asio(asio_cross_thread_spawn(n)); }},
        {"cross_thread_post", "future resolved from another thread (same gale run as above)",
         "async_initiate: post to worker, worker posts handler back", scaled(20'000), nullptr,
         [](std::size_t n) { return run_asio(asio_cross_thread_post(n)); }},
        {"timer", "timer round trip: sleep(0)", "steady_timer(0).async_wait(use_awaitable)",
         scaled(40'000), [](std::size_t n) { return run_gale([n] { return gale_timer(n); }); },
         [](std::size_t n) { return run_asio(asio_timer(n)); }},
        {"yield", "reference: one loop turn, co_await gale::moment", "co_await asio::post(ex, use_awaitable)",
         scaled(500'000), [](std::size_t n) { return run_gale([n] { return gale_yield(n); }); },
         [](std::size_t n) { return run_asio(asio_yield(n)); }},
    };

    std::vector<result_row> rows(benchmarks.size());
    // Repetitions are interleaved (gale, asio, next benchmark, ...) so slow
    // drift on a shared machine hits both sides alike.
    for (int rep = 0; rep < reps; ++rep) {
        std::vector<std::optional<sample>> gale_this_rep(benchmarks.size());
        for (std::size_t b = 0; b < benchmarks.size(); ++b) {
            auto& bench = benchmarks[b];
            if (!only.empty() && only != bench.name) continue;
            std::size_t g_index = bench.gale ? b : b - 1;
            if (side != "asio" && !gale_this_rep[g_index])
                gale_this_rep[g_index] = benchmarks[g_index].gale(benchmarks[g_index].ops);
            sample g = gale_this_rep[g_index].value_or(sample{});
            sample a = side == "gale" ? sample{} : bench.asio(bench.ops);
            rows[b].gale.push_back(g);
            rows[b].asio.push_back(a);
            if (raw)
                std::fprintf(stderr,
                             "rep %d %-18s gale %10.1f ns %8.2f allocs | asio %10.1f ns %8.2f allocs\n", rep,
                             bench.name, g.ns_per_op, g.allocs_per_op, a.ns_per_op, a.allocs_per_op);
        }
    }

    std::printf("%s, Asio %d.%d.%d, %d repetitions; medians, gale/asio is the median of "
                "per-repetition ratios\n\n",
                compiler_name().c_str(), ASIO_VERSION / 100000, ASIO_VERSION / 100 % 1000,
                ASIO_VERSION % 100, reps);
    std::printf("| operation | asio counterpart | gale ns/op | asio ns/op | gale/asio "
                "| gale allocs/op | asio allocs/op |\n");
    std::printf("|---|---|--:|--:|--:|--:|--:|\n");
    for (std::size_t b = 0; b < benchmarks.size(); ++b) {
        if (rows[b].gale.empty()) continue;
        double g = median_ns(rows[b].gale), a = median_ns(rows[b].asio);
        // The ratio is the median of the per-repetition ratios: each gale run
        // sits next to its asio run in time, so load drift cancels out.
        std::vector<double> ratios;
        for (std::size_t r = 0; r < rows[b].gale.size(); ++r)
            ratios.push_back(rows[b].gale[r].ns_per_op / rows[b].asio[r].ns_per_op);
        std::printf("| %s | %s | %s | %s | %.2f | %s | %s |\n", benchmarks[b].label, benchmarks[b].asio_label,
                    format_ns(g).c_str(), format_ns(a).c_str(), median(ratios),
                    format_allocs(median_allocs(rows[b].gale)).c_str(),
                    format_allocs(median_allocs(rows[b].asio)).c_str());
    }
    return 0;
}
