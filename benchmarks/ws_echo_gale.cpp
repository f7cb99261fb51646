// A WebSocket echo server on gale, for benchmarks/run_websocket.sh (its twin
// is ws_echo_tornado.py; the figures are in benchmarks/README.md).
//
//   ws_echo_gale [--port N] [--address A]
//
// ws://A:N/ echoes every message (text or binary) to its sender, as the
// EchoWebSocket of Tornado's documentation does. Prints "port N" on stdout
// once it listens (0, the default, takes any free port), serves until SIGTERM
// or SIGINT, then prints "requests N" on stderr: the messages it echoed.
// The access log is off, as Tornado's is unless logging is configured.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <gale/ioloop.hpp>
#include <gale/log.hpp>
#include <gale/web.hpp>
#include <gale/websocket.hpp>

#include "bench_server.hpp"

namespace {

std::uint64_t echoed = 0;

struct EchoHandler : gale::WebSocketHandler<EchoHandler> {
    void open() { set_nodelay(true); }
    void on_message(std::string_view message, bool binary) {
        (void)write_message(message, binary);
        ++echoed;
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::uint16_t port = 0;
    std::string address = "127.0.0.1";
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--port" && i + 1 < argc) {
            port = static_cast<std::uint16_t>(std::strtoul(argv[++i], nullptr, 10));
        } else if (arg == "--address" && i + 1 < argc) {
            address = argv[++i];
        } else {
            std::fprintf(stderr, "usage: %s [--port N] [--address A]\n", argv[0]);
            return 2;
        }
    }
    gale::set_log_level(gale::log_level::warning);
    gale::Application app({{"/", gale::handler<EchoHandler>()}});
    bench::serve_until_signal(app.listen(port, address), echoed);
}
