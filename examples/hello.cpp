// Hello, world: Tornado's first program (seeds 000, 001, 003).
//
//   $ hello                       # --port=8888 --address=127.0.0.1
//   $ curl http://127.0.0.1:8888/
//   Hello, world
#include <gale/web.hpp>

#include "example_args.hpp"

struct MainHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("Hello, world");
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8888);
    gale::Application app({
        {"/", gale::handler<MainHandler>()},
    });
    example::serve(app, args);
}
