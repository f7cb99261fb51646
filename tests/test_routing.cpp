// Tests for <gale/routing.hpp> and its PCRE2 wrapper <gale/detail/regex.hpp>.
//
// The tables of expected values were produced once by Debian's
// python3-tornado 6.2 (/usr/bin/python3: tornado.routing.PathMatches and
// HostMatches, matching and reversing) and pasted here; nothing here runs
// Python. Rows where gale differs on purpose say so.
#include <gale/routing.hpp>

#include <atomic>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

using gale::HostMatches;
using gale::PathMatches;
using gale::route_params;
using namespace std::string_literals;

namespace {

using opt = std::optional<std::string>;

struct match_row {
    const char* pattern;
    std::string path;
    bool matched;
    std::vector<opt> args;
    std::vector<std::pair<std::string, opt>> kwargs;
};

// PathMatches(pattern).match(request with this path), from Tornado 6.2.
const std::vector<match_row>& match_rows() {
    static const std::vector<match_row> rows = {
        {"/", "/", true, {}, {}},
        {"/", "/x", false, {}, {}},
        {"/", "", false, {}, {}},
        {"/", "/\n", true, {}, {}},
        {"/about", "/about", true, {}, {}},
        {"/about", "/About", false, {}, {}},
        {"/about", "/about/", false, {}, {}},
        {"/favicon\\.ico", "/favicon.ico", true, {}, {}},
        {"/favicon\\.ico", "/faviconXico", false, {}, {}},
        {"/favicon.ico", "/faviconXico", true, {}, {}},
        {"^/a/b$", "/a/b", true, {}, {}},
        {"^/a/b$", "/a/bc", false, {}, {}},
        {"/a\\$", "/a$", true, {}, {}},
        {"/a\\$", "/a$bc", true, {}, {}},
        {"/a$", "/a\n", true, {}, {}},
        {"/a", "/a\n\n", false, {}, {}},
        {"/story/([0-9]+)", "/story/42", true, {"42"}, {}},
        {"/story/([0-9]+)", "/story/42/", false, {}, {}},
        {"/story/([0-9]+)", "/story/", false, {}, {}},
        {"/story/([0-9]+)", "/story/4x", false, {}, {}},
        {"/(\\d{4})/(\\d\\d)/([a-z-]+)/?", "/2024/05/my-post/", true, {"2024", "05", "my-post"}, {}},
        {"/(\\d{4})/(\\d\\d)/([a-z-]+)/?", "/2024/05/my-post", true, {"2024", "05", "my-post"}, {}},
        {"/people/(?P<name>\\w+)", "/people/ann", true, {}, {{"name", "ann"}}},
        {"/people/(?P<name>\\w+)/(?P<id>\\d+)?", "/people/bob/", true, {}, {{"name", "bob"}, {"id", std::nullopt}}},
        {"/people/(?P<name>\\w+)/(?P<id>\\d+)?", "/people/bob/7", true, {}, {{"name", "bob"}, {"id", "7"}}},
        {"/opt/(a)?(b)?", "/opt/b", true, {std::nullopt, "b"}, {}},
        {"/opt/(a)?(b)?", "/opt/", true, {std::nullopt, std::nullopt}, {}},
        {"/file/(.*)", "/file/a%2Fb%20c+d", true, {"a/b c+d"}, {}},
        {"/file/(.*)", "/file/%E4%BD%A0%ZZ", true, {"\xe4\xbd\xa0%ZZ"}, {}},
        {"/(?:x|y)/(\\w+)", "/y/abc", true, {"abc"}, {}},
        {"/(?:x|y)/(\\w+)", "/z/abc", false, {}, {}},
        // A raw byte 0xE9 is the latin-1 letter e-acute to \w, as in Python.
        // Tornado then re-encodes the group's text as UTF-8 ("caf\xc3\xa9");
        // gale keeps the bytes of the path as they came (see routing.hpp).
        {"/w/(\\w+)", "/w/caf\xe9", true, {"caf\xe9"}, {}},
        {"/w/(\\w+)", "/w/a-b", false, {}, {}},
        {"(?i)/CaSe", "/case", true, {}, {}},
        {"/static/(.*)", "/static/", true, {""}, {}},
        {"/u/([^/]+)/posts/(\\d+)", "/u/j%C3%B6rg/posts/12", true, {"j\xc3\xb6rg", "12"}, {}},
        {"/(.+)", "/a/b/c", true, {"a/b/c"}, {}},
        {"/a|/b", "/b", true, {}, {}},
        {"/a|/b", "/bx", false, {}, {}},
        {"/a|/b", "/ax", true, {}, {}},
        {"/caf\\xe9", "/caf\xe9", true, {}, {}},
        {"/caf\\xe9", "/caf\xc3\xa9", false, {}, {}},
        // A UTF-8 pattern character is the latin-1 character Python sees.
        {"/caf\xc3\xa9", "/caf\xe9", true, {}, {}},
        {"/caf\xc3\xa9", "/caf\xc3\xa9", false, {}, {}},
        {"/x\\Z", "/x\n", false, {}, {}},
        {"/x\\Z", "/x", true, {}, {}},
        {"/sp/(\\s)", "/sp/ ", true, {" "}, {}},
        {"/nl/(.)", "/nl/\n", false, {}, {}},
        // A quantifier makes the character before it optional: not part of
        // the text gale checks before calling PCRE2.
        {"/ab?c", "/ac", true, {}, {}},
        {"/ab*", "/a", true, {}, {}},
        {"/ab{0,1}", "/a", true, {}, {}},
        {"/a\\.?x", "/ax", true, {}, {}},
        {"/ab+", "/ab", true, {}, {}},
        {"/ab+", "/a", false, {}, {}},
        {"^/x(y)", "/xy", true, {"y"}, {}},
        {"/x(y)", "/xz", false, {}, {}},
        // Python reads "{,n}" as "{0,n}" (PCRE2 10.42 as text; gale rewrites it).
        {"/a{,3}", "/aaa", true, {}, {}},
        {"/a{,3}", "/aaaa", false, {}, {}},
        {"/[{,3}]+", "/{,3}", true, {}, {}},
        {"/[]{,3}]+", "/]{,", true, {}, {}},
        {"/a{,}", "/aaa", true, {}, {}},
        {"/a{,}", "/a{,}", false, {}, {}},
        {"/a\\{,3}", "/a{,3}", true, {}, {}},
        {"/a/very/long/route/prefix/beyond/thirty-two/(\\d+)", "/a/very/long/route/prefix/beyond/thirty-two/7", true, {"7"}, {}},
        {"/a/very/long/route/prefix/beyond/thirty-two/(\\d+)", "/b/very/long/route/prefix/beyond/thirty-two/7", false, {}, {}},
    };
    return rows;
}

struct reverse_row {
    const char* pattern;
    std::vector<std::string> args;
    bool ok;
    std::string result;  // the URL, or Tornado's exception
};

// PathMatches(pattern).reverse(*args), from Tornado 6.2 (the arguments as
// Python's str() made them).
const std::vector<reverse_row>& reverse_rows() {
    static const std::vector<reverse_row> rows = {
        {"/", {}, true, "/"},
        {"/story/([0-9]+)", {"42"}, true, "/story/42"},
        {"/story/([0-9]+)", {"a b/c?d"}, true, "/story/a%20b/c%3Fd"},
        {"/story/([0-9]+)", {}, false, "AssertionError: required number of arguments not found"},
        {"/story/([0-9]+)", {"1", "2"}, false, "AssertionError: required number of arguments not found"},
        {"/(\\d{4})/(\\d\\d)/([a-z-]+)/?", {"2024", "05", "x"}, true, "/2024/05/x/?"},
        {"/people/(?P<name>\\w+)", {"ann"}, true, "/people/ann"},
        {"/favicon\\.ico", {}, true, "/favicon.ico"},
        {"^/a\\.b/(\\w+)$", {"x.y"}, true, "/a.b/x.y"},
        {"/(?:x|y)/(\\w+)", {"a"}, false, "ValueError: Cannot reverse url regex /(?:x|y)/(\\w+)$"},
        {"/a/(b(c))", {"q", "r"}, false, "TypeError: not all arguments converted during string formatting"},
        {"/\\d+/(\\w+)", {"a"}, false, "ValueError: Cannot reverse url regex /\\d+/(\\w+)$"},
        {"/a\\(b/(x)", {"q"}, false, "ValueError: Cannot reverse url regex /a\\(b/(x)$"},
        {"/a\\)/(x)", {"q"}, false, "TypeError: not enough arguments for format string"},
        {"/a\\)", {}, true, "%s"},
        {"/f/(.*)", {"\xc3\xa9/\xe4\xbd\xa0"}, true, "/f/%C3%A9/%E4%BD%A0"},
        {"/f/(.*)", {"1.5"}, true, "/f/1.5"},
        {"/100%/(x)", {"y"}, false, "ValueError: unsupported format character '/' (0x2f) at index 5"},
        {"/100%%/(x)", {"y"}, true, "/100%/y"},
        {"/%s/(x)", {"y"}, false, "TypeError: not enough arguments for format string"},
        {"/p%20q", {}, true, "/p%20q"},
        {"/opt/(a)?", {"a"}, true, "/opt/a?"},
        {"/s/(.*)", {"~-._ !*'()"}, true, "/s/~-._%20%21%2A%27%28%29"},
    };
    return rows;
}

// Python's exception text -> the message gale's std::invalid_argument carries.
std::string gale_message(const std::string& python) {
    auto colon = python.find(": ");
    std::string kind = python.substr(0, colon), text = python.substr(colon + 2);
    if (kind == "ValueError" && text.rfind("unsupported format character", 0) == 0)
        return "unsupported format character in url pattern ";  // a prefix; gale names the pattern
    return text;
}

gale::HTTPServerRequest request_for(std::string path, std::string host = "example.com") {
    gale::HTTPHeaders headers;
    headers.add("Host", host);
    return gale::HTTPServerRequest("GET", std::move(path), "HTTP/1.1", std::move(headers));
}

}  // namespace

TEST_CASE("PathMatches matches and unescapes groups as Tornado 6.2") {
    route_params params;
    for (const auto& row : match_rows()) {
        CAPTURE(row.pattern);
        CAPTURE(row.path);
        PathMatches m(row.pattern);
        params.clear();
        bool matched = m.match_path(row.path, params);
        CHECK(matched == row.matched);
        // The literal and prefix shortcuts answer as PCRE2 alone does.
        CHECK(gale::detail::regex(m.pattern()).matches(row.path) == matched);
        if (!matched) continue;
        CHECK(params.path_args == row.args);
        CHECK(params.path_kwargs == row.kwargs);
    }
}

TEST_CASE("PathMatches through a request: request.path, not the query") {
    PathMatches m(R"(/story/([0-9]+))");
    route_params params;
    auto request = request_for("/story/42?x=/story/43");
    REQUIRE(m.match(request, params));
    REQUIRE(params.path_args.size() == 1);
    CHECK(*params.path_args[0] == "42");
    auto other = request_for("/stories?p=/story/42");
    params.clear();
    CHECK_FALSE(m.match(other, params));

    // %2F in a group is a slash in the argument, and the path stays encoded
    // for the match: "/file/a%2Fb" matches a pattern without '/' in it.
    PathMatches file(R"(/file/([^/]+))");
    params.clear();
    REQUIRE(file.match(request_for("/file/a%2Fb"), params));
    CHECK(*params.path_args[0] == "a/b");
    params.clear();
    CHECK_FALSE(file.match(request_for("/file/a/b"), params));
}

TEST_CASE("named groups: kwarg lookup, pattern order, and no positional args") {
    PathMatches m(R"(/(?P<year>\d{4})/(?P<slug>[a-z-]+)/(?P<page>\d+)?)");
    route_params params;
    REQUIRE(m.match_path("/2024/hello-world/", params));
    CHECK(params.path_args.empty());
    REQUIRE(params.path_kwargs.size() == 3);
    CHECK(params.path_kwargs[0].first == "year");
    CHECK(params.path_kwargs[1].first == "slug");
    CHECK(params.path_kwargs[2].first == "page");
    REQUIRE(params.kwarg("year") != nullptr);
    CHECK(**params.kwarg("year") == "2024");
    REQUIRE(params.kwarg("page") != nullptr);
    CHECK_FALSE(params.kwarg("page")->has_value());
    CHECK(params.kwarg("missing") == nullptr);
}

TEST_CASE("literal fast path: which patterns, and the same answers as PCRE2") {
    CHECK(PathMatches("/").is_literal());
    CHECK(PathMatches("/about").is_literal());
    CHECK(PathMatches("/favicon\\.ico").is_literal());
    CHECK(PathMatches("^/a/b$").is_literal());
    CHECK(PathMatches("/a-b_c~d/e%20f").is_literal());
    CHECK_FALSE(PathMatches("/favicon.ico").is_literal());
    CHECK_FALSE(PathMatches("/a\\$").is_literal());   // unanchored: a prefix match
    CHECK_FALSE(PathMatches("/a\\d").is_literal());
    CHECK_FALSE(PathMatches("/a|/b").is_literal());
    CHECK_FALSE(PathMatches("/a+").is_literal());
    CHECK_FALSE(PathMatches("/(x)").is_literal());
    CHECK_FALSE(PathMatches("(?i)/a").is_literal());
    CHECK_FALSE(PathMatches("/a{2}").is_literal());
    CHECK(PathMatches("/about").group_count() == 0);

    // Every table pattern, and every table path, through the pattern's own
    // regex: the fast path and PCRE2 agree.
    const std::vector<std::string> literals = {"/", "/about", "/favicon\\.ico", "^/a/b$", "/a$", "/a", "",
                                               "/x\\-y", "/a\\/b", "/p%20q", "^$",
                                               "/a/very/long/literal/route/beyond/thirty-two/bytes"};
    std::vector<std::string> paths = {"", "/", "/\n", "/\n\n", "/about", "/about\n", "/about/", "/About",
                                      "/favicon.ico", "/faviconXico", "/a/b", "/a/b\n", "/a/bc", "/a",
                                      "/a\n", "/x-y", "/a/b", "/p%20q", "/p q", "\n", "x",
                                      "/a/very/long/literal/route/beyond/thirty-two/bytes",
                                      "/a/very/long/literal/route/beyond/thirty-two/bytez",
                                      "/b/very/long/literal/route/beyond/thirty-two/bytes",
                                      "/a/very/long/literal/route/beyond/thirty-two/bytes\n"};
    for (const auto& row : match_rows()) paths.push_back(row.path);
    route_params params;
    for (const auto& pattern : literals) {
        PathMatches m(pattern);
        CAPTURE(pattern);
        CHECK(m.is_literal());
        gale::detail::regex re(m.pattern());
        for (const auto& path : paths) {
            CAPTURE(path);
            params.clear();
            CHECK(m.match_path(path, params) == re.matches(path));
        }
    }
}

TEST_CASE("reverse follows Tornado's _find_groups and %-formatting") {
    for (const auto& row : reverse_rows()) {
        CAPTURE(row.pattern);
        PathMatches m(row.pattern);
        if (row.ok) {
            auto url = m.reverse(row.args);
            REQUIRE(url.has_value());
            CHECK(*url == row.result);
        } else {
            std::string message;
            try {
                (void)m.reverse(row.args);
            } catch (const std::invalid_argument& e) {
                message = e.what();
            }
            CHECK(message.rfind(gale_message(row.result), 0) == 0);
        }
    }
    CHECK(PathMatches(R"(/(\d{4})/(\d\d)/([a-z-]+)/?)").reverse_pattern() == "/%s/%s/%s/?");
    CHECK_FALSE(PathMatches(R"(/(?:x|y)/(\w+))").reverse_pattern().has_value());
}

TEST_CASE("reverse arguments are made strings as Python's str()") {
    PathMatches m("/f/(.*)");
    CHECK(m.reverse_args(42) == "/f/42");
    CHECK(m.reverse_args(-3) == "/f/-3");
    CHECK(m.reverse_args(1.5) == "/f/1.5");   // Tornado: /f/1.5
    CHECK(m.reverse_args(2.0) == "/f/2.0");   // Tornado: /f/2.0
    CHECK(m.reverse_args(true) == "/f/True"); // Tornado: /f/True
    CHECK(m.reverse_args("a b"s) == "/f/a%20b");
    CHECK(m.reverse_args(std::string_view("x/y")) == "/f/x/y");
    CHECK(gale::to_url_arg(1e16) == "1e+16");  // Python: str(1e16) == '1e+16'
    CHECK(gale::to_url_arg(0.1) == "0.1");
    // Python's repr(float), pasted from python3.
    CHECK(gale::to_url_arg(1e15) == "1000000000000000.0");
    CHECK(gale::to_url_arg(0.0001) == "0.0001");
    CHECK(gale::to_url_arg(1e-5) == "1e-05");
    CHECK(gale::to_url_arg(123456.0) == "123456.0");
    CHECK(gale::to_url_arg(-2.5) == "-2.5");
    CHECK(gale::to_url_arg(1.0 / 3) == "0.3333333333333333");
    CHECK(gale::to_url_arg(-0.0) == "-0.0");
    CHECK(gale::to_url_arg(1e100) == "1e+100");
    CHECK(gale::to_url_arg(12345678901234567.0) == "1.2345678901234568e+16");
    CHECK(gale::to_url_arg(5e-324) == "5e-324");
    CHECK(gale::to_url_arg(0.00012) == "0.00012");
    CHECK(gale::to_url_arg(std::numeric_limits<double>::infinity()) == "inf");
    CHECK(gale::to_url_arg(7u) == "7");
}

TEST_CASE("host patterns: anchored, wildcard subdomains, host_name without port") {
    struct row {
        const char* pattern;
        const char* host;
        bool matched;
    };
    // HostMatches(pattern).match(request with host_name), from Tornado 6.2.
    const row rows[] = {
        {"^(www\\.)?a\\.com$", "a.com", true},
        {"^(www\\.)?a\\.com$", "www.a.com", true},
        {"^(www\\.)?a\\.com$", "x.a.com", false},
        {"^(www\\.)?a\\.com$", "a.com.evil", false},
        {".*\\.example\\.com", "api.example.com", true},
        {".*\\.example\\.com", "example.com", false},
        {".*\\.example\\.com", "api.example.com.au", false},
        {"(\\w+)\\.example\\.com", "a.b.example.com", false},
        {"localhost", "localhost2", false},
        {".*", "anything", true},
    };
    route_params params;
    for (const auto& r : rows) {
        CAPTURE(r.pattern);
        CAPTURE(r.host);
        HostMatches m(r.pattern);
        CHECK(m.match(request_for("/", r.host), params) == r.matched);
    }
    // host_name is lower-cased and loses the port.
    HostMatches m(R"(^(www\.)?a\.com$)");
    CHECK(m.match(request_for("/", "WWW.A.com:8888"), params));
    CHECK_FALSE(m.match(request_for("/", "b.com:8888"), params));
    CHECK(m.reverse({}) == std::nullopt);
}

namespace {

// A target that is either a handler name or a nested router, as the
// Application's host rules hold (Tornado's Rule(HostMatches, _ApplicationRouter)).
struct node;
using router = gale::ReversibleRuleRouter<node>;
struct node {
    std::string handler;
    std::shared_ptr<router> nested;
    node(const char* h) : handler(h) {}  // NOLINT: implicit, for tables of rules
    node(std::shared_ptr<router> r) : nested(std::move(r)) {}
    std::optional<std::string> reverse_url_args(std::string_view name, std::span<const std::string> args) const;
};
std::optional<std::string> node::reverse_url_args(std::string_view name, std::span<const std::string> args) const {
    if (!nested) return std::nullopt;
    return nested->reverse_url_args(name, args);
}

// Tornado's find_handler over nested routers: the handler name and params.
std::string route(const router& r, const gale::HTTPServerRequest& request, route_params& params) {
    std::string found;
    auto resolve = [&](const router::rule_type& rule, route_params& p) -> const std::string* {
        if (rule.target.nested) {
            std::string inner = route(*rule.target.nested, request, p);
            if (inner.empty()) return nullptr;
            found = inner;
            return &found;
        }
        found = rule.target.handler;
        return &found;
    };
    const std::string* h = r.find_handler(request, params, resolve);
    return h ? *h : std::string();
}

}  // namespace

TEST_CASE("RuleRouter: first match wins, find_handler moves on when a target declines") {
    gale::RuleRouter<std::string> r({
        {"/", "home"},
        {R"(/story/([0-9]+))", "story"},
        {R"(/story/(\w+))", "story-word"},
        {"/.*", "catch-all"},
    });
    route_params params;
    const auto* rule = r.find_rule(request_for("/story/42"), params);
    REQUIRE(rule != nullptr);
    CHECK(rule->target == "story");
    CHECK(*params.path_args.at(0) == "42");
    rule = r.find_rule(request_for("/story/abc"), params);
    REQUIRE(rule != nullptr);
    CHECK(rule->target == "story-word");
    rule = r.find_rule(request_for("/nothing/here"), params);
    REQUIRE(rule != nullptr);
    CHECK(rule->target == "catch-all");
    CHECK(params.path_args.empty());

    // get_target_delegate returning nothing: the next matching rule is tried.
    int calls = 0;
    auto decline_story = [&](const gale::Rule<std::string>& rl, route_params&) -> std::optional<std::string> {
        ++calls;
        if (rl.target == "story") return std::nullopt;
        return rl.target;
    };
    auto found = r.find_handler(request_for("/story/42"), params, decline_story);
    CHECK(found == "story-word");
    CHECK(calls == 2);
    CHECK(*params.path_args.at(0) == "42");

    gale::RuleRouter<std::string> none({{"/only", "only"}});
    CHECK(none.find_rule(request_for("/other"), params) == nullptr);
    CHECK(none.find_handler(request_for("/other"), params, decline_story) == std::nullopt);

    // Tornado's Application inserts host rules before the last (default) one.
    none.insert_rule(-1, {"/other", "other"});
    REQUIRE(none.rules().size() == 2);
    CHECK(none.rules()[0].target == "other");
    CHECK(none.rules()[1].target == "only");
}

TEST_CASE("host routing with wildcard subdomains, as the seed's add_handlers") {
    // app = Application([(r"/", MainHandler)]);
    // app.add_handlers(r"^(www\.)?a\.com$", [(r"/", DomainHandler)])
    auto default_rules = std::make_shared<router>(std::initializer_list<router::rule_type>{
        {"/", "main"}, {"/story/([0-9]+)", "story", {}, "story"}});
    auto a_com = std::make_shared<router>(std::initializer_list<router::rule_type>{
        {"/", "domain"}, {"/user/(?P<name>\\w+)", "user", {}, "a-user"}});
    auto wildcard = std::make_shared<router>(std::initializer_list<router::rule_type>{{"/", "subdomain"}});
    router app;
    app.add_rule({std::make_shared<gale::AnyMatches>(), node(default_rules)});
    app.insert_rule(-1, {std::make_shared<HostMatches>(R"(^(www\.)?a\.com$)"), node(a_com)});
    app.insert_rule(-1, {std::make_shared<HostMatches>(R"(.*\.example\.com)"), node(wildcard)});

    route_params params;
    CHECK(route(app, request_for("/", "a.com:8888"), params) == "domain");
    CHECK(route(app, request_for("/", "www.a.com"), params) == "domain");
    CHECK(route(app, request_for("/", "api.example.com"), params) == "subdomain");
    CHECK(route(app, request_for("/", "deep.api.example.com"), params) == "subdomain");
    CHECK(route(app, request_for("/", "example.com"), params) == "main");
    CHECK(route(app, request_for("/", "x.a.com"), params) == "main");
    CHECK(route(app, request_for("/user/ann", "a.com"), params) == "user");
    REQUIRE(params.kwarg("name") != nullptr);
    CHECK(**params.kwarg("name") == "ann");
    // A host rule whose router has no match falls through to the next rule,
    // as Tornado's None from a nested find_handler.
    CHECK(route(app, request_for("/story/7", "a.com"), params) == "story");
    CHECK(*params.path_args.at(0) == "7");
    CHECK(route(app, request_for("/missing", "a.com"), params).empty());

    // reverse_url looks into the nested routers.
    CHECK(app.reverse_url("story", 7) == "/story/7");
    CHECK(app.reverse_url("a-user", "b c") == "/user/b%20c");
    CHECK(app.reverse_url("nope") == std::nullopt);
}

TEST_CASE("reverse_url: named rules, the later of two names, errors") {
    gale::ReversibleRuleRouter<std::string> r({
        {"/story/([0-9]+)", "story", {}, "story"},
        {R"(/(?:x|y)/(\w+))", "xy", {}, "xy"},
        {"/", "home", {}, "home"},
    });
    CHECK(r.reverse_url("home") == "/");
    CHECK(r.reverse_url("story", 42) == "/story/42");
    CHECK(r.reverse_url("story", "a/b c") == "/story/a/b%20c");
    CHECK(r.reverse_url("unknown") == std::nullopt);
    CHECK_THROWS_WITH_AS((void)r.reverse_url("xy", "a"), "Cannot reverse url regex /(?:x|y)/(\\w+)$",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)r.reverse_url("story"), "required number of arguments not found",
                         std::invalid_argument);
    CHECK(std::string(gale::url_not_found("unknown").what()) == "unknown not found in named urls");

    r.add_rule({"/v2/story/([0-9]+)", "story2", {}, "story"});
    CHECK(r.reverse_url("story", 1) == "/v2/story/1");
    // The first matching rule still wins for requests.
    route_params params;
    CHECK(r.find_rule(request_for("/story/1"), params)->target == "story");

    gale::Rule<std::string> rule("/r/(\\d+)", "r");
    CHECK(rule.reverse(5) == "/r/5");
    CHECK(rule.name.empty());
}

TEST_CASE("rules carry kwargs of the router's Kwargs type") {
    struct handler_kwargs {
        std::string subject;
    };
    gale::RuleRouter<std::string, handler_kwargs> r({{"/c", "c", {"c++"}, "c"}});
    route_params params;
    const auto* rule = r.find_rule(request_for("/c"), params);
    REQUIRE(rule != nullptr);
    CHECK(rule->target_kwargs.subject == "c++");
    CHECK(rule->name == "c");
}

TEST_CASE("DefaultHostMatches: the default host, unless X-Real-Ip is present") {
    std::string default_host = "a.com";
    auto host = std::make_shared<HostMatches>(R"(^(www\.)?a\.com$)");
    gale::DefaultHostMatches m([&] { return std::string_view(default_host); }, host->host_pattern());
    route_params params;
    auto request = request_for("/", "unrelated.org");
    CHECK(m.match(request, params));
    request.headers.add("X-Real-Ip", "10.0.0.1");
    CHECK_FALSE(m.match(request, params));
    default_host = "b.com";
    CHECK_FALSE(m.match(request_for("/", "unrelated.org"), params));
    CHECK(gale::AnyMatches().match(request, params));
}

TEST_CASE("bad patterns: the reason, the position and the pattern") {
    // Python: "missing ), unterminated subpattern at position 1".
    try {
        PathMatches m("/(abc");
        FAIL("no error");
    } catch (const gale::detail::regex_error& e) {
        CHECK(std::string(e.what()) == "missing closing parenthesis at position 6 in pattern '/(abc$'");
        CHECK(e.pattern() == "/(abc$");
        CHECK(e.pos() == 6);
    }
    // Python errors for each of these too ("bad character range a-$",
    // "unbalanced parenthesis", "bad character in group name '1x'", "bad escape \q").
    for (const char* bad : {"/[a-", "/a)b", "/(?P<1x>a)", "/\\q", "/a**", "/(?P<n>a)(?P<n>b)"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(PathMatches{bad}, gale::detail::regex_error);
    }
    CHECK_NOTHROW(PathMatches("/*"));  // a quantified '/', valid in Python too
    // Tornado's assertion: groups all named or all positional.
    CHECK_THROWS_WITH_AS(PathMatches("/(?P<n>a)(b)"),
                         "groups in url regexes must either be all named or all positional: '/(?P<n>a)(b)$'",
                         std::invalid_argument);
    // A character no latin-1 path can hold, with its character position.
    try {
        gale::detail::regex re("/\xe4\xbd\xa0/x");
        FAIL("no error");
    } catch (const gale::detail::regex_error& e) {
        CHECK(e.pos() == 1);
    }
    CHECK_THROWS_AS(HostMatches("(a"), gale::detail::regex_error);
}

TEST_CASE("regex wrapper: groups beyond the shared match data, threads, empty subjects") {
    std::string pattern = "/";
    std::string path = "/";
    for (int i = 0; i < 40; ++i) {
        pattern += "(\\d)";
        path += std::to_string(i % 10);
    }
    gale::detail::regex big(pattern + "$");
    CHECK(big.group_count() == 40);
    std::vector<std::optional<std::string_view>> groups;
    REQUIRE(big.match(path, groups));
    REQUIRE(groups.size() == 40);
    CHECK(*groups[39] == "9");
    gale::detail::regex small(R"((a)|(b))");
    REQUIRE(small.match("b", groups));
    REQUIRE(groups.size() == 2);
    CHECK_FALSE(groups[0].has_value());
    CHECK(*groups[1] == "b");
    CHECK(gale::detail::regex("$").matches(std::string_view()));
    CHECK(gale::detail::regex("a").group_names().empty());

    // One compiled route, matched from several threads at once.
    PathMatches m(R"(/item/(?P<id>\d+)/(?P<tail>.*))");
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            route_params p;
            for (int i = 0; i < 500; ++i) {
                p.clear();
                std::string id = std::to_string(t * 1000 + i);
                if (m.match_path("/item/" + id + "/x%20y", p) && p.path_kwargs.at(0).second == id &&
                    p.path_kwargs.at(1).second == "x y")
                    ++good;
            }
        });
    for (auto& th : threads) th.join();
    CHECK(good == 2000);
}
