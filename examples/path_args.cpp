// Parts of the path as arguments (seed 004, "正则提取uri"): unnamed groups
// arrive in order; named groups (?P<name>...) arrive in the pattern's order
// too (Tornado passes them by name), and by name through path_kwarg().
//
//   $ path_args                   # --port=8000
//   $ curl http://127.0.0.1:8000/sub-date/python/20161011
//   Date: 20161011<br/>Subject: python
#include <string>

#include <gale/web.hpp>

#include "example_args.hpp"

struct IndexHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("hello itcast.");
        co_return;
    }
};

struct SubjectCityHandler : gale::RequestHandler {
    gale::task<void> get(std::string_view subject, std::string_view city) {
        write("Subject: " + std::string(subject) + "<br/>City: " + std::string(city));
        co_return;
    }
};

struct SubjectDateHandler : gale::RequestHandler {
    // The seed's get(self, date, subject) takes them by name; here they come
    // in the pattern's order: subject, then date.
    gale::task<void> get(std::string_view subject, std::string_view date) {
        write("Date: " + std::string(date) + "<br/>Subject: " + std::string(subject));
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    gale::Application app({
        {"/", gale::handler<IndexHandler>()},
        {"/sub-city/(.+)/([a-z]+)", gale::handler<SubjectCityHandler>()},           // unnamed groups
        {R"(/sub-date/(?P<subject>.+)/(?P<date>\d+))", gale::handler<SubjectDateHandler>()},  // named groups
    });
    example::serve(app, args);
}
