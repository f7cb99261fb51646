// Tests for <gale/iostream.hpp>: IOStreams over real TCP connections on 127.0.0.1.
#include <gale/iostream.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <asio/ip/tcp.hpp>

#include <gale/future.hpp>
#include <gale/gen.hpp>
#include <gale/use_task.hpp>

#include "net_support.hpp"
#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;
using gale::IOStream;
using gale::StreamClosedError;
using gale_test::run_async;
using gale_test::thrown;
using gale_test::connected_pair;
using gale_test::temp_file;

std::string pattern(std::size_t size) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    return data;
}

// What real_error() holds, as text (empty when null).
std::string cause_of(const StreamClosedError& e) {
    if (!e.real_error()) return {};
    try {
        std::rethrow_exception(e.real_error());
    } catch (const std::exception& cause) {
        return cause.what();
    }
}

// Log records written while a test runs (tornado.general and friends).
struct captured_log {
    static inline std::vector<std::string> lines;
    gale::detail::log_handler previous;

    captured_log() : previous(gale::detail::logging_config().handler.exchange(&capture)) { lines.clear(); }
    captured_log(const captured_log&) = delete;
    captured_log& operator=(const captured_log&) = delete;
    ~captured_log() { gale::detail::logging_config().handler.store(previous); }

    static void capture(const gale::detail::log_record& r) {
        lines.push_back(fmt::format("{} {} {}", r.logger, static_cast<int>(r.level), r.message));
    }
};

// A TCP transport whose reads fail once told to, to drive the error paths
// without a misbehaving peer.
class failing_transport : public gale::stream_transport {
public:
    explicit failing_transport(tcp::socket socket) : inner_(std::move(socket)) {}

    void fail_reads_with(std::error_code error) { error_ = error; }

    std::size_t read_some(asio::mutable_buffer buffer, std::error_code& ec) override {
        if (error_) {
            ec = error_;
            return 0;
        }
        return inner_.read_some(buffer, ec);
    }
    std::size_t write_some(std::span<const asio::const_buffer> buffers, std::error_code& ec) override {
        return inner_.write_some(buffers, ec);
    }
    void async_wait(wait_type what, ready_handler handler) override { inner_.async_wait(what, std::move(handler)); }
    void close() noexcept override { inner_.close(); }
    tcp::socket& socket() noexcept override { return inner_.socket(); }

private:
    gale::tcp_transport inner_;
    std::error_code error_;
};

// Reads n bytes slowly: small pieces, a pause after each.
gale::task<std::string> read_slowly(std::shared_ptr<IOStream> stream, std::size_t n) {
    std::string out;
    while (out.size() < n) {
        out += co_await stream->read_bytes(std::min<std::size_t>(n - out.size(), 256 * 1024), true);
        co_await gale::sleep(1ms);
    }
    co_return out;
}

// A stream over a transport that is not tcp_transport: write_file copies.
std::shared_ptr<IOStream> copying_stream(std::shared_ptr<IOStream>& plain) {
    tcp::socket socket = std::move(plain->socket());
    plain.reset();
    return std::make_shared<IOStream>(std::make_unique<failing_transport>(std::move(socket)));
}

}  // namespace

TEST_CASE("read_until returns through the delimiter and keeps the rest buffered") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        co_await client->write("hello\r\nworld\r\npartial");
        CHECK(co_await server->read_until("\r\n") == "hello\r\n");
        CHECK(co_await server->read_until("\r\n") == "world\r\n");
        CHECK(co_await server->read_bytes(7) == "partial");
    });
}

TEST_CASE("read_until finds a delimiter split across separate sends") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        client->set_nodelay(true);
        auto head = gale::spawn(server->read_until("\r\n\r\n"));
        for (std::string_view piece : std::initializer_list<std::string_view>{"GET / HTTP/1.1\r", "\nHost: x\r\n\r", "\nnext"}) {
            co_await client->write(piece);
            co_await gale::moment;
        }
        CHECK(co_await head == "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(co_await server->read_bytes(4) == "next");
    });
}

TEST_CASE("read_until within max_bytes succeeds; past it the stream closes") {
    captured_log log;
    run_async([]() -> gale::task<void> {
        {
            auto [client, server] = connected_pair();
            co_await client->write("12345\n");
            CHECK(co_await server->read_until("\n", 6) == "12345\n");  // exactly max_bytes
        }
        {
            auto [client, server] = connected_pair();
            co_await client->write(std::string(100, 'x'));
            StreamClosedError e = co_await thrown<StreamClosedError>(server->read_until("\r\n", 10));
            CHECK(server->closed());
            CHECK(cause_of(e) == "delimiter \"\\r\\n\" not found within 10 bytes");
            CHECK(std::string(e.what()).find("not found within 10 bytes") != std::string::npos);
            REQUIRE(server->error());
            CHECK_THROWS_AS(std::rethrow_exception(server->error()), gale::UnsatisfiableReadError);
        }
        {
            // The delimiter is there, but beyond max_bytes.
            auto [client, server] = connected_pair();
            co_await client->write("0123456789abc\n");
            while (server->read_buffer().size() < 14) co_await server->fill();
            co_await thrown<StreamClosedError>(server->read_until("\n", 5));
            CHECK(server->closed());
        }
    });
    CHECK(captured_log::lines == std::vector<std::string>{
        "tornado.general 20 Unsatisfiable read, closing connection: delimiter \"\\r\\n\" not found within 10 bytes",
        "tornado.general 20 Unsatisfiable read, closing connection: delimiter \"\\n\" not found within 5 bytes"});
}

TEST_CASE("read_bytes: exactly n, or with partial whatever is there up to n") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        co_await client->write("abc");
        auto full = gale::spawn(server->read_bytes(6));
        co_await gale::moment;
        co_await client->write("def");
        CHECK(co_await full == "abcdef");

        co_await client->write("ghijkl");
        while (server->read_buffer().size() < 6) co_await server->fill();
        CHECK(co_await server->read_bytes(4, true) == "ghij");
        CHECK(co_await server->read_bytes(100, true) == "kl");
        CHECK(co_await server->read_bytes(0) == "");

        auto partial = gale::spawn(server->read_bytes(100, true));
        co_await client->write("m");
        CHECK(co_await partial == "m");
    });
}

TEST_CASE("read_until_close returns everything the peer sent") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        co_await client->write("one ");
        co_await client->write("two ");
        co_await client->write(std::string("three"));
        client->close();
        CHECK(co_await server->read_until_close() == "one two three");
        CHECK(server->closed());
        CHECK_FALSE(server->error());                          // a clean close
        CHECK(co_await server->read_until_close() == "");      // and again, on the closed stream
    });
}

TEST_CASE("peer close: reads fail with StreamClosedError, buffered bytes stay readable") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        co_await client->write("tail");
        client->close();
        StreamClosedError e = co_await thrown<StreamClosedError>(server->read_until("\n"));
        CHECK_FALSE(e.real_error());
        CHECK(std::string(e.what()) == "Stream is closed");
        CHECK(server->closed());
        CHECK(server->read_buffer() == "tail");
        CHECK(co_await server->read_bytes(4) == "tail");
        co_await thrown<StreamClosedError>(server->read_bytes(1));
        co_await thrown<StreamClosedError>(server->fill());
        CHECK_THROWS_AS((void)server->write("x"), StreamClosedError);
    });
}

TEST_CASE("close() wakes a parked reader and parked writers with StreamClosedError") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        auto read = gale::spawn(thrown<StreamClosedError>(server->read_bytes(10)));
        // The peer never reads, so a large write parks once the socket buffers fill.
        auto write = gale::spawn(thrown<StreamClosedError>(server->write(pattern(64 << 20))));
        co_await gale::moment;
        CHECK(server->reading());
        CHECK(server->writing());
        server->close();
        co_await read;
        co_await write;
        CHECK_FALSE(server->writing());
    });
}

TEST_CASE("writes from two coroutines arrive whole and in call order") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        const std::size_t size = 8 << 20;  // far more than the socket buffers take at once
        std::string a(size, 'a'), b(size, 'b');
        auto first = gale::spawn([](std::shared_ptr<IOStream> s, std::string_view d) -> gale::task<void> {
            co_await s->write(d);
        }(client, a));
        auto second = gale::spawn([](std::shared_ptr<IOStream> s, std::string d) -> gale::task<void> {
            co_await s->write(std::move(d));
        }(client, b));
        CHECK(client->writing());
        std::string received = co_await server->read_bytes(2 * size);
        co_await first;
        co_await second;
        CHECK(received.substr(0, size) == a);
        CHECK(received.substr(size) == b);

        // Many small writes queued behind a busy socket keep their order.
        std::string expected;
        std::vector<gale::future<void>> writes;
        writes.push_back(gale::spawn(client->write(pattern(8 << 20))));
        expected += pattern(8 << 20);
        for (int i = 0; i < 1000; ++i) {
            std::string piece = std::to_string(i) + ",";
            expected += piece;
            writes.push_back(gale::spawn(client->write(piece)));
        }
        CHECK(co_await server->read_bytes(expected.size()) == expected);
        for (auto& w : writes) co_await w;
        CHECK_FALSE(client->writing());
    });
}

TEST_CASE("large writes of several megabytes, copied and moved") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        const std::string big = pattern(12 << 20);
        auto [sent, received] = co_await gale::gather(client->write(big), server->read_bytes(big.size()));
        CHECK(received == big);
        auto [moved, again] = co_await gale::gather(client->write(std::string(big)), server->read_bytes(big.size()));
        CHECK(again == big);
        auto [pieces, joined] = co_await gale::gather(client->write("head:", big, ":tail"),
                                                      server->read_bytes(big.size() + 10));
        CHECK(joined == "head:" + big + ":tail");
    });
}

TEST_CASE("queued writes are delivered after every owner lets go") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        const std::string big = pattern(6 << 20);
        (void)client->write(big);  // not awaited
        client.reset();           // the pending send keeps the stream until it is done
        std::string received = co_await server->read_until_close();
        CHECK(received.size() == big.size());
        CHECK(received == big);
    });
}

TEST_CASE("close callback: on close(), on the peer closing an idle stream, and when set late") {
    run_async([]() -> gale::task<void> {
        {
            auto [client, server] = connected_pair();
            gale::future<void> called;
            server->set_close_callback([called] { called.set_result(); });
            server->close();
            co_await called;
        }
        {
            // Nobody reads: the callback alone notices the peer leaving.
            auto [client, server] = connected_pair();
            gale::future<void> called;
            server->set_close_callback([called] { called.set_result(); });
            CHECK(server->read_buffer_capacity() == 0);
            client->close();
            co_await called;
            CHECK(server->closed());
            CHECK_FALSE(server->error());
        }
        {
            // Data arriving while idle is kept for the next read.
            // (as in Tornado, buffered data holds the close back until it is read).
            auto [client, server] = connected_pair();
            gale::future<void> called;
            server->set_close_callback([called] { called.set_result(); });
            co_await client->write("kept");
            co_await client->write("kept");
            client->close();
            CHECK(co_await server->read_until_close() == "keptkept");
            co_await called;
        }
        {
            auto [client, server] = connected_pair();
            server->close();
            gale::future<void> called;
            server->set_close_callback([called] { called.set_result(); });
            co_await called;
        }
    });
}

TEST_CASE("clearing the close callback ends the watch, so a dropped stream closes") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        server->set_close_callback([] {});
        server->set_close_callback(nullptr);
        server.reset();  // nothing pins it any more: it is destroyed and the socket closed
        CHECK(co_await client->read_until_close() == "");
    });
}

TEST_CASE("fill, read_buffer and consume parse in place; an idle stream holds no buffer") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        CHECK(server->read_buffer_capacity() == 0);
        auto waiting = gale::spawn(server->fill());
        co_await gale::moment;
        CHECK(server->reading());
        CHECK(server->read_buffer_capacity() == 0);  // parked with nothing buffered

        // Length-prefixed records ("3:abc"), parsed straight from the buffer.
        co_await client->write("3:abc5:hello");
        CHECK(co_await waiting > 0);
        std::vector<std::string> records;
        while (records.size() < 2) {
            std::string_view data = server->read_buffer();
            std::size_t colon = data.find(':');
            if (colon != std::string_view::npos) {
                std::size_t length = std::stoul(std::string(data.substr(0, colon)));
                if (data.size() >= colon + 1 + length) {
                    records.emplace_back(data.substr(colon + 1, length));
                    server->consume(colon + 1 + length);
                    continue;
                }
            }
            co_await server->fill();
        }
        CHECK(records == std::vector<std::string>{"abc", "hello"});
        CHECK(server->read_buffer().empty());
        CHECK_THROWS_AS(server->consume(1), std::out_of_range);

        auto next = gale::spawn(server->read_bytes(3));
        co_await gale::moment;
        CHECK(server->read_buffer_capacity() == 0);
        co_await client->write("end");
        CHECK(co_await next == "end");
    });
}

TEST_CASE("one read at a time") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        auto first = gale::spawn(server->read_bytes(2));
        co_await gale::moment;
        co_await thrown<std::logic_error>(server->read_bytes(1));
        co_await thrown<std::logic_error>(server->fill());
        co_await client->write("ok");
        CHECK(co_await first == "ok");
    });
}

TEST_CASE("a read cancelled by with_timeout leaves the stream usable") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        co_await thrown<gale::TimeoutError>(gale::with_timeout(20ms, server->read_until("\n")));
        co_await thrown<gale::TimeoutError>(gale::with_timeout(20ms, server->fill()));
        CHECK_FALSE(server->closed());
        co_await client->write("line\n");
        CHECK(co_await server->read_until("\n") == "line\n");  // no "Already reading"
        co_await client->write("more");
        CHECK(co_await gale::with_timeout(5s, server->read_bytes(4)) == "more");
    });
}

TEST_CASE("a write cancelled by with_timeout stops waiting; its data is still sent") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        const std::string big = pattern(32 << 20);  // the peer is not reading yet: this parks
        co_await thrown<gale::TimeoutError>(gale::with_timeout(50ms, client->write(big)));
        CHECK(client->writing());
        auto [done, received] = co_await gale::gather(client->write("!"), server->read_bytes(big.size() + 1));
        CHECK(received == big + "!");
    });
}

TEST_CASE("held writes wait for release_writes, an awaited write or a clean close, and keep their order") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        server->hold_writes();
        (void)server->write("one ");
        (void)server->write(std::string("two "));
        (void)server->write("three", " ");
        CHECK(server->writing());
        // Held in user space: nothing can reach the peer, however long it waits.
        co_await thrown<gale::TimeoutError>(gale::with_timeout(50ms, client->fill()));
        CHECK(client->read_buffer().empty());
        server->release_writes();
        CHECK_FALSE(server->writing());
        CHECK(co_await client->read_bytes(14) == "one two three ");

        // Awaiting a held write sends it (and what came before) instead of waiting forever.
        server->hold_writes();
        (void)server->write("four ");
        co_await gale::with_timeout(5s, server->write("five "));
        CHECK(co_await client->read_bytes(10) == "four five ");

        // A write after the release goes straight out again.
        co_await server->write("six ");
        CHECK(co_await client->read_bytes(4) == "six ");

        // A clean close sends what is held before the connection ends.
        server->hold_writes();
        (void)server->write("last");
        server->close();
        CHECK(co_await client->read_until_close() == "last");
    });
}

TEST_CASE("a close with an error drops held writes") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        server->hold_writes();
        (void)server->write("never");
        server->close(std::make_exception_ptr(std::runtime_error("broken")));
        CHECK(co_await client->read_until_close() == "");
    });
}

TEST_CASE("tcp_transport: a short read tells that the next would block") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair();
        gale::stream_transport& transport = server->transport();
        CHECK_FALSE(transport.read_would_block());  // nothing read yet: try first
        co_await client->write("abc");
        CHECK(co_await server->read_bytes(3) == "abc");
        CHECK(transport.read_would_block());  // 3 bytes where thousands were offered: the queue was emptied
        co_await client->write("def");  // arrives after the short read: the readiness wait sees it
        CHECK(co_await gale::with_timeout(5s, server->read_bytes(3)) == "def");

        std::string buffer(4, '\0');  // a read that fills what it was offered may have left more
        co_await client->write("0123456789");
        co_await gale::sleep(20ms);
        std::error_code ec;
        CHECK(transport.read_some(asio::buffer(buffer), ec) == 4);
        CHECK_FALSE(ec);
        CHECK_FALSE(transport.read_would_block());
        CHECK(co_await gale::with_timeout(5s, server->read_bytes(6)) == "456789");
    });
}

TEST_CASE("max_buffer_size guards reads") {
    captured_log log;
    run_async([]() -> gale::task<void> {
        {
            auto [client, server] = connected_pair({.max_buffer_size = 1024});
            co_await client->write(std::string(4096, 'x'));
            StreamClosedError e = co_await thrown<StreamClosedError>(server->read_until("\n"));
            CHECK(cause_of(e) == "Reached maximum read buffer size");
            CHECK_THROWS_AS(std::rethrow_exception(server->error()), gale::StreamBufferFullError);
        }
        {
            auto [client, server] = connected_pair({.max_buffer_size = 1024});
            co_await client->write(std::string(4096, 'x'));
            StreamClosedError e = co_await thrown<StreamClosedError>(server->read_until_close());
            CHECK(cause_of(e) == "Reached maximum read buffer size");
        }
        {
            auto [client, server] = connected_pair({.max_buffer_size = 1024});
            co_await client->write(std::string(4096, 'x'));
            co_await thrown<StreamClosedError>(server->read_bytes(2000));
        }
        {
            // Reads within the limit are fine however much passes through.
            auto [client, server] = connected_pair({.max_buffer_size = 1024});
            auto sent = gale::spawn(client->write(std::string(1 << 20, 'y')));
            std::size_t total = 0;
            while (total < (1u << 20)) total += (co_await server->read_bytes(1000, true)).size();
            co_await sent;
            CHECK(total == (1u << 20));
        }
    });
    CHECK(captured_log::lines ==
          std::vector<std::string>(3, "tornado.general 40 Reached maximum read buffer size"));
}

TEST_CASE("max_write_buffer_size refuses writes that would queue too much") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair({}, {.max_write_buffer_size = 1 << 20});
        CHECK_THROWS_AS((void)client->write(std::string(2 << 20, 'z')), gale::StreamBufferFullError);
        co_await client->write("small");
        CHECK(co_await server->read_bytes(5) == "small");
    });
}

TEST_CASE("a transport error closes the stream and is its real_error") {
    captured_log log;
    run_async([]() -> gale::task<void> {
        auto& context = gale::IOLoop::current().context();
        tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        tcp::socket client_socket(context);
        client_socket.connect(acceptor.local_endpoint());
        tcp::socket server_socket = acceptor.accept();
        auto client = std::make_shared<IOStream>(std::move(client_socket));
        auto transport = std::make_unique<failing_transport>(std::move(server_socket));
        failing_transport& failing = *transport;
        auto server = std::make_shared<IOStream>(std::move(transport));
        co_await client->write("first");
        CHECK(co_await server->read_bytes(5) == "first");
        gale::future<void> called;
        server->set_close_callback([called] { called.set_result(); });
        failing.fail_reads_with(std::make_error_code(std::errc::io_error));
        co_await client->write("second");
        StreamClosedError e = co_await thrown<StreamClosedError>(server->read_bytes(6));
        REQUIRE(e.real_error());
        try {
            std::rethrow_exception(server->error());
        } catch (const std::system_error& cause) {
            CHECK(cause.code() == std::errc::io_error);
        }
        co_await called;
    });
    CHECK(captured_log::lines == std::vector<std::string>{"tornado.general 30 Error on read: Input/output error"});
}

TEST_CASE("set_nodelay, socket access and options") {
    run_async([]() -> gale::task<void> {
        auto [client, server] = connected_pair({.max_buffer_size = 4096});
        client->set_nodelay(true);
        asio::ip::tcp::no_delay option;
        client->socket().get_option(option);
        CHECK(option.value());
        client->set_nodelay(false);
        client->socket().get_option(option);
        CHECK_FALSE(option.value());
        CHECK(server->options().max_buffer_size == 4096);
        CHECK(server->socket().remote_endpoint() == client->socket().local_endpoint());
        client->close();
        client->set_nodelay(true);  // ignored once closed
        co_return;
    });
}

TEST_CASE("write_file sends a range of a file larger than the socket buffers, in order with writes") {
    run_async([]() -> gale::task<void> {
        const std::string data = pattern(24 << 20);
        temp_file file(data);
        const std::size_t offset = 12345, count = data.size() - offset - 999;
        const std::string expected = "head:" + data.substr(offset, count) + ":tail";
        for (bool copying : {false, true}) {
            CAPTURE(copying);
            auto [client, server] = connected_pair();
            if (copying) client = copying_stream(client);
            (void)client->write("head:");  // queued data goes first
            auto received = gale::spawn(read_slowly(server, expected.size()));
            co_await client->write_file(file.fd(), offset, count);
            co_await client->write(":tail");
            CHECK((co_await received) == expected);
        }
    });
}

TEST_CASE("write_file: a peer that disconnects midway fails it with StreamClosedError") {
    run_async([]() -> gale::task<void> {
        temp_file file(pattern(64 << 20));
        for (bool copying : {false, true}) {
            CAPTURE(copying);
            auto [client, server] = connected_pair();
            if (copying) client = copying_stream(client);
            auto sending = gale::spawn(thrown<StreamClosedError>(client->write_file(file.fd(), 0, 64 << 20)));
            co_await server->read_bytes(1 << 20);
            server->close();  // with unread bytes: the client's next send is reset
            co_await sending;
            CHECK(client->closed());
        }
    });
}

TEST_CASE("write_file: no write meanwhile; a file shorter than count closes the stream") {
    run_async([]() -> gale::task<void> {
        {
            temp_file big(pattern(16 << 20));
            auto [client, server] = connected_pair();
            auto sending = gale::spawn(client->write_file(big.fd(), 0, 16 << 20));  // parks: nobody reads yet
            CHECK_THROWS_AS((void)client->write("x"), std::logic_error);
            const std::string received = co_await server->read_bytes(16 << 20);
            CHECK(received == pattern(16 << 20));
            co_await sending;
        }
        temp_file file(pattern(1000));
        for (bool copying : {false, true}) {
            CAPTURE(copying);
            auto [client, server] = connected_pair();
            if (copying) client = copying_stream(client);
            StreamClosedError e = co_await thrown<StreamClosedError>(client->write_file(file.fd(), 500, 1000));
            CHECK(cause_of(e) == "write_file: the file ended at offset 1000, before 1500");
            const std::string received = co_await server->read_until_close();
            CHECK(received == pattern(1000).substr(500));
        }
    });
}
