// tests for <gale/web_template.hpp> and <gale/web_locale.hpp>: render,
// render_string, UI modules, ui_methods, the handler's template names and
// locale. The site in tests/templates/web_site/ is served by a gale
// Application on 127.0.0.1 and by Python's Tornado 6.2
// (tests/tornado/web_template_server.py, the same handlers) side by side;
// the same requests go to both and the status, Content-Type and body must
// agree (the XSRF token's random value aside).
#include <gale/web_template.hpp>

#include <gale/httpclient.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "python_support.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using gale::AsyncHTTPClient;
using gale::HTTPRequest;
using gale::HTTPResponse;
using gale::task;
using gale::template_args;
using gale::json::value;
using gale_test::log_capture;
using gale_test::run_async;
using gale_test::temp_dir;
namespace fs = std::filesystem;

namespace {

fs::path site_dir() {
    return gale_test::tornado_script("web_template_server.py").parent_path().parent_path() / "templates" / "web_site";
}

const value& houses() {
    static const value h = gale::json::array{
        gale::json::object{{"price", 398}, {"titles", gale::json::array{"宽窄巷子", "160平大空间", "文化保护区双地铁"}}},
        gale::json::object{{"price", 120}, {"titles", gale::json::array{"<Loft>", "A & B"}}},
    };
    return h;
}

value house_title_join(const template_args& a) {
    std::string out;
    for (const value& t : a[0].get_array()) out += (out.empty() ? "" : "+") + t.get_string();
    return out;
}

value shout(gale::RequestHandler&, const template_args& a) {
    std::string s = a[0].get_string();
    for (char& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s + "!";
}

struct Book : gale::UIModule {
    using UIModule::UIModule;
    std::string render(const template_args& a) override { return render_string("book.html", {{"house", a[0]}}); }
    std::string embedded_css() override { return ".book { color: red; }"; }
    std::string embedded_javascript() override { return "var books = 1;"; }
    std::vector<std::string> css_files() override { return {"css/book.css", "/abs/book.css", "css/book.css"}; }
    std::vector<std::string> javascript_files() override { return {"js/book.js"}; }
    std::string html_head() override { return "<meta name=\"book\">"; }
    std::string html_body() override { return "<div>book body</div>"; }
};

struct Base : gale::RequestHandler {
    std::optional<std::string> get_current_user() override { return get_argument("user", std::nullopt); }
    void get_template_namespace(gale::template_namespace& ns) override { ns.set("site", "Gale houses"); }
    long long count() const { return std::stoll(get_argument("count", "1")); }
};

struct Index : Base {
    task<void> get() {
        gale::template_namespace ns;
        ns.set_ref("houses", houses())
            .set_function("title_join", house_title_join)
            .set("name", get_argument("name", "<b>Home</b>"))
            .set("count", count());
        render("index.html", ns);
        co_return;
    }
};
struct Plain : Base {
    task<void> get() {
        render("plain.html", {{"text", get_argument("text", "")}});
        co_return;
    }
};
struct Raw : Base {
    task<void> get() {
        render("raw.html", {{"text", get_argument("text", "")}});
        co_return;
    }
};
struct String : Base {
    task<void> get() {
        set_header("Content-Type", "text/plain");
        write(render_string("plain.html", {{"text", get_argument("text", "")}}));
        co_return;
    }
};
struct Xsrf : Base {
    task<void> get() {
        render("xsrf.html");
        co_return;
    }
};
struct Locale : Base {
    task<void> get() {
        render("locale.html", {{"count", count()}});
        co_return;
    }
};
struct UserLocale : Locale {
    const gale::locale::Locale* get_user_locale() override { return &gale::locale::get("fr"); }
};
struct Error : Base {
    task<void> get() {
        render("error.html");
        co_return;
    }
};
struct Missing : Base {
    task<void> get() {
        render("nope.html");
        co_return;
    }
};
struct NoHead : Base {
    task<void> get() {
        render("nohead.html", {{"house", houses()[0]}});
        co_return;
    }
};
struct House : Base {
    task<void> get(std::string_view id) {
        write("house " + std::string(id));
        co_return;
    }
};

gale::Settings site_settings() {
    std::string site = site_dir().string();
    return {.static_path = site + "/static",
            .template_path = site,
            .ui_methods = {{"shout", shout}},
            .ui_modules = {{"Book", gale::ui_module<Book>()}}};
}

std::unique_ptr<gale::Application> make_app(gale::Settings settings = site_settings()) {
    gale::locale::load_translations(site_dir() / "translations");
    return std::make_unique<gale::Application>(
        std::vector<gale::URLSpec>{
            {"/", gale::handler<Index>()},
            {"/plain", gale::handler<Plain>()},
            {"/raw", gale::handler<Raw>()},
            {"/string", gale::handler<String>()},
            {"/xsrf", gale::handler<Xsrf>()},
            {"/locale", gale::handler<Locale>()},
            {"/user_locale", gale::handler<UserLocale>()},
            {"/error", gale::handler<Error>()},
            {"/missing", gale::handler<Missing>()},
            {"/nohead", gale::handler<NoHead>()},
            gale::url("/house/([0-9]+)", gale::handler<House>(), "house"),
        },
        std::move(settings));
}

struct tornado_server {
    tornado_server()
        : process("web_template_server.py", {site_dir().string()}),
          port(static_cast<std::uint16_t>(std::stoi(process.read_line("port ").substr(5)))) {}
    gale_test::python_process process;
    std::uint16_t port;
};

task<HTTPResponse> fetch(AsyncHTTPClient& client, std::uint16_t port, std::string path,
                         std::string accept_language = {}) {
    HTTPRequest request("http://127.0.0.1:" + std::to_string(port) + path);
    if (!accept_language.empty()) request.headers.add("Accept-Language", accept_language);
    co_return co_await client.fetch(std::move(request), false);
}

// What must agree: status, Content-Type and body (the XSRF token is random).
std::string answer(const HTTPResponse& r) {
    static const std::regex token(R"(2\|[0-9a-f]{8}\|[0-9a-f]{32}\|[0-9]+)");
    return std::to_string(r.code) + "\n" + std::string(r.headers.get("Content-Type").value_or("")) + "\n" +
           std::regex_replace(r.body, token, "TOKEN");
}

struct probe {
    std::string path;
    std::string accept_language{};
};

std::vector<probe> probes() {
    return {
        {"/"},
        {"/?user=bob&count=2&name=Ann%20%26%20Bo"},
        {"/", "es-LA,es;q=0.9"},
        {"/plain?text=%3Ca%20href%3D%27x%27%3E%26"},
        {"/plain"},
        {"/raw?text=%3Ci%3E%22"},
        {"/string?text=%3Ci%3E"},
        {"/xsrf"},
        {"/locale"},
        {"/locale?count=2", "es-LA,es;q=0.9"},
        {"/locale", "es-LA,es;q=0.9"},
        {"/locale", "fr;q=0.5, es;q=0.7"},
        {"/locale", "de, zz;q=1"},
        {"/locale", "es;q=0, fr;q=x"},
        {"/user_locale?count=2", "es"},
        {"/user_locale"},
        {"/error"},
        {"/missing"},
        {"/nohead"},
    };
}

}  // namespace

TEST_CASE("web_template: render, UI modules, locale and errors answer as Tornado 6.2's") {
    tornado_server tornado;
    run_async([&]() -> task<void> {
        auto app = make_app();
        std::uint16_t port = app->listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        log_capture logs;
        for (const probe& p : probes()) {
            HTTPResponse mine = co_await fetch(client, port, p.path, p.accept_language);
            HTTPResponse theirs = co_await fetch(client, tornado.port, p.path, p.accept_language);
            INFO(p.path << " Accept-Language: " << p.accept_language);
            CHECK(answer(mine) == answer(theirs));
        }
        co_await app->close_all_connections();
    }, 60s);
}

TEST_CASE("web_template: a template error is a 500 logged with the template's file and line") {
    run_async([&]() -> task<void> {
        auto app = make_app();
        std::uint16_t port = app->listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        log_capture logs;
        HTTPResponse r = co_await fetch(client, port, "/error");
        CHECK(r.code == 500);
        CHECK(logs.matching("error.html:2: NameError: name 'missing_name' is not defined").size() == 1);
        CHECK(logs.matching("Uncaught exception GET /error").size() == 1);
        r = co_await fetch(client, port, "/missing");
        CHECK(r.code == 500);
        CHECK(logs.matching("No such file or directory").size() == 1);
        co_await app->close_all_connections();
    });
}

TEST_CASE("web_template: in debug the error page shows the template's file and line") {
    run_async([&]() -> task<void> {
        gale::Settings s = site_settings();
        s.debug = true;
        auto app = make_app(std::move(s));
        std::uint16_t port = app->listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        log_capture logs;
        HTTPResponse r = co_await fetch(client, port, "/error");
        CHECK(r.code == 500);
        CHECK(r.body == "error.html:2: NameError: name 'missing_name' is not defined\n");
        co_await app->close_all_connections();
    });
}

// ================================================================== settings and hooks (gale alone)

namespace {


struct Page : gale::RequestHandler {
    task<void> get() {
        render("page.html", {{"x", "<b>&</b>"}});
        co_return;
    }
};
struct RenderTwice : gale::RequestHandler {
    task<void> get() {
        finish("done");
        render("page.html", {{"x", "again"}});
        co_return;
    }
};
struct SpanishPage : gale::RequestHandler {
    task<void> get() {
        set_locale(gale::locale::get("es_LA"));
        render("locale.html", {{"count", 1}});
        co_return;
    }
};
struct OtherPath : gale::RequestHandler {
    std::string get_template_path() override { return (site_dir() / "translations").string(); }
    task<void> get() {
        write(render_string("es_LA.csv"));
        co_return;
    }
};

// A module using the handler's request, user and locale.
struct Who : gale::UIModule {
    using UIModule::UIModule;
    std::string render(const template_args&) override {
        return request().path + " " + current_user().value_or("nobody") + " " + locale().code();
    }
};
struct WhoPage : gale::RequestHandler {
    std::optional<std::string> get_current_user() override { return "ann"; }
    task<void> get() {
        render("who.html");
        co_return;
    }
};

// get_template_namespace names "site" and "motto"; the values given to render name "site" too.
struct Precedence : gale::RequestHandler {
    void get_template_namespace(gale::template_namespace& ns) override {
        ns.set("site", "from the handler").set("motto", "handler's motto");
    }
    task<void> get() {
        if (get_argument("as", "object") == "object") {
            render("names.html", {{"site", "from render"}});
        } else {
            gale::template_namespace values;
            values.set("site", "from render's namespace");
            render("names.html", values);
        }
        co_return;
    }
};

// Renders handler.html with the route's group.
struct HandlerNames : gale::RequestHandler {
    std::optional<std::string> get_current_user() override { return "ann"; }
    task<void> get(std::string_view) {
        render("handler.html");
        co_return;
    }
};

task<std::string> body_of(AsyncHTTPClient& client, std::uint16_t port, std::string path) {
    HTTPResponse r = co_await fetch(client, port, std::move(path));
    co_return std::to_string(r.code) + " " + r.body;
}

}  // namespace

TEST_CASE("web_template: autoescape None, template_loader, and what render does after finish") {
    temp_dir dir;
    dir.write("page.html", "{{ x }}");
    run_async([&]() -> task<void> {
        AsyncHTTPClient client;
        gale::Application unescaped({{"/", gale::handler<Page>()}},
                                    {.template_path = dir.path.string(), .autoescape = std::nullopt});
        std::uint16_t port = unescaped.listen(0, "127.0.0.1");
        CHECK(co_await body_of(client, port, "/") == "200 <b>&</b>");

        // template_loader replaces the Loader (and its options: the setting's autoescape is not applied).
        auto loader = std::make_shared<gale::DictLoader>(std::map<std::string, std::string>{{"page.html", "[{{ x }}]"}});
        gale::Application dict({{"/", gale::handler<Page>()}, {"/twice", gale::handler<RenderTwice>()}},
                               {.template_path = "/nonexistent", .template_loader = loader, .autoescape = std::nullopt});
        port = dict.listen(0, "127.0.0.1");
        CHECK(co_await body_of(client, port, "/") == "200 [&lt;b&gt;&amp;&lt;/b&gt;]");
        log_capture logs;
        CHECK(co_await body_of(client, port, "/twice") == "200 done");
        CHECK(logs.matching("Cannot render() after finish()").size() == 1);
        co_await unescaped.close_all_connections();
        co_await dict.close_all_connections();
    });
}

TEST_CASE("web_template: the values given to render win over get_template_namespace's names, as in Tornado") {
    temp_dir dir;
    dir.write("names.html", "{{ site }} / {{ motto }}");
    run_async([&]() -> task<void> {
        AsyncHTTPClient client;
        gale::Application app({{"/", gale::handler<Precedence>()}}, {.template_path = dir.path.string()});
        std::uint16_t port = app.listen(0, "127.0.0.1");
        CHECK(co_await body_of(client, port, "/?as=object") == "200 from render / handler&#39;s motto");
        CHECK(co_await body_of(client, port, "/?as=namespace") == "200 from render&#39;s namespace / handler&#39;s motto");
        co_await app.close_all_connections();
    });
}

TEST_CASE("web_template: handler in a template is data (request, current_user, path_args, settings)") {
    temp_dir dir;
    // What Tornado prints for the same template: str() of each value, escaped.
    dir.write("handler.html",
              "{{ handler.request.path }}|{{ handler.current_user }}|{{ handler.path_args }}|"
              "{{ handler.settings['site_name'] }}|{{ handler.settings['debug'] }}|{{ 'cookie_secret' in handler.settings }}");
    run_async([&]() -> task<void> {
        AsyncHTTPClient client;
        gale::Settings settings{.cookie_secret = "secret", .template_path = dir.path.string()};
        settings.extra["site_name"] = std::string("Gale <site>");
        gale::Application app({{"/h/(.*)", gale::handler<HandlerNames>()}}, std::move(settings));
        std::uint16_t port = app.listen(0, "127.0.0.1");
        CHECK(co_await body_of(client, port, "/h/x") ==
              "200 /h/x|ann|[&#39;x&#39;]|Gale &lt;site&gt;|False|False");
        co_await app.close_all_connections();
    });
}

TEST_CASE("web_template: compiled templates are kept, except in debug (compiled_template_cache)") {
    temp_dir dir;
    dir.write("page.html", "one {{ x }}");
    run_async([&]() -> task<void> {
        AsyncHTTPClient client;
        gale::Application cached({{"/", gale::handler<Page>()}}, {.template_path = dir.path.string()});
        gale::Application debug({{"/", gale::handler<Page>()}}, {.debug = true, .template_path = dir.path.string()});
        gale::Application uncached({{"/", gale::handler<Page>()}},
                                   {.template_path = dir.path.string(), .compiled_template_cache = false});
        std::uint16_t a = cached.listen(0, "127.0.0.1"), b = debug.listen(0, "127.0.0.1"),
                      c = uncached.listen(0, "127.0.0.1");
        for (std::uint16_t port : {a, b, c}) CHECK(co_await body_of(client, port, "/") == "200 one &lt;b&gt;&amp;&lt;/b&gt;");
        dir.write("page.html", "two");
        CHECK(co_await body_of(client, a, "/") == "200 one &lt;b&gt;&amp;&lt;/b&gt;");
        CHECK(co_await body_of(client, b, "/") == "200 two");
        CHECK(co_await body_of(client, c, "/") == "200 two");
        co_await cached.close_all_connections();
        co_await debug.close_all_connections();
        co_await uncached.close_all_connections();
    });
}

TEST_CASE("web_template: set_locale, get_template_path and a UI module reading its handler") {
    temp_dir dir;
    dir.write("who.html", "<p>{% module Who() %}</p>");
    run_async([&]() -> task<void> {
        gale::locale::load_translations(site_dir() / "translations");
        gale::Settings s = site_settings();
        s.template_path = dir.path.string();
        s.ui_modules = {{"Who", gale::ui_module<Who>()}};
        gale::Application who({{"/who/x", gale::handler<WhoPage>()}}, std::move(s));
        std::uint16_t who_port = who.listen(0, "127.0.0.1");
        gale::Application extra({{"/es", gale::handler<SpanishPage>()}, {"/other", gale::handler<OtherPath>()}},
                                site_settings());
        std::uint16_t extra_port = extra.listen(0, "127.0.0.1");
        AsyncHTTPClient client;
        CHECK(co_await body_of(client, extra_port, "/es") ==
              "200 es_LA Español Cerrar sesión A Ana le gustó esto\nCerrar sesión Cerrar sesión False\n"
              "/es - True http HTTP/1.1\n");
        CHECK(co_await body_of(client, extra_port, "/other") == "200 " + [] {
            std::ifstream in(site_dir() / "translations" / "es_LA.csv", std::ios::binary);
            return std::string(std::istreambuf_iterator<char>(in), {});
        }());
        CHECK(co_await body_of(client, who_port, "/who/x") == "200 <p>/who/x ann en_US</p>");
        co_await who.close_all_connections();
        co_await extra.close_all_connections();
    });
}
