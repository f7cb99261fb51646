// The examples' command line, until options.hpp lands: --port=N (the seed's
// port by default; 0 picks a free one), --address=A (127.0.0.1 by default),
// and any --name=value an example reads with get().
//
//   int main(int argc, char** argv) {
//       example::args args(argc, argv, 8888);
//       gale::Application app({{"/", gale::handler<MainHandler>()}});
//       example::serve(app, args);   // prints "Listening on http://127.0.0.1:8888/"
//   }
//
// The "Listening on" line carries the port actually bound, so a test can
// start an example with --port=0 and read where it listens. Standard output
// is line-buffered, so what an example prints shows up at once in a pipe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include <gale/ioloop.hpp>
#include <gale/web.hpp>

namespace example {

class args {
public:
    args(int argc, char** argv, std::uint16_t default_port) : port(default_port) {
        std::setvbuf(stdout, nullptr, _IOLBF, 0);
        for (int i = 1; i < argc; ++i) {
            std::string_view a = argv[i];
            std::size_t eq = a.find('=');
            if (!a.starts_with("--") || eq == std::string_view::npos) fail(a);
            std::string name(a.substr(2, eq - 2));
            std::string value(a.substr(eq + 1));
            if (name == "port")
                port = parse_port(value);
            else if (name == "address")
                address = value;
            else
                extra[name] = value;
        }
    }

    // The value of --name=value, or default_value.
    std::string get(std::string_view name, std::string_view default_value = {}) const {
        auto it = extra.find(name);
        return it == extra.end() ? std::string(default_value) : it->second;
    }

    std::uint16_t port;
    std::string address = "127.0.0.1";

private:
    [[noreturn]] static void fail(std::string_view arg) {
        std::fprintf(stderr, "unknown argument '%.*s' (use --port=N, --address=A, --name=value)\n",
                     static_cast<int>(arg.size()), arg.data());
        std::exit(2);
    }
    static std::uint16_t parse_port(const std::string& value) {
        char* end = nullptr;
        unsigned long n = std::strtoul(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0' || n > 65535) fail("--port=" + value);
        return static_cast<std::uint16_t>(n);
    }

    std::map<std::string, std::string, std::less<>> extra;
};

// Prints where the server listens (the bound port), for people and tests.
inline void announce(const args& a, std::uint16_t port) {
    std::printf("Listening on http://%s:%u/\n", a.address.c_str(), static_cast<unsigned>(port));
}

// app.listen on the address and port given, then runs the loop.
inline void serve(gale::Application& app, const args& a) {
    announce(a, app.listen(a.port, a.address));
    gale::IOLoop::current().start();
}

}  // namespace example
