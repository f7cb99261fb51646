// "Hello, World!" on gale's bare HTTPServer, for the HTTP benchmarks
// (benchmarks/run_http.sh; the numbers are in benchmarks/README.md).
//
//   http_hello_gale [--port N] [--address A] [--json]
//
// Prints "port N" on stdout once it listens (N is the bound port; 0, the
// default, takes any free one), then serves until SIGTERM or SIGINT, and
// then prints "requests N" on stderr (how many requests it answered) and
// exits. Stopping that way, not by dying of the signal, keeps the count and
// lets valgrind --tool=callgrind write its profile.
//
// The handler is what a user of the bare server writes (the example in
// httpserver.hpp's header comment): it builds the response headers for each
// request, as Tornado's hello world does, with the essentials of its answer:
//
//   HTTP/1.1 200 OK\r\n
//   Content-Type: text/plain\r\n
//   Content-Length: 13\r\n
//   \r\n
//   Hello, World!
//
// --json answers TechEmpower's JSON test instead, the bare-server row beside
// web_hello_gale's /json: for each request it encodes
// {"message": "Hello, World!"} with json::encode (Tornado's json_encode
// text) and sends it with Content-Type: application/json; charset=UTF-8 and
// its Content-Length. Any path gets the same answer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <gale/httpserver.hpp>
#include <gale/httputil.hpp>
#include <gale/ioloop.hpp>
#include <gale/json.hpp>
#include <gale/task.hpp>

#include "bench_server.hpp"

int main(int argc, char** argv) {
    std::uint16_t port = 0;
    std::string address = "127.0.0.1";
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--port" && i + 1 < argc) {
            port = static_cast<std::uint16_t>(std::strtoul(argv[++i], nullptr, 10));
        } else if (arg == "--address" && i + 1 < argc) {
            address = argv[++i];
        } else if (arg == "--json") {
            json = true;
        } else {
            std::fprintf(stderr, "usage: %s [--port N] [--address A] [--json]\n", argv[0]);
            return 2;
        }
    }

    static constexpr std::string_view body = "Hello, World!";
    std::uint64_t requests = 0;
    auto json_hello = [&requests](gale::HTTPServerRequest& request) -> gale::task<void> {
        std::string text = gale::json::encode(gale::json::object{{"message", "Hello, World!"}});
        gale::HTTPHeaders headers;
        headers.add("Content-Type", "application/json; charset=UTF-8");
        headers.add("Content-Length", std::to_string(text.size()));
        request.connection->write_headers({"HTTP/1.1", 200, "OK"}, headers, text);
        ++requests;
        co_await request.connection->finish();
    };
    auto hello = [&requests](gale::HTTPServerRequest& request) -> gale::task<void> {
        gale::HTTPHeaders headers;
        headers.add("Content-Type", "text/plain");
        headers.add("Content-Length", "13");
        request.connection->write_headers({"HTTP/1.1", 200, "OK"}, headers, body);
        ++requests;
        co_await request.connection->finish();
    };
    using callback = gale::HTTPServer::request_callback;
    gale::HTTPServer server(json ? callback(json_hello) : callback(hello));
    bench::serve_until_signal(server.listen(port, address), requests);
}
