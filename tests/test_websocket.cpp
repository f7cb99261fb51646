// Tests for gale/websocket.hpp and its frame codec (detail/websocket_frame.hpp).
#include <gale/websocket.hpp>

#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <asio/ip/tcp.hpp>

#include <gale/concurrent.hpp>
#include <gale/future.hpp>
#include <gale/gen.hpp>
#include <gale/ssl.hpp>
#include <gale/tcpclient.hpp>

#include "ssl_support.hpp"
#include "support.hpp"
#include "websocket_support.hpp"

using gale::detail::ws::event;
using gale::detail::ws::frame_reader;
using gale::detail::ws::opcode;
namespace ws = gale::detail::ws;

namespace {

const ws::mask_key key{0x37, 0xfa, 0x21, 0x3d};

std::string masked(opcode op, std::string_view payload, bool fin = true) {
    std::string out;
    ws::append_frame(out, op, payload, fin, &key);
    return out;
}

std::string plain(opcode op, std::string_view payload, bool fin = true) {
    std::string out;
    ws::append_frame(out, op, payload, fin);
    return out;
}

}  // namespace

TEST_CASE("frame codec: RFC 6455's examples, masked and unmasked") {
    // Section 5.7: a single-frame unmasked and masked text message "Hello".
    CHECK(plain(opcode::text, "Hello") == std::string("\x81\x05\x48\x65\x6c\x6c\x6f", 7));
    CHECK(masked(opcode::text, "Hello") == std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));
    // A fragmented unmasked text message and an unmasked ping.
    CHECK(plain(opcode::text, "Hel", false) == std::string("\x01\x03\x48\x65\x6c", 5));
    CHECK(plain(opcode::continuation, "lo") == std::string("\x80\x02\x6c\x6f", 4));
    CHECK(plain(opcode::ping, "Hello") == std::string("\x89\x05\x48\x65\x6c\x6c\x6f", 7));

    frame_reader server(true, 1 << 20);
    event e = server.next(masked(opcode::text, "Hello"));
    CHECK(e.what == event::kind::message);
    CHECK(e.used == 11);
    CHECK(e.data == "Hello");
    CHECK_FALSE(e.binary);
}

TEST_CASE("frame codec: 7, 16 and 64-bit lengths, and partial input") {
    for (std::size_t size : {std::size_t(0), std::size_t(125), std::size_t(126), std::size_t(65535),
                             std::size_t(65536), std::size_t(300000)}) {
        std::string payload(size, 'x');
        std::string frame = masked(opcode::binary, payload);
        std::size_t head = size < 126 ? 2 : size <= 65535 ? 4 : 10;
        CHECK(frame.size() == head + 4 + size);
        frame_reader server(true, 1 << 20);
        for (std::size_t cut : {std::size_t(0), std::size_t(1), head - 1, head + 3, frame.size() - 1}) {
            if (cut >= frame.size()) continue;
            event partial = server.next(std::string_view(frame).substr(0, cut));
            CHECK(partial.what == event::kind::need_more);
            CHECK(partial.used == 0);
        }
        event e = server.next(frame);
        REQUIRE(e.what == event::kind::message);
        CHECK(e.binary);
        CHECK(e.used == frame.size());
        CHECK(e.data == payload);
    }
    CHECK(ws::frame_head(opcode::text, 70000) == std::string("\x81\x7f\0\0\0\0\0\x01\x11\x70", 10));
}

TEST_CASE("frame codec: fragments with control frames between them") {
    frame_reader server(true, 1 << 20);
    std::string in = masked(opcode::text, "frag", false) + masked(opcode::ping, "p1") +
                     masked(opcode::continuation, "men", false) + masked(opcode::pong, "p2") +
                     masked(opcode::continuation, "ted");
    std::vector<std::string> seen;
    std::string_view rest = in;
    while (!rest.empty()) {
        event e = server.next(rest);
        REQUIRE(e.used > 0);
        rest.remove_prefix(e.used);
        if (e.what == event::kind::ping) seen.push_back("ping:" + std::string(e.data));
        if (e.what == event::kind::pong) seen.push_back("pong:" + std::string(e.data));
        if (e.what == event::kind::message) seen.push_back("msg:" + std::string(e.data));
    }
    CHECK(seen == std::vector<std::string>{"ping:p1", "pong:p2", "msg:fragmented"});
    // The next message starts empty.
    event e = server.next(masked(opcode::binary, "b"));
    CHECK(e.data == "b");
}

TEST_CASE("frame codec: protocol errors and their close codes") {
    auto error_of = [](std::string in, bool server = true, std::uint64_t limit = 1 << 20) {
        frame_reader r(server, limit);
        std::string_view rest = in;
        for (;;) {
            event e = r.next(rest);
            if (e.what == event::kind::error) return std::make_pair(*e.code, std::string(e.reason));
            if (e.used == 0) return std::make_pair(0, std::string("incomplete"));
            rest.remove_prefix(e.used);
            if (rest.empty()) return std::make_pair(0, std::string("no error"));
        }
    };
    CHECK(error_of(plain(opcode::text, "x")).first == 1002);                  // unmasked from a client
    CHECK(error_of(masked(opcode::text, "x"), false).first == 1002);          // masked from a server
    std::string rsv = masked(opcode::text, "x");
    rsv[0] = static_cast<char>(rsv[0] | 0x40);
    CHECK(error_of(rsv) == std::make_pair(1002, std::string("reserved bits set")));
    std::string bad_op = masked(opcode::text, "x");
    bad_op[0] = static_cast<char>(0x83);
    CHECK(error_of(bad_op).first == 1002);
    bad_op[0] = static_cast<char>(0x8b);
    CHECK(error_of(bad_op).first == 1002);
    CHECK(error_of(masked(opcode::ping, std::string(126, 'p'))).first == 1002);  // control frame too big
    CHECK(error_of(masked(opcode::ping, "p", false)).first == 1002);              // fragmented control frame
    CHECK(error_of(masked(opcode::continuation, "x")).first == 1002);             // nothing to continue
    CHECK(error_of(masked(opcode::text, "a", false) + masked(opcode::text, "b")).first == 1002);
    CHECK(error_of(masked(opcode::text, "\xff")) == std::make_pair(1007, std::string("invalid UTF-8")));
    CHECK(error_of(masked(opcode::text, "\xed\xa0\x80")).first == 1007);           // a surrogate
    CHECK(error_of(masked(opcode::text, "\xc0\xaf")).first == 1007);               // overlong
    // A character split across fragments is fine; a truncated one at the end is not.
    CHECK(error_of(masked(opcode::text, "\xe2\x82", false) + masked(opcode::continuation, "\xac")).first == 0);
    CHECK(error_of(masked(opcode::text, "\xe2\x82")).first == 1007);
    // The size limit counts the whole message, before the payload is in.
    CHECK(error_of(masked(opcode::binary, std::string(11, 'x')), true, 10) ==
          std::make_pair(1009, std::string("message too big")));
    CHECK(error_of(masked(opcode::binary, std::string(6, 'x'), false) + masked(opcode::continuation, "12345"),
                   true, 10)
              .first == 1009);
    CHECK(error_of(masked(opcode::binary, std::string(10, 'x')), true, 10).first == 0);
    std::string huge = ws::frame_head(opcode::binary, std::uint64_t(1) << 40);
    huge[1] = static_cast<char>(huge[1] | 0x80);
    CHECK(error_of(huge, true, 10 << 20).first == 1009);
    // Close frames: one byte, a reserved code, a bad reason.
    CHECK(error_of(masked(opcode::close, "\x03")).first == 1002);
    CHECK(error_of(masked(opcode::close, ws::close_payload(1005, ""))).first == 1002);
    CHECK(error_of(masked(opcode::close, ws::close_payload(999, ""))).first == 1002);
    CHECK(error_of(masked(opcode::close, ws::close_payload(1000, "\xff"))).first == 1007);
}

TEST_CASE("frame codec: close frames") {
    CHECK(ws::close_payload(std::nullopt, "") == "");
    CHECK(ws::close_payload(std::nullopt, "bye") == std::string("\x03\xe8" "bye", 5));
    CHECK(ws::close_payload(4001, "") == std::string("\x0f\xa1", 2));
    frame_reader server(true, 100);
    event e = server.next(masked(opcode::close, ws::close_payload(1001, "going")));
    REQUIRE(e.what == event::kind::close);
    CHECK(e.code == 1001);
    CHECK(e.reason == "going");
    e = server.next(masked(opcode::close, ""));
    REQUIRE(e.what == event::kind::close);
    CHECK_FALSE(e.code);
    CHECK(ws::valid_close_code(3000));
    CHECK_FALSE(ws::valid_close_code(1015));
}

// ------------------------------------------------------------------ a real server

namespace {

using gale::IOStream;
using gale::StreamClosedError;

struct Echo : gale::WebSocketHandler<Echo> {
    static inline std::vector<std::string> log;  // what the handlers saw, in order
    std::string name;
    void open(std::string_view n) {
        name = n;
        log.push_back("open " + name);
    }
    gale::task<void> on_message(std::string_view message, bool binary) {
        if (message == "close me") {
            close(4000, "done");
            co_return;
        }
        if (message == "json") {
            gale::json::value reply = gale::json::object{{"a", 1}};
            co_await write_message(reply);
            co_return;
        }
        if (message == "ping me") {
            co_await ping("srv");
            co_await write_message("pinged");
            co_return;
        }
        if (message == "fail") throw std::runtime_error("on_message failed");
        co_await write_message(message, binary);
    }
    void on_ping(std::string_view data) { log.push_back("ping " + std::string(data)); }
    void on_pong(std::string_view data) { log.push_back("pong " + std::string(data)); }
    void on_close() {
        try {
            (void)write_message("too late");
        } catch (const gale::WebSocketClosedError&) {
            log.push_back("closed error");
        }
        log.push_back("close " + name + " " + (close_code() ? std::to_string(*close_code()) : "none") + " " +
                      close_reason().value_or(""));
    }
};

struct Chooser : gale::WebSocketHandler<Chooser> {
    std::optional<std::string> select_subprotocol(std::span<const std::string> offered) override {
        for (const std::string& p : offered)
            if (p == "chat.v2") return p;
        return std::nullopt;
    }
    gale::task<void> on_message(std::string_view, bool) {
        co_await write_message(selected_subprotocol().value_or("none"));
    }
};

// A synchronous on_message: the replies to messages that arrive together are held and leave together.
struct Batcher : gale::WebSocketHandler<Batcher> {
    void on_message(std::string_view message, bool) {
        if (message == "bye") close(1000, "bye");
        else (void)write_message(std::string(message) + "!");
    }
};

gale::Application echo_app(std::size_t max_message_size = 10 << 20) {
    gale::Settings settings;
    settings.websocket_max_message_size = max_message_size;
    return gale::Application({{"/echo/(.*)", gale::handler<Echo>()},
                              {"/choose", gale::handler<Chooser>()},
                              {"/batch", gale::handler<Batcher>()}},
                             std::move(settings));
}

// Runs a python3 client script against echo_app(max_message_size); "@WS@" in it stands for ws://127.0.0.1:<port>.
std::string run_python_client(std::string script, std::size_t max_message_size = 10 << 20) {
    return gale_test::run_python_client([=] { return echo_app(max_message_size); }, std::move(script));
}

using gale_test::dial;
using gale_test::raw_ws_server;

const std::string upgrade_request =
    "GET /echo/raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

// Opens a raw WebSocket (handshake checked), to send hand-made frames.
gale::task<std::shared_ptr<IOStream>> raw_websocket(std::uint16_t port) {
    auto stream = co_await dial(port);
    co_await stream->write(upgrade_request);
    std::string head = co_await stream->read_until("\r\n\r\n");
    CHECK(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    // RFC 6455 section 1.3's example key and answer.
    CHECK(head.find("Sec-Websocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != std::string::npos);
    co_return stream;
}

// The next whole frame or message from the server (fragments gathered by the reader).
gale::task<event> next_frame(IOStream& stream, frame_reader& reader) {
    for (;;) {
        event e = reader.next(stream.read_buffer());
        if (e.what == event::kind::need_more && e.used == 0) {
            co_await stream.fill();
            continue;
        }
        stream.consume(e.used);
        if (e.what != event::kind::need_more) co_return e;
    }
}

// Reads the server's frames until it closes the connection; returns the close frame's code (0: none).
gale::task<int> close_code_from(std::shared_ptr<IOStream> stream) {
    frame_reader client(false, 1 << 20);
    int code = 0;
    try {
        for (;;) {
            event e = co_await next_frame(*stream, client);
            if (e.what == event::kind::close) code = e.code.value_or(1005);
        }
    } catch (const StreamClosedError&) {
    }
    co_return code;
}

}  // namespace

TEST_CASE("WebSocketHandler: python3-websockets echoes text, binary, large and JSON messages") {
    Echo::log.clear();
    std::string out = run_python_client(
        "import asyncio, websockets\n"
        "async def main():\n"
        "    async with websockets.connect(\"@WS@/echo/py\") as ws:\n"
        "        await ws.send(\"hello\"); print(await ws.recv())\n"
        "        await ws.send(b\"\\x00\\x01\\xff\"); print(repr(await ws.recv()))\n"
        "        big = \"\\u00e9\" * 70000; await ws.send(big); print(await ws.recv() == big)\n"
        "        await ws.send([\"frag\", \"mented\"]); print(await ws.recv())\n"
        "        await ws.ping(b\"pp\"); await ws.send(\"json\"); print(await ws.recv())\n"
        "        await ws.send(\"ping me\"); print(await ws.recv())\n"
        "        await ws.close(1001, \"bye\")\n"
        "asyncio.run(main())\n");
    CHECK(out == "hello\nb'\\x00\\x01\\xff'\nTrue\nfragmented\n{\"a\": 1}\npinged\n");
    CHECK(Echo::log == std::vector<std::string>{"open py", "ping pp", "pong srv", "closed error", "close py 1001 bye"});
}

TEST_CASE("WebSocketHandler: Tornado's websocket client, a server-side close with code and reason") {
    Echo::log.clear();
    std::string out = run_python_client(
        "import sys; sys.path.insert(0, \"/usr/lib/python3/dist-packages\")\n"
        "from tornado import ioloop, websocket\n"
        "async def main():\n"
        "    ws = await websocket.websocket_connect(\"@WS@/echo/tornado\")\n"
        "    await ws.write_message(\"one\"); print(await ws.read_message())\n"
        "    await ws.write_message(b\"two\", binary=True); print(await ws.read_message())\n"
        "    await ws.write_message(\"close me\"); print(await ws.read_message())\n"
        "    print(ws.close_code, ws.close_reason)\n"
        "ioloop.IOLoop.current().run_sync(main)\n");
    CHECK(out == "one\nb'two'\nNone\n4000 done\n");
    // Tornado's client echoes the code of the server's close frame.
    CHECK(Echo::log == std::vector<std::string>{"open tornado", "closed error", "close tornado 4000 "});
}

TEST_CASE("WebSocketHandler: python3-websockets sees 1009 for a message over max_message_size") {
    std::string out = run_python_client(
        "import asyncio, websockets\n"
        "async def main():\n"
        "    async with websockets.connect(\"@WS@/echo/big\") as ws:\n"
        "        await ws.send(\"x\" * 100); print(len(await ws.recv()))\n"
        "        await ws.send(\"x\" * 101)\n"
        "        try: await ws.recv()\n"
        "        except websockets.ConnectionClosed as e: print(e.rcvd.code, e.rcvd.reason)\n"
        "asyncio.run(main())\n",
        100);
    CHECK(out == "100\n1009 message too big\n");
}

TEST_CASE("WebSocketHandler: subprotocol selection") {
    std::string out = run_python_client(
        "import asyncio, websockets\n"
        "async def main():\n"
        "    async with websockets.connect(\"@WS@/choose\", subprotocols=[\"chat.v1\", \"chat.v2\"]) as ws:\n"
        "        print(ws.subprotocol); await ws.send(\"?\"); print(await ws.recv())\n"
        "asyncio.run(main())\n");
    CHECK(out == "chat.v2\nchat.v2\n");
}

TEST_CASE("WebSocketHandler: Tornado's handshake refusals") {
    gale_test::run_async([]() -> gale::task<void> {
        gale::Application app = echo_app();
        std::uint16_t port = app.listen(0, "127.0.0.1");
        auto exchange = [port](std::string request) -> gale::task<std::string> {
            auto stream = co_await dial(port);
            co_await stream->write(request);
            std::string response = co_await stream->read_until_close();
            co_return response;
        };
        auto with = [](std::string_view from, std::string_view to) {
            std::string r = upgrade_request;
            r.replace(r.find(from), from.size(), to);
            return r.replace(r.find("HTTP/1.1\r\n"), 10, "HTTP/1.1\r\nConnection: close\r\n");
        };
        std::string r = co_await exchange(with("Upgrade: websocket", "Upgrade: h2c"));
        CHECK(r.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        CHECK(r.ends_with("\r\n\r\nCan \"Upgrade\" only to \"WebSocket\"."));
        r = co_await exchange(with("Connection: Upgrade", "Connection: keep-alive"));
        CHECK(r.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        CHECK(r.ends_with("\r\n\r\n\"Connection\" must be \"Upgrade\"."));
        r = co_await exchange(with("Upgrade: websocket", "Upgrade: websocket\r\nOrigin: http://evil.example"));
        CHECK(r.starts_with("HTTP/1.1 403 Forbidden\r\n"));
        CHECK(r.ends_with("\r\n\r\nCross origin websockets not allowed"));
        r = co_await exchange(with("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 12"));
        CHECK(r.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        CHECK(r.find("\r\nSec-Websocket-Version: 7, 8, 13\r\n") != std::string::npos);
        // The same host in Origin is accepted (Connection lists more than one token).
        auto stream = co_await dial(port);
        std::string same = with("Connection: Upgrade", "Connection: keep-alive, Upgrade\r\nOrigin: http://127.0.0.1");
        co_await stream->write(same);
        std::string head = co_await stream->read_until("\r\n\r\n");
        CHECK(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        stream->close();
        co_await app.close_all_connections();
    });
}

TEST_CASE("WebSocketHandler: protocol errors close with 1002, 1007 and 1009, and the server goes on") {
    Echo::log.clear();
    gale_test::log_capture logs;
    gale_test::run_async([]() -> gale::task<void> {
        gale::Application app = echo_app(1000);
        std::uint16_t port = app.listen(0, "127.0.0.1");
        auto code_after = [port](std::string frames) -> gale::task<int> {
            auto stream = co_await raw_websocket(port);
            co_await stream->write(frames);
            int code = co_await close_code_from(stream);
            co_return code;
        };
        std::string rsv = masked(opcode::text, "x");
        rsv[0] = static_cast<char>(rsv[0] | 0x20);
        std::string bad_op = masked(opcode::text, "x");
        bad_op[0] = static_cast<char>(0x85);
        CHECK(co_await code_after(plain(opcode::text, "unmasked")) == 1002);
        CHECK(co_await code_after(rsv) == 1002);
        CHECK(co_await code_after(bad_op) == 1002);
        CHECK(co_await code_after(masked(opcode::ping, std::string(200, 'p'))) == 1002);
        CHECK(co_await code_after(masked(opcode::text, "a", false) + masked(opcode::binary, "b")) == 1002);
        CHECK(co_await code_after(masked(opcode::text, "bad \xc3\x28 utf-8")) == 1007);
        CHECK(co_await code_after(masked(opcode::binary, std::string(1001, 'x'))) == 1009);
        CHECK(co_await code_after(masked(opcode::close, ws::close_payload(1000, "ok"))) == 1000);
        CHECK(co_await code_after(masked(opcode::close, "")) == 1005);  // an empty close is echoed empty
        // An exception in on_message is logged and drops the connection, without a close frame (as Tornado).
        CHECK(co_await code_after(masked(opcode::text, "fail")) == 0);
        // Control frames between fragments, on the wire; the server still answers.
        auto stream = co_await raw_websocket(port);
        co_await stream->write(masked(opcode::text, "ab", false) + masked(opcode::ping, "hi") +
                               masked(opcode::continuation, "cd"));
        frame_reader client(false, 1 << 20);
        std::vector<std::string> got;
        while (got.size() < 2) {
            event e = co_await next_frame(*stream, client);
            if (e.what == event::kind::pong) got.push_back("pong " + std::string(e.data));
            if (e.what == event::kind::message) got.push_back("message " + std::string(e.data));
        }
        CHECK(got == std::vector<std::string>{"pong hi", "message abcd"});
        co_await stream->write(masked(opcode::close, ws::close_payload(1001, "")));
        CHECK(co_await close_code_from(stream) == 1001);
        co_await app.close_all_connections();
    });
    // Eleven connections, each opened and closed once, and one ping.
    std::vector<std::string> seen;
    for (const std::string& line : Echo::log)
        if (line != "closed error") seen.push_back(line);
    REQUIRE(seen.size() == 23);
    CHECK(seen[1] == "close raw none ");
    CHECK(seen[15] == "close raw 1000 ok");
    CHECK(seen[21] == "ping hi");
    CHECK(seen[22] == "close raw 1001 ");
    CHECK(logs.matching("Uncaught exception GET /echo/raw (127.0.0.1)").size() == 1);
    CHECK(logs.matching("on_message failed").size() == 1);
}

TEST_CASE("WebSocketHandler: messages that arrive together are answered in order, and before a close") {
    gale_test::run_async([]() -> gale::task<void> {
        gale::Application app = echo_app();
        std::uint16_t port = app.listen(0, "127.0.0.1");
        auto stream = co_await dial(port);
        std::string request = upgrade_request;
        request.replace(request.find("/echo/raw"), 9, "/batch");
        co_await stream->write(request);
        CHECK((co_await stream->read_until("\r\n\r\n")).starts_with("HTTP/1.1 101 "));

        // Twenty messages in one segment; a pong is due in the middle of them too.
        std::string burst;
        std::string expected;
        for (int i = 0; i < 20; ++i) {
            burst += masked(opcode::text, "m" + std::to_string(i));
            expected += plain(opcode::text, "m" + std::to_string(i) + "!");
            if (i == 9) {
                burst += masked(opcode::ping, "p");
                expected += plain(opcode::pong, "p");
            }
        }
        co_await stream->write(burst);
        // The replies are held while the burst is handled and released when the received bytes run
        // out: all of them, in order, none lost in the queue.
        CHECK(co_await gale::with_timeout(std::chrono::seconds(5), stream->read_bytes(expected.size())) == expected);

        // A close in the middle of a burst: the earlier replies go out first, then the close frame.
        co_await stream->write(masked(opcode::text, "a") + masked(opcode::text, "b") + masked(opcode::text, "bye"));
        frame_reader client(false, 1 << 20);
        std::vector<std::string> got;
        while (got.size() < 3) {
            event e = co_await next_frame(*stream, client);
            if (e.what == event::kind::message) got.push_back(std::string(e.data));
            if (e.what == event::kind::close) got.push_back("close " + std::to_string(e.code.value_or(0)));
        }
        CHECK(got == std::vector<std::string>{"a!", "b!", "close 1000"});
        co_await stream->write(masked(opcode::close, ws::close_payload(1000, "")));

        // The peer's close frame at the end of a burst: the server answers and closes the connection at
        // once, and the held replies still go out before its close frame.
        auto second = co_await dial(port);
        co_await second->write(request);
        CHECK((co_await second->read_until("\r\n\r\n")).starts_with("HTTP/1.1 101 "));
        co_await second->write(masked(opcode::text, "c") + masked(opcode::text, "d") +
                               masked(opcode::close, ws::close_payload(1001, "")));
        std::string rest = co_await gale::with_timeout(std::chrono::seconds(5), second->read_until_close());
        CHECK(rest == plain(opcode::text, "c!") + plain(opcode::text, "d!") +
                          plain(opcode::close, ws::close_payload(1001, "")));
        co_await app.close_all_connections();
    });
}

// ------------------------------------------------------------------ the client

TEST_CASE("websocket_connect: against Tornado's WebSocketHandler") {
    const std::string script =
        "import sys; sys.path.insert(0, \"/usr/lib/python3/dist-packages\")\n"
        "from tornado import httpserver, ioloop, testing, web, websocket\n"
        "class Echo(websocket.WebSocketHandler):\n"
        "    def select_subprotocol(self, offered): return offered[0] if offered else None\n"
        "    def on_message(self, m):\n"
        "        if m == \"bye\": self.close(4001, \"bye\"); return\n"
        "        self.write_message(m, binary=isinstance(m, bytes))\n"
        "    def on_close(self): ioloop.IOLoop.current().add_callback(ioloop.IOLoop.current().stop)\n"
        "sock, port = testing.bind_unused_port()\n"
        "server = httpserver.HTTPServer(web.Application([(\"/ws\", Echo)]))\n"
        "server.add_sockets([sock]); print(port, flush=True)\n"
        "ioloop.IOLoop.current().start()\n";
    FILE* server = ::popen(("/usr/bin/python3 -c '" + script + "'").c_str(), "r");
    REQUIRE(server);
    char line[32] = {};
    REQUIRE(std::fgets(line, sizeof line, server));
    std::string port = std::string(line, std::strlen(line) - 1);
    gale_test::run_async([&]() -> gale::task<void> {
        gale::websocket_connect_options options;
        options.subprotocols = {"x1", "x2"};
        gale::WebSocketClientConnection ws = co_await gale::websocket_connect("ws://127.0.0.1:" + port + "/ws", options);
        CHECK(ws.selected_subprotocol() == "x1");
        co_await ws.write_message("hello");
        std::optional<gale::WebSocketMessage> m = co_await ws.read_message();
        REQUIRE(m);
        CHECK(m->data == "hello");
        CHECK_FALSE(m->binary);
        std::string big(100000, 'b');
        co_await ws.write_message(big, true);
        m = co_await ws.read_message();
        REQUIRE(m);
        CHECK(m->data == big);
        CHECK(m->binary);
        co_await ws.write_message("bye");
        m = co_await ws.read_message();
        CHECK_FALSE(m);
        CHECK(ws.close_code() == 4001);
        CHECK(ws.close_reason() == "bye");
        bool closed = false;
        try {
            (void)ws.write_message("late");
        } catch (const gale::WebSocketClosedError&) {
            closed = true;
        }
        CHECK(closed);
    });
    CHECK(::pclose(server) == 0);  // Tornado's server saw the close and stopped
}

TEST_CASE("websocket_connect: gale to gale, a refused handshake, a client-side close") {
    Echo::log.clear();
    gale_test::run_async([]() -> gale::task<void> {
        gale::Application app = echo_app();
        std::uint16_t port = app.listen(0, "127.0.0.1");
        std::string base = "ws://127.0.0.1:" + std::to_string(port);
        bool refused = false;
        try {
            (void)co_await gale::websocket_connect(base + "/nowhere");
        } catch (const gale::WebSocketError& e) {
            refused = std::string(e.what()) == "HTTP 404: Not Found";
        }
        CHECK(refused);
        gale::WebSocketClientConnection ws = co_await gale::websocket_connect(base + "/echo/gale?x=1");
        co_await ws.write_message("\xe2\x82\xac");
        std::optional<gale::WebSocketMessage> m = co_await ws.read_message();
        REQUIRE(m);
        CHECK(m->data == "\xe2\x82\xac");
        CHECK_THROWS_AS(ws.close(1000, std::string(124, 'r')), std::invalid_argument);  // over a control frame's 125
        ws.close(1000, "done");
        CHECK_FALSE(co_await ws.read_message());
        CHECK(ws.close_code() == 1000);  // the server echoes the code
        co_await app.close_all_connections();
    });
    CHECK(Echo::log == std::vector<std::string>{"open gale", "closed error", "close gale 1000 done"});
}

TEST_CASE("Application::shutdown closes open WebSockets with 1001 and lets the handler see it") {
    Echo::log.clear();
    gale_test::run_async([]() -> gale::task<void> {
        gale::Application app = echo_app();
        std::uint16_t port = app.listen(0, "127.0.0.1");
        std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/echo/bye";
        gale::WebSocketClientConnection ws = co_await gale::websocket_connect(url);
        co_await ws.write_message("still here");
        std::optional<gale::WebSocketMessage> m = co_await ws.read_message();
        REQUIRE(m);
        CHECK(m->data == "still here");
        // The client answers the server's close frame inside read_message(), which the shutdown
        // waits for: both at once.
        auto read_until_closed = [&ws]() -> gale::task<bool> { co_return !(co_await ws.read_message()); };
        auto [shut, closed] = co_await gale::gather(app.shutdown(std::chrono::seconds(30)), read_until_closed());
        (void)shut;
        CHECK(closed);
        CHECK(ws.close_code() == 1001);
        CHECK(ws.close_reason() == "Going away");
        bool refused = false;
        try {
            (void)co_await gale::websocket_connect(url);
        } catch (const std::exception&) {
            refused = true;  // no longer accepting
        }
        CHECK(refused);
    });
    // The client echoes the code without a reason, as Tornado's does.
    CHECK(Echo::log == std::vector<std::string>{"open bye", "closed error", "close bye 1001 "});
}

// ------------------------------------------------------------------ keepalive pings and close timeouts

namespace {

gale::Application pinging_app(std::chrono::milliseconds interval, std::chrono::milliseconds timeout) {
    gale::Settings settings;
    settings.websocket_ping_interval = interval;
    settings.websocket_ping_timeout = timeout;
    return gale::Application({{"/echo/(.*)", gale::handler<Echo>()}}, std::move(settings));
}

// Reads frames until a close frame comes, never answering a ping; "ping:<data>" for each ping, then
// "close:<code or none>".
gale::task<std::vector<std::string>> frames_until_close(IOStream& stream, bool from_client) {
    frame_reader reader(from_client, 1 << 20);
    std::vector<std::string> seen;
    for (;;) {
        event e = co_await next_frame(stream, reader);
        if (e.what == event::kind::ping) seen.push_back("ping:" + std::string(e.data));
        if (e.what == event::kind::close) {
            seen.push_back("close:" + (e.code ? std::to_string(*e.code) : std::string("none")));
            co_return seen;
        }
    }
}

// Every entry but the last is "ping:" (an empty ping); at least one.
bool pings_then(const std::vector<std::string>& seen, const std::string& last) {
    if (seen.size() < 2 || seen.back() != last) return false;
    for (std::size_t i = 0; i + 1 < seen.size(); ++i)
        if (seen[i] != "ping:") return false;
    return true;
}

}  // namespace

TEST_CASE("websocket_ping_interval: a peer that never answers pings is closed as Tornado 6.2 closes it") {
    Echo::log.clear();
    gale_test::run_async([]() -> gale::task<void> {
        gale::Application app = pinging_app(std::chrono::milliseconds(20), std::chrono::milliseconds(100));
        std::uint16_t port = app.listen(0, "127.0.0.1");
        auto stream = co_await raw_websocket(port);
        std::vector<std::string> seen = co_await frames_until_close(*stream, false);
        // Empty pings, then Tornado 6.2's close(): a close frame without code or reason.
        CHECK(pings_then(seen, "close:none"));
        co_await stream->write(masked(opcode::close, ""));
        CHECK(co_await close_code_from(stream) == 0);  // the server then ends the connection
        co_await app.close_all_connections();
    });
    CHECK(Echo::log == std::vector<std::string>{"open raw", "closed error", "close raw none "});
}

TEST_CASE("websocket_ping_interval: python3-websockets answers the pings and stays connected") {
    Echo::log.clear();
    std::string out = gale_test::run_python_client(
        [] { return pinging_app(std::chrono::milliseconds(20), std::chrono::seconds(30)); },
        "import asyncio, websockets\n"
        "async def main():\n"
        "    async with websockets.connect(\"@WS@/echo/kept\") as ws:\n"
        "        await asyncio.sleep(0.3); await ws.send(\"still here\"); print(await ws.recv())\n"
        "asyncio.run(main())\n");
    CHECK(out == "still here\n");
    REQUIRE(Echo::log.size() >= 4);
    CHECK(Echo::log.front() == "open kept");
    CHECK(Echo::log[1] == "pong ");  // the answers to the server's empty pings
    CHECK(Echo::log.back() == "close kept 1000 ");
}

TEST_CASE("websocket_connect: ping_interval closes a connection whose server never answers pings") {
    gale_test::run_async([]() -> gale::task<void> {
        raw_ws_server server;
        auto accepted = gale::spawn(server.accept());
        gale::websocket_connect_options options;
        options.ping_interval = std::chrono::milliseconds(20);
        options.ping_timeout = std::chrono::milliseconds(100);
        gale::WebSocketClientConnection c = co_await gale::websocket_connect(server.url(), options);
        std::shared_ptr<IOStream> stream = co_await accepted;
        auto reading = gale::spawn(c.read_message());
        std::vector<std::string> seen = co_await frames_until_close(*stream, true);
        CHECK(pings_then(seen, "close:none"));
        stream->close();
        CHECK_FALSE(co_await reading);
        CHECK(c.is_closing());
    });
}

TEST_CASE("close handshake timeout: the server and the client end a connection whose peer never answers") {
    Echo::log.clear();
    gale_test::run_async([]() -> gale::task<void> {
        gale::Application app = echo_app();
        std::uint16_t port = app.listen(0, "127.0.0.1");
        // The server closes (4000 "done") and the peer says nothing: the server ends the connection.
        auto quiet_client = [port]() -> gale::task<std::string> {
            auto stream = co_await raw_websocket(port);
            co_await stream->write(masked(opcode::text, "close me"));
            std::vector<std::string> seen = co_await frames_until_close(*stream, false);
            (void)co_await stream->read_until_close();
            co_return seen.back();
        };
        // The client closes (1000) and the server says nothing: the client ends the connection.
        auto quiet_server = []() -> gale::task<std::string> {
            raw_ws_server server;
            auto accepted = gale::spawn(server.accept());
            gale::WebSocketClientConnection c = co_await gale::websocket_connect(server.url());
            std::shared_ptr<IOStream> stream = co_await accepted;
            c.close(1000);
            std::vector<std::string> seen = co_await frames_until_close(*stream, true);
            CHECK_FALSE(co_await c.read_message());
            CHECK_FALSE(c.close_code());  // no close frame came
            (void)co_await stream->read_until_close();
            co_return seen.back();
        };
        std::tuple<std::string, std::string> saw = co_await gale::gather(quiet_client(), quiet_server());
        CHECK(std::get<0>(saw) == "close:4000");
        CHECK(std::get<1>(saw) == "close:1000");
        co_await app.close_all_connections();
    });
    CHECK(Echo::log == std::vector<std::string>{"open raw", "closed error", "close raw none "});
}

// ------------------------------------------------------------------ wss:// and the client's time limits

TEST_CASE("websocket_connect: wss:// to gale over TLS, certificate checks, connect and request timeouts") {
    const gale_test::test_certs& certs = gale_test::test_certs::get();
    gale_test::run_async([&]() -> gale::task<void> {
        gale::Application app = echo_app();
        gale::HTTPServerOptions tls;
        gale::ssl_options server_side;
        server_side.certfile = certs.server_cert;
        server_side.keyfile = certs.server_key;
        tls.ssl_options = gale::ssl_options_to_context(server_side, true);
        std::uint16_t port = app.listen(0, "127.0.0.1", tls);
        std::string url = "wss://localhost:" + std::to_string(port) + "/echo/tls";
        gale::websocket_connect_options options;
        gale::ssl_options client_side;
        client_side.ca_certs = certs.ca_cert;
        options.ssl_options = gale::ssl_options_to_context(client_side, false);
        gale::WebSocketClientConnection c = co_await gale::websocket_connect(url, options);
        co_await c.write_message("over TLS");
        std::optional<gale::WebSocketMessage> m = co_await c.read_message();
        REQUIRE(m);
        CHECK(m->data == "over TLS");
        CHECK(gale::ssl_transport_of(c.stream()) != nullptr);
        c.close(1000);
        CHECK_FALSE(co_await c.read_message());
        CHECK(c.close_code() == 1000);
        // Without ssl_options: the system's CAs, which do not know the test CA.
        bool refused = false;
        try {
            (void)co_await gale::websocket_connect(url);
        } catch (const gale::SSLCertVerificationError&) {
            refused = true;
        }
        CHECK(refused);
        co_await app.close_all_connections();

        // A listener that never answers: the TLS handshake hits connect_timeout, the HTTP one request_timeout.
        asio::ip::tcp::acceptor silent(gale::IOLoop::current().context(), {asio::ip::address_v4::loopback(), 0});
        std::string silent_port = std::to_string(silent.local_endpoint().port());
        gale::websocket_connect_options hurried = options;
        hurried.connect_timeout = std::chrono::milliseconds(100);
        bool timed_out = false;
        try {
            (void)co_await gale::websocket_connect("wss://localhost:" + silent_port + "/", hurried);
        } catch (const gale::TimeoutError&) {
            timed_out = true;
        }
        CHECK(timed_out);
        hurried.request_timeout = std::chrono::milliseconds(100);
        timed_out = false;
        try {
            (void)co_await gale::websocket_connect("ws://127.0.0.1:" + silent_port + "/", hurried);
        } catch (const gale::TimeoutError&) {
            timed_out = true;
        }
        CHECK(timed_out);
    });
}

// ------------------------------------------------------------------ other threads and broadcasting

namespace {

// A chat room: every open connection is in `users`; "broadcast N" sends N rounds of a large message to
// everyone, yielding to the loop between writes (so members leave in the middle of it).
struct Room : gale::WebSocketHandler<Room> {
    static inline std::set<Room*> users;
    static inline gale::IOLoop* loop = nullptr;
    static inline int skipped = 0;  // members of a round's copy that had left when their turn came
    void open() {
        users.insert(this);
        loop = &gale::IOLoop::current();
    }
    void on_close() { users.erase(this); }
    gale::task<void> on_message(std::string_view message, bool) {
        if (message == "ready?") {
            co_await write_message("ready");
        } else if (message.starts_with("broadcast ")) {
            int rounds = std::stoi(std::string(message.substr(10)));
            std::string payload(100000, 'b');
            for (int round = 0; round < rounds; ++round) {
                std::vector<Room*> members(users.begin(), users.end());
                for (Room* member : members) {
                    co_await gale::moment;
                    if (!users.contains(member) || member->is_closing()) {  // gone or going: never touch it
                        ++skipped;
                        continue;
                    }
                    try {
                        co_await member->write_message(payload);
                    } catch (const gale::WebSocketClosedError&) {
                    }
                }
            }
            for (Room* member : users)  // no wait inside this loop: nobody leaves during it
                if (!member->is_closing()) (void)member->write_message("done");
        }
    }
};

gale::task<gale::WebSocketClientConnection> join_room(std::string url) {
    gale::WebSocketClientConnection c = co_await gale::websocket_connect(url);
    co_await c.write_message("ready?");
    std::optional<gale::WebSocketMessage> m = co_await c.read_message();
    CHECK((m && m->data == "ready"));
    co_return c;
}

}  // namespace

TEST_CASE("write_message from another thread: add_callback to the connection's loop") {
    Room::users.clear();
    gale_test::run_async([]() -> gale::task<void> {
        gale::Application app({{"/room", gale::handler<Room>()}});
        std::string url = "ws://127.0.0.1:" + std::to_string(app.listen(0, "127.0.0.1")) + "/room";
        gale::WebSocketClientConnection a = co_await join_room(url);
        gale::WebSocketClientConnection b = co_await join_room(url);
        REQUIRE(Room::users.size() == 2);
        gale::IOLoop* loop = Room::loop;
        std::thread worker([loop] {
            std::string text = "from thread";
            loop->add_callback([text] {
                for (Room* user : Room::users) (void)user->write_message(text);
            });
        });
        worker.join();
        for (gale::WebSocketClientConnection* c : {&a, &b}) {
            std::optional<gale::WebSocketMessage> m = co_await c->read_message();
            REQUIRE(m);
            CHECK(m->data == "from thread");
            c->close();
            CHECK_FALSE(co_await c->read_message());
        }
        co_await app.close_all_connections();
    });
    CHECK(Room::users.empty());
}

TEST_CASE("broadcast: members leaving in the middle of it (run under ASan)") {
    Room::users.clear();
    Room::skipped = 0;
    constexpr int members = 40;
    constexpr int rounds = 5;
    gale_test::run_async([]() -> gale::task<void> {
        gale::Application app({{"/room", gale::handler<Room>()}});
        std::string url = "ws://127.0.0.1:" + std::to_string(app.listen(0, "127.0.0.1")) + "/room";
        std::vector<gale::WebSocketClientConnection> clients;
        for (int i = 0; i < members; ++i) clients.push_back(co_await join_room(url));
        // Member 0 starts the broadcast; odd members leave once the first payload reaches them (one in two
        // drops the connection, the other closes properly); even members stay and count the rounds.
        auto member = [](gale::WebSocketClientConnection& c, int i) -> gale::task<int> {
            int received = 0;
            if (i == 0) co_await c.write_message("broadcast " + std::to_string(rounds));
            while (std::optional<gale::WebSocketMessage> m = co_await c.read_message()) {
                if (m->data == "done") break;
                CHECK(m->data.size() == 100000);
                ++received;
                if (i % 2 == 1) {
                    if (i % 4 == 1) {
                        c.stream().close();
                    } else {
                        c.close(1001);
                        while (co_await c.read_message()) {
                        }
                    }
                    break;
                }
            }
            co_return received;
        };
        std::vector<gale::task<int>> work;
        for (int i = 0; i < members; ++i) work.push_back(member(clients[std::size_t(i)], i));
        std::vector<int> received = co_await gale::gather(std::move(work));
        for (int i = 0; i < members; ++i) CHECK(received[std::size_t(i)] == (i % 2 == 0 ? rounds : 1));
        CHECK(Room::skipped > 0);  // some members left while a round was under way
        for (gale::WebSocketClientConnection& c : clients) c.close();
        for (gale::WebSocketClientConnection& c : clients)
            while (co_await c.read_message()) {
            }
        co_await app.close_all_connections();
    });
    CHECK(Room::users.empty());
}
