// The order of a handler's hooks (seed 004, "185. 接口与调用顺序"): each
// prints its name. GET: set_default_headers, initialize, prepare, get,
// on_finish. POST calls send_error(200): set_default_headers, initialize,
// prepare, post, set_default_headers (again, for the error page),
// write_error, on_finish.
//
//   $ hooks                       # --port=8000
//   $ curl http://127.0.0.1:8000/
#include <cstdio>

#include <gale/web.hpp>

#include "example_args.hpp"

struct IndexHandler : gale::RequestHandler {
    void initialize() { std::printf("调用了initialize()\n"); }
    void prepare() { std::printf("调用了prepare()\n"); }
    void set_default_headers() override { std::printf("调用了set_default_headers()\n"); }
    void write_error(int, std::exception_ptr) override { std::printf("调用了write_error()\n"); }
    gale::task<void> get() {
        std::printf("调用了get()\n");
        co_return;
    }
    gale::task<void> post() {
        std::printf("调用了post()\n");
        send_error(200);  // as the seed: an "error" with status 200
        co_return;
    }
    void on_finish() override { std::printf("调用了on_finish()\n"); }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    gale::Application app({
        {"/", gale::handler<IndexHandler>()},
    });
    example::serve(app, args);
}
