// Hello World answered to POST only (seed 004, "178. Hello Wrold"): a GET
// gets Tornado's 405 page, as the seed explains.
//
//   $ hello_post                  # --port=8000
//   $ curl -d '' http://127.0.0.1:8000/
//   Hello Wrold!
#include <gale/web.hpp>

#include "example_args.hpp"

struct IndexHandler : gale::RequestHandler {
    gale::task<void> post() {
        write("Hello Wrold!");
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    gale::Application app({
        {"/", gale::handler<IndexHandler>()},
    });
    example::serve(app, args);
}
