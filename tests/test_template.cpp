// Tests for <gale/template.hpp>: the conformance corpus in tests/templates/
// (each case rendered by Tornado 6.2 through tests/tornado/render_templates.py,
// whose output is committed next to it), then the API, errors and caching.
#include <gale/template.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
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
