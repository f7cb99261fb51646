// The server programs of test_process. Each binds 127.0.0.1 on an
// ephemeral port and prints the port on its first line.
//
// fork_server [max_restarts]: forks two children with gale::fork_processes
// (max_restarts default 5) and serves from each:
//   GET /        -> "<task id> <pid>"
//   GET /crash   -> the child exits with status 3 (the parent restarts it)
//   GET /kill    -> the child kills itself with SIGKILL (restarted too)
//   GET /exit    -> the child exits normally (the parent does not)
// A parent that gives up on restarting exits with status 5.
//
// fork_server graceful GRACE_MS: one process with gale::shutdown_on_signal
// (grace GRACE_MS), for the graceful shutdown test:
//   GET /slow?ms=N -> 200 with Content-Length 13: "started\n" at once,
//                     "done\n" N ms later
//   GET /        -> "ok"
// It prints "clean exit" and returns 0 once the loop has stopped.
//
// fork_server graceful-threads GRACE_MS: the same served by two threads of
// gale::run_threads, each with its own server on the port (SO_REUSEPORT)
// and its own shutdown_on_signal; "/" answers "ok <task id>".
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <stdexcept>
#include <string>

#include <gale/gen.hpp>
#include <gale/httpserver.hpp>
#include <gale/netutil.hpp>
#include <gale/process.hpp>

namespace {

gale::task<void> answer(gale::HTTPServerRequest& request, const std::string& body) {
    gale::HTTPHeaders headers;
    headers.add("Content-Length", std::to_string(body.size()));
    request.connection->write_headers(gale::ResponseStartLine{"HTTP/1.1", 200, "OK"}, headers, body);
    co_await request.connection->finish();
}

gale::task<void> slow_or_ok(gale::HTTPServerRequest& request) {
    if (request.path != "/slow") co_return co_await answer(request, "ok");
    long ms = std::atol(request.arguments["ms"].front().c_str());
    gale::HTTPHeaders headers;
    headers.add("Content-Length", "13");
    request.connection->write_headers(gale::ResponseStartLine{"HTTP/1.1", 200, "OK"}, headers, "started\n");
    co_await gale::sleep(std::chrono::milliseconds(ms));
    co_await request.connection->write("done\n");
    co_await request.connection->finish();
}

int graceful_threads(std::chrono::milliseconds grace) {
    std::promise<std::uint16_t> bound;
    std::shared_future<std::uint16_t> port = bound.get_future().share();
    gale::run_threads(2, [&](int id) {
        auto sockets = gale::bind_sockets(id == 0 ? 0 : port.get(), "127.0.0.1", gale::default_backlog, true);
        if (id == 0) {
            std::printf("%u\n", sockets.front().local_endpoint().port());
            std::fflush(stdout);
            bound.set_value(sockets.front().local_endpoint().port());
        }
        gale::HTTPServer server([](gale::HTTPServerRequest& request) -> gale::task<void> {
            if (request.path == "/slow") co_return co_await slow_or_ok(request);
            co_await answer(request, "ok " + std::to_string(*gale::task_id()));
        });
        server.add_sockets(std::move(sockets));
        gale::shutdown_on_signal(server, grace);
        gale::IOLoop::current().start();
    });
    std::printf("clean exit\n");
    return 0;
}

int graceful(std::chrono::milliseconds grace) {
    auto sockets = gale::bind_sockets(0, "127.0.0.1");
    std::printf("%u\n", sockets.front().local_endpoint().port());
    std::fflush(stdout);
    gale::HTTPServer server(slow_or_ok);
    server.add_sockets(std::move(sockets));
    gale::shutdown_on_signal(server, grace);
    gale::IOLoop::current().start();
    std::printf("clean exit\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 2 && std::string(argv[1]) == "graceful") return graceful(std::chrono::milliseconds(std::atol(argv[2])));
    if (argc > 2 && std::string(argv[1]) == "graceful-threads")
        return graceful_threads(std::chrono::milliseconds(std::atol(argv[2])));
    int max_restarts = argc > 1 ? std::atoi(argv[1]) : 5;
    auto sockets = gale::bind_sockets(0, "127.0.0.1");
    std::printf("%u\n", sockets.front().local_endpoint().port());
    std::fflush(stdout);
    int id = 0;
    try {
        id = gale::fork_processes(2, max_restarts);
    } catch (const std::runtime_error& e) {
        std::fprintf(stderr, "fork_server: %s\n", e.what());
        return 5;
    }
    gale::HTTPServer server([id](gale::HTTPServerRequest& request) -> gale::task<void> {
        if (request.path == "/crash") std::_Exit(3);
        if (request.path == "/kill") ::raise(SIGKILL);
        if (request.path == "/exit") std::exit(0);
        co_await answer(request, std::to_string(id) + " " + std::to_string(::getpid()));
    });
    server.add_sockets(std::move(sockets));
    gale::IOLoop::current().start();
}
