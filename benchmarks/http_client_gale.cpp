// Sequential fetches with gale's AsyncHTTPClient, for the HTTP client
// benchmark (benchmarks/run_http.sh; the numbers are in benchmarks/README.md).
//
//   http_client_gale URL [--requests N] [--no-keep-alive]
//
// Fetches URL N times (10,000 by default) one after the other, each
// awaited before the next starts, after 100 untimed warm-up fetches, and
// prints "fetches N seconds S cpu C": the wall time of the N fetches and
// the process's CPU time (user + system, getrusage) they took. Each
// response must be a 200 with the body "Hello, World!". Pooling is on by
// default (one keep-alive connection, reused); --no-keep-alive sends
// "Connection: close" and connects anew for every fetch, as Tornado's
// simple client does.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include <gale/httpclient.hpp>
#include <gale/ioloop.hpp>
#include <gale/task.hpp>

namespace {

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

gale::task<void> fetch_many(gale::AsyncHTTPClient& client, const std::string& url, long count) {
    for (long i = 0; i < count; ++i) {
        gale::HTTPResponse response = co_await client.fetch(url);
        if (response.code != 200 || response.body != "Hello, World!") {
            std::fprintf(stderr, "unexpected response %d: %s\n", response.code, response.body.c_str());
            std::exit(1);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string url;
    long requests = 10000;
    gale::AsyncHTTPClientOptions options;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--requests" && i + 1 < argc) {
            requests = std::strtol(argv[++i], nullptr, 10);
        } else if (arg == "--no-keep-alive") {
            options.keep_alive = false;
        } else if (url.empty() && !arg.starts_with("-")) {
            url = arg;
        } else {
            url.clear();
            break;
        }
    }
    if (url.empty()) {
        std::fprintf(stderr, "usage: %s URL [--requests N] [--no-keep-alive]\n", argv[0]);
        return 2;
    }

    try {
        gale::IOLoop::current().run_sync([&]() -> gale::task<void> {
            gale::AsyncHTTPClient client(options);
            co_await fetch_many(client, url, 100);
            double cpu0 = cpu_seconds();
            auto t0 = std::chrono::steady_clock::now();
            co_await fetch_many(client, url, requests);
            std::chrono::duration<double> wall = std::chrono::steady_clock::now() - t0;
            double cpu = cpu_seconds() - cpu0;
            std::printf("fetches %ld seconds %.6f cpu %.6f\n", requests, wall.count(), cpu);
        });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fetch failed: %s\n", e.what());
        return 1;
    }
}
