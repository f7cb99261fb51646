// tests for <gale/web.hpp>: request bodies (read by the handler's run,
// streamed to data_received, too large), on_connection_close,
// compress_response and undecodable arguments. Expected headers, bodies and
// log lines are what Tornado 6.2 gave for the same handlers (checked once
// with a Python twin of these handlers; Date and Server left out).
#include <gale/web.hpp>

#include <gale/httpclient.hpp>
#include <gale/locks.hpp>
#include <gale/tcpclient.hpp>

#include <string>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using gale::AsyncHTTPClient;
using gale::HTTPRequest;
using gale::HTTPResponse;
using gale::task;
using gale_test::log_capture;
using gale_test::run_async;

namespace {

std::string header_lines(const gale::HTTPHeaders& headers) {
    std::string out;
    for (const auto& f : headers.get_all()) {
        if (f.name == "Date" || f.name == "Server" || f.name == "Connection") continue;
        out += f.name + ": " + f.value + "\n";
    }
    return out;
}

// One request over a fresh connection; everything the server sends until
// it closes (the request asks it to).
task<std::string> raw_exchange(std::uint16_t port, std::string request) {
    auto stream = co_await gale::TCPClient().connect("127.0.0.1", port);
    co_await stream->write(request);
    co_return co_await stream->read_until_close();
}

struct split_response {
    std::string head;
    std::string body;
};
split_response split(const std::string& raw) {
    std::size_t end = raw.find("\r\n\r\n");
    if (end == std::string::npos) return {raw, ""};
    return {raw.substr(0, end), raw.substr(end + 4)};
}

// ------------------------------------------------------------------ streaming

struct stream_log {
    std::vector<std::string> events;
    std::size_t bytes = 0;
    std::size_t pieces = 0;
};

// Tornado's @stream_request_body: prepare, data_received per piece, then the method.
struct Upload : gale::RequestHandler {
    stream_log* log = nullptr;
    void initialize(stream_log* l) { log = l; }
    void prepare() { log->events.push_back("prepare body=" + std::to_string(request().body.size())); }
    task<void> data_received(std::string_view piece) {
        if (log->pieces == 0) log->events.push_back("first piece");
        ++log->pieces;
        log->bytes += piece.size();
        for (char c : piece)
            if (c != 'u') log->events.push_back("corrupt byte");
        co_await gale::sleep(0ms);  // the next piece waits for this one
    }
    task<void> put() {
        log->events.push_back("put after " + std::to_string(log->bytes));
        write("got " + std::to_string(log->bytes) + " bytes in " + std::to_string(log->pieces > 1 ? 2 : 1) +
              "+ pieces, buffered " + std::to_string(request().body.size()));
        co_return;
    }
};

// Streams, but refuses in prepare before any of the body is read.
struct Refuse : gale::RequestHandler {
    void prepare() { throw gale::web::HTTPError(413); }
    void data_received(std::string_view) { write("never"); }
    void put() {}
};

struct Echo : gale::RequestHandler {
    void post() { write(get_body_argument("a", "none") + "|" + std::to_string(request().body.size())); }
};

TEST_CASE("web_stream: a data_received handler gets the body piece by piece, the others whole") {
    run_async([]() -> task<void> {
        stream_log log;
        gale::Application app({
            {"/upload", gale::handler<Upload>(&log)},
            {"/refuse", gale::handler<Refuse>()},
            {"/echo", gale::handler<Echo>()},
        });
        std::uint16_t port = app.listen(0, "127.0.0.1", {.max_body_size = 4 << 20});
        AsyncHTTPClient client;

        std::string body(3 << 20, 'u');  // 3 MiB: 48 pieces of at most 64 KiB
        HTTPRequest put(fmt::format("http://127.0.0.1:{}/upload", port));
        put.with_method("PUT").with_body(body);
        HTTPResponse r = co_await client.fetch(put, false);
        CHECK(r.code == 200);
        CHECK(r.body == "got 3145728 bytes in 2+ pieces, buffered 0");
        CHECK(log.pieces >= 48);
        REQUIRE(log.events.size() == 3);
        CHECK(log.events[0] == "prepare body=0");
        CHECK(log.events[1] == "first piece");
        CHECK(log.events[2] == "put after 3145728");

        // A chunked upload streams the same way.
        log = {};
        std::string raw = co_await raw_exchange(
            port, "PUT /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nuuu\r\n2\r\nuu\r\n0\r\n\r\n");
        CHECK(split(raw).body == "got 5 bytes in 2+ pieces, buffered 0");
        CHECK(log.events.back() == "put after 5");

        // Refused in prepare: answered at once, the unread body ends the connection.
        raw = co_await raw_exchange(port, "PUT /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nuuuu");
        CHECK(raw.starts_with("HTTP/1.1 413 Request Entity Too Large\r\n"));
        CHECK(raw.ends_with("<html><title>413: Request Entity Too Large</title><body>413: Request Entity Too "
                            "Large</body></html>"));

        // A handler without data_received sees the whole body, parsed.
        HTTPRequest post(fmt::format("http://127.0.0.1:{}/echo", port));
        post.with_method("POST").with_body("a=1&b=2");
        r = co_await client.fetch(post, false);
        CHECK(r.body == "1|7");

        // Over max_body_size: 400 before any handler runs (the server's answer).
        log_capture logs;
        raw = co_await raw_exchange(port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n");
        CHECK(raw == "HTTP/1.1 400 Bad Request\r\n\r\n");
        CHECK(logs.matching("Malformed HTTP message").size() == 1);
        CHECK(logs.matching("tornado.access").empty());
    });
}

// ------------------------------------------------------------------ the client leaving

// Counts on_connection_close calls and wakes the test.
struct CloseWatcher : gale::RequestHandler {
    gale::Event* closed = nullptr;
    int* calls = nullptr;
    void initialize(gale::Event* e, int* c) {
        closed = e;
        calls = c;
    }
    void on_connection_close() {
        ++*calls;
        closed->set();
    }
};

struct Slow : CloseWatcher {
    task<void> get() {
        co_await closed->wait();
        write("too late");  // the client is gone; finishing is harmless
    }
};

struct SlowUpload : CloseWatcher {
    void data_received(std::string_view) {}
    void put() { write("never"); }
};

TEST_CASE("web_stream: on_connection_close when the client leaves during the handler or the upload") {
    run_async([]() -> task<void> {
        gale::Event closed, upload_closed;
        int calls = 0, upload_calls = 0;
        gale::Application app({
            {"/slow", gale::handler<Slow>(&closed, &calls)},
            {"/upload", gale::handler<SlowUpload>(&upload_closed, &upload_calls)},
        });
        std::uint16_t port = app.listen(0, "127.0.0.1");
        log_capture logs;

        auto stream = co_await gale::TCPClient().connect("127.0.0.1", port);
        co_await stream->write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
        co_await gale::sleep(50ms);
        stream->close();
        co_await gale::with_timeout(5s, closed.wait());
        CHECK(calls == 1);

        stream = co_await gale::TCPClient().connect("127.0.0.1", port);
        co_await stream->write("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nhalf");
        co_await gale::sleep(50ms);
        stream->close();
        co_await gale::with_timeout(5s, upload_closed.wait());
        CHECK(upload_calls == 1);
        co_await gale::sleep(50ms);
        CHECK(logs.matching("Uncaught").empty());
        CHECK(logs.matching("without finishing").empty());

        // A request that ends normally calls it no more.
        AsyncHTTPClient client;
        HTTPResponse r = co_await client.fetch(fmt::format("http://127.0.0.1:{}/slow", port), false);
        CHECK(r.body == "too late");  // closed is already set
        client.close();
        co_await gale::sleep(50ms);
        CHECK(calls == 1);
    });
}

// ------------------------------------------------------------------ compress_response

struct Big : gale::RequestHandler {
    void get() {
        set_header("Vary", "Accept-Language");
        write(std::string(2000, 'x'));
    }
};
struct Small : gale::RequestHandler {
    void get() { write("small"); }
};
struct Png : gale::RequestHandler {
    void get() {
        set_header("Content-Type", "image/png");
        write(std::string(2000, 'y'));
    }
};
struct Flushed : gale::RequestHandler {
    task<void> get() {
        write(std::string(10, 'a'));
        co_await flush();
        write(std::string(10, 'b'));
    }
};

// A gzip member with its timestamp (bytes 4-7) zeroed, to compare with
// Tornado's bytes taken at another time.
std::string without_mtime(std::string gz) {
    if (gz.size() > 8) gz.replace(4, 4, std::string(4, '\0'));
    return gz;
}

TEST_CASE("web_stream: compress_response follows Tornado's GZipContentEncoding") {
    run_async([]() -> task<void> {
        gale::Application app({{"/big", gale::handler<Big>()},
                                {"/small", gale::handler<Small>()},
                                {"/png", gale::handler<Png>()},
                                {"/flushed", gale::handler<Flushed>()}},
                               {.compress_response = true});
        std::uint16_t port = app.listen(0, "127.0.0.1");
        auto get = [port](std::string path, std::string accept) -> task<split_response> {
            std::string request = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
            if (!accept.empty()) request += "Accept-Encoding: " + accept + "\r\n";
            co_return split(co_await raw_exchange(port, request + "\r\n"));
        };
        auto head_lines = [](const std::string& head) {
            return header_lines(gale::HTTPHeaders::parse(head.substr(head.find("\r\n") + 2)));
        };

        split_response r = co_await get("/big", "gzip");
        CHECK(r.head.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(head_lines(r.head) ==
              "Content-Type: text/html; charset=UTF-8\n"
              "Vary: Accept-Language, Accept-Encoding\n"
              "Etag: \"8e894dd1aef94637f347af568e934075a69d1b79\"\n"
              "Content-Length: 35\n"
              "Content-Encoding: gzip\n");
        // Tornado's bytes for the same body (its mtime zeroed).
        CHECK(without_mtime(r.body) == std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xab\xa8\x18\x05\xa3`"
                                                   "\x14\x8c\x82Q0\nF\xc1P\x07\x00ze\x08)\xd0\x07\x00\x00",
                                                   35));
        CHECK(gale::detail::gzip_decompress(r.body) == std::string(2000, 'x'));

        r = co_await get("/big", "");
        CHECK(head_lines(r.head) ==
              "Content-Type: text/html; charset=UTF-8\n"
              "Vary: Accept-Language, Accept-Encoding\n"
              "Etag: \"8e894dd1aef94637f347af568e934075a69d1b79\"\n"
              "Content-Length: 2000\n");
        CHECK(r.body == std::string(2000, 'x'));

        r = co_await get("/small", "gzip");
        CHECK(head_lines(r.head) ==
              "Content-Type: text/html; charset=UTF-8\n"
              "Etag: \"89f6229a11ac4ebaa553c1a3ea96d78fa7483735\"\n"
              "Content-Length: 5\n"
              "Vary: Accept-Encoding\n");
        CHECK(r.body == "small");

        r = co_await get("/png", "gzip");
        CHECK(head_lines(r.head) ==
              "Content-Type: image/png\n"
              "Etag: \"99580d8239b7dcf3a48c2a638f962185c953cb31\"\n"
              "Content-Length: 2000\n"
              "Vary: Accept-Encoding\n");
        CHECK(r.body == std::string(2000, 'y'));

        r = co_await get("/flushed", "gzip, deflate");
        CHECK(head_lines(r.head) ==
              "Content-Type: text/html; charset=UTF-8\n"
              "Vary: Accept-Encoding\n"
              "Content-Encoding: gzip\n"
              "Transfer-Encoding: chunked\n");
        // Tornado: a sync-flushed first chunk (with the header), then the rest and the trailer.
        std::string first("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xffJL\x84\x01\x00\x00\x00\x00\xff\xff", 20);
        std::string rest("K\x82\x03\x00\xc6\nQ(\x14\x00\x00\x00", 12);
        CHECK(r.body.size() == 48);
        CHECK(r.body.substr(0, 4) == "14\r\n");
        CHECK(without_mtime(r.body.substr(4, 20)) == first);
        CHECK(r.body.substr(24) == "\r\nc\r\n" + rest + "\r\n0\r\n\r\n");

        // gale's client decompresses it.
        AsyncHTTPClient client;
        HTTPResponse whole = co_await client.fetch(fmt::format("http://127.0.0.1:{}/flushed", port), false);
        CHECK(whole.body == std::string(10, 'a') + std::string(10, 'b'));
    });
}

// ------------------------------------------------------------------ undecodable text

struct Arg : gale::RequestHandler {
    void get() { write(get_argument("x")); }
};
struct Story : gale::RequestHandler {
    void get(std::string_view s) { write(s); }
};

TEST_CASE("web_stream: arguments and path groups that are not UTF-8 answer 400 as Tornado") {
    run_async([]() -> task<void> {
        gale::Application app({{"/arg", gale::handler<Arg>()}, {"/story/(.*)", gale::handler<Story>()}});
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        log_capture logs;
        auto url = [port](std::string_view path) { return fmt::format("http://127.0.0.1:{}{}", port, path); };

        HTTPResponse r = co_await client.fetch(url("/arg?x=%FF"), false);
        CHECK(r.code == 400);
        CHECK(r.body == "<html><title>400: Bad Request</title><body>400: Bad Request</body></html>");
        CHECK(logs.matching("tornado.general 400 GET /arg?x=%FF (127.0.0.1): Invalid unicode in x: b'\\xff'").size() ==
              1);

        r = co_await client.fetch(url("/story/%FFab%C3"), false);
        CHECK(r.code == 400);
        CHECK(logs.matching("tornado.general 400 GET /story/%FFab%C3 (127.0.0.1): Invalid unicode in url: "
                            "b'\\xffab\\xc3'")
                  .size() == 1);

        // Every value is checked, not just the last one used.
        r = co_await client.fetch(url("/arg?x=%C3%A9&x=%FF"), false);
        CHECK(r.code == 400);
        r = co_await client.fetch(url("/arg?x=%FF&x=%C3%A9"), false);
        CHECK(r.code == 400);

        r = co_await client.fetch(url("/arg?x=%C3%A9"), false);
        CHECK(r.code == 200);
        CHECK(r.body == "\xc3\xa9");
    });
}

}  // namespace
