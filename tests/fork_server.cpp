// A multi-process HTTP server for test_process: binds 127.0.0.1 on an
// ephemeral port, prints the port, forks two children with
// gale::fork_processes (max_restarts: the first argument, default 5) and
// serves from each:
//   GET /        -> "<task id> <pid>"
//   GET /crash   -> the child exits with status 3 (the parent restarts it)
//   GET /kill    -> the child kills itself with SIGKILL (restarted too)
//   GET /exit    -> the child exits normally (the parent does not)
// A parent that gives up on restarting exits with status 5.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <gale/httpserver.hpp>
#include <gale/netutil.hpp>
#include <gale/process.hpp>

int main(int argc, char** argv) {
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
        std::string body = std::to_string(id) + " " + std::to_string(::getpid());
        gale::HTTPHeaders headers;
        headers.add("Content-Length", std::to_string(body.size()));
        request.connection->write_headers(gale::ResponseStartLine{"HTTP/1.1", 200, "OK"}, headers, body);
        co_await request.connection->finish();
    });
    server.add_sockets(std::move(sockets));
    gale::IOLoop::current().start();
}
