// Counting the entries of a JSON API's answer (seed 001, "非阻塞式异步请求",
// the FriendFeed example; its callback becomes the code after co_await).
// --upstream is the API (the seed's http://friendfeed-api.com is gone; a
// local stand-in: examples/upstream.cpp).
//
//   $ feed_count --upstream=http://127.0.0.1:8001    # --port=8888
//   $ curl http://127.0.0.1:8888/
//   Fetched 3 entries from the FriendFeed API
#include <string>

#include <gale/httpclient.hpp>
#include <gale/json.hpp>
#include <gale/json_parse.hpp>
#include <gale/web.hpp>

#include "example_args.hpp"

struct MainHandler : gale::RequestHandler {
    const std::string* api = nullptr;
    void initialize(const std::string* a) { api = a; }

    gale::task<void> get() {
        gale::AsyncHTTPClient http;
        gale::HTTPResponse response = co_await http.fetch(*api + "/v2/feed/bret", false);
        if (response.error) throw gale::web::HTTPError(500);
        gale::json::value json = gale::json::parse(response.body);
        write("Fetched " + std::to_string(json["entries"].size()) +
              " entries "
              "from the FriendFeed API");
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8888);
    std::string api = args.get("upstream", "http://friendfeed-api.com");
    gale::Application app({
        {"/", gale::handler<MainHandler>(&api)},
    });
    example::serve(app, args);
}
