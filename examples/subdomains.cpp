// Wildcard subdomains (seed 000, "tornado 泛域名"): rules added with
// add_handlers(host_pattern, rules) answer requests for those hosts first;
// every other host gets the Application's own rules.
//
//   $ subdomains                  # --port=8888
//   $ curl -H 'Host: a.com' http://127.0.0.1:8888/
//   Hello, a.com
//   $ curl -H 'Host: bbs.b.com' http://127.0.0.1:8888/
//   Hello, world,bbs
#include <string>

#include <gale/web.hpp>

#include "example_args.hpp"

struct MainHandler : gale::RequestHandler {
    gale::task<void> get() {
        const std::string& host = request().host;  // with the port, as Tornado's request.host
        std::string subdomain = host.substr(0, host.find('.'));
        write("Hello, world," + subdomain);
        co_return;
    }
};

struct DomainHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("Hello, a.com");
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8888);
    gale::Application app({
        {"/", gale::handler<MainHandler>()},
    });
    app.add_handlers(R"(^(www\.)?a\.com$)", {
        {"/", gale::handler<DomainHandler>()},
    });
    example::serve(app, args);
}
