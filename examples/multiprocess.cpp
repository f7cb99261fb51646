// One server, several processes (seed 004, "180. 单进程与多进程", and seed
// 003, "高级多进程"): bind the sockets, fork (one child per CPU with
// --processes=0, the default), and let each child serve them; the kernel
// spreads the connections. The parent restarts a child that dies.
//
//   $ multiprocess --processes=4  # --port=8000
//   $ curl http://127.0.0.1:8000/
//   Hello Itcast!
// (Tornado's HTTPServer.bind + start(n) is this same sequence.)
#include <cstdlib>

#include <gale/httpserver.hpp>
#include <gale/netutil.hpp>
#include <gale/process.hpp>
#include <gale/web.hpp>

#include "example_args.hpp"

struct IndexHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("Hello Itcast!");
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    auto sockets = gale::bind_sockets(args.port, args.address);
    example::announce(args, sockets.front().local_endpoint().port());
    gale::fork_processes(std::atoi(args.get("processes", "0").c_str()));
    gale::Application app({
        {"/", gale::handler<IndexHandler>()},
    });
    gale::HTTPServer http_server([&app](gale::HTTPServerRequest& request) { return app(request); });
    http_server.add_sockets(std::move(sockets));
    gale::IOLoop::current().start();
}
