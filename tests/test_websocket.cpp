// Tests for gale/websocket.hpp and its frame codec (detail/websocket_frame.hpp).
#include <gale/websocket.hpp>

#include <string>
#include <vector>

#include <gale/concurrent.hpp>
#include <gale/tcpclient.hpp>

#include "support.hpp"

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
