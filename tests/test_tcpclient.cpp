// Tests for <gale/tcpclient.hpp>: connections to servers on 127.0.0.1 and
// ::1, refused and stalled connections, and the Happy Eyeballs fallback.
#include <gale/tcpclient.hpp>

#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <asio/ip/tcp.hpp>

#include <gale/gen.hpp>
#include <gale/tcpserver.hpp>
#include <gale/use_task.hpp>

#include "net_support.hpp"
#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;
using gale::IOStream;
using gale::StreamClosedError;
using gale_test::run_async;
using gale_test::has_ipv6_loopback;
using gale_test::thrown;

struct EchoServer : gale::TCPServer {
    int live = 0;
    std::vector<std::string> addresses;

    gale::task<void> handle_stream(std::shared_ptr<IOStream> stream, std::string address) override {
        ++live;
        addresses.push_back(address);
        try {
            for (;;) co_await stream->write(co_await stream->read_until("\n"));
        } catch (const StreamClosedError&) {
        }
        --live;
    }

    gale::task<void> drained() const {
        while (live > 0) co_await gale::sleep(1ms);
    }
};

// Answers every name with a fixed list, to steer the connector.
struct FixedResolver : gale::Resolver {
    std::vector<tcp::endpoint> answer;
    explicit FixedResolver(std::vector<tcp::endpoint> a) : answer(std::move(a)) {}
    gale::task<std::vector<tcp::endpoint>> resolve(std::string, std::uint16_t, gale::address_family) override {
        co_return answer;
    }
};


gale::task<std::string> round_trip(std::shared_ptr<IOStream> stream, std::string line) {
    co_await stream->write(line);
    co_return co_await stream->read_until("\n");
}

// A port on `address` where nothing listens (connections are refused).
std::uint16_t closed_port(asio::ip::address address = asio::ip::address_v4::loopback()) {
    asio::io_context context;
    tcp::acceptor acceptor(context, tcp::endpoint(address, 0));
    return acceptor.local_endpoint().port();
}


gale::task<void> connect_socket(tcp::socket& socket, tcp::endpoint endpoint) {
    co_await socket.async_connect(endpoint, gale::use_task);
}

// A listener on 127.0.0.1 whose accept queue is full and never drained: the
// kernel drops further SYNs, so new connections hang in SYN-SENT. It stands
// in for an unreachable host without sending anything off the machine.
struct stalled_listener {
    tcp::acceptor acceptor{gale::IOLoop::current().context()};
    std::vector<tcp::socket> fillers;
    tcp::endpoint endpoint;

    // True once a connection attempt hangs.
    gale::task<bool> fill() {
        acceptor.open(tcp::v4());
        acceptor.bind({asio::ip::address_v4::loopback(), 0});
        acceptor.listen(0);
        endpoint = acceptor.local_endpoint();
        for (int i = 0; i < 64; ++i) {
            tcp::socket socket(gale::IOLoop::current().context());
            try {
                co_await gale::with_timeout(500ms, connect_socket(socket, endpoint));
            } catch (const gale::TimeoutError&) {
                co_return true;
            }
            fillers.push_back(std::move(socket));
        }
        co_return false;
    }
};

// Lets cancelled work finish unwinding before the test's loop goes away.
gale::task<void> settle() { co_await gale::sleep(20ms); }

}  // namespace

TEST_CASE("connect to a server by address and by name; the stream works both ways") {
    run_async([]() -> gale::task<void> {
        EchoServer server;
        std::uint16_t port = server.listen(0, "127.0.0.1");
        gale::TCPClient client;
        auto stream = co_await client.connect("127.0.0.1", port);
        CHECK(co_await round_trip(stream, "ping\n") == "ping\n");
        CHECK(stream->socket().remote_endpoint() == tcp::endpoint(asio::ip::address_v4::loopback(), port));
        stream->close();

        auto by_name = co_await gale::TCPClient().connect("localhost", port, gale::connect_options{.timeout = 5s});
        CHECK(co_await round_trip(by_name, "pong\n") == "pong\n");
        by_name->close();
        co_await server.drained();
    });
}

TEST_CASE("connection refused is a std::system_error naming the address") {
    run_async([]() -> gale::task<void> {
        std::uint16_t port = closed_port();
        auto e = co_await thrown<std::system_error>(gale::TCPClient().connect("127.0.0.1", port));
        CHECK(e.code() == asio::error::connection_refused);
        CHECK(std::string(e.what()).find("connect to 127.0.0.1:" + std::to_string(port)) == 0);
    });
}

TEST_CASE("connect timeout: TimeoutError, from the option or from with_timeout") {
    run_async([]() -> gale::task<void> {
        stalled_listener stalled;
        if (!(co_await stalled.fill())) {
            MESSAGE("this kernel does not stall connections to a full accept queue; skipped");
            co_return;
        }
        gale::TCPClient client;
        gale::connect_options options;
        options.timeout = 100ms;
        co_await thrown<gale::TimeoutError>(client.connect("127.0.0.1", stalled.endpoint.port(), options));
        co_await thrown<gale::TimeoutError>(
            gale::with_timeout(100ms, client.connect("127.0.0.1", stalled.endpoint.port())));
        co_await settle();
    });
}

TEST_CASE("Happy Eyeballs: the other family is tried at once after a failure") {
    run_async([]() -> gale::task<void> {
        if (!has_ipv6_loopback()) {
            MESSAGE("no IPv6 loopback; skipped");
            co_return;
        }
        EchoServer server;
        std::uint16_t port = server.listen(0, "127.0.0.1");
        tcp::endpoint good(asio::ip::address_v4::loopback(), port);
        tcp::endpoint refused(asio::ip::address_v6::loopback(), closed_port(asio::ip::address_v6::loopback()));
        gale::TCPClient client(std::make_shared<FixedResolver>(std::vector<tcp::endpoint>{refused, good}));
        auto start = std::chrono::steady_clock::now();
        auto stream = co_await client.connect("example.test", 80);
        CHECK(stream->socket().remote_endpoint() == good);
        CHECK(co_await round_trip(stream, "fallback\n") == "fallback\n");
        MESSAGE("connected after " << gale_test::elapsed_ms(start) << " ms");
        stream->close();
        co_await server.drained();
    });
}

TEST_CASE("Happy Eyeballs: a stalled first family gives way to the second") {
    run_async([]() -> gale::task<void> {
        if (!has_ipv6_loopback()) {
            MESSAGE("no IPv6 loopback; skipped");
            co_return;
        }
        stalled_listener stalled;
        if (!(co_await stalled.fill())) {
            MESSAGE("this kernel does not stall connections to a full accept queue; skipped");
            co_return;
        }
        EchoServer server;
        std::uint16_t port = server.listen(0, "::1");
        tcp::endpoint good(asio::ip::address_v6::loopback(), port);
        gale::TCPClient client(std::make_shared<FixedResolver>(std::vector<tcp::endpoint>{stalled.endpoint, good}));
        gale::connect_options options;
        options.timeout = 10s;
        auto stream = co_await client.connect("example.test", 80, options);
        CHECK(stream->socket().remote_endpoint() == good);
        CHECK(co_await round_trip(stream, "v6\n") == "v6\n");
        stream->close();
        co_await server.drained();
        co_await settle();
    });
}

TEST_CASE("addresses of one family are tried in order; when all fail, the last error is reported") {
    run_async([]() -> gale::task<void> {
        EchoServer server;
        std::uint16_t port = server.listen(0, "127.0.0.1");
        std::uint16_t nothing = closed_port();
        tcp::endpoint refused(asio::ip::address_v4::loopback(), nothing);
        tcp::endpoint good(asio::ip::address_v4::loopback(), port);

        gale::TCPClient second_works(std::make_shared<FixedResolver>(std::vector<tcp::endpoint>{refused, good}));
        auto stream = co_await second_works.connect("example.test", 80);
        CHECK(stream->socket().remote_endpoint() == good);
        stream->close();

        tcp::endpoint also_refused(asio::ip::make_address("127.0.0.2"), nothing);
        gale::TCPClient none_works(
            std::make_shared<FixedResolver>(std::vector<tcp::endpoint>{refused, also_refused}));
        auto e = co_await thrown<std::system_error>(none_works.connect("example.test", 80));
        CHECK(e.code() == asio::error::connection_refused);
        CHECK(std::string(e.what()).find("connect to 127.0.0.2:" + std::to_string(nothing)) == 0);

        gale::TCPClient no_address(std::make_shared<FixedResolver>(std::vector<tcp::endpoint>{}));
        co_await thrown<std::system_error>(no_address.connect("example.test", 80));
        co_await server.drained();
    });
}

TEST_CASE("source_ip and source_port bind the local end") {
    run_async([]() -> gale::task<void> {
        EchoServer server;
        std::uint16_t port = server.listen(0, "127.0.0.1");
        gale::connect_options options;
        options.source_ip = asio::ip::address_v4::loopback();
        options.source_port = closed_port();
        auto stream = co_await gale::TCPClient().connect("127.0.0.1", port, options);
        CHECK(co_await round_trip(stream, "bound\n") == "bound\n");
        CHECK(server.addresses.at(0) == "127.0.0.1:" + std::to_string(options.source_port));
        stream->close();

        gale::connect_options port_only;
        port_only.source_port = closed_port();
        auto loopback = co_await gale::TCPClient().connect("127.0.0.1", port, port_only);
        CHECK(loopback->socket().local_endpoint() ==
              tcp::endpoint(asio::ip::address_v4::loopback(), port_only.source_port));
        loopback->close();
        co_await server.drained();
    });
}

TEST_CASE("stream options reach the connected stream") {
    run_async([]() -> gale::task<void> {
        EchoServer server;
        std::uint16_t port = server.listen(0, "127.0.0.1");
        gale::connect_options options;
        options.stream.max_buffer_size = 8;
        auto stream = co_await gale::TCPClient().connect("127.0.0.1", port, options);
        CHECK(stream->options().max_buffer_size == 8);
        co_await stream->write("0123456789abcdef\n");
        co_await thrown<StreamClosedError>(stream->read_until("\n"));  // the echo exceeds 8 bytes
        co_await server.drained();
    });
}
