// The smallest gale server: HTTP "Hello, world" straight on an IOStream.
//
//   $ hello_iostream [port]            (8888 by default)
//   Listening on http://127.0.0.1:8888/
//   $ curl http://127.0.0.1:8888/
//   Hello, world
//
// Each connection reads request heads (everything up to the blank line) and
// answers each one on the same connection, keep-alive, until the client
// closes it. Request bodies are not read: this speaks just enough HTTP for
// curl and load generators; the real server is gale::HTTPServer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <gale/iostream.hpp>
#include <gale/ioloop.hpp>
#include <gale/tcpserver.hpp>

class HelloServer : public gale::TCPServer {
public:
    gale::task<void> handle_stream(std::shared_ptr<gale::IOStream> stream, std::string) override {
        try {
            for (;;) {
                co_await stream->read_until("\r\n\r\n", 64 * 1024);
                co_await stream->write(
                    "HTTP/1.1 200 OK\r\n"
                    "Content-Type: text/plain\r\n"
                    "Content-Length: 12\r\n"
                    "\r\n"
                    "Hello, world");
            }
        } catch (const gale::StreamClosedError&) {
            // The client went away (or sent a head over 64 KiB).
        }
    }
};

int main(int argc, char** argv) {
    std::uint16_t port = 8888;
    if (argc > 1) port = static_cast<std::uint16_t>(std::strtoul(argv[1], nullptr, 10));
    HelloServer server;
    port = server.listen(port, "127.0.0.1");  // the port bound, should 0 be asked for
    std::printf("Listening on http://127.0.0.1:%u/\n", static_cast<unsigned>(port));
    std::fflush(stdout);
    gale::IOLoop::current().start();
}
