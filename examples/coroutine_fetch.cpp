// A handler that awaits another coroutine which fetches a page (seed 000,
// "coroutine"): the upstream page's body is the answer. --upstream is the
// page (the seed fetches http://www.baidu.com; a local stand-in:
// examples/upstream.cpp).
//
//   $ coroutine_fetch --upstream=http://127.0.0.1:8001/   # --port=8888
//   $ curl http://127.0.0.1:8888/
#include <string>

#include <gale/httpclient.hpp>
#include <gale/web.hpp>

#include "example_args.hpp"

struct MainHandler : gale::RequestHandler {
    const std::string* url = nullptr;
    void initialize(const std::string* u) { url = u; }

    gale::task<void> get() {
        std::string response = co_await fetch_json(*url);
        write(response);
    }

    static gale::task<std::string> fetch_json(std::string url) {
        gale::AsyncHTTPClient client;
        gale::HTTPResponse response = co_await client.fetch(url);  // throws on an error: 500
        co_return response.body;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8888);
    std::string upstream = args.get("upstream", "http://www.baidu.com");
    gale::Application app({
        {"/", gale::handler<MainHandler>(&upstream)},
    });
    example::serve(app, args);
}
