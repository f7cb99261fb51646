// Tests for <gale/http1connection.hpp>: the HTTP/1.1 engine on both ends of
// real TCP connections on 127.0.0.1. Server behaviour seen from raw clients
// is in test_httpserver.cpp; the client built on the engine in
// test_httpclient.cpp. These check the engine's own contract: framing of
// what it writes, what it accepts when reading responses, body delivery,
// limits and keep-alive decisions.
#include <gale/http1connection.hpp>

#include <string>
#include <vector>

#include <gale/detail/gzip.hpp>
#include <gale/gen.hpp>

#include "net_support.hpp"
#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using gale::HTTP1Connection;
using gale::HTTP1ConnectionParameters;
using gale::HTTPHeaders;
using gale::HTTPInputError;
using gale::HTTPOutputError;
using gale::RequestStartLine;
using gale::ResponseStartLine;
using gale_test::connected_pair;
using gale_test::run_async;
using gale_test::temp_file;

// Reads whatever the peer sent until it has `size` bytes.
gale::task<std::string> read_exactly(gale::IOStream& stream, std::size_t size) {
    co_return co_await stream.read_bytes(size);
}

// A client engine reading `response` (raw bytes) sent by a raw peer, after
// it has sent a request with `method`.
struct response_reader {
    gale_test::stream_pair pair = connected_pair();
    HTTP1Connection client;

    explicit response_reader(HTTP1ConnectionParameters params = {}) : client(pair.client, true, params) {}

    gale::task<void> request(std::string method = "GET") {
        HTTPHeaders headers{{"Host", "h"}};
        RequestStartLine line{std::move(method), "/", "HTTP/1.1"};
        client.write_headers(line, headers);
        co_await client.finish();
        co_await pair.server->read_until("\r\n\r\n");
    }
};

// Bytes that differ from place to place, so a misplaced range shows.
std::string numbered(std::size_t size) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    return data;
}

// A server engine that has read a GET from a client engine on a fresh connection.
struct exchange {
    gale_test::stream_pair pair = connected_pair();
    HTTP1Connection client{pair.client, true};
    HTTP1Connection server{pair.server, false};

    gale::task<void> request() {
        HTTPHeaders headers{{"Host", "h"}};
        RequestStartLine line{"GET", "/", "HTTP/1.1"};
        client.write_headers(line, headers);
        co_await client.finish();
        RequestStartLine received;
        HTTPHeaders received_headers;
        REQUIRE(co_await server.read_request_head(received, received_headers));
        co_await server.read_body();
    }

    // The client's reading of the response: its body.
    gale::task<std::string> response_body() {
        HTTPHeaders headers;
        co_await client.read_response_head(headers);
        co_return co_await client.read_body();
    }
};

}  // namespace

TEST_CASE("a client request without a length is sent chunked and read back by a server engine") {
    run_async([]() -> gale::task<void> {
        auto pair = connected_pair();
        HTTP1Connection client(pair.client, true);
        HTTP1Connection server(pair.server, false);

        HTTPHeaders out{{"Host", "example.com"}};
        RequestStartLine line{"POST", "/upload?x=1", "HTTP/1.1"};
        client.write_headers(line, out, "hello ");
        client.write("chunked ");
        client.write("");  // nothing: no empty chunk, which would end the body
        co_await client.write("world");
        co_await client.finish();

        RequestStartLine received;
        HTTPHeaders headers;
        REQUIRE(co_await server.read_request_head(received, headers));
        CHECK(received.method == "POST");
        CHECK(received.path == "/upload?x=1");
        CHECK(received.version == "HTTP/1.1");
        CHECK(headers.get("Transfer-Encoding") == "chunked");
        CHECK(co_await server.read_body() == "hello chunked world");
        CHECK(server.keep_alive());
    });
}

TEST_CASE("chunked response bytes on the wire, with the terminating empty chunk") {
    run_async([]() -> gale::task<void> {
        auto pair = connected_pair();
        HTTP1Connection server(pair.server, false);
        co_await pair.client->write("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        RequestStartLine line;
        HTTPHeaders headers;
        REQUIRE(co_await server.read_request_head(line, headers));
        CHECK(co_await server.read_body() == "");

        HTTPHeaders response;
        server.write_headers(ResponseStartLine{"HTTP/1.1", 200, "OK"}, response, "abc");
        server.write(std::string(20, 'x'));
        co_await server.finish();
        std::string expected = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n14\r\n" +
                               std::string(20, 'x') + "\r\n0\r\n\r\n";
        CHECK(co_await read_exactly(*pair.client, expected.size()) == expected);
        CHECK(server.keep_alive());
    });
}

TEST_CASE("writing more or less than Content-Length is an HTTPOutputError and closes") {
    run_async([]() -> gale::task<void> {
        for (bool too_much : {true, false}) {
            CAPTURE(too_much);
            auto pair = connected_pair();
            HTTP1Connection server(pair.server, false);
            co_await pair.client->write("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
            RequestStartLine line;
            HTTPHeaders headers;
            REQUIRE(co_await server.read_request_head(line, headers));
            co_await server.read_body();
            HTTPHeaders response{{"Content-Length", "4"}};
            server.write_headers(ResponseStartLine{"HTTP/1.1", 200, "OK"}, response, "ab");
            if (too_much) {
                CHECK_THROWS_WITH_AS(server.write("cde"), "Tried to write more data than Content-Length",
                                     HTTPOutputError);
            } else {
                CHECK_THROWS_WITH_AS(server.finish(), "Tried to write 2 bytes less than Content-Length",
                                     HTTPOutputError);
            }
            CHECK(pair.server->closed());
        }
    });
}

TEST_CASE("CR, LF or NUL in a reason phrase or request target is refused") {
    run_async([]() -> gale::task<void> {
        auto pair = connected_pair();
        HTTP1Connection client(pair.client, true);
        HTTPHeaders headers;
        RequestStartLine bad{"GET", "/a\r\nX-Injected: 1", "HTTP/1.1"};
        CHECK_THROWS_AS(client.write_headers(bad, headers), HTTPOutputError);
        HTTP1Connection server(pair.server, false);
        co_await pair.client->write("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        RequestStartLine line;
        REQUIRE(co_await server.read_request_head(line, headers));
        HTTPHeaders response;
        CHECK_THROWS_AS(server.write_headers(ResponseStartLine{"HTTP/1.1", 200, std::string("O\0K", 3)}, response),
                        HTTPOutputError);
    });
}

TEST_CASE("response framing as the client reads it") {
    struct sample {
        std::string method, wire, body;
        bool keep_alive;
    };
    const std::vector<sample> samples = {
        {"GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello", true},
        {"GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nTrailer: x\r\n\r\n",
         "hello!", true},
        {"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "", true},
        {"GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", "", true},
        {"GET", "HTTP/1.1 204 No Content\r\n\r\n", "", true},
        {"GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", "ok", false},
        {"GET", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", "ok", false},
        {"GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", "ok", true},
        // Connection is a list of options (RFC 9110 section 7.6.1): close wins.
        {"GET", "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\nok", "ok", false},
        {"GET", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 2\r\n\r\nok", "ok", false},
        {"GET", "HTTP/1.0 200 OK\r\nConnection: foo, keep-alive\r\nContent-Length: 2\r\n\r\nok", "ok", true},
    };
    for (const sample& s : samples) {
        CAPTURE(s.wire);
        run_async([&]() -> gale::task<void> {
            response_reader r;
            co_await r.request(s.method);
            co_await r.pair.server->write(s.wire);
            HTTPHeaders headers;
            co_await r.client.read_response_head(headers);
            CHECK(co_await r.client.read_body() == s.body);
            CHECK(r.client.keep_alive() == s.keep_alive);
        });
    }
}

TEST_CASE("a request's Connection options decide keep-alive: close wins, keep-alive counts on HTTP/1.0") {
    struct sample {
        std::string version, connection;  // connection: the header's value, or none if empty
        bool keep_alive;
        std::string response_connection;  // the Connection header of the response, if any
    };
    const std::vector<sample> samples = {
        {"HTTP/1.1", "", true, ""},
        {"HTTP/1.1", "Keep-Alive", true, ""},
        {"HTTP/1.1", "upgrade, keep-alive", true, ""},
        {"HTTP/1.1", "close", false, "close"},
        {"HTTP/1.1", "keep-alive, close", false, "close"},
        {"HTTP/1.1", "keep-alive , CLOSE ", false, "close"},
        {"HTTP/1.0", "", false, ""},
        {"HTTP/1.0", "keep-alive", true, "Keep-Alive"},
        {"HTTP/1.0", "Keep-Alive, Upgrade", true, "Keep-Alive"},
        {"HTTP/1.0", "keep-alive, close", false, ""},
    };
    for (const sample& s : samples) {
        CAPTURE(s.version);
        CAPTURE(s.connection);
        run_async([&]() -> gale::task<void> {
            auto pair = connected_pair();
            HTTP1Connection server(pair.server, false);
            std::string request = "GET / " + s.version + "\r\nHost: h\r\n";
            if (!s.connection.empty()) request += "Connection: " + s.connection + "\r\n";
            co_await pair.client->write(request + "\r\n");
            RequestStartLine line;
            HTTPHeaders headers;
            REQUIRE(co_await server.read_request_head(line, headers));
            co_await server.read_body();
            HTTPHeaders response{{"Content-Length", "2"}};
            server.write_headers(ResponseStartLine{"HTTP/1.1", 200, "OK"}, response, "ok");
            co_await server.finish();
            CHECK(server.keep_alive() == s.keep_alive);
            std::string head = co_await pair.client->read_until("\r\n\r\n");
            HTTPHeaders sent = HTTPHeaders::parse(head.substr(head.find("\r\n") + 2));
            CHECK(sent.get("Connection", "") == s.response_connection);
        });
    }
}

TEST_CASE("a response without length or chunking is read until the connection closes") {
    run_async([]() -> gale::task<void> {
        response_reader r;
        co_await r.request();
        co_await r.pair.server->write("HTTP/1.1 200 OK\r\n\r\nuntil ");
        r.pair.server->write("the end");
        r.pair.server->close();
        HTTPHeaders headers;
        ResponseStartLine line = co_await r.client.read_response_head(headers);
        CHECK(line.code == 200);
        CHECK(co_await r.client.read_body() == "until the end");
        CHECK_FALSE(r.client.keep_alive());
    });
}

TEST_CASE("1xx heads come back before the final response") {
    run_async([]() -> gale::task<void> {
        response_reader r;
        co_await r.request();
        co_await r.pair.server->write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
        HTTPHeaders headers;
        CHECK((co_await r.client.read_response_head(headers)).code == 100);
        CHECK(co_await r.client.read_body() == "");
        ResponseStartLine final_line = co_await r.client.read_response_head(headers);
        CHECK(final_line.code == 200);
        CHECK(final_line.reason == "OK");
        CHECK(co_await r.client.read_body() == "x");
    });
}

TEST_CASE("malformed responses are HTTPInputError") {
    const std::vector<std::pair<std::string, std::string>> samples = {
        {"HTTP/1.1 100 Continue\r\nContent-Length: 1\r\n\r\n", "Response code 100 cannot have body"},
        {"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", "Response with code 204 should not have body"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
         "Response with both Transfer-Encoding and Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "Multiple unequal Content-Lengths"},
        {"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "Only integer Content-Length is allowed: x"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "Unsupported Transfer-Encoding"},
        {"nonsense\r\n\r\n", "Error parsing response start line"},
    };
    for (const auto& sample : samples) {  // (clang 14 cannot capture structured bindings)
        const std::string& wire = sample.first;
        const std::string& message = sample.second;
        CAPTURE(wire);
        run_async([&]() -> gale::task<void> {
            response_reader r;
            co_await r.request();
            co_await r.pair.server->write(wire);
            HTTPHeaders headers;
            std::string what;
            try {
                co_await r.client.read_response_head(headers);
                co_await r.client.read_body();
            } catch (const HTTPInputError& e) {
                what = e.what();
            }
            CHECK(what == message);
        });
    }
}

TEST_CASE("a body is handed over in pieces of at most chunk_size, and an async sink paces the reading") {
    run_async([]() -> gale::task<void> {
        auto pair = connected_pair();
        HTTP1Connection server(pair.server, false, {.chunk_size = 1000});
        std::string body(10'000, 'b');
        co_await pair.client->write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10000\r\n\r\n" + body);
        RequestStartLine line;
        HTTPHeaders headers;
        REQUIRE(co_await server.read_request_head(line, headers));
        std::vector<std::size_t> sizes;
        std::string received;
        co_await server.read_body([&](std::string_view piece) -> gale::task<void> {
            sizes.push_back(piece.size());
            received.append(piece);
            co_await gale::sleep(1ms);
        });
        CHECK(received == body);
        CHECK(sizes.size() >= 10);
        for (std::size_t size : sizes) CHECK(size <= 1000);
    });
}

TEST_CASE("decompress: a gzip response body arrives decompressed and the encoding is moved aside") {
    run_async([]() -> gale::task<void> {
        response_reader r({.decompress = true});
        co_await r.request();
        std::string text(50'000, 'z');
        std::string compressed = gale::detail::gzip_compress(text);
        co_await r.pair.server->write("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
                                      std::to_string(compressed.size()) + "\r\n\r\n" + compressed);
        HTTPHeaders headers;
        co_await r.client.read_response_head(headers);
        CHECK_FALSE(headers.contains("Content-Encoding"));
        CHECK(headers.get("X-Consumed-Content-Encoding") == "gzip");
        CHECK(co_await r.client.read_body() == text);
    });
}

TEST_CASE("decompress: max_body_size counts the decompressed bytes") {
    run_async([]() -> gale::task<void> {
        response_reader r({.max_body_size = 10'000, .decompress = true});
        co_await r.request();
        std::string compressed = gale::detail::gzip_compress(std::string(1'000'000, '\0'));
        co_await r.pair.server->write("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
                                      std::to_string(compressed.size()) + "\r\n\r\n" + compressed);
        HTTPHeaders headers;
        co_await r.client.read_response_head(headers);
        std::string what;
        try {
            co_await r.client.read_body();
        } catch (const HTTPInputError& e) {
            what = e.what();
        }
        CHECK(what == "body too large after decompression");
    });
}

TEST_CASE("header_timeout closes a connection whose head does not come") {
    run_async([]() -> gale::task<void> {
        auto pair = connected_pair();
        HTTP1Connection server(pair.server, false, {.header_timeout = 100ms});
        co_await pair.client->write("GET / HTTP/1.1\r\nHost:");
        RequestStartLine line;
        HTTPHeaders headers;
        auto start = gale::IOLoop::clock::now();
        CHECK_FALSE(co_await server.read_request_head(line, headers));
        CHECK(pair.server->closed());
        CHECK(gale::IOLoop::clock::now() - start >= 90ms);
    });
}

TEST_CASE("a head over max_header_size closes the connection") {
    run_async([]() -> gale::task<void> {
        auto pair = connected_pair();
        HTTP1Connection server(pair.server, false, {.max_header_size = 100});
        co_await pair.client->write("GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + std::string(200, 'a') + "\r\n\r\n");
        RequestStartLine line;
        HTTPHeaders headers;
        CHECK_FALSE(co_await server.read_request_head(line, headers));
        CHECK(pair.server->closed());
    });
}

TEST_CASE("write_file: a file range as a Content-Length body and inside a chunked one") {
    run_async([]() -> gale::task<void> {
        const std::string data = numbered(6 << 20);
        temp_file file(data);
        const std::size_t offset = 777, count = data.size() - 2000;
        const std::string range = data.substr(offset, count);
        exchange x;
        for (bool chunked : {false, true}) {
            CAPTURE(chunked);
            co_await x.request();
            HTTPHeaders response;
            if (!chunked) response.add("Content-Length", std::to_string(count));
            x.server.write_headers(ResponseStartLine{"HTTP/1.1", 200, "OK"}, response, chunked ? "<" : "");
            auto body = gale::spawn(x.response_body());
            co_await x.server.write_file(file.fd(), offset, count);
            if (chunked) x.server.write(">");
            co_await x.server.finish();
            const std::string expected = chunked ? "<" + range + ">" : range;  // (no string temporaries
            const std::string received = co_await body;                         // across a co_await: GCC 12)
            CHECK(received == expected);
            CHECK(x.server.keep_alive());  // the same connection serves the next request
        }
    });
}

TEST_CASE("write_file: chunk framing on the wire, and Content-Length is enforced") {
    run_async([]() -> gale::task<void> {
        temp_file file(numbered(100));
        {
            exchange x;
            co_await x.request();
            HTTPHeaders response;
            x.server.write_headers(ResponseStartLine{"HTTP/1.1", 200, "OK"}, response);
            co_await x.server.write_file(file.fd(), 10, 20);
            co_await x.server.write_file(file.fd(), 0, 0);  // nothing: no empty chunk
            co_await x.server.finish();
            std::string expected = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n" +
                                   numbered(100).substr(10, 20) + "\r\n0\r\n\r\n";
            CHECK(co_await read_exactly(*x.pair.client, expected.size()) == expected);
        }
        {
            exchange x;
            co_await x.request();
            HTTPHeaders response{{"Content-Length", "50"}};
            x.server.write_headers(ResponseStartLine{"HTTP/1.1", 200, "OK"}, response, "abc");
            HTTPOutputError e = co_await gale_test::thrown<HTTPOutputError>(x.server.write_file(file.fd(), 0, 48));
            CHECK(std::string(e.what()) == "Tried to write more data than Content-Length");
            CHECK(x.pair.server->closed());
        }
    });
}
