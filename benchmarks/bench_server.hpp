// The end of a gale benchmark server's main (http_hello_gale, web_hello_gale):
// prints "port N" on stdout, runs the loop until SIGTERM or SIGINT, prints
// "requests N" on stderr and exits. Stopping that way, not by dying of the
// signal, keeps the count and lets valgrind --tool=callgrind write its profile.
#pragma once

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include <asio/signal_set.hpp>

#include <gale/ioloop.hpp>

namespace bench {

[[noreturn]] inline void serve_until_signal(std::uint16_t port, const std::uint64_t& requests) {
    gale::IOLoop& loop = gale::IOLoop::current();
    asio::signal_set signals(loop.context(), SIGTERM, SIGINT);
    signals.async_wait([&loop](std::error_code, int) { loop.stop(); });

    std::printf("port %u\n", static_cast<unsigned>(port));
    std::fflush(stdout);
    loop.start();

    std::fprintf(stderr, "requests %llu\n", static_cast<unsigned long long>(requests));
    std::fflush(stderr);
    // Connections may still be open, their coroutines suspended on the
    // stopped loop; there is nothing to tidy up before the process ends.
    std::_Exit(0);
}

}  // namespace bench
