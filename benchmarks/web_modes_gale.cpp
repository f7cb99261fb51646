// The plaintext app of web_hello_gale (TechEmpower's /plaintext through an
// Application) served in one of three ways, to compare gale's ways of using
// several cores (benchmarks/run_modes.sh; the figures are in the README's
// "Deploying" section):
//
//   web_modes_gale --mode single|fork|threads [--workers N] [--port N] [--address A]
//
//   single   one process, one thread, one loop
//   fork     Tornado's way: bind, then fork_processes(N); the kernel spreads
//            connections over the children sharing the listening socket
//   threads  gale's threads mode: run_threads(N), each thread with its own
//            Application and a socket of its own on the port (SO_REUSEPORT)
//
// N defaults to cpu_count(). Prints "port N" on stdout once listening. Stops
// on SIGTERM or SIGINT: in fork mode signal the whole process group (each
// child exits 0, then the parent does).
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <string_view>

#include <asio/signal_set.hpp>

#include <gale/httpserver.hpp>
#include <gale/ioloop.hpp>
#include <gale/log.hpp>
#include <gale/netutil.hpp>
#include <gale/process.hpp>
#include <gale/web.hpp>

namespace {

struct PlaintextHandler : gale::RequestHandler {
    gale::task<void> get() {
        set_header("Content-Type", "text/plain");
        write("Hello, World!");
        co_return;
    }
};

gale::Application make_app() { return gale::Application({{"/plaintext", gale::handler<PlaintextHandler>()}}); }

void announce(std::uint16_t port) {
    std::printf("port %u\n", static_cast<unsigned>(port));
    std::fflush(stdout);
}

// Serves the sockets with an Application on this thread's loop until
// SIGTERM or SIGINT, which `on_signal` handles.
template <class OnSignal>
void serve(std::vector<asio::ip::tcp::acceptor> sockets, OnSignal on_signal) {
    gale::Application app = make_app();
    gale::HTTPServer server([&app](gale::HTTPServerRequest& request) { return app(request); },
                            {.read_body = false});
    server.add_sockets(std::move(sockets));
    asio::signal_set signals(gale::IOLoop::current().context(), SIGTERM, SIGINT);
    signals.async_wait([on_signal](std::error_code ec, int) {
        if (!ec) on_signal();
    });
    gale::IOLoop::current().start();
}

[[noreturn]] void usage(const char* argv0) {
    std::fprintf(stderr, "usage: %s --mode single|fork|threads [--workers N] [--port N] [--address A]\n", argv0);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    std::string_view mode;
    int workers = 0;
    std::uint16_t port = 0;
    std::string address = "127.0.0.1";
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view arg = argv[i];
        if (arg == "--mode") mode = argv[i + 1];
        else if (arg == "--workers") workers = std::atoi(argv[i + 1]);
        else if (arg == "--port") port = static_cast<std::uint16_t>(std::strtoul(argv[i + 1], nullptr, 10));
        else if (arg == "--address") address = argv[i + 1];
        else usage(argv[0]);
    }
    if (argc % 2 == 0) usage(argv[0]);
    gale::set_log_level(gale::log_level::warning);  // no access log, as in web_hello_gale
    auto stop_loop = [] { gale::IOLoop::current().stop(); };

    if (mode == "single") {
        auto sockets = gale::bind_sockets(port, address);
        announce(sockets.front().local_endpoint().port());
        serve(std::move(sockets), stop_loop);
    } else if (mode == "fork") {
        auto sockets = gale::bind_sockets(port, address);
        announce(sockets.front().local_endpoint().port());
        gale::fork_processes(workers);
        serve(std::move(sockets), stop_loop);
    } else if (mode == "threads") {
        // Sockets belong to the loop of the thread that binds them: thread 0
        // binds first (port 0 picks one), then the others bind that port.
        std::promise<std::uint16_t> bound;
        std::shared_future<std::uint16_t> bound_port = bound.get_future().share();
        gale::run_threads(workers, [&](int id) {
            std::uint16_t wanted = id == 0 ? port : bound_port.get();
            auto sockets = gale::bind_sockets(wanted, address, gale::default_backlog, true);
            if (id == 0) {
                announce(sockets.front().local_endpoint().port());
                bound.set_value(sockets.front().local_endpoint().port());
            }
            serve(std::move(sockets), [] { gale::stop_threads(); });
        });
    } else {
        usage(argv[0]);
    }
    std::_Exit(0);  // connections may still be open on the stopped loops
}
