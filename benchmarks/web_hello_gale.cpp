// TechEmpower's plaintext and JSON tests through gale's full web framework
// (Application, routing, a RequestHandler object per request, default
// headers, Tornado's automatic Etag), for the HTTP benchmarks
// (benchmarks/run_http.sh --parts web; the numbers are in
// benchmarks/README.md).
//
//   web_hello_gale [--port N] [--address A] [--routes none|regex100|pcre100]
//                  [--access-log]
//
//   GET /plaintext   "Hello, World!", Content-Type: text/plain
//   GET /json        {"message": "Hello, World!"}, application/json; charset=UTF-8
//
// Tornado answers the same two paths in http_hello_tornado.py --mode web.
// Each response also carries what every gale (and Tornado) handler sends:
// Server, Date, Etag (the SHA-1 of the body) and Content-Length.
//
// --routes adds a table of 100 regex rules in front of the two above, the
// last one matching GET /api/v1/res99/12345 (the route-table benchmark):
//   regex100  "/api/v1/resN/([0-9]+)": each rule's literal prefix refuses
//             the path before PCRE2 is called (routing.hpp's fast path);
//   pcre100   "/[a-z0-9]+/v1/resN/([0-9]+)": no usable prefix, so all 100
//             rules run PCRE2 (JIT).
//
// Logging: the access log line is off (level warning), as in Tornado's hello
// world, whose tornado.access logger stays silent until logging is set up.
// --access-log keeps gale's default level (info): one line per request on
// stderr.
//
// Same protocol as http_hello_gale: "port N" on stdout once listening,
// "requests N" on stderr (responses finished) after SIGTERM or SIGINT.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <gale/ioloop.hpp>
#include <gale/json.hpp>
#include <gale/log.hpp>
#include <gale/web.hpp>

#include "bench_server.hpp"

namespace {

std::uint64_t requests = 0;

// Counts finished responses, whatever the handler.
struct CountingHandler : gale::RequestHandler {
    void on_finish() override { ++requests; }
};

struct PlaintextHandler : CountingHandler {
    gale::task<void> get() {
        set_header("Content-Type", "text/plain");
        write("Hello, World!");
        co_return;
    }
};

struct JsonHandler : CountingHandler {
    gale::task<void> get() {
        write(gale::json::object{{"message", "Hello, World!"}});
        co_return;
    }
};

// A rule of the route table: the group reaches get().
struct ResourceHandler : CountingHandler {
    gale::task<void> get(std::string_view /*id*/) {
        set_header("Content-Type", "text/plain");
        write("Hello, World!");
        co_return;
    }
};

[[noreturn]] void usage(const char* argv0) {
    std::fprintf(stderr, "usage: %s [--port N] [--address A] [--routes none|regex100|pcre100] [--access-log]\n",
                 argv0);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    std::uint16_t port = 0;
    std::string address = "127.0.0.1";
    std::string_view routes = "none";
    bool access_log = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--port" && i + 1 < argc)
            port = static_cast<std::uint16_t>(std::strtoul(argv[++i], nullptr, 10));
        else if (arg == "--address" && i + 1 < argc)
            address = argv[++i];
        else if (arg == "--routes" && i + 1 < argc)
            routes = argv[++i];
        else if (arg == "--access-log")
            access_log = true;
        else
            usage(argv[0]);
    }
    if (routes != "none" && routes != "regex100" && routes != "pcre100") usage(argv[0]);
    if (!access_log) gale::set_log_level(gale::log_level::warning);

    std::vector<gale::URLSpec> rules;
    if (routes != "none") {
        std::string head = routes == "regex100" ? "/api" : "/[a-z0-9]+";
        for (int n = 0; n < 100; ++n)
            rules.emplace_back(head + "/v1/res" + std::to_string(n) + "/([0-9]+)",
                               gale::handler<ResourceHandler>());
    }
    rules.emplace_back("/plaintext", gale::handler<PlaintextHandler>());
    rules.emplace_back("/json", gale::handler<JsonHandler>());
    gale::Application app(std::move(rules));

    bench::serve_until_signal(app.listen(port, address), requests);
}
