// An HTTPServer made explicitly for the Application (seed 004, "179.
// httpserver"); app.listen(port) is the short form of exactly this.
//
//   $ httpserver                  # --port=8000
//   $ curl http://127.0.0.1:8000/
//   Hello Itcast!
#include <gale/httpserver.hpp>
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
    gale::Application app({
        {"/", gale::handler<IndexHandler>()},
    });
    gale::HTTPServer http_server([&app](gale::HTTPServerRequest& request) { return app(request); });
    example::announce(args, http_server.listen(args.port, args.address));
    gale::IOLoop::current().start();
}
