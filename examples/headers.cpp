// set_default_headers (seed 004, "184. 输出" 3): headers every response
// starts with; set_header in a method overrides them. Each hook prints its
// name, as in the seed.
//
//   $ headers                     # --port=8000
//   $ curl -i http://127.0.0.1:8000/
//   Content-Type: application/json; charset=UTF-8
//   Itcast: i love python
//   {"name": "zhangsan", "age": 24, "gender": 1}
#include <cstdio>

#include <gale/json.hpp>
#include <gale/web.hpp>

#include "example_args.hpp"

gale::json::object student() { return {{"name", "zhangsan"}, {"age", 24}, {"gender", 1}}; }

struct IndexHandler : gale::RequestHandler {
    void set_default_headers() override {
        std::printf("执行了set_default_headers()\n");
        set_header("Content-Type", "application/json; charset=UTF-8");  // JSON by default
        set_header("itcast", "python");
    }
    gale::task<void> get() {
        std::printf("执行了get()\n");
        write(gale::json::dump(student()));
        set_header("itcast", "i love python");  // replaces the default
        co_return;
    }
    gale::task<void> post() {
        std::printf("执行了post()\n");
        write(gale::json::dump(student()));
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
