// The application deploy/ runs behind nginx (deploy/nginx.conf,
// deploy/supervisor.conf, deploy/gale@.service): one gale process per port,
// started with xheaders so that remote_ip is the client's and not nginx's.
// It answers with who served the request, which is what tests/test_deploy.cpp
// and tests/test_autoreload.cpp look at:
//
//   $ production --port=8000 --xheaders=1          # one process (supervisor, systemd)
//   $ production --port=8000 --processes=4         # or fork: children on 8000..8003
//   $ curl http://127.0.0.1:8000/
//   task=- port=8000 pid=4242 remote_ip=127.0.0.1 protocol=http started=1795324807123456789
//   $ curl http://127.0.0.1:8000/slow?seconds=2    # answers "slept 2" after two seconds
//
// task is the fork_processes task id ("-" without --processes), started the
// time the process (image) started, in nanoseconds since the epoch: it
// changes when autoreload re-executes the program, while the pid does not.
// --debug=1 turns on Tornado's debug mode (autoreload of the program and of
// --template_path=DIR, no template or static caches). SIGTERM or SIGINT
// stops it gracefully: no new connections, idle ones closed, requests in
// flight finished within --grace=SECONDS (default 10), then exit status 0.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <gale/gen.hpp>
#include <gale/netutil.hpp>
#include <gale/process.hpp>
#include <gale/web.hpp>

#include "example_args.hpp"

namespace {

struct Identity {
    std::string task = "-";
    std::uint16_t port = 0;
    long long started = 0;
};

Identity identity;

struct WhoHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("task=" + identity.task + " port=" + std::to_string(identity.port) +
              " pid=" + std::to_string(::getpid()) + " remote_ip=" + request().remote_ip +
              " protocol=" + request().protocol + " started=" + std::to_string(identity.started) + "\n");
        co_return;
    }
};

// Answers after ?seconds= (a slow request, for graceful shutdown).
struct SlowHandler : gale::RequestHandler {
    gale::task<void> get() {
        double seconds = std::atof(get_argument("seconds", "1").c_str());
        co_await gale::sleep(std::chrono::duration_cast<gale::IOLoop::duration>(
            std::chrono::duration<double>(seconds)));
        write("slept " + get_argument("seconds", "1") + "\n");
    }
};

}  // namespace

int main(int argc, char** argv) {
    identity.started = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    example::args args(argc, argv, 8000);
    int processes = std::atoi(args.get("processes", "1").c_str());
    if (processes != 1) {
        // Tornado's recipe for one port per process: fork first, then each
        // child listens on port + task id.
        int id = gale::fork_processes(processes);
        identity.task = std::to_string(id);
        args.port = static_cast<std::uint16_t>(args.port + id);
    }
    gale::Application app({{"/", gale::handler<WhoHandler>()}, {"/slow", gale::handler<SlowHandler>()}},
                          {.debug = args.get("debug", "0") == "1", .template_path = args.get("template_path")});
    identity.port = app.listen(args.port, args.address, {.xheaders = args.get("xheaders", "0") == "1"});
    example::announce(args, identity.port);
    // SIGTERM (supervisor's and systemd's stop) or SIGINT: stop accepting,
    // finish the requests in flight within --grace seconds, exit 0.
    gale::shutdown_on_signal(app, std::chrono::duration_cast<gale::IOLoop::duration>(
                                      std::chrono::duration<double>(std::atof(args.get("grace", "10").c_str()))));
    gale::IOLoop::current().start();
    return 0;
}
