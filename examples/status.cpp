// set_status (seed 004, "184. 输出" 4): a standard code takes its standard
// reason; another code takes the reason given, or "Unknown" (Tornado 6.2).
//
//   $ status                      # --port=8000
//   $ curl -i http://127.0.0.1:8000/err/210
//   HTTP/1.1 210 itcast error
#include <gale/web.hpp>

#include "example_args.hpp"

struct Err404Handler : gale::RequestHandler {
    gale::task<void> get() {
        write("hello itcast");
        set_status(404);  // a standard code: no reason needed
        co_return;
    }
};

struct Err210Handler : gale::RequestHandler {
    gale::task<void> get() {
        write("hello itcast");
        set_status(210, "itcast error");  // not standard: give a reason
        co_return;
    }
};

struct Err211Handler : gale::RequestHandler {
    gale::task<void> get() {
        write("hello itcast");
        set_status(211);  // not standard, no reason: "211 Unknown"
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    gale::Application app({
        {"/err/404", gale::handler<Err404Handler>()},
        {"/err/210", gale::handler<Err210Handler>()},
        {"/err/211", gale::handler<Err211Handler>()},
    });
    example::serve(app, args);
}
