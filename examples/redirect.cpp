// Redirects (seed 004, "184. 输出" 5, and seed 001, "重定向"): redirect() in
// a method (302, or 301 when permanent) and RedirectHandler in the rules
// (301 unless permanent is false).
//
//   $ redirect                    # --port=8000
//   $ curl -i -d '' http://127.0.0.1:8000/login
//   HTTP/1.1 302 Found
//   Location: /
#include <gale/web.hpp>

#include "example_args.hpp"

struct IndexHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("主页");
        co_return;
    }
};

struct LoginHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("<form method=\"post\"><input type=\"submit\" value=\"登陆\"></form>");
        co_return;
    }
    gale::task<void> post() {
        redirect("/");
        co_return;
    }
};

struct OldPageHandler : gale::RequestHandler {
    gale::task<void> get() {
        redirect("/some-canonical-page", true);  // permanent: 301
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    gale::Application app({
        {"/", gale::handler<IndexHandler>()},
        {"/login", gale::handler<LoginHandler>()},
        {"/old-page", gale::handler<OldPageHandler>()},
        {"/foo", gale::handler<gale::RedirectHandler>("/bar", false)},
        {R"(/static/tornado-0\.2\.tar\.gz)",
         gale::handler<gale::RedirectHandler>("http://github.com/downloads/facebook/tornado/tornado-0.2.tar.gz")},
    });
    example::serve(app, args);
}
