// The UI module of seed 001 ("UI 模块", 001:377-420): an Entry module renders
// one blog entry from its own template (module-entry.html) and adds its CSS
// to the page; home.html lists every entry through it, entry.html shows one
// with its comments. The seed reads entries from MySQL; here they are a
// list in memory (the seed's SELECT ... ORDER BY date DESC is the order).
//
//   $ entries           # --port=8888 --template_path=<examples/entries/templates>
//   $ curl http://127.0.0.1:8888/          # every entry, with <style> .entry ... in <head>
//   $ curl http://127.0.0.1:8888/entry/2   # one entry and its comments
//   $ curl -i http://127.0.0.1:8888/entry/9
//   HTTP/1.1 404 Not Found
#include <filesystem>
#include <string>

#include <gale/web_template.hpp>

#include "example_args.hpp"

namespace {

const gale::json::array& entries() {
    using gale::json::array;
    using gale::json::object;
    static const array all = {
        object{{"id", 3}, {"title", "Templates & modules"}, {"date", "2026-11-03"},
               {"html", "<p>{% module Entry(entry) %} renders <em>this</em>.</p>"},
               {"comments", array{"Neat", "<script>alert(1)</script>"}}},
        object{{"id", 2}, {"title", "Static files"}, {"date", "2026-11-02"},
               {"html", "<p>static_url adds a version.</p>"}, {"comments", array{"Useful"}}},
        object{{"id", 1}, {"title", "Hello, world"}, {"date", "2026-11-01"},
               {"html", "<p>The first entry.</p>"}, {"comments", array{}}},
    };
    return all;
}

// uimodules.py's Entry.
struct Entry : gale::UIModule {
    using UIModule::UIModule;
    std::string render(const gale::template_args& a) override {
        const gale::json::value* show_comments = a.get(1, "show_comments");
        return render_string("module-entry.html",
                             {{"entry", a[0]}, {"show_comments", show_comments ? *show_comments : gale::json::value(false)}});
    }
    std::string embedded_css() override { return ".entry { margin-bottom: 1em; }"; }
};

struct HomeHandler : gale::RequestHandler {
    gale::task<void> get() {
        render("home.html", {{"entries", entries()}});
        co_return;
    }
};

struct EntryHandler : gale::RequestHandler {
    gale::task<void> get(std::string_view entry_id) {
        for (const gale::json::value& entry : entries())
            if (std::to_string(entry["id"].get_int()) == entry_id) {
                render("entry.html", {{"entry", entry}});
                co_return;
            }
        throw gale::web::HTTPError(404);
    }
};

std::string templates_directory(const example::args& args) {
    std::string given = args.get("template_path");
    if (!given.empty()) return std::filesystem::absolute(given).string();
    std::filesystem::path beside = std::filesystem::path(__FILE__).parent_path() / "entries" / "templates";
    return std::filesystem::absolute(beside).lexically_normal().string();
}

}  // namespace

int main(int argc, char** argv) {
    example::args args(argc, argv, 8888);
    gale::Application app(
        {
            gale::url("/", gale::handler<HomeHandler>(), "home"),
            {"/entry/([0-9]+)", gale::handler<EntryHandler>()},
        },
        {.template_path = templates_directory(args), .ui_modules = {{"Entry", gale::ui_module<Entry>()}}});
    example::serve(app, args);
}
