// tests for the cookies, signed cookies, XSRF and login part of
// <gale/web.hpp>: gale serves the handlers of tests/tornado/cookies_server.py
// (Python's Tornado 6.2, started at test time with /usr/bin/python3), both
// are asked the same things by gale's client, and their answers are
// compared: Set-Cookie headers byte for byte (expiry times relative to now
// compared rounded to the hour), XSRF and login behaviour; signed cookies and
// XSRF tokens made by one are given to the other. Then the three examples of
// this area (cookie_counter, login, xsrf_form) run in-process, with gale's
// client and curl.
#include <gale/web.hpp>

#include <gale/concurrent.hpp>
#include <gale/httpclient.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "python_support.hpp"
#include "support.hpp"

// The examples, each in its own namespace, their main() renamed.
#define main cookie_counter_main
#include "../examples/cookie_counter.cpp"
#undef main
#define main login_main
#include "../examples/login.cpp"
#undef main
#define main xsrf_form_main
#include "../examples/xsrf_form.cpp"
#undef main


using namespace std::chrono_literals;
using gale::AsyncHTTPClient;
using gale::HTTPRequest;
using gale::HTTPResponse;
using gale::task;
using gale_test::log_capture;
using gale_test::run_async;

namespace {

const std::string secret = "61oETzKXQAGaYdkL5gEmGeJJFuYh7EQnp2XdTP1o/Vo=";

// ------------------------------------------------------------ the handlers of cookies_server.py

struct Base : gale::RequestHandler {
    std::optional<std::string> get_current_user() override { return get_signed_cookie("user"); }
};

struct SetCookies : Base {
    void get() {
        using namespace std::chrono;
        set_cookie("n1", "v1");
        set_cookie("n2", "v2", {.expires = 1478908799, .path = "/new"});
        set_cookie("n4", "v4",
                   {.domain = "example.com",
                    .expires = sys_days{2016y / 11 / 11} + 23h + 59min + 59s,
                    .max_age = 3600,
                    .httponly = true,
                    .secure = true,
                    .samesite = "Lax"});
        set_cookie("q", "a\"quoted\";value,\\");
        set_cookie("u", "\xc3\xa9t\xc3\xa9");
        set_cookie("e", "");
        set_cookie("nopath", "x", {.path = ""});
        set_cookie("n1", "again");
        write("ok");
    }
};

struct Days : Base {
    void get() {
        set_cookie("n3", "v3", {.expires_days = 20});
        write("ok");
    }
};

struct Clear : Base {
    void get() {
        clear_cookie("n3");
        clear_cookie("d", "/p", "example.com");
        write("ok");
    }
};

struct ClearAll : Base {
    void get() {
        clear_all_cookies();
        write("ok");
    }
};

struct Bad : Base {
    void get() {
        std::string which = get_argument("case");
        set_cookie("before", "x");  // still sent with the error page
        if (which == "0")
            set_cookie("n", "a b");
        else if (which == "1")
            set_cookie("a;b", "v");
        else
            set_cookie("Path", "v");
        write("not reached");
    }
};

struct SignedSet : Base {
    void get() {
        std::optional<std::string> days = get_argument("days", std::nullopt);
        int version = std::stoi(get_argument("version", "2"));
        if (days)
            set_secure_cookie(get_argument("name"), get_argument("value"), std::stod(*days), {}, version);
        else
            set_secure_cookie(get_argument("name"), get_argument("value"));
        write("ok");
    }
};

struct SignedGet : Base {
    void get() {
        int min_version = std::stoi(get_argument("min_version", "1"));
        write(get_secure_cookie(get_argument("name"), 31, min_version).value_or("None"));
    }
};

struct SignedKeyVersion : Base {
    void get() {
        std::optional<long long> v = get_secure_cookie_key_version(get_argument("name"));
        write(v ? std::to_string(*v) : "None");
    }
};

struct Xsrf : Base {
    void get() { write(xsrf_form_html()); }
    void post() { write("ok POST"); }
    void put() { write("ok PUT"); }
    void delete_() { write("ok DELETE"); }
};

struct User : Base {
    static constexpr auto authenticated = methods::get | methods::post;
    void get() { write("Hello, " + *current_user()); }
    void post() { write("posted"); }
};

struct UserAbsolute : User {
    std::string get_login_url() override { return "http://example.com/login"; }
};

struct UserQuery : User {
    std::string get_login_url() override { return "/login?from=here"; }
};

std::vector<gale::URLSpec> rules() {
    return {
        {"/set", gale::handler<SetCookies>()},
        {"/days", gale::handler<Days>()},
        {"/clear", gale::handler<Clear>()},
        {"/clear_all", gale::handler<ClearAll>()},
        {"/bad", gale::handler<Bad>()},
        {"/signed/set", gale::handler<SignedSet>()},
        {"/signed/get", gale::handler<SignedGet>()},
        {"/signed/keyver", gale::handler<SignedKeyVersion>()},
        {"/xsrf", gale::handler<Xsrf>()},
        {"/user", gale::handler<User>()},
        {"/user_abs", gale::handler<UserAbsolute>()},
        {"/user_query", gale::handler<UserQuery>()},
    };
}

gale::Settings main_settings() { return {.cookie_secret = secret, .xsrf_cookies = true, .login_url = "/login"}; }
gale::Settings v1_settings() { return {.cookie_secret = secret, .xsrf_cookies = true, .xsrf_cookie_version = 1}; }
gale::Settings keyed_settings() { return {.cookie_secret = {{1, "old secret"}, {2, "new secret"}}, .key_version = 2}; }

// ------------------------------------------------------------ Tornado's side

// tests/tornado/cookies_server.py: three apps (v2, v1 and keyed secrets);
// it prints "ports MAIN V1 KEYED".
class tornado_servers {
public:
    tornado_servers() : process_("cookies_server.py", {}, true) {
        std::string line = process_.read_line("ports ");
        int main_port = 0, v1_port = 0, keyed_port = 0;
        if (std::sscanf(line.c_str(), "ports %d %d %d", &main_port, &v1_port, &keyed_port) != 3)
            throw std::runtime_error("tests/tornado/cookies_server.py printed " + line);
        main = static_cast<std::uint16_t>(main_port);
        v1 = static_cast<std::uint16_t>(v1_port);
        keyed = static_cast<std::uint16_t>(keyed_port);
    }

    std::uint16_t main = 0, v1 = 0, keyed = 0;

private:
    gale_test::python_process process_;
};

const tornado_servers& tornado() {
    static tornado_servers servers;
    return servers;
}

// gale's three applications, as Tornado's, on the current loop.
struct gale_servers {
    gale::Application main_app{rules(), main_settings()};
    gale::Application v1_app{rules(), v1_settings()};
    gale::Application keyed_app{rules(), keyed_settings()};
    std::uint16_t main = main_app.listen(0, "127.0.0.1");
    std::uint16_t v1 = v1_app.listen(0, "127.0.0.1");
    std::uint16_t keyed = keyed_app.listen(0, "127.0.0.1");

    task<void> close() {
        co_await main_app.close_all_connections();
        co_await v1_app.close_all_connections();
        co_await keyed_app.close_all_connections();
    }
};

// ------------------------------------------------------------ requests and answers

std::string url(std::uint16_t port, std::string_view path) {
    return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

HTTPRequest request(std::uint16_t port, std::string_view path, std::string method = "GET",
                    std::optional<std::string> body = std::nullopt, std::string_view cookie = {}) {
    HTTPRequest r(url(port, path), std::move(method), std::move(body));
    r.follow_redirects = false;
    r.allow_nonstandard_methods = true;
    if (!cookie.empty()) r.headers.add("Cookie", cookie);
    return r;
}

task<HTTPResponse> send(AsyncHTTPClient& client, HTTPRequest r) {
    co_return co_await client.fetch(std::move(r), false);
}

task<HTTPResponse> fetch(AsyncHTTPClient& client, std::uint16_t port, std::string_view path,
                         std::string method = "GET", std::optional<std::string> body = std::nullopt,
                         std::string cookie = {}) {
    HTTPRequest r = request(port, path, std::move(method), std::move(body), cookie);
    co_return co_await send(client, std::move(r));
}

// "expires=<date>" within a year or so of now as "expires=now+<hours>h", so
// answers made a second apart compare equal.
std::string relative_dates(std::string text) {
    const std::string key = "expires=";
    for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
        std::size_t start = at + key.size(), end = text.find(" GMT", start);
        if (end == std::string::npos) break;
        std::tm tm{};
        std::string date = text.substr(start, end - start);
        if (!::strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S", &tm)) continue;
        double hours = std::difftime(::timegm(&tm), std::time(nullptr)) / 3600;
        if (hours < -9000 || hours > 9000) continue;
        text.replace(start, end + 4 - start, "now" + fmt::format("{:+d}h", static_cast<int>(std::lround(hours))));
    }
    return text;
}

// The response's status and headers as lines, without Date, Server and
// Connection, relative dates as relative_dates writes them.
std::string head_of(const HTTPResponse& r) {
    std::string out = std::to_string(r.code) + " " + r.reason + "\n";
    for (const auto& f : r.headers.get_all()) {
        if (f.name == "Date" || f.name == "Server" || f.name == "Connection") continue;
        out += f.name + ": " + f.value + "\n";
    }
    return relative_dates(out);
}

// "name=value" of the response's Set-Cookie for name, as a browser sends it back.
std::string cookie_of(const HTTPResponse& r, std::string_view name) {
    for (std::string_view header : r.headers.get_list("Set-Cookie"))
        if (header.starts_with(std::string(name) + "=")) return std::string(header.substr(0, header.find("; ")));
    return {};
}

// The value of the form's hidden _xsrf field.
std::string form_token(const HTTPResponse& r) {
    const std::string prefix = "<input type=\"hidden\" name=\"_xsrf\" value=\"";
    REQUIRE(r.body.starts_with(prefix));
    return r.body.substr(prefix.size(), r.body.size() - prefix.size() - 3);
}

}  // namespace

// ================================================================== cookies

TEST_CASE("set_cookie, clear_cookie and clear_all_cookies write Tornado's Set-Cookie headers") {
    const tornado_servers& py = tornado();
    run_async([&]() -> task<void> {
        gale_servers gale;
        AsyncHTTPClient client;
        log_capture logs;
        struct ask {
            std::string path, cookie;
        };
        const std::vector<ask> asks = {
            {"/set", ""},           {"/days", ""},           {"/clear", ""},
            {"/clear_all", "b=1; a=2; c=3; a=4; d"}, {"/clear_all", ""}, {"/bad?case=0", ""},
            {"/bad?case=1", ""},    {"/bad?case=2", ""},
        };
        for (const ask& a : asks) {
            HTTPResponse theirs = co_await fetch(client, py.main, a.path, "GET", std::nullopt, a.cookie);
            HTTPResponse ours = co_await fetch(client, gale.main, a.path, "GET", std::nullopt, a.cookie);
            INFO(a.path << " " << a.cookie);
            CHECK(head_of(ours) == head_of(theirs));
            CHECK(ours.body == theirs.body);
        }
        // What the comparison covered, spelled out once.
        HTTPResponse r = co_await fetch(client, gale.main, "/set");
        CHECK(r.headers.get_list("Set-Cookie") ==
              std::vector<std::string_view>{
                  "n2=v2; expires=Fri, 11 Nov 2016 23:59:59 GMT; Path=/new",
                  "n4=v4; Domain=example.com; expires=Fri, 11 Nov 2016 23:59:59 GMT; HttpOnly; Max-Age=3600; "
                  "Path=/; SameSite=Lax; Secure",
                  "q=\"a\\\"quoted\\\"\\073value\\054\\\\\"; Path=/",
                  "u=\"\\351t\\351\"; Path=/",
                  "e=\"\"; Path=/",
                  "nopath=x",
                  "n1=again; Path=/",
              });
        r = co_await fetch(client, gale.main, "/clear");
        CHECK(head_of(r).find("Set-Cookie: n3=\"\"; expires=now-8760h; Path=/\n"
                              "Set-Cookie: d=\"\"; Domain=example.com; expires=now-8760h; Path=/p\n") !=
              std::string::npos);
        r = co_await fetch(client, gale.main, "/bad?case=0");
        CHECK(r.code == 500);
        CHECK(r.headers.get_list("Set-Cookie") == std::vector<std::string_view>{"before=x; Path=/"});
        CHECK(logs.matching("Invalid cookie 'n': 'a b'").size() == 2);
        CHECK(logs.matching("Illegal key 'a;b'").size() == 1);
        CHECK(logs.matching("Attempt to set a reserved key 'Path'").size() == 1);
        client.close();
        co_await gale.close();
    });
}

TEST_CASE("get_cookie and cookies() read the request's cookies") {
    struct Echo : gale::RequestHandler {
        void get() {
            std::string out = std::string(get_cookie("a").value_or("none")) + "|" + get_cookie("zz", "dflt") + "|";
            for (const auto& [name, value] : cookies()) out += name + "=" + value + ";";
            write(out);
        }
    };
    run_async([]() -> task<void> {
        gale::Application app({{"/", gale::handler<Echo>()}});
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        HTTPResponse r = co_await fetch(client, port, "/", "GET", std::nullopt, "b=2; a=\"x\\073y\"; c");
        CHECK(r.body == "x;y|dflt|a=x;y;b=2;");  // "c" has no name: dropped as by SimpleCookie
        r = co_await fetch(client, port, "/");
        CHECK(r.body == "none|dflt|");
        client.close();
        co_await app.close_all_connections();
    });
}

// ================================================================== signed cookies

TEST_CASE("signed cookies: Tornado's verify in gale and gale's in Tornado") {
    const tornado_servers& py = tornado();
    run_async([&]() -> task<void> {
        gale_servers gale;
        AsyncHTTPClient client;
        struct direction {
            std::uint16_t from, to;
            std::string_view name;
        };
        const std::vector<direction> directions = {{py.main, gale.main, "python to gale"},
                                                   {gale.main, py.main, "gale to python"},
                                                   {py.keyed, gale.keyed, "keyed, python to gale"},
                                                   {gale.keyed, py.keyed, "keyed, gale to python"}};
        for (const direction& d : directions) {
            std::uint16_t from = d.from, to = d.to;
            INFO(d.name);
            HTTPResponse set = co_await fetch(client, from, "/signed/set?name=user&value=al%C3%AFce%3B%20x");
            std::string cookie = cookie_of(set, "user");
            CHECK(cookie.starts_with("user=2|1:"));
            HTTPResponse got = co_await fetch(client, to, "/signed/get?name=user", "GET", std::nullopt, cookie);
            CHECK(got.body == "al\xc3\xaf" "ce; x");
            got = co_await fetch(client, to, "/signed/keyver?name=user", "GET", std::nullopt, cookie);
            CHECK(got.body == (from == py.keyed || from == gale.keyed ? "2" : "0"));
            // Signed for another name, or changed: no value.
            std::string other = "other" + cookie.substr(4);
            got = co_await fetch(client, to, "/signed/get?name=other", "GET", std::nullopt, other);
            CHECK(got.body == "None");
            std::string changed = cookie;
            changed[changed.size() - 2] = changed[changed.size() - 2] == '0' ? '1' : '0';
            got = co_await fetch(client, to, "/signed/get?name=user", "GET", std::nullopt, changed);
            CHECK(got.body == "None");
        }
        // The two servers' Set-Cookie headers differ only in the timestamp
        // and signature; expires_days as given (30 by default, none: a session cookie).
        for (std::string path : {"/signed/set?name=n&value=v", "/signed/set?name=n&value=v&days=2"}) {
            HTTPResponse theirs = co_await fetch(client, py.main, path);
            HTTPResponse ours = co_await fetch(client, gale.main, path);
            auto shape = [](std::string head) {
                std::size_t start = head.find("n=\"2|1:0|10:"), end = head.find("\"", start + 4);
                return head.replace(start, end - start, "n=<signed>");
            };
            CHECK(shape(head_of(ours)) == shape(head_of(theirs)));
        }
        // Version 1 values, made by either side, read in both unless min_version is 2.
        for (std::size_t k = 0; k < 2; ++k) {  // the two unkeyed directions
            std::uint16_t from = directions[k].from, to = directions[k].to;
            HTTPResponse set = co_await fetch(client, from, "/signed/set?name=old&value=v1&days=1&version=1");
            std::string cookie = cookie_of(set, "old");
            CHECK(!cookie.starts_with("old=2|"));
            CHECK(cookie.size() > 50);
            HTTPResponse got = co_await fetch(client, to, "/signed/get?name=old", "GET", std::nullopt, cookie);
            CHECK(got.body == "v1");
            got = co_await fetch(client, to, "/signed/get?name=old&min_version=2", "GET", std::nullopt, cookie);
            CHECK(got.body == "None");
        }
        // A version 1 value and one signed by key version 1 verify in both.
        std::string v1 = "user=" + gale::create_signed_value(secret, "user", "bob", 1);
        std::string key1 =
            "user=" + gale::create_signed_value(gale::cookie_secret{{1, "old secret"}, {2, "new secret"}}, "user",
                                                "carol", 2, std::nullopt, 1);
        for (std::uint16_t port : {py.main, gale.main}) {
            HTTPResponse got = co_await fetch(client, port, "/signed/get?name=user", "GET", std::nullopt, v1);
            CHECK(got.body == "bob");
        }
        for (std::uint16_t port : {py.keyed, gale.keyed}) {
            HTTPResponse got = co_await fetch(client, port, "/signed/get?name=user", "GET", std::nullopt, key1);
            CHECK(got.body == "carol");
            got = co_await fetch(client, port, "/signed/keyver?name=user", "GET", std::nullopt, key1);
            CHECK(got.body == "1");
        }
        client.close();
        co_await gale.close();
    });
}

TEST_CASE("signed cookies need a cookie_secret; a key-versioned one needs key_version") {
    run_async([]() -> task<void> {
        gale::Application none(rules());
        gale::Application no_key_version(rules(), {.cookie_secret = {{1, "a"}}});
        std::uint16_t p1 = none.listen(0, "127.0.0.1"), p2 = no_key_version.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        log_capture logs;
        HTTPResponse r = co_await fetch(client, p1, "/signed/get?name=user");
        CHECK(r.code == 500);
        CHECK(logs
                  .matching("You must define the 'cookie_secret' setting in your application to use secure "
                            "cookies")
                  .size() == 1);
        r = co_await fetch(client, p2, "/signed/set?name=user&value=x");
        CHECK(r.code == 500);
        CHECK(logs.matching("key_version setting must be used for secret_key dicts").size() == 1);
        r = co_await fetch(client, p2, "/signed/get?name=user");  // reading needs no key_version
        CHECK(r.body == "None");
        client.close();
        co_await none.close_all_connections();
        co_await no_key_version.close_all_connections();
    });
}

// ================================================================== XSRF

TEST_CASE("XSRF: tokens and cookies, and Tornado's 403s") {
    const tornado_servers& py = tornado();
    run_async([&]() -> task<void> {
        gale_servers gale;
        AsyncHTTPClient client;

        // The page sets a "_xsrf" cookie once; its form carries the token.
        HTTPResponse page = co_await fetch(client, gale.main, "/xsrf");
        std::string cookie = cookie_of(page, "_xsrf");
        std::string token = form_token(page);
        CHECK(page.headers.get_list("Set-Cookie").size() == 1);
        CHECK(head_of(page).find("Set-Cookie: _xsrf=2|") != std::string::npos);
        CHECK(page.headers.get_list("Set-Cookie")[0].ends_with("; Path=/"));
        CHECK(cookie == "_xsrf=" + token);
        CHECK(page.body == gale::xsrf_form_html(token));
        HTTPResponse again = co_await fetch(client, gale.main, "/xsrf", "GET", std::nullopt, cookie);
        CHECK(!again.headers.contains("Set-Cookie"));
        std::string token2 = form_token(again);
        CHECK(token2 != token);  // masked anew
        CHECK(gale::decode_xsrf_token(token2)->token == gale::decode_xsrf_token(token)->token);

        HTTPResponse python_page = co_await fetch(client, py.main, "/xsrf");
        std::string python_cookie = cookie_of(python_page, "_xsrf");
        std::string python_token = form_token(python_page);

        struct attempt {
            std::string method, body, cookie, header, header_value;
            int status;
            std::string log;
        };
        const std::vector<attempt> attempts = {
            {"POST", "", "", "", "", 403, "'_xsrf' argument missing from POST"},
            {"POST", "_xsrf=" + token, "", "", "", 403, "XSRF cookie does not match POST argument"},
            {"POST", "_xsrf=" + token, cookie, "", "", 200, ""},
            {"POST", "_xsrf=" + token2, cookie, "", "", 200, ""},
            {"POST", "_xsrf=" + python_token, python_cookie, "", "", 200, ""},
            {"POST", "_xsrf=" + python_token, cookie, "", "", 403, "XSRF cookie does not match POST argument"},
            {"POST", "_xsrf=3|00|00|1", cookie, "", "", 403, "'_xsrf' argument has invalid format"},
            {"POST", "_xsrf=", cookie, "X-XSRFToken", token, 200, ""},
            {"PUT", "{}", cookie, "X-XSRFToken", token, 200, ""},
            {"DELETE", "", cookie, "X-CSRFToken", token, 200, ""},
            {"DELETE", "", python_cookie, "X-CSRFToken", token, 403, "XSRF cookie does not match POST argument"},
            {"PUT", "{}", cookie, "", "", 403, "'_xsrf' argument missing from POST"},
            {"OPTIONS", "", "", "", "", 405, ""},  // not checked: the handler has no options()
        };
        for (const attempt& a : attempts) {
            std::optional<std::string> body;
            if (a.method != "DELETE" && a.method != "OPTIONS") body = a.body;
            log_capture logs;
            for (std::uint16_t port : {py.main, gale.main}) {
                INFO(a.method << " " << a.body << " cookie " << a.cookie << " " << a.header << " port "
                              << (port == py.main ? "python" : "gale"));
                HTTPRequest r = request(port, "/xsrf", a.method, body, a.cookie);
                if (!a.header.empty()) r.headers.add(a.header, a.header_value);
                HTTPResponse answer = co_await send(client, std::move(r));
                CHECK(answer.code == a.status);
                if (a.status == 200) CHECK(answer.body == "ok " + a.method);
            }
            if (!a.log.empty()) CHECK(logs.matching("403 " + a.method + " /xsrf (127.0.0.1): " + a.log).size() == 1);
        }
        // gale's token and cookie satisfy Tornado.
        HTTPResponse r = co_await fetch(client, py.main, "/xsrf", "POST", "_xsrf=" + token, cookie);
        CHECK(r.code == 200);
        client.close();
        co_await gale.close();
    });
}

TEST_CASE("XSRF: version 1 tokens, and old cookies kept") {
    const tornado_servers& py = tornado();
    run_async([&]() -> task<void> {
        gale_servers gale;
        AsyncHTTPClient client;
        HTTPResponse theirs = co_await fetch(client, py.v1, "/xsrf");
        HTTPResponse ours = co_await fetch(client, gale.v1, "/xsrf");
        for (const HTTPResponse* page : {&theirs, &ours}) {
            std::string token = form_token(*page);
            CHECK(token.size() == 32);
            CHECK(token.find_first_not_of("0123456789abcdef") == std::string::npos);
            CHECK(cookie_of(*page, "_xsrf") == "_xsrf=" + token);
            // Either token, with its cookie, passes in the four applications.
            for (std::uint16_t port : {py.v1, gale.v1, py.main, gale.main}) {
                HTTPResponse r =
                    co_await fetch(client, port, "/xsrf", "POST", "_xsrf=" + token, cookie_of(*page, "_xsrf"));
                CHECK(r.code == 200);
            }
        }
        // A version 1 cookie under version 2 tokens: masked tokens of the
        // same bytes, the cookie left as it is (Tornado 6.2's code).
        std::string v1_cookie = cookie_of(ours, "_xsrf");
        for (std::uint16_t port : {py.main, gale.main}) {
            HTTPResponse page = co_await fetch(client, port, "/xsrf", "GET", std::nullopt, v1_cookie);
            CHECK(!page.headers.contains("Set-Cookie"));
            std::string token = form_token(page);
            CHECK(token.starts_with("2|"));
            CHECK(gale::detail::signed_value::to_hex(gale::decode_xsrf_token(token)->token) == form_token(ours));
        }
        client.close();
        co_await gale.close();
    });
}

TEST_CASE("XSRF: a logged-in user's _xsrf cookie lasts 30 days; xsrf_cookie_kwargs") {
    const tornado_servers& py = tornado();
    run_async([&]() -> task<void> {
        gale_servers gale;
        AsyncHTTPClient client;
        std::string user = "user=\"" + gale::create_signed_value(secret, "user", "ann") + "\"";
        HTTPResponse theirs = co_await fetch(client, py.main, "/xsrf", "GET", std::nullopt, user);
        HTTPResponse ours = co_await fetch(client, gale.main, "/xsrf", "GET", std::nullopt, user);
        auto tail = [](const HTTPResponse& r) {
            std::string h = head_of(r);
            return h.substr(h.find("; expires="));
        };
        CHECK(tail(ours) == "; expires=now+720h; Path=/\n");
        CHECK(tail(ours) == tail(theirs));

        gale::Settings settings{.cookie_secret = secret,
                                .xsrf_cookies = true,
                                .xsrf_cookie_kwargs = {.path = "/app", .httponly = true, .secure = true}};
        gale::Application app(rules(), std::move(settings));
        std::uint16_t port = app.listen(0, "127.0.0.1");
        HTTPResponse r = co_await fetch(client, port, "/xsrf");
        std::vector<std::string_view> set = r.headers.get_list("Set-Cookie");
        REQUIRE(set.size() == 1);
        CHECK(set[0] == "_xsrf=" + form_token(r) + "; HttpOnly; Path=/app; Secure");
        client.close();
        co_await gale.close();
        co_await app.close_all_connections();
    });
}

TEST_CASE("check_xsrf_cookie runs before prepare and can be overridden; one token per request") {
    static std::vector<std::string> calls;
    struct Prepared : gale::RequestHandler {
        void prepare() { calls.push_back("prepare"); }
        void post() { write("posted"); }
    };
    struct Exempt : gale::RequestHandler {
        void check_xsrf_cookie() override { calls.push_back("exempt"); }
        void post() { write("exempt"); }
    };
    struct Twice : gale::RequestHandler {
        void get() { write(xsrf_token() + " " + xsrf_token() + " " + xsrf_form_html()); }
    };
    run_async([]() -> task<void> {
        gale::Application app({{"/p", gale::handler<Prepared>()},
                               {"/e", gale::handler<Exempt>()},
                               {"/t", gale::handler<Twice>()}},
                              {.xsrf_cookies = true});
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        HTTPResponse r = co_await fetch(client, port, "/p", "POST", "");
        CHECK(r.code == 403);
        CHECK(calls.empty());
        r = co_await fetch(client, port, "/p", "GET");
        CHECK(r.code == 405);
        CHECK(calls == std::vector<std::string>{"prepare"});
        r = co_await fetch(client, port, "/e", "POST", "");
        CHECK(r.body == "exempt");
        CHECK(calls == std::vector<std::string>{"prepare", "exempt"});
        // One token per request, one cookie.
        r = co_await fetch(client, port, "/t");
        std::string token = cookie_of(r, "_xsrf").substr(6);
        CHECK(r.body == token + " " + token + " " + gale::xsrf_form_html(token));
        CHECK(r.headers.get_list("Set-Cookie").size() == 1);
        client.close();
        co_await app.close_all_connections();
    });
}

// ================================================================== users

TEST_CASE("authenticated: redirects to login_url, 403 for other methods, as Tornado") {
    const tornado_servers& py = tornado();
    run_async([&]() -> task<void> {
        gale_servers gale;
        AsyncHTTPClient client;
        log_capture logs;
        std::string user = "user=\"" + gale::create_signed_value(secret, "user", "ann") + "\"";
        struct ask {
            std::string path, method, cookie;
        };
        const std::vector<ask> asks = {
            {"/user", "GET", ""},
            {"/user?a=b%20c&d=%C3%A9/", "GET", ""},
            {"/user_query", "GET", ""},
            {"/user", "GET", user},
        };
        for (const ask& a : asks) {
            HTTPResponse theirs = co_await fetch(client, py.main, a.path, a.method, std::nullopt, a.cookie);
            HTTPResponse ours = co_await fetch(client, gale.main, a.path, a.method, std::nullopt, a.cookie);
            INFO(a.method << " " << a.path << " " << a.cookie);
            CHECK(head_of(ours) == head_of(theirs));
            CHECK(ours.body == theirs.body);
        }
        for (std::uint16_t port : {py.main, gale.main}) {
            HTTPResponse head = co_await fetch(client, port, "/user", "HEAD");
            CHECK(head.code == 405);  // no head(): the marker is not reached (gale adds an Allow header)
        }
        HTTPResponse r = co_await fetch(client, gale.main, "/user");
        CHECK(r.code == 302);
        CHECK(r.headers.get("Location") == "/login?next=%2Fuser");
        // An absolute login URL gets the full URL (Tornado's names its own port).
        HTTPResponse theirs = co_await fetch(client, py.main, "/user_abs?x=1");
        HTTPResponse ours = co_await fetch(client, gale.main, "/user_abs?x=1");
        auto location = [](const HTTPResponse& answer, std::uint16_t port) {
            std::string l(answer.headers.get("Location").value_or(""));
            std::string p = std::to_string(port);
            return l.replace(l.find(p), p.size(), "PORT");
        };
        CHECK(location(ours, gale.main) == location(theirs, py.main));
        CHECK(location(ours, gale.main) ==
              "http://example.com/login?next=http%3A%2F%2F127.0.0.1%3APORT%2Fuser_abs%3Fx%3D1");

        // Without a user, a POST is 403 (the keyed applications have no XSRF
        // check and no login_url: a GET there is Tornado's 500).
        for (std::uint16_t port : {py.keyed, gale.keyed}) {
            HTTPResponse post = co_await fetch(client, port, "/user", "POST", "");
            CHECK(post.code == 403);
            HTTPResponse get = co_await fetch(client, port, "/user");
            CHECK(get.code == 500);
        }
        CHECK(logs.matching("You must define the 'login_url' setting in your application to use authenticated")
                  .size() == 1);
        // With one, it runs.
        std::string keyed_user =
            "user=\"" +
            gale::create_signed_value(gale::cookie_secret{{2, "new secret"}}, "user", "bo", 2, std::nullopt, 2) + "\"";
        for (std::uint16_t port : {py.keyed, gale.keyed}) {
            HTTPResponse post = co_await fetch(client, port, "/user", "POST", "", keyed_user);
            CHECK(post.body == "posted");
        }
        client.close();
        co_await gale.close();
    });
}

namespace {

int lookups = 0;
struct CountedUser : gale::RequestHandler {
    static constexpr bool authenticated = true;
    std::optional<std::string> get_current_user() override {
        ++lookups;
        return get_argument("who", std::nullopt);
    }
    void get() {
        current_user();
        write(*current_user());
    }
};
struct PreparedUser : gale::RequestHandler {
    static constexpr bool authenticated = true;
    task<void> prepare() {
        co_await gale::sleep(1ms);  // e.g. a database lookup
        set_current_user("from prepare");
    }
    void get() { write(*current_user()); }
};

}  // namespace

TEST_CASE("current_user: get_current_user once per request, set_current_user, a bool marker") {
    run_async([]() -> task<void> {
        gale::Application app({{"/c", gale::handler<CountedUser>()}, {"/p", gale::handler<PreparedUser>()}},
                              {.login_url = "/in"});
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        HTTPResponse r = co_await fetch(client, port, "/c?who=zed");
        CHECK(r.body == "zed");
        CHECK(lookups == 1);
        r = co_await fetch(client, port, "/c?who=");  // "" is nobody, as Python's falsy ""
        CHECK(r.code == 302);
        CHECK(r.headers.get("Location") == "/in?next=%2Fc%3Fwho%3D");
        r = co_await fetch(client, port, "/p");
        CHECK(r.body == "from prepare");
        client.close();
        co_await app.close_all_connections();
    });
}

// ================================================================== the examples

namespace {

// curl's cookie jar, as a browser, on the cookie counter: three visits,
// then /clear.
task<void> curl_visits(std::uint16_t port) {
    char jar[] = "/tmp/gale-cookie-jar-XXXXXX";
    int fd = ::mkstemp(jar);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::string command = "curl -s -c " + std::string(jar) + " -b " + std::string(jar) + " " + url(port, "/");
    // (Each lambda is named before the co_await: GCC 12 destroys a
    // temporary holding a std::string across a co_await twice.)
    auto visit = [command] { return gale_test::run_command(command); };
    std::string out;
    for (int i = 1; i <= 3; ++i) out = co_await gale::run_in_executor(visit);
    CHECK(out.find("本页3次") != std::string::npos);
    std::string clear_command = "curl -s -i -b " + std::string(jar) + " " + url(port, "/clear");
    auto clear = [clear_command] { return gale_test::run_command(clear_command); };
    std::string cleared = co_await gale::run_in_executor(clear);
    CHECK(cleared.find("Set-Cookie: count=\"\"; expires=") != std::string::npos);
    ::unlink(jar);
}

}  // namespace

TEST_CASE("example cookie_counter: a signed counter, plain and signed cookies (gale's client and curl)") {
    run_async([]() -> task<void> {
        gale::Application app(cookie_counter::rules(), cookie_counter::settings());
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        std::string cookie;
        for (int visit = 1; visit <= 3; ++visit) {
            HTTPResponse r = co_await fetch(client, port, "/", "GET", std::nullopt, cookie);
            CHECK(r.body.find("<h1>您已访问本页" + std::to_string(visit) + "次。</h1>") != std::string::npos);
            cookie = cookie_of(r, "count");
        }
        // A forged count starts again at 1.
        HTTPResponse r = co_await fetch(client, port, "/", "GET", std::nullopt, "count=99");
        CHECK(r.body.find("本页1次") != std::string::npos);
        for (std::string path : {"/plain", "/signed"}) {
            HTTPResponse first = co_await fetch(client, port, path);
            CHECK(first.body == "Your cookie was not set yet!");
            HTTPResponse second = co_await fetch(client, port, path, "GET", std::nullopt, cookie_of(first, "mycookie"));
            CHECK(second.body == "Your cookie was set!");
        }
        if (gale_test::have_curl()) co_await curl_visits(port);
        client.close();
        co_await app.close_all_connections();
    });
}

TEST_CASE("example login: authenticated, login_url with next, the signed user cookie") {
    run_async([]() -> task<void> {
        gale::Application app(login::rules(), login::settings());
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        HTTPResponse r = co_await fetch(client, port, "/");
        CHECK(r.code == 302);
        CHECK(r.headers.get("Location") == "/login?next=%2F");
        r = co_await fetch(client, port, "/login?next=%2F");
        CHECK(r.body.find("<form action=\"/login?next=%2F\" method=\"post\">") != std::string::npos);
        r = co_await fetch(client, port, "/login?next=%2F", "POST", "name=%3Cann%3E");
        CHECK(r.code == 302);
        CHECK(r.headers.get("Location") == "/");
        std::string cookie = cookie_of(r, "user");
        r = co_await fetch(client, port, "/", "GET", std::nullopt, cookie);
        CHECK(r.body == "Hello, &lt;ann&gt;");
        r = co_await fetch(client, port, "/", "POST", "", cookie);
        CHECK(r.code == 405);  // MainHandler has no post()
        r = co_await fetch(client, port, "/logout", "GET", std::nullopt, cookie);
        CHECK(r.code == 302);
        CHECK(cookie_of(r, "user") == "user=\"\"");
        client.close();
        co_await app.close_all_connections();
    });
}

TEST_CASE("example xsrf_form: the form, 403 without a token, the AJAX pages' two ways") {
    run_async([]() -> task<void> {
        gale::Application app(xsrf_form::rules(), xsrf_form::settings());
        std::uint16_t port = app.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        log_capture logs;
        HTTPResponse page = co_await fetch(client, port, "/");
        std::string cookie = cookie_of(page, "_xsrf");
        std::string token = cookie.substr(6);
        std::size_t field = page.body.find("<input type=\"hidden\" name=\"_xsrf\" value=\"2|");
        CHECK(field != std::string::npos);
        CHECK(page.body.find("<input type=\"text\" name=\"message\"/>") != std::string::npos);
        HTTPResponse r = co_await fetch(client, port, "/", "POST", "message=hi");
        CHECK(r.code == 403);
        CHECK(logs.matching("403 POST / (127.0.0.1): '_xsrf' argument missing from POST").size() == 1);
        r = co_await fetch(client, port, "/", "POST", "message=hi&_xsrf=" + gale::url_escape(token), cookie);
        CHECK(r.body == "hello itcast");
        r = co_await fetch(client, port, "/xsrf_token");
        CHECK(r.body == "Ok");
        CHECK(cookie_of(r, "_xsrf").starts_with("_xsrf=2|"));
        for (std::string path : {"/xsrf.html", "/json.html"}) {
            r = co_await fetch(client, port, path);
            CHECK(r.body.find("getCookie(\"_xsrf\")") != std::string::npos);
        }
        // /xsrf.html posts a form body, /json.html JSON with the header.
        r = co_await fetch(client, port, "/new", "POST", "_xsrf=" + gale::url_escape(token) + "&key1=value1", cookie);
        CHECK(r.body == "OK");
        HTTPRequest json = request(port, "/new", "POST", "{\"key1\": 2}", cookie);
        json.headers.add("X-XSRFToken", token);
        r = co_await send(client, std::move(json));
        CHECK(r.body == "OK");
        client.close();
        co_await app.close_all_connections();
    });
}
