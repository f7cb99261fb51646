// Tests for <gale/template.hpp>: the conformance corpus in tests/templates/
// (each case rendered by Tornado 6.2 through tests/tornado/render_templates.py,
// whose output is committed next to it), then the API, errors and caching.
#include <gale/template.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

#include <gale/json_parse.hpp>

namespace {

namespace fs = std::filesystem;
using gale::json::value;

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return std::move(s).str();
}

// tests/templates, found next to this file (__FILE__ may be relative to
// the build directory, whose tests/ holds the executable).
fs::path corpus_dir() {
    fs::path source(__FILE__);
    std::vector<fs::path> candidates{source.parent_path() / "templates"};
    if (source.is_relative()) {
        char exe[4096];
        ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            candidates.push_back(fs::path(exe).parent_path().parent_path() / source.parent_path() / "templates");
        }
    }
    for (const auto& c : candidates)
        if (fs::is_directory(c)) return c;
    return {};
}

const std::string xsrf_form =
    R"(<input type="hidden" name="_xsrf" value="2|8e0f1d2c|3b5a6c7d8e9f0a1b2c3d4e5f6a7b8c9d|1700000000"/>)";

// The same stubs as tests/tornado/render_templates.py.
void add_stubs(gale::template_namespace& ns) {
    ns.set_function("static_url", [](const gale::template_args& a) -> value {
        return "/static/" + a[0].get_string() + "?v=5d41402abc4b";
    });
    ns.set_function("xsrf_form_html", [](const gale::template_args&) -> value { return xsrf_form; });
    ns.set_function("_", [](const gale::template_args& a) -> value {
        const value* plural = a.get(1, "plural_message");
        const value* count = a.get(2, "count");
        if (plural && !plural->is_null() && !(count && *count == value(1))) return *plural;
        return a[0];
    });
    ns.set_function("reverse_url", [](const gale::template_args& a) -> value {
        std::string url = "/" + a[0].get_string();
        for (std::size_t i = 1; i < a.size(); ++i)
            url += "/" + (a[i].is_string() ? a[i].get_string() : gale::json::dump(a[i]));
        return url;
    });
    ns.set_function("title_join", [](const gale::template_args& a) -> value {
        std::string s;
        for (const auto& t : a[0].get_array()) s += (s.empty() ? "" : "+") + t.get_string();
        return s;
    });
    ns.set_function("shout", [](const gale::template_args& a) -> value {
        std::string s = a[0].get_string();
        for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return s + "!";
    });
    ns.set_function("bracket", [](const gale::template_args& a) -> value { return "[" + a[0].get_string() + "]"; });
    ns.set_module("xsrf_form_html", [](const gale::template_args&) -> value { return xsrf_form; });
    ns.set_module("Entry", [](const gale::template_args& a) -> value {
        const value& entry = a[0];
        std::string html = R"(<div class="entry"><h2>)" + gale::xhtml_escape(entry["title"].get_string()) + "</h2>";
        const value* show = a.get(1, "show_comments");
        if (show && show->get_bool()) {
            const value* comments = entry.find("comments");
            html += "<p>" + std::to_string(comments ? comments->size() : 0) + " comments</p>";
        }
        return html + "</div>";
    });
}

// The first difference, to make a failure readable.
std::string first_difference(const std::string& got, const std::string& want) {
    std::size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
    std::size_t from = i < 40 ? 0 : i - 40;
    return "at byte " + std::to_string(i) + "\n  gale:    " + got.substr(from, 120) + "\n  tornado: " + want.substr(from, 120);
}

}  // namespace

TEST_CASE("template conformance: every corpus case renders as Tornado 6.2 does") {
    fs::path corpus = corpus_dir();
    REQUIRE_MESSAGE(!corpus.empty(), "tests/templates not found next to " << __FILE__);
    std::vector<fs::path> cases;
    for (const auto& entry : fs::directory_iterator(corpus))
        if (fs::exists(entry.path() / "case.json")) cases.push_back(entry.path());
    std::sort(cases.begin(), cases.end());
    CHECK(cases.size() >= 10);
    int renders = 0;
    for (const auto& dir : cases) {
        value spec = gale::json::parse(read_file(dir / "case.json"));
        gale::template_options options;
        if (const value* o = spec.find("options")) {
            if (const value* a = o->find("autoescape"))
                options.autoescape = a->is_null() ? std::nullopt : std::optional<std::string>(a->get_string());
            if (const value* w = o->find("whitespace")) options.whitespace = w->get_string();
        }
        gale::Loader loader(dir.string(), options);
        gale::template_namespace ns;
        add_stubs(ns);
        ns.update_ref(spec["context"].get_object());
        gale::json::array names{"index.html"};
        if (const value* r = spec.find("render")) names = r->get_array();
        for (const auto& name : names) {
            CAPTURE(dir.filename().string());
            CAPTURE(name.get_string());
            std::string want = read_file(dir / "expected" / name.get_string());
            std::string got;
            try {
                loader.load(name.get_string()).generate(ns, got);
            } catch (const std::exception& e) {
                FAIL_CHECK("render failed: " << e.what());
                continue;
            }
            bool same = got == want;
            CHECK_MESSAGE(same, first_difference(got, want));
            ++renders;
        }
    }
    MESSAGE(renders << " corpus renders");
}

namespace {

std::string render(std::string_view source, const gale::json::object& args = {}) {
    return gale::Template(source, "t.html").generate(args);
}

// The message of the ParseError that compiling source raises ("" if none).
std::string parse_error(std::string_view source) {
    try {
        gale::Template t(source, "t.html");
    } catch (const gale::ParseError& e) {
        CHECK(e.filename() == "t.html");
        return e.what();
    }
    return "";
}

// The template_error rendering raises, as what() ("" if none).
std::string render_error(std::string_view source, const gale::json::object& args = {}) {
    try {
        render(source, args);
    } catch (const gale::template_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("template parse errors name the file and line as Tornado's ParseError does") {
    CHECK(parse_error("a\n{% if x %}abc") == "Missing {% end %} block for if at t.html:2");
    CHECK(parse_error("a\n\n{% end %}") == "Extra {% end %} block at t.html:3");
    CHECK(parse_error("x\n{% foo bar %}") == "unknown operator: 'foo' at t.html:2");
    CHECK(parse_error("{% for x in y %}{% elif z %}{% end %}") ==
          "elif block cannot be attached to for block at t.html:1");
    CHECK(parse_error("\n{{ }}") == "Empty expression at t.html:2");
    CHECK(parse_error("{{ x") == "Missing end expression }} at t.html:1");
    CHECK(parse_error("{# x") == "Missing end comment #} at t.html:1");
    CHECK(parse_error("{% x") == "Missing end block %} at t.html:1");
    CHECK(parse_error("{% %}") == "Empty block tag ({% %}) at t.html:1");
    CHECK(parse_error("{% break %}") == "break outside {'for', 'while'} block at t.html:1");
    CHECK(parse_error("{% block %}{% end %}") == "block missing name at t.html:1");
    CHECK(parse_error("{% apply %}{% end %}") == "apply missing method name at t.html:1");
    CHECK(parse_error("{% include %}") == "include missing file path at t.html:1");
    CHECK(parse_error("{% set %}") == "set missing statement at t.html:1");
    CHECK(parse_error("{% whitespace bogus %}") == "invalid whitespace mode bogus at t.html:1");
    CHECK(parse_error("{% else %}").starts_with("else outside {'if', 'for', 'while', 'try'} block at t.html:1"));
    // Bad expressions (Tornado: a SyntaxError from the generated code) are parse errors with a place.
    CHECK(parse_error("a\nb\n{{ 1 + }}") == "unexpected end of expression in '1 +' at t.html:3");
    CHECK(parse_error("{% if x y %}{% end %}").ends_with("at t.html:1"));
    CHECK(parse_error("{{ [1, 2 }}").ends_with("at t.html:1"));
    CHECK(parse_error("{{ 'abc }}").starts_with("unterminated string literal"));
    CHECK(parse_error("{% for x y %}{% end %}").starts_with("expected 'in' in for"));
    CHECK(parse_error("{{ lambda: 1 }}").starts_with("lambda is not supported"));
    CHECK(parse_error("{{ [x for x in y for z in x] }}").starts_with("comprehensions with more than one for are not supported"));
    CHECK(parse_error("{{ f(a, x for x in y) }}").starts_with("Generator expression must be parenthesized"));
    CHECK(parse_error("\n{% import os %}").starts_with("{% import %} is not supported"));
    CHECK(parse_error("\n{% import os %}").ends_with("at t.html:2"));
    CHECK(parse_error("{% from os import path %}").starts_with("{% from %} is not supported"));
    CHECK(parse_error("{% module 1 + 2 %}").starts_with("module expects a call"));
    CHECK(parse_error("{% try %}x{% end %}").starts_with("invalid syntax: try needs except or finally"));
    CHECK(parse_error("{% if a %}{% else %}{% elif b %}{% end %}").starts_with("invalid syntax: elif is out of place"));
    CHECK(parse_error("{% extends 'a.html' %}") == "{% extends %} block found, but no template loader at t.html:1");
    // A well-formed template is no error.
    CHECK(parse_error("{% if a %}{% elif b %}{% else %}{% end %}") == "");
}

TEST_CASE("template evaluation errors carry the Python exception name, the file and the line") {
    CHECK(render_error("a\n{{ nope }}") == "t.html:2: NameError: name 'nope' is not defined");
    CHECK(render_error("{{ d['x'] }}", {{"d", gale::json::object{}}}) == "t.html:1: KeyError: 'x'");
    CHECK(render_error("\n\n{{ xs[5] }}", {{"xs", gale::json::array{1}}}) ==
          "t.html:3: IndexError: list index out of range");
    CHECK(render_error("{{ 1 / 0 }}") == "t.html:1: ZeroDivisionError: division by zero");
    CHECK(render_error("{{ 'a' + 1 }}") == "t.html:1: TypeError: can only concatenate str (not \"int\") to str");
    CHECK(render_error("{{ 1 + 'a' }}") == "t.html:1: TypeError: unsupported operand type(s) for +: 'int' and 'str'");
    CHECK(render_error("{{ 1 < 'a' }}") == "t.html:1: TypeError: '<' not supported between instances of 'int' and 'str'");
    CHECK(render_error("{{ int('x') }}") == "t.html:1: ValueError: invalid literal for int() with base 10: 'x'");
    CHECK(render_error("{{ (1).foo }}") == "t.html:1: AttributeError: 'int' object has no attribute 'foo'");
    CHECK(render_error("{{ x }}{% set x = 1 %}") ==
          "t.html:1: UnboundLocalError: cannot access local variable 'x' where it is not associated with a value");
    CHECK(render_error("{% for a, b in [[1, 2, 3]] %}{% end %}") ==
          "t.html:1: ValueError: too many values to unpack (expected 2)");
    CHECK(render_error("{{ 9223372036854775807 + 1 }}").starts_with("t.html:1: OverflowError"));
    CHECK(render_error("{% for i in range(3) %}\n{{ i / 0 }}{% end %}") == "t.html:2: ZeroDivisionError: division by zero");
    CHECK(render_error("{% module Missing() %}").starts_with("t.html:1: AttributeError: no UI module named 'Missing'"));
    // Errors inside an included file name that file.
    gale::DictLoader loader(
        std::map<std::string, std::string>{{"main.html", "line1\n{% include 'inc.html' %}"}, {"inc.html", "\n\n{{ missing }}"}});
    try {
        loader.load("main.html").generate();
        FAIL("no error");
    } catch (const gale::template_error& e) {
        CHECK(std::string(e.what()) == "inc.html:3: NameError: name 'missing' is not defined");
        CHECK(e.type() == "NameError");
        CHECK(e.filename() == "inc.html");
        CHECK(e.lineno() == 3);
    }
    // An exception from a registered function becomes an Exception at the call's line.
    gale::template_namespace ns;
    ns.set_function("boom", [](const gale::template_args&) -> value { throw std::runtime_error("bad"); });
    CHECK_THROWS_WITH(gale::Template("\n{{ boom() }}", "f.html").generate(ns), "f.html:2: Exception: boom(): bad");
    CHECK(render("{% try %}{{ boom() }}{% except Exception as e %}caught {{ e }}{% end %}") != "");
}

TEST_CASE("template namespaces: layering, functions with keyword arguments, lazy values, modules") {
    gale::template_namespace app;
    app.set("site", "gale").set("n", 1);
    gale::template_namespace request(&app);
    request.set("n", 2);  // shadows the application's
    int made = 0;
    request.set_lazy("expensive", [&] {
        ++made;
        return value(gale::json::object{{"uri", "/a?b=<c>"}});
    });
    request.set_function("greet", [](const gale::template_args& a) -> value {
        const value* punct = a.kwarg("punct");
        return "Hello, " + a[0].get_string() + (punct ? punct->get_string() : "");
    });
    request.set_module("Box", [](const gale::template_args& a) -> value { return "<div>" + a[0].get_string() + "</div>"; });
    gale::Template t("{{ site }} {{ n }} {{ greet('Ann', punct='!') }} {{ expensive['uri'] }} {{ expensive.uri }} "
                     "{% module Box('x') %} {{ len(site) }}");
    CHECK(t.generate(request) == "gale 2 Hello, Ann! /a?b=&lt;c&gt; /a?b=&lt;c&gt; <div>x</div> 4");
    CHECK(made == 1);  // once per render
    // A namespace name shadows a built-in, as Python's globals do.
    gale::template_namespace shadow;
    shadow.set_function("len", [](const gale::template_args&) -> value { return 42; });
    CHECK(gale::Template("{{ len('x') }}").generate(shadow) == "42");
    // Borrowed values: no copy, read at render time.
    gale::json::value big = gale::json::array{1, 2, 3};
    gale::template_namespace refs;
    refs.set_ref("xs", big);
    gale::Template sum_t("{{ sum(xs) }}");
    CHECK(sum_t.generate(refs) == "6");
    big.get_array().push_back(4);
    CHECK(sum_t.generate(refs) == "10");
}

TEST_CASE("template autoescape: loader option, per file, custom function") {
    gale::json::object args{{"t", "<b>"}};
    gale::DictLoader off({{"a.html", "{{ t }}"}, {"b.html", "{% autoescape xhtml_escape %}{{ t }}"}},
                         {.autoescape = std::nullopt});
    gale::template_namespace ns;
    ns.update_ref(args);
    CHECK(off.load("a.html").generate(ns) == "<b>");
    CHECK(off.load("b.html").generate(ns) == "&lt;b&gt;");
    CHECK(gale::Template("{% autoescape None %}{{ t }}").generate(args) == "<b>");
    CHECK(gale::Template("{{ t }}", "x.html", {.autoescape = std::nullopt}).generate(args) == "<b>");
    ns.set_function("stars", [](const gale::template_args& a) -> value { return "*" + a[0].get_string() + "*"; });
    CHECK(gale::Template("{% autoescape stars %}{{ t }} {{ 1 }}").generate(ns) == "*<b>* *1*");
}

TEST_CASE("template loaders: relative paths, caching, reset, debug mode, cycles") {
    gale::DictLoader dict({{"a/b.html", "{% include '../c.html' %}|{% include 'd.html' %}"},
                           {"c.html", "C"},
                           {"a/d.html", "D"},
                           {"self.html", "{% include 'self.html' %}"},
                           {"ext.html", "{% extends 'ext2.html' %}"},
                           {"ext2.html", "{% extends 'ext.html' %}"}});
    CHECK(dict.load("a/b.html").generate() == "C|D");
    CHECK(dict.resolve_path("../c.html", "a/b.html") == "c.html");
    CHECK(dict.resolve_path("/abs.html", "a/b.html") == "/abs.html");
    CHECK(dict.resolve_path("x.html", "<string>") == "x.html");
    CHECK_THROWS_WITH(dict.load("nope.html"), "KeyError: 'nope.html'");
    CHECK_THROWS_AS(dict.load("self.html"), gale::template_error);
    CHECK_THROWS_AS(dict.load("ext.html"), gale::template_error);

    fs::path root = fs::temp_directory_path() / ("gale-template-" + std::to_string(::getpid()));
    fs::create_directories(root / "sub");
    auto write = [&](const std::string& name, const std::string& text) { std::ofstream(root / name) << text; };
    write("page.html", "v1 {% include 'sub/part.html' %}");
    write("sub/part.html", "part {% include 'leaf.html' %}");
    write("sub/leaf.html", "leaf");
    gale::Loader cached(root.string());
    gale::Loader debug(root.string(), {.cache = false});
    CHECK(cached.load("page.html").generate() == "v1 part leaf");
    CHECK(debug.load("page.html").generate() == "v1 part leaf");
    CHECK(cached.resolve_path("leaf.html", "sub/part.html") == "sub/leaf.html");
    CHECK(cached.resolve_path("../../etc/passwd", "sub/part.html") == "../../etc/passwd");
    write("page.html", "v2 {% include 'sub/part.html' %}");
    gale::Template before = cached.load("page.html");
    CHECK(before.generate() == "v1 part leaf");  // cached
    CHECK(debug.load("page.html").generate() == "v2 part leaf");  // re-read
    cached.reset();
    CHECK(cached.load("page.html").generate() == "v2 part leaf");
    CHECK(before.generate() == "v1 part leaf");  // a handle keeps its compiled tree
    try {
        cached.load("missing.html");
        FAIL("no error");
    } catch (const gale::template_error& e) {
        CHECK(e.type() == "FileNotFoundError");
    }
    write("broken.html", "ok\n{% if x %}");
    CHECK_THROWS_WITH(cached.load("broken.html"), "Missing {% end %} block for if at broken.html:2");
    fs::remove_all(root);
}

TEST_CASE("template: one compiled template renders on several threads at once") {
    gale::DictLoader loader(std::map<std::string, std::string>{
        {"base.html", "<ul>{% block rows %}{% end %}</ul>"},
        {"page.html", "{% extends 'base.html' %}{% block rows %}{% for r in rows %}<li>{{ r }}</li>{% end %}{% end %}"}});
    gale::json::value rows = gale::json::array{"a", "<b>", "c"};
    gale::template_namespace ns;
    ns.set_ref("rows", rows);
    std::vector<std::thread> threads;
    std::atomic<int> good{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i)
                if (loader.load("page.html").generate(ns) == "<ul><li>a</li><li>&lt;b&gt;</li><li>c</li></ul>") ++good;
        });
    for (auto& t : threads) t.join();
    CHECK(good == 800);
}

TEST_CASE("template expressions beyond the corpus") {
    CHECK(render("{{ d.name }} {{ d.items }}", {{"d", gale::json::object{{"name", "x"}, {"items", 1}}}}) ==
          "x &lt;built-in method items of dict object&gt;");
    CHECK(render("{{ len }} {{ str(f) }}", {{"f", 1}}).starts_with("&lt;built-in function len&gt;"));
    CHECK(render("{% set x = [1, [2, 3]] %}{% set y = x[1] %}{% set x = 0 %}{{ y }} {{ x }}") == "[2, 3] 0");
    // The loop keeps its list alive when the variable is assigned again inside it.
    CHECK(render("{% set xs = [1, 2] %}{% for x in xs %}{% set xs = 5 %}{{ x }}{% end %}{{ xs }}") == "125");
    CHECK(render("{% for i in range(3) %}{% set keep = [i] %}{% end %}{{ keep }} {{ i }}") == "[2] 2");
    CHECK(render("{{ 2 ** 62 }} {{ 7 // -2 }} {{ 7 % -2 }} {{ -2 ** 2 }}") == "4611686018427387904 -4 -1 -4");
    CHECK(render("{{ 'x' if None is None else 'y' }} {{ [] is [] }} {{ True is True }}") == "x False True");
    CHECK(render("{{ sorted([{'a': 2}, {'a': 1}], key=len) }}") == "[{&#39;a&#39;: 2}, {&#39;a&#39;: 1}]");
    CHECK(render("{% apply squeeze %}  a   b  {% end %}") == "a b");
    CHECK(render("{{ 0.1 * 3 }} {{ 1e300 * 1e10 }} {{ float('nan') }} {{ -1e-7 }}") ==
          "0.30000000000000004 inf nan -1e-07");
    // Thousands separators, as Tornado 6.2 renders them (Python's str.format).
    CHECK(render("{{ '{:,}'.format(1234567) }} {{ '{:,}'.format(-123456) }} {{ '{:,.2f}'.format(-1234567.891) }} "
                 "{{ '{:,}'.format(12) }} {{ '{:,}'.format(-1234) }}") == "1,234,567 -123,456 -1,234,567.89 12 -1,234");
}
