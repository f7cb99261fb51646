// initialize arguments and named URLs (seed 004, "182. Application"): the
// seed's {"subject": "c++"} reaches ItcastHandler::initialize, and
// reverse_url("python_url") finds the rule named python_url.
//
//   $ named_urls                  # --port=8000
//   $ curl http://127.0.0.1:8000/
//   <a href="/python">itcast</a>
//   $ curl http://127.0.0.1:8000/cpp
//   c++
#include <string>

#include <gale/web.hpp>

#include "example_args.hpp"

struct IndexHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("<a href=\"" + reverse_url("python_url") + "\">itcast</a>");
        co_return;
    }
};

struct ItcastHandler : gale::RequestHandler {
    std::string subject;
    void initialize(const std::string& s) { subject = s; }
    gale::task<void> get() {
        write(subject);
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    gale::Application app(
        {
            {"/", gale::handler<IndexHandler>()},
            {"/cpp", gale::handler<ItcastHandler>("c++")},
            gale::url("/python", gale::handler<ItcastHandler>("python"), "python_url"),
        },
        {.debug = true});
    example::serve(app, args);
}
