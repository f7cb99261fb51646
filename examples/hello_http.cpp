// The smallest HTTP server on gale's bare HTTPServer (Tornado's
// httpserver.HTTPServer with a request callback), on 127.0.0.1:8888.
//
//   $ curl http://127.0.0.1:8888/?name=gale
//   Hello, gale!
//
// It answers every request; with a query argument "name", it greets that.
// Until the web framework (Application, RequestHandler) arrives, this is
// what handlers look like one level down: a coroutine given the request,
// writing the response through request.connection.
#include <cstdio>
#include <string>

#include <gale/httpserver.hpp>

int main() {
    gale::HTTPServer server([](gale::HTTPServerRequest& request) -> gale::task<void> {
        auto name = request.query_arguments.find("name");
        std::string who = name != request.query_arguments.end() ? name->second.back() : "world";
        std::string body = "Hello, " + who + "!\n";
        gale::HTTPHeaders headers{{"Content-Type", "text/plain; charset=UTF-8"},
                                  {"Content-Length", std::to_string(body.size())}};
        request.connection->write_headers(gale::ResponseStartLine{"HTTP/1.1", 200, "OK"}, headers, body);
        co_await request.connection->finish();
    });
    server.listen(8888, "127.0.0.1");
    std::printf("Listening on http://127.0.0.1:8888/\n");
    std::fflush(stdout);
    gale::IOLoop::current().start();
}
