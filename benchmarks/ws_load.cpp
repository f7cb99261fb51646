// The load generator of benchmarks/run_websocket.sh: clients made with gale's
// websocket_connect, against ws_echo_gale or ws_echo_tornado.py.
//
//   ws_load echo URL [--clients C] [--seconds S] [--size B]
//       C connections (1 by default), each sending a B-byte text message (64)
//       and waiting for its echo, again and again, for S seconds (3): one
//       message in flight per connection. Prints
//       "messages N seconds T cpu U" (U: this process's CPU seconds).
//   ws_load idle URL [--connections N]
//       opens N connections (10000), 100 at a time, each checked with one
//       echo, then prints "open N" and keeps them open until killed.
//
// Exits with 1 and a message if a connection fails or an echo differs.
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gale/gen.hpp>
#include <gale/ioloop.hpp>
#include <gale/task.hpp>
#include <gale/websocket.hpp>

namespace {

using clock_type = std::chrono::steady_clock;

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "ws_load: %s\n", what.c_str());
    std::exit(1);
}

// Sends `payload` and waits for the same text back.
gale::task<void> round_trip(gale::WebSocketClientConnection& connection, std::string_view payload) {
    co_await connection.write_message(payload);
    std::optional<gale::WebSocketMessage> echo = co_await connection.read_message();
    if (!echo || echo->data != payload) fail("the echo differs or the connection closed");
}

// Round trips on one connection until `until`; returns how many.
gale::task<std::uint64_t> echo_until(gale::WebSocketClientConnection& connection, std::string_view payload,
                                     clock_type::time_point until) {
    std::uint64_t count = 0;
    while (clock_type::now() < until) {
        co_await round_trip(connection, payload);
        ++count;
    }
    co_return count;
}

gale::task<void> echo(const std::string& url, int clients, double seconds, std::size_t size) {
    std::vector<gale::WebSocketClientConnection> connections;
    connections.reserve(static_cast<std::size_t>(clients));
    for (int i = 0; i < clients; ++i) connections.push_back(co_await gale::websocket_connect(url));
    std::string payload(size, 'x');
    for (auto& c : connections) co_await round_trip(c, payload);  // warm every connection

    double cpu0 = cpu_seconds();
    clock_type::time_point start = clock_type::now();
    clock_type::time_point until = start + std::chrono::duration_cast<clock_type::duration>(
                                               std::chrono::duration<double>(seconds));
    std::vector<gale::task<std::uint64_t>> loops;
    for (auto& c : connections) loops.push_back(echo_until(c, payload, until));
    std::vector<std::uint64_t> counts = co_await gale::gather(std::move(loops));
    std::chrono::duration<double> wall = clock_type::now() - start;
    std::uint64_t total = 0;
    for (std::uint64_t n : counts) total += n;
    std::printf("messages %llu seconds %.6f cpu %.6f\n", static_cast<unsigned long long>(total), wall.count(),
                cpu_seconds() - cpu0);
    for (auto& c : connections) c.close();
}

// Opens `count` connections one after another into `out`.
gale::task<void> open_some(const std::string& url, int count, std::vector<gale::WebSocketClientConnection>& out) {
    for (int i = 0; i < count; ++i) {
        gale::WebSocketClientConnection connection = co_await gale::websocket_connect(url);
        co_await round_trip(connection, "x");
        out.push_back(std::move(connection));
    }
}

gale::task<void> idle(const std::string& url, int connections) {
    constexpr int at_a_time = 100;
    std::vector<std::vector<gale::WebSocketClientConnection>> open(at_a_time);
    std::vector<gale::task<void>> openers;
    for (int i = 0; i < at_a_time; ++i)
        openers.push_back(open_some(url, connections / at_a_time + (i < connections % at_a_time), open[i]));
    co_await gale::gather(std::move(openers));
    std::printf("open %d\n", connections);
    std::fflush(stdout);
    for (;;) co_await gale::sleep(std::chrono::hours(1));
}

[[noreturn]] void usage(const char* argv0) {
    std::fprintf(stderr,
                 "usage: %s echo URL [--clients C] [--seconds S] [--size B]\n"
                 "       %s idle URL [--connections N]\n",
                 argv0, argv0);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) usage(argv[0]);
    std::string_view mode = argv[1];
    std::string url = argv[2];
    int clients = 1;
    int connections = 10000;
    double seconds = 3;
    std::size_t size = 64;
    for (int i = 3; i + 1 < argc; i += 2) {
        std::string_view arg = argv[i];
        if (arg == "--clients")
            clients = std::atoi(argv[i + 1]);
        else if (arg == "--connections")
            connections = std::atoi(argv[i + 1]);
        else if (arg == "--seconds")
            seconds = std::atof(argv[i + 1]);
        else if (arg == "--size")
            size = static_cast<std::size_t>(std::atol(argv[i + 1]));
        else
            usage(argv[0]);
    }
    if ((argc - 3) % 2 != 0 || (mode != "echo" && mode != "idle")) usage(argv[0]);
    try {
        gale::IOLoop::current().run_sync([&]() -> gale::task<void> {
            if (mode == "echo")
                co_await echo(url, clients, seconds, size);
            else
                co_await idle(url, connections);
        });
    } catch (const std::exception& e) {
        fail(e.what());
    }
}
