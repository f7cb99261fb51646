// Tests for permessage-deflate (RFC 7692): detail/websocket_deflate.hpp, the frame reader's RSV1 rules,
// and gale's server and client against python3-websockets and Tornado 6.2, both ways.
#include <gale/websocket.hpp>

#include <string>
#include <vector>

#include <gale/future.hpp>

#include "python_support.hpp"
#include "support.hpp"
#include "websocket_support.hpp"

namespace ws = gale::detail::ws;
using ws::event;
using ws::frame_reader;
using ws::opcode;

namespace {

const ws::mask_key key{0x37, 0xfa, 0x21, 0x3d};

std::string bytes(std::initializer_list<unsigned char> list) { return std::string(list.begin(), list.end()); }

// RFC 7692 section 7.2.3.1 and 7.2.3.2: "Hello" deflated, and again with the first in the window.
const std::string hello_deflated = bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
const std::string hello_again = bytes({0xf2, 0x00, 0x11, 0x00, 0x00});

std::string masked(opcode op, std::string_view payload, bool fin = true, bool compressed = false) {
    std::string out;
    ws::append_frame(out, op, payload, fin, &key, compressed);
    return out;
}

std::string deflated(std::string_view message, int level = 6) {
    ws::deflater d(false, 15, {level, 8});
    std::string out;
    d.compress(message, out);
    return out;
}

}  // namespace

TEST_CASE("deflate codec: RFC 7692's examples, with and without context takeover") {
    std::string out;
    ws::deflater shared(true, 15, {});
    shared.compress("Hello", out);
    CHECK(out == hello_deflated);
    shared.compress("Hello", out);
    CHECK(out == hello_again);
    ws::deflater fresh(false, 15, {});
    fresh.compress("Hello", out);
    CHECK(out == hello_deflated);
    fresh.compress("Hello", out);
    CHECK(out == hello_deflated);
    fresh.compress("", out);
    CHECK(out == std::string(1, '\0'));

    ws::inflater in(true, 15);
    CHECK(in.decompress(hello_deflated, 100, out) == ws::inflater::result::ok);
    CHECK(out == "Hello");
    CHECK(in.decompress(hello_again, 100, out) == ws::inflater::result::ok);
    CHECK(out == "Hello");
    // Without context takeover the second form refers to a window that is gone.
    ws::inflater alone(false, 15);
    CHECK(alone.decompress(hello_deflated, 100, out) == ws::inflater::result::ok);
    CHECK(alone.decompress(hello_again, 100, out) == ws::inflater::result::corrupt);
    CHECK(alone.decompress(hello_deflated, 100, out) == ws::inflater::result::ok);  // it goes on
    CHECK(out == "Hello");
    CHECK(alone.decompress(bytes({0x00}), 100, out) == ws::inflater::result::ok);
    CHECK(out.empty());

    // A large message, window bits 9 both ways.
    std::string text;
    for (int i = 0; i < 20000; ++i) text += std::to_string(i * 7919 % 1000) + ",";
    ws::deflater small(true, 9, {9, 9});
    ws::inflater small_in(true, 9);
    for (int round = 0; round < 3; ++round) {
        small.compress(text, out);
        CHECK(out.size() < text.size() / 2);
        std::string back;
        CHECK(small_in.decompress(out, text.size(), back) == ws::inflater::result::ok);
        CHECK(back == text);
    }
}

TEST_CASE("deflate codec: a compression bomb stops at the limit") {
    std::string bomb = deflated(std::string(4 << 20, '\0'), 9);
    CHECK(bomb.size() < 5000);
    ws::inflater in(true, 15);
    std::string out;
    CHECK(in.decompress(bomb, 1 << 20, out) == ws::inflater::result::too_big);
    CHECK(out.size() == (1 << 20) + 1);  // never more than one byte past the limit
    CHECK(in.decompress(bomb, 4 << 20, out) == ws::inflater::result::ok);
    CHECK(out == std::string(4 << 20, '\0'));
}

TEST_CASE("deflate negotiation: Tornado's answers, declined offers, the client's view") {
    auto answer = [](std::string_view offer) {
        std::optional<ws::accepted_offer> a = ws::accept_deflate_offer(offer);
        return a ? a->answer : std::string("declined");
    };
    CHECK(answer("permessage-deflate") == "permessage-deflate");
    CHECK(answer("permessage-deflate; client_max_window_bits") == "permessage-deflate");
    CHECK(answer("Permessage-Deflate; Server_No_Context_Takeover; client_max_window_bits=10") ==
          "permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
    CHECK(answer("permessage-deflate; server_max_window_bits=\"12\"") == "permessage-deflate; server_max_window_bits=12");
    CHECK(answer("x-webkit-deflate-frame") == "declined");
    CHECK(answer("permessage-deflate; foo=1") == "declined");
    CHECK(answer("permessage-deflate; server_max_window_bits=8") == "declined");  // zlib cannot
    CHECK(answer("permessage-deflate; server_max_window_bits=16") == "declined");
    CHECK(answer("permessage-deflate; server_max_window_bits=010") == "declined");
    CHECK(answer("permessage-deflate; server_max_window_bits") == "declined");
    CHECK(answer("permessage-deflate; client_no_context_takeover=1") == "declined");
    CHECK(answer("permessage-deflate; client_no_context_takeover; client_no_context_takeover") == "declined");
    // The first offer that can be honoured wins.
    CHECK(answer("permessage-deflate; server_max_window_bits=8, permessage-deflate; client_no_context_takeover") ==
          "permessage-deflate; client_no_context_takeover");
    std::optional<ws::accepted_offer> a =
        ws::accept_deflate_offer("permessage-deflate; server_no_context_takeover; server_max_window_bits=11");
    REQUIRE(a);
    CHECK(a->params.server_no_context_takeover);
    CHECK_FALSE(a->params.client_no_context_takeover);
    CHECK(a->params.server_max_window_bits == 11);
    CHECK(a->params.client_max_window_bits == 15);

    CHECK(ws::deflate_offer() == "permessage-deflate; client_max_window_bits");
    std::optional<ws::deflate_params> p = ws::read_deflate_answer("permessage-deflate; client_max_window_bits=12");
    REQUIRE(p);
    CHECK(p->client_max_window_bits == 12);
    CHECK_FALSE(ws::read_deflate_answer("permessage-deflate; client_max_window_bits"));  // an answer has a value
    CHECK_FALSE(ws::read_deflate_answer("x-webkit-deflate-frame"));
    CHECK_FALSE(ws::read_deflate_answer("permessage-deflate, permessage-deflate"));
}

TEST_CASE("frame reader: RSV1 only on a negotiated connection's first data frame") {
    auto first_event = [](frame_reader& r, std::string in) {
        std::string_view rest = in;
        for (;;) {
            event e = r.next(rest);
            if (e.what == event::kind::error)
                return std::to_string(*e.code) + " " + std::string(e.reason);
            if (e.used == 0) return std::string("incomplete");
            rest.remove_prefix(e.used);
            if (e.what == event::kind::message) return "message " + std::string(e.data);
            if (e.what == event::kind::ping) return "ping " + std::string(e.data);
        }
    };
    frame_reader plain(true, 1 << 20);
    CHECK(first_event(plain, masked(opcode::text, hello_deflated, true, true)) == "1002 reserved bits set");

    frame_reader r(true, 1 << 20);
    r.use_inflater(true, 15);
    CHECK(first_event(r, masked(opcode::text, hello_deflated, true, true)) == "message Hello");
    CHECK(first_event(r, masked(opcode::text, hello_again, true, true)) == "message Hello");
    CHECK(first_event(r, masked(opcode::text, "plain", true, false)) == "message plain");  // RSV1 clear: as sent
    // A compressed message in three fragments, a ping between them.
    std::string whole = deflated("fragmented and compressed");
    std::string frames = masked(opcode::text, whole.substr(0, 5), false, true) + masked(opcode::ping, "p") +
                         masked(opcode::continuation, whole.substr(5, 5), false) +
                         masked(opcode::continuation, whole.substr(10));
    frame_reader f(true, 1 << 20);
    f.use_inflater(false, 15);
    std::vector<std::string> seen;
    std::string_view rest = frames;
    while (!rest.empty()) {
        event e = f.next(rest);
        REQUIRE(e.used > 0);
        rest.remove_prefix(e.used);
        if (e.what == event::kind::ping) seen.push_back("ping");
        if (e.what == event::kind::message) seen.push_back(std::string(e.data));
    }
    CHECK(seen == std::vector<std::string>{"ping", "fragmented and compressed"});

    auto fresh = [] {
        frame_reader n(true, 100);
        n.use_inflater(true, 15);
        return n;
    };
    frame_reader c1 = fresh();
    CHECK(first_event(c1, masked(opcode::ping, "p", true, true)) == "1002 compressed control frame");
    frame_reader c2 = fresh();
    CHECK(first_event(c2, masked(opcode::text, whole.substr(0, 5), false, true) +
                              masked(opcode::continuation, whole.substr(5), true, true)) ==
          "1002 compressed continuation frame");
    frame_reader c3 = fresh();
    std::string rsv2 = masked(opcode::text, "x");
    rsv2[0] = static_cast<char>(rsv2[0] | 0x20);
    CHECK(first_event(c3, rsv2) == "1002 reserved bits set");
    frame_reader c4 = fresh();
    CHECK(first_event(c4, masked(opcode::binary, deflated(std::string(101, 'x')), true, true)) ==
          "1009 message too big after decompression");
    frame_reader c5 = fresh();
    CHECK(first_event(c5, masked(opcode::binary, bytes({0xff, 0xff, 0xff}), true, true)) == "1002 bad compressed data");
    frame_reader c6 = fresh();
    CHECK(first_event(c6, masked(opcode::text, deflated("\xff\xfe"), true, true)) == "1007 invalid UTF-8");
}

// ------------------------------------------------------------------ gale's server

namespace {

using gale::IOStream;
using gale::StreamClosedError;

struct DeflateEcho : gale::WebSocketHandler<DeflateEcho> {
    std::optional<gale::websocket_compression_options> get_compression_options() override {
        return gale::websocket_compression_options{};
    }
    gale::task<void> on_message(std::string_view message, bool binary) { co_await write_message(message, binary); }
};

struct PlainEcho : gale::WebSocketHandler<PlainEcho> {
    gale::task<void> on_message(std::string_view message, bool binary) { co_await write_message(message, binary); }
};

gale::Application deflate_app(std::size_t max_message_size = 10 << 20) {
    gale::Settings settings;
    settings.websocket_max_message_size = max_message_size;
    return gale::Application({{"/deflate", gale::handler<DeflateEcho>()}, {"/plain", gale::handler<PlainEcho>()}},
                             std::move(settings));
}

// Runs a python3 script against deflate_app(max_message_size); "@WS@" in it stands for ws://127.0.0.1:<port>.
std::string run_python_client(std::string script, std::size_t max_message_size = 10 << 20) {
    return gale_test::run_python_client([=] { return deflate_app(max_message_size); }, std::move(script));
}

using gale_test::dial;

// Opens a raw WebSocket to `path` offering `extensions` (none: no header); returns the stream and the
// 101's head.
gale::task<std::pair<std::shared_ptr<IOStream>, std::string>> raw_websocket(std::uint16_t port, std::string path,
                                                                           std::string extensions) {
    auto stream = co_await dial(port);
    std::string request = "GET " + path +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    if (!extensions.empty()) request += "Sec-WebSocket-Extensions: " + extensions + "\r\n";
    co_await stream->write(request + "\r\n");
    std::string head = co_await stream->read_until("\r\n\r\n");
    CHECK(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    co_return std::make_pair(stream, head);
}

// The server's next frame, raw: header byte, payload (unmasked server frames, payload < 126 bytes).
gale::task<std::string> next_raw_frame(IOStream& stream) {
    for (;;) {
        std::string_view in = stream.read_buffer();
        if (in.size() >= 2 && in.size() >= 2 + static_cast<std::size_t>(in[1] & 0x7f)) {
            std::string frame(in.substr(0, 2 + (in[1] & 0x7f)));
            stream.consume(frame.size());
            co_return frame;
        }
        co_await stream.fill();
    }
}

// Reads the server's frames until it closes the connection; "code reason" of its close frame.
gale::task<std::string> close_from(std::shared_ptr<IOStream> stream) {
    frame_reader client(false, 1 << 20);
    std::string close = "none";
    try {
        for (;;) {
            event e = client.next(stream->read_buffer());
            if (e.what == event::kind::need_more && e.used == 0) {
                co_await stream->fill();
                continue;
            }
            stream->consume(e.used);
            if (e.what == event::kind::close)
                close = std::to_string(e.code.value_or(1005)) + " " + std::string(e.reason);
        }
    } catch (const StreamClosedError&) {
    }
    co_return close;
}

}  // namespace

TEST_CASE("WebSocketHandler + deflate: the bytes on the wire, with and without context takeover") {
    gale_test::run_async([]() -> gale::task<void> {
        gale::Application app = deflate_app();
        std::uint16_t port = app.listen(0, "127.0.0.1");
        std::string got;  // the server's frame or close, named apart from the co_await (GCC 12)
        auto opened1 = co_await raw_websocket(port, "/deflate", "permessage-deflate; client_max_window_bits");
        std::shared_ptr<IOStream> shared = opened1.first;
        std::string head = opened1.second;
        CHECK(head.find("\r\nSec-Websocket-Extensions: permessage-deflate\r\n") != std::string::npos);
        co_await shared->write(masked(opcode::text, hello_deflated, true, true));
        got = co_await next_raw_frame(*shared);
        CHECK(got == "\xc1\x07" + hello_deflated);  // FIN, RSV1, text
        co_await shared->write(masked(opcode::text, hello_again, true, true));
        got = co_await next_raw_frame(*shared);
        CHECK(got == "\xc1\x05" + hello_again);
        co_await shared->write(masked(opcode::binary, "Hello"));  // uncompressed in, compressed out
        got = co_await next_raw_frame(*shared);
        CHECK(got == "\xc2\x04" + bytes({0x02, 0x13, 0x00, 0x00}));
        shared->close();

        auto opened2 = co_await raw_websocket(
            port, "/deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
        std::shared_ptr<IOStream> alone = opened2.first;
        std::string head2 = opened2.second;
        CHECK(head2.find("\r\nSec-Websocket-Extensions: permessage-deflate; server_no_context_takeover; "
                         "client_no_context_takeover\r\n") != std::string::npos);
        for (int i = 0; i < 2; ++i) {
            co_await alone->write(masked(opcode::text, hello_deflated, true, true));
            got = co_await next_raw_frame(*alone);
            CHECK(got == "\xc1\x07" + hello_deflated);
        }
        alone->close();

        // A handler without compression options ignores the offer, and RSV1 is then a protocol error.
        auto opened3 = co_await raw_websocket(port, "/plain", "permessage-deflate");
        std::shared_ptr<IOStream> plain = opened3.first;
        std::string head3 = opened3.second;
        CHECK(head3.find("Extensions") == std::string::npos);
        co_await plain->write(masked(opcode::text, "Hello"));
        got = co_await next_raw_frame(*plain);
        CHECK(got == "\x81\x05Hello");
        co_await plain->write(masked(opcode::text, hello_deflated, true, true));
        got = co_await close_from(plain);
        CHECK(got == "1002 reserved bits set");
        co_await app.close_all_connections();
    });
}

TEST_CASE("WebSocketHandler + deflate: RSV1 misuse is 1002, a compression bomb 1009") {
    gale_test::run_async([]() -> gale::task<void> {
        gale::Application app = deflate_app(1 << 20);
        std::uint16_t port = app.listen(0, "127.0.0.1");
        auto close_after = [port](std::string frames) -> gale::task<std::string> {
            auto opened4 = co_await raw_websocket(port, "/deflate", "permessage-deflate");
            std::shared_ptr<IOStream> stream = opened4.first;
            std::string head = opened4.second;
            co_await stream->write(frames);
            std::string close = co_await close_from(stream);
            co_return close;
        };
        std::string got;
        got = co_await close_after(masked(opcode::ping, hello_deflated, true, true));
        CHECK(got == "1002 compressed control frame");
        got = co_await close_after(masked(opcode::close, hello_deflated, true, true));
        CHECK(got == "1002 compressed control frame");
        std::string two = deflated("two frames");
        got = co_await close_after(masked(opcode::text, two.substr(0, 3), false, true) +
                                   masked(opcode::continuation, two.substr(3), true, true));
        CHECK(got == "1002 compressed continuation frame");
        std::string corrupt = masked(opcode::text, bytes({0xff, 0xff}), true, true);
        got = co_await close_after(corrupt);
        CHECK(got == "1002 bad compressed data");
        // 4 KiB on the wire, 4 MiB inflated, the limit 1 MiB.
        std::string bomb = deflated(std::string(4 << 20, 'a'), 9);
        CHECK(bomb.size() < 8000);
        got = co_await close_after(masked(opcode::binary, bomb, true, true));
        CHECK(got == "1009 message too big after decompression");
        co_await app.close_all_connections();
    });
}

TEST_CASE("WebSocketHandler + deflate: python3-websockets negotiates it by default") {
    std::string out = run_python_client(
        "import asyncio, websockets\n"
        "async def main():\n"
        "    async with websockets.connect(\"@WS@/deflate\") as ws:\n"
        "        print(ws.response_headers[\"Sec-WebSocket-Extensions\"])\n"
        "        for m in [\"hello\", \"hello\", b\"\\x00\\x01\" * 1000, \"\\u00e9\" * 70000, \"\"]:\n"
        "            await ws.send(m); print((await ws.recv()) == m)\n"
        "    async with websockets.connect(\"@WS@/plain\") as ws:\n"
        "        print(ws.response_headers.get(\"Sec-WebSocket-Extensions\"))\n"
        "        await ws.send(\"x\"); print(await ws.recv())\n"
        "asyncio.run(main())\n");
    CHECK(out == "permessage-deflate\nTrue\nTrue\nTrue\nTrue\nTrue\nNone\nx\n");
    // A bomb from python3-websockets: 10 MiB of zeros compress to about 10 KiB.
    out = run_python_client(
        "import asyncio, websockets\n"
        "async def main():\n"
        "    async with websockets.connect(\"@WS@/deflate\", max_size=None) as ws:\n"
        "        await ws.send(\"x\" * 1000); print(len(await ws.recv()))\n"
        "        await ws.send(\"\\x00\" * (10 << 20))\n"
        "        try: await ws.recv()\n"
        "        except websockets.ConnectionClosed as e: print(e.rcvd.code, e.rcvd.reason)\n"
        "asyncio.run(main())\n",
        1 << 20);
    CHECK(out == "1000\n1009 message too big after decompression\n");
}

TEST_CASE("WebSocketHandler + deflate: Tornado's client with compression_options") {
    std::string out = run_python_client(
        "import sys; sys.path.insert(0, \"/usr/lib/python3/dist-packages\")\n"
        "from tornado import ioloop, websocket\n"
        "async def main():\n"
        "    for path, options in [(\"/deflate\", {}), (\"/plain\", {}), (\"/deflate\", None)]:\n"
        "        ws = await websocket.websocket_connect(\"@WS@\" + path, compression_options=options)\n"
        "        print(ws.headers.get(\"Sec-WebSocket-Extensions\"), ws.protocol._compressor is not None)\n"
        "        for m in [\"hello\", \"hello\", \"x\" * 100000]:\n"
        "            await ws.write_message(m); print((await ws.read_message()) == m)\n"
        "        ws.close()\n"
        "ioloop.IOLoop.current().run_sync(main)\n");
    CHECK(out == "permessage-deflate True\nTrue\nTrue\nTrue\n"
                 "None False\nTrue\nTrue\nTrue\n"
                 "None False\nTrue\nTrue\nTrue\n");
}

// ------------------------------------------------------------------ gale's client

TEST_CASE("websocket_connect + deflate: against Tornado's server") {
    for (std::string options : {"{}", "{\"compression_level\": 9, \"mem_level\": 9}", "null"}) {
        gale_test::python_process server("ws_server.py", {options});
        std::string port = server.read_line("port ").substr(5);
        gale_test::run_async([&]() -> gale::task<void> {
            gale::websocket_connect_options o;
            o.compression_options = gale::websocket_compression_options{};
            gale::WebSocketClientConnection c = co_await gale::websocket_connect("ws://127.0.0.1:" + port + "/echo", o);
            CHECK(c.compressing() == (options != "null"));
            co_await c.write_message("status?");
            std::optional<gale::WebSocketMessage> m = co_await c.read_message();
            REQUIRE(m);
            CHECK(m->data == (options != "null" ? "compressor=yes" : "compressor=no") +
                                 std::string(" extensions=permessage-deflate; client_max_window_bits"));
            std::string big;
            for (int i = 0; i < 30000; ++i) big += std::to_string(i);
            for (std::string_view text : {std::string_view("hello"), std::string_view("hello"), std::string_view(big)}) {
                co_await c.write_message(text);
                m = co_await c.read_message();
                REQUIRE(m);
                CHECK(m->data == text);
            }
            co_await c.write_message("\x01\x02", true);
            m = co_await c.read_message();
            REQUIRE(m);
            CHECK(m->binary);
            CHECK(m->data == "\x01\x02");
            c.close(1000);
            CHECK_FALSE(co_await c.read_message());
            CHECK(c.close_code() == 1000);
        });
    }
}

TEST_CASE("websocket_connect + deflate: against python3-websockets' server, and gale to gale") {
    gale_test::python_process server("ws_websockets_server.py");
    std::string port = server.read_line("port ").substr(5);
    gale_test::run_async([&]() -> gale::task<void> {
        gale::websocket_connect_options o;
        o.compression_options = gale::websocket_compression_options{};
        gale::WebSocketClientConnection c = co_await gale::websocket_connect("ws://127.0.0.1:" + port + "/", o);
        CHECK(c.compressing());
        co_await c.write_message("extensions?");
        std::optional<gale::WebSocketMessage> m = co_await c.read_message();
        REQUIRE(m);
        CHECK(m->data == "permessage-deflate");
        std::string big(200000, 'z');
        for (int i = 0; i < 3; ++i) {
            co_await c.write_message(big);
            m = co_await c.read_message();
            REQUIRE(m);
            CHECK(m->data == big);
        }
        c.close(1000);
        CHECK_FALSE(co_await c.read_message());

        // Without compression_options nothing is offered.
        gale::WebSocketClientConnection p = co_await gale::websocket_connect("ws://127.0.0.1:" + port + "/");
        CHECK_FALSE(p.compressing());
        co_await p.write_message("extensions?");
        m = co_await p.read_message();
        REQUIRE(m);
        CHECK(m->data == "none");
        p.close(1000);
        CHECK_FALSE(co_await p.read_message());

        gale::Application app = deflate_app(1 << 20);
        std::uint16_t gale_port = app.listen(0, "127.0.0.1");
        std::string base = "ws://127.0.0.1:" + std::to_string(gale_port);
        gale::WebSocketClientConnection g = co_await gale::websocket_connect(base + "/deflate", o);
        CHECK(g.compressing());
        for (int i = 0; i < 3; ++i) {
            co_await g.write_message(big, true);
            m = co_await g.read_message();
            REQUIRE(m);
            CHECK(m->data == big);
        }
        // The server's limit applies to the inflated size.
        co_await g.write_message(std::string(2 << 20, 'y'));
        CHECK_FALSE(co_await g.read_message());
        CHECK(g.close_code() == 1009);
        CHECK(g.close_reason() == "message too big after decompression");
        co_await app.close_all_connections();
    });
}

TEST_CASE("websocket_connect: an extension the client did not offer fails the handshake") {
    gale_test::run_async([]() -> gale::task<void> {
        gale_test::raw_ws_server server;
        auto accepted = gale::spawn(server.accept("Sec-WebSocket-Extensions: permessage-deflate\r\n"));
        std::string error;
        try {
            (void)co_await gale::websocket_connect(server.url());
        } catch (const gale::WebSocketError& e) {
            error = e.what();
        }
        CHECK(error == "unsupported extension permessage-deflate");
        std::shared_ptr<IOStream> stream = co_await accepted;
        std::string after = co_await stream->read_until_close();
        CHECK(after.empty());  // the client hung up without sending a frame
    });
}
