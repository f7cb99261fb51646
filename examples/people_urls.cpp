// URLSpec rules with names, initialize arguments and named groups (seed 002,
// "url配置"). Rules are tried in order: /people/42 is an age, /people/ann a
// name, /people/ann/42 both; a trailing slash is optional.
//
//   $ people_urls                 # --port=8888
//   $ curl http://127.0.0.1:8888/people/ann/42
//   ann42
// Each request to /people/<name> prints "wh" (its initialize argument).
#include <cstdio>
#include <string>

#include <gale/web.hpp>

#include "example_args.hpp"

struct IndexHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("hello1");
        co_return;
    }
};

struct PeopleNameHandler : gale::RequestHandler {
    void initialize(const std::string& name) { std::printf("%s\n", name.c_str()); }
    gale::task<void> get(std::string_view name) {
        write("hello1:" + std::string(name));
        co_return;
    }
};

struct PeopleAgeHandler : gale::RequestHandler {
    gale::task<void> get(std::string_view age) {
        write(age);
        co_return;
    }
};

struct PeopleInfoHandler : gale::RequestHandler {
    gale::task<void> get(std::string_view name, std::string_view age) {
        write(std::string(name) + std::string(age));
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8888);
    gale::Application app(
        {
            gale::url("/", gale::handler<IndexHandler>(), "index"),
            gale::url(R"(/people/(\d+)/?)", gale::handler<PeopleAgeHandler>()),
            gale::url(R"(/people/(\w+)/?)", gale::handler<PeopleNameHandler>("wh")),
            gale::url(R"(/people/(?P<name>\w+)/(?P<age>\d+)/?)", gale::handler<PeopleInfoHandler>()),
        },
        {.debug = true});
    example::serve(app, args);
}
