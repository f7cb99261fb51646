// tests for <gale/web.hpp>: a real Application on 127.0.0.1 and gale's
// client. Expected status lines, headers and bodies were generated once by
// Python's Tornado 6.2 serving the same handlers (Date and Server vary,
// Connection depends on the client's request, so the comparisons leave
// those three out).
#include <gale/web.hpp>

#include <gale/httpclient.hpp>
#include <gale/json_parse.hpp>  // json_body()

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

// The response's headers as "Name: value\n" lines, without Date, Server
// and Connection.
std::string header_lines(const HTTPResponse& r) {
    std::string out;
    for (const auto& f : r.headers.get_all()) {
        if (f.name == "Date" || f.name == "Server" || f.name == "Connection") continue;
        out += f.name + ": " + f.value + "\n";
    }
    return out;
}

struct Hello : gale::RequestHandler {
    task<void> get() {
        write("Hello, world");
        co_return;
    }
};

struct Story : gale::RequestHandler {
    task<void> get(std::string_view a, std::string_view b) {
        write("story ");
        write(a);
        write(" ");
        write(b);
        co_return;
    }
};

struct People : gale::RequestHandler {
    void get(std::string_view name) {
        write("person " + std::string(name));
        if (path_kwarg("name") != name) write(" (kwarg differs)");
        if (path_kwargs().size() != 1) write(" (kwargs size)");
    }
};

struct Forbid : gale::RequestHandler {
    task<void> get() {
        throw gale::web::HTTPError(403, "secret", "Go away");
        co_return;
    }
};

struct Arg : gale::RequestHandler {
    task<void> get() {
        write("[" + get_argument("x") + "]");
        co_return;
    }
    task<void> post() {
        write(get_argument("x", "dflt") + "|" + get_argument("x", "", false) + "|" +
              get_query_argument("x", std::nullopt).value_or("none") + "|" +
              get_body_argument("x", std::nullopt).value_or("none") + "|" +
              std::to_string(get_arguments("x").size()) + std::to_string(get_body_arguments("x").size()));
        co_return;
    }
};

struct Boom : gale::RequestHandler {
    task<void> get() {
        co_await gale::sleep(1ms);
        throw std::runtime_error("boom");
    }
};

struct Go : gale::RequestHandler {
    task<void> get() {
        redirect("/");
        co_return;
    }
};

struct Flush : gale::RequestHandler {
    task<void> get() {
        write("one,");
        co_await flush();
        write("two");
    }
};

struct Js : gale::RequestHandler {
    task<void> get() {
        write(gale::json::object{{"a", 1}, {"b", "</x>"}});
        co_return;
    }
    task<void> post() {
        gale::json::value v = json_body();
        write(gale::json::object{{"got", v["n"]}});
        co_return;
    }
    task<void> put() {
        write(gale::json::value(gale::json::array{1, 2}));
        co_return;
    }
};

std::vector<gale::URLSpec> reference_rules() {
    return {
        {"/", gale::handler<Hello>()},
        {R"(/story/([0-9]+)/(\w+))", gale::handler<Story>()},
        gale::url(R"(/people/(?P<name>\w+))", gale::handler<People>(), "people"),
        {"/forbid", gale::handler<Forbid>()},
        {"/arg", gale::handler<Arg>()},
        {"/boom", gale::handler<Boom>()},
        {"/go", gale::handler<Go>()},
        {R"(/old/([0-9]+))", gale::handler<gale::RedirectHandler>("/new/{0}")},
        {"/flush", gale::handler<Flush>()},
        {"/json", gale::handler<Js>()},
    };
}

std::string url(std::uint16_t port, std::string_view path) {
    return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

task<HTTPResponse> fetch(AsyncHTTPClient& client, std::uint16_t port, std::string_view path,
                         std::string method = "GET", std::optional<std::string> body = std::nullopt) {
    HTTPRequest request(url(port, path), std::move(method), std::move(body));
    request.follow_redirects = false;
    request.allow_nonstandard_methods = true;
    co_return co_await client.fetch(std::move(request), false);
}

}  // namespace

TEST_CASE("web: responses match Tornado's byte for byte") {
    run_async([]() -> task<void> {
        gale::Application app(reference_rules());
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        log_capture logs;

        HTTPResponse r = co_await fetch(client, port, "/");
        CHECK(r.code == 200);
        CHECK(r.reason == "OK");
        CHECK(header_lines(r) ==
              "Content-Type: text/html; charset=UTF-8\n"
              "Etag: \"e02aa1b106d5c7c6a98def2b13005d5b84fd8dc8\"\n"
              "Content-Length: 12\n");
        CHECK(r.body == "Hello, world");
        CHECK(r.headers.get("Server") == "gale/" GALE_VERSION);
        CHECK(r.headers.get("Date").value_or("").ends_with(" GMT"));
        CHECK(logs.matching("tornado.access 200 GET / (127.0.0.1) ").size() == 1);

        r = co_await fetch(client, port, "/story/42/x");
        CHECK(r.code == 200);
        CHECK(header_lines(r) ==
              "Content-Type: text/html; charset=UTF-8\n"
              "Etag: \"8b5ef77da4fcb9aab146bff3c00371c68b67cf83\"\n"
              "Content-Length: 10\n");
        CHECK(r.body == "story 42 x");

        r = co_await fetch(client, port, "/people/ann");
        CHECK(r.code == 200);
        CHECK(header_lines(r) ==
              "Content-Type: text/html; charset=UTF-8\n"
              "Etag: \"6615405aa83e6fbcfbbe93198899cdd12984bbb1\"\n"
              "Content-Length: 10\n");
        CHECK(r.body == "person ann");

        r = co_await fetch(client, port, "/nope");
        CHECK(r.code == 404);
        CHECK(r.reason == "Not Found");
        CHECK(header_lines(r) == "Content-Type: text/html; charset=UTF-8\nContent-Length: 69\n");
        CHECK(r.body == "<html><title>404: Not Found</title><body>404: Not Found</body></html>");
        CHECK(logs.matching("tornado.access 404 GET /nope (127.0.0.1) ").size() == 1);
        CHECK(logs.matching("tornado.general").empty());

        r = co_await fetch(client, port, "/forbid");
        CHECK(r.code == 403);
        CHECK(r.reason == "Go away");
        CHECK(header_lines(r) == "Content-Type: text/html; charset=UTF-8\nContent-Length: 65\n");
        CHECK(r.body == "<html><title>403: Go away</title><body>403: Go away</body></html>");
        CHECK(logs.matching("tornado.general 403 GET /forbid (127.0.0.1): secret").size() == 1);

        r = co_await fetch(client, port, "/arg");
        CHECK(r.code == 400);
        CHECK(r.reason == "Bad Request");
        CHECK(header_lines(r) == "Content-Type: text/html; charset=UTF-8\nContent-Length: 73\n");
        CHECK(r.body == "<html><title>400: Bad Request</title><body>400: Bad Request</body></html>");
        CHECK(logs.matching("tornado.general 400 GET /arg (127.0.0.1): Missing argument x").size() == 1);

        r = co_await fetch(client, port, "/arg?x=+a+&x=%20b%01c%20");
        CHECK(r.code == 200);
        CHECK(header_lines(r) ==
              "Content-Type: text/html; charset=UTF-8\n"
              "Etag: \"33608be160260b1b1ffc6b4440ea01fec12720ae\"\n"
              "Content-Length: 5\n");
        CHECK(r.body == "[b c]");

        r = co_await fetch(client, port, "/boom");
        CHECK(r.code == 500);
        CHECK(r.reason == "Internal Server Error");
        CHECK(header_lines(r) == "Content-Type: text/html; charset=UTF-8\nContent-Length: 93\n");
        CHECK(r.body ==
              "<html><title>500: Internal Server Error</title><body>500: Internal Server Error</body></html>");
        auto uncaught = logs.matching("tornado.application Uncaught exception GET /boom (127.0.0.1)\n");
        REQUIRE(uncaught.size() == 1);
        CHECK(uncaught[0].find("method='GET', uri='/boom', version='HTTP/1.1', remote_ip='127.0.0.1')\nboom") !=
              std::string::npos);
        CHECK(logs.matching("tornado.access 500 GET /boom (127.0.0.1) ").size() == 1);

        r = co_await fetch(client, port, "/go");
        CHECK(r.code == 302);
        CHECK(r.reason == "Found");
        CHECK(header_lines(r) == "Content-Type: text/html; charset=UTF-8\nLocation: /\nContent-Length: 0\n");
        CHECK(r.body.empty());

        r = co_await fetch(client, port, "/old/7?q=1");
        CHECK(r.code == 301);
        CHECK(r.reason == "Moved Permanently");
        CHECK(header_lines(r) ==
              "Content-Type: text/html; charset=UTF-8\nLocation: /new/7?q=1\nContent-Length: 0\n");

        r = co_await fetch(client, port, "/flush");
        CHECK(r.code == 200);
        CHECK(header_lines(r) == "Content-Type: text/html; charset=UTF-8\nTransfer-Encoding: chunked\n");
        CHECK(r.body == "one,two");

        r = co_await fetch(client, port, "/json");
        CHECK(r.code == 200);
        CHECK(header_lines(r) ==
              "Content-Type: application/json; charset=UTF-8\n"
              "Etag: \"cc411a032c053ef08f9fdef8e07d7c7fd3382e16\"\n"
              "Content-Length: 22\n");
        CHECK(r.body == R"({"a": 1, "b": "<\/x>"})");

        // 405: Tornado's page; gale adds Allow.
        r = co_await fetch(client, port, "/", "POST", "");
        CHECK(r.code == 405);
        CHECK(r.reason == "Method Not Allowed");
        CHECK(header_lines(r) == "Content-Type: text/html; charset=UTF-8\nAllow: GET\nContent-Length: 87\n");
        CHECK(r.body ==
              "<html><title>405: Method Not Allowed</title><body>405: Method Not Allowed</body></html>");
        CHECK(logs.matching("tornado.access 405 POST / (127.0.0.1) ").size() == 1);

        r = co_await fetch(client, port, "/json", "PROPFIND");
        CHECK(r.code == 405);
        CHECK(r.headers.get("Allow") == "GET, POST, PUT");
        CHECK(r.body ==
              "<html><title>405: Method Not Allowed</title><body>405: Method Not Allowed</body></html>");

        // ETag and 304 (weak and strong forms, as Tornado compares them).
        HTTPRequest conditional(url(port, "/"));
        conditional.headers.add("If-None-Match", R"("x", W/"e02aa1b106d5c7c6a98def2b13005d5b84fd8dc8")");
        r = co_await client.fetch(conditional, false);
        CHECK(r.code == 304);
        CHECK(r.reason == "Not Modified");
        CHECK(header_lines(r) == "Etag: \"e02aa1b106d5c7c6a98def2b13005d5b84fd8dc8\"\n");
        CHECK(r.body.empty());
        HTTPRequest star(url(port, "/story/1/a"));
        star.headers.add("If-None-Match", "*");
        CHECK((co_await client.fetch(star, false)).code == 304);
        HTTPRequest other(url(port, "/"));
        other.headers.add("If-None-Match", R"("nope")");
        CHECK((co_await client.fetch(other, false)).code == 200);

        client.close();
        co_await app.close_all_connections();
    });
}

TEST_CASE("web: arguments from the query and the body, json_body, write refuses a list") {
    run_async([]() -> task<void> {
        gale::Application app(reference_rules());
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        log_capture logs;
        HTTPResponse r = co_await fetch(client, port, "/arg?x=q", "POST", "x=+b1+&x=b2");
        CHECK(r.code == 200);
        CHECK(r.body == "b2|b2|q|b2|32");
        r = co_await fetch(client, port, "/arg", "POST", "y=1");
        CHECK(r.body == "dflt||none|none|00");
        r = co_await fetch(client, port, "/json", "POST", R"({"n": [1, "two"]})");
        CHECK(r.code == 200);
        CHECK(r.body == R"({"got": [1, "two"]})");
        r = co_await fetch(client, port, "/json", "PUT", "");
        CHECK(r.code == 500);
        auto refused = logs.matching("Lists not accepted for security reasons");
        CHECK(refused.size() == 1);
        client.close();
        co_await app.close_all_connections();
    });
}

namespace {

std::vector<std::string> calls;

struct Hooks : gale::RequestHandler {
    std::string label;
    void initialize(const std::string& l) {
        label = l;
        calls.push_back("initialize " + l);
    }
    void set_default_headers() override {
        calls.push_back("set_default_headers");
        set_header("X-Hooks", label.empty() ? "none" : label);
    }
    task<void> prepare() {
        calls.push_back("prepare");
        if (get_argument("stop", "") == "1") finish("stopped");
        co_return;
    }
    task<void> get() {
        calls.push_back("get");
        if (get_argument("fail", "") == "1") throw gale::web::HTTPError(418);
        write("hooks " + label);
        co_return;
    }
    void write_error(int code, std::exception_ptr error) override {
        calls.push_back("write_error " + std::to_string(code));
        RequestHandler::write_error(code, error);
    }
    void on_finish() override { calls.push_back("on_finish " + std::to_string(get_status())); }
};

struct Db {
    int queries = 0;
};

struct WithArgs : gale::RequestHandler {
    Db* db = nullptr;
    gale::json::object options;
    void initialize(Db* d, const gale::json::object& o) {
        db = d;
        options = o;
    }
    task<void> get() {
        ++db->queries;
        gale::json::object out = options;
        out["queries"] = db->queries;
        out["app"] = *setting<std::string>("name");
        write(out);
        co_return;
    }
};

struct Reverse : gale::RequestHandler {
    task<void> get(std::string_view) {
        write(reverse_url("people", "a b") + " " + reverse_url("item", 7, "x"));
        co_return;
    }
};

struct HostOnly : gale::RequestHandler {
    task<void> get() {
        write("www " + request().host_name);
        co_return;
    }
};

}  // namespace

TEST_CASE("web: hook order as Tornado's _execute, initialize arguments, settings") {
    run_async([]() -> task<void> {
        Db db;
        gale::Settings settings;
        settings.extra["name"] = std::string("demo");
        gale::Application app(
            {
                {"/hooks", gale::handler<Hooks>(std::string("L"))},
                {"/args", gale::handler<WithArgs>(&db, gale::json::object{{"subject", "c++"}})},
            },
            std::move(settings));
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;

        calls.clear();
        HTTPResponse r = co_await fetch(client, port, "/hooks");
        CHECK(r.body == "hooks L");
        // set_default_headers runs before initialize (from the constructor in Tornado).
        CHECK(r.headers.get("X-Hooks") == "none");
        CHECK(calls == std::vector<std::string>{"set_default_headers", "initialize L", "prepare", "get", "on_finish 200"});

        calls.clear();
        r = co_await fetch(client, port, "/hooks?stop=1");
        CHECK(r.body == "stopped");
        CHECK(calls == std::vector<std::string>{"set_default_headers", "initialize L", "prepare", "on_finish 200"});

        calls.clear();
        r = co_await fetch(client, port, "/hooks?fail=1");
        CHECK(r.code == 418);
        CHECK(r.reason == "I'm a Teapot");
        CHECK(r.headers.get("X-Hooks") == "L");  // set again by send_error's clear()
        CHECK(r.body == "<html><title>418: I'm a Teapot</title><body>418: I'm a Teapot</body></html>");
        CHECK(calls == std::vector<std::string>{"set_default_headers", "initialize L", "prepare", "get",
                                                "set_default_headers", "write_error 418", "on_finish 418"});

        r = co_await fetch(client, port, "/args");
        CHECK(r.body == R"({"subject": "c++", "queries": 1, "app": "demo"})");
        r = co_await fetch(client, port, "/args");
        CHECK(r.body == R"({"subject": "c++", "queries": 2, "app": "demo"})");
        CHECK(db.queries == 2);

        client.close();
        co_await app.close_all_connections();
    });
}

TEST_CASE("web: reverse_url, host routing, default handler, debug tracebacks") {
    run_async([]() -> task<void> {
        gale::Settings settings;
        settings.debug = true;
        gale::Application app(
            {
                gale::url(R"(/people/(?P<name>[^/]+))", gale::handler<People>(), "people"),
                gale::url(R"(/item/([0-9]+)/(\w+))", gale::handler<Story>(), "item"),
                {R"(/rev/(.*))", gale::handler<Reverse>()},
                {"/boom", gale::handler<Boom>()},
            },
            std::move(settings));
        app.add_handlers(R"(www\.example\.com)", {{"/", gale::handler<HostOnly>()}});
        CHECK(app.reverse_url("people", "ann") == "/people/ann");
        CHECK(app.reverse_url("item", 3, "b") == "/item/3/b");
        CHECK_THROWS_WITH_AS(app.reverse_url("none"), "none not found in named urls", std::out_of_range);
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;

        HTTPResponse r = co_await fetch(client, port, "/rev/z");
        CHECK(r.body == "/people/a%20b /item/7/x");

        HTTPRequest www(url(port, "/"));
        www.headers.add("Host", "www.example.com:8080");
        r = co_await client.fetch(www, false);
        CHECK(r.code == 200);
        CHECK(r.body == "www www.example.com");
        // Another host falls through to the host-less rules: no "/" there.
        r = co_await fetch(client, port, "/");
        CHECK(r.code == 404);
        // The host's rules miss: the host-less rules are tried next.
        HTTPRequest www_people(url(port, "/people/bo"));
        www_people.headers.add("Host", "www.example.com");
        r = co_await client.fetch(www_people, false);
        CHECK(r.body == "person bo");

        log_capture logs;
        r = co_await fetch(client, port, "/boom");
        CHECK(r.code == 500);
        CHECK(r.headers.get("Content-Type") == "text/plain");
        CHECK(r.body == "boom\n");

        client.close();
        co_await app.close_all_connections();

        gale::Settings with_default;
        with_default.default_handler = gale::handler<gale::ErrorHandler>(410);
        gale::Application gone({}, std::move(with_default));
        port = gone.listen(0, "127.0.0.1");
        AsyncHTTPClient client2;
        r = co_await fetch(client2, port, "/anything");
        CHECK(r.code == 410);
        CHECK(r.body == "<html><title>410: Gone</title><body>410: Gone</body></html>");
        client2.close();
        co_await gone.close_all_connections();
    });
}

TEST_CASE("web: a route whose groups its handler's methods cannot take is refused when built") {
    CHECK_THROWS_WITH_AS(gale::Application({{R"(/story/([0-9]+))", gale::handler<Hello>()}}),
                         "url pattern '/story/([0-9]+)$' has 1 group but the handler's get() cannot take 1 "
                         "std::string_view argument",
                         std::invalid_argument);
    CHECK_THROWS_AS(gale::Application({{"/s", gale::handler<Story>()}}), std::invalid_argument);
    CHECK_NOTHROW(gale::Application({{R"(/r/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j))", gale::handler<gale::RedirectHandler>("/")}}));
    // What a handler defines, seen at compile time.
    static_assert(gale::detail::shapes_of<Story>()[0].accepts(2));
    static_assert(!gale::detail::shapes_of<Story>()[2].defined());
    static_assert(gale::detail::allow_text<Js>::value == "GET, POST, PUT");
}

TEST_CASE("web: HTTPError text, set_status reasons and unsafe header values") {
    CHECK(std::string(gale::web::HTTPError(404).what()) == "HTTP 404: Not Found");
    CHECK(std::string(gale::web::HTTPError(599, "why").what()) == "HTTP 599: Unknown (why)");
    CHECK(std::string(gale::web::HTTPError(403, "", "No").what()) == "HTTP 403: No");
    CHECK(gale::web::MissingArgumentError("x").log_message == "Missing argument x");
    struct Plain : gale::RequestHandler {};
    Plain p;
    p.set_status(299);
    CHECK(p.get_status() == 299);
    p.set_header("X-Count", 5);
    CHECK(p.headers().get("X-Count") == "5");
    p.add_header("X-Count", "6");
    CHECK(p.headers().get_list("X-Count").size() == 2);
    p.clear_header("X-Count");
    CHECK(!p.headers().contains("X-Count"));
    CHECK_THROWS_AS(p.set_header("X-Bad", "a\x01"), std::invalid_argument);
    CHECK_THROWS_AS(p.set_header("X-Bad", "a\r\nSet-Cookie: x"), std::invalid_argument);
}

namespace {
struct Both : gale::RequestHandler {
    task<void> get() {
        write("twelve bytes");
        co_return;
    }
    task<void> head() { return get(); }
};
}  // namespace

TEST_CASE("web: HEAD sends the headers GET would, without the body") {
    run_async([]() -> task<void> {
        gale::Application app({{"/both", gale::handler<Both>()}, {"/", gale::handler<Hello>()}});
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        HTTPResponse r = co_await fetch(client, port, "/both", "HEAD");
        CHECK(r.code == 200);
        CHECK(r.headers.get("Content-Length") == "12");
        CHECK(r.headers.contains("Etag"));
        CHECK(r.body.empty());
        r = co_await fetch(client, port, "/", "HEAD");
        CHECK(r.code == 405);
        CHECK(r.headers.get("Allow") == "GET");
        CHECK(r.body.empty());
        r = co_await fetch(client, port, "/both");  // the connection is still usable
        CHECK(r.body == "twelve bytes");
        client.close();
        co_await app.close_all_connections();
    });
}
