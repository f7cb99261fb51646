// The house-listing site of seed 004 ("使用模板", 004:903-1232): templates
// with blocks (base.html, index.html), static_url, a function of the
// application's passed to the template (title_join), and the escaping demo
// form (new.html; new_raw.html shows {% raw %}, {% autoescape None %} and
// escape()).
//
//   $ house_site        # --port=8000 --template_path=<examples/house_site/templates>
//                       #             --static_path=<examples/house_site/statics>
//   $ curl http://127.0.0.1:8000/                 # index.html extending base.html
//   $ curl http://127.0.0.1:8000/view/index.html  # statics/html/index.html
//   $ curl -d 'text=<script>alert("hello!");</script>' http://127.0.0.1:8000/new
//   ...&lt;script&gt;alert(&quot;hello!&quot;);&lt;/script&gt;...
//   $ curl -d 'text=<b>hi</b>' http://127.0.0.1:8000/new_raw
//
// Python passes title_join=house_title_join among render's keyword
// arguments; gale's values are json, so a function goes into a
// template_namespace (set_function) given to render instead.
#include <cstdio>
#include <filesystem>
#include <string>

#include <gale/web_template.hpp>

#include "example_args.hpp"

namespace {

// A directory given as --name=DIR, else examples/house_site/<beside>.
std::string site_directory(const example::args& args, const std::string& name, const std::string& beside) {
    std::string given = args.get(name);
    if (!given.empty()) return std::filesystem::absolute(given).string();
    std::filesystem::path path = std::filesystem::path(__FILE__).parent_path() / "house_site" / beside;
    return std::filesystem::absolute(path).lexically_normal().string();
}

// The seed's house_title_join(titles): "+".join(titles).
gale::json::value house_title_join(const gale::template_args& a) {
    std::string joined;
    for (const gale::json::value& title : a[0].get_array()) {
        if (!joined.empty()) joined += "+";
        joined += title.get_string();
    }
    return joined;
}

const gale::json::value& house_list() {
    static const gale::json::value houses = [] {
        gale::json::object house{
            {"price", 398},
            {"titles", gale::json::array{"宽窄巷子", "160平大空间", "文化保护区双地铁"}},
            {"score", 5},
            {"comments", 6},
            {"position", "北京市丰台区六里桥地铁"},
        };
        return gale::json::array{house, house};
    }();
    return houses;
}

struct IndexHandler : gale::RequestHandler {
    gale::task<void> get() {
        gale::template_namespace values;
        values.set_ref("houses", house_list()).set_function("title_join", house_title_join);
        render("index.html", values);
        co_return;
    }
};

// The escaping demo: what the form posts comes back escaped.
struct NewHandler : gale::RequestHandler {
    void initialize(const std::string& page) { page_ = page; }
    gale::task<void> get() {
        render(page_, {{"text", ""}});
        co_return;
    }
    gale::task<void> post() {
        std::string text = get_argument("text", "");
        std::printf("%s\n", text.c_str());  // the seed prints it
        render(page_, {{"text", text}});
        co_return;
    }

private:
    std::string page_;
};

}  // namespace

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    std::string statics = site_directory(args, "static_path", "statics");
    gale::Application app(
        {
            {R"(^/$)", gale::handler<IndexHandler>()},
            {R"(^/view/(.*)$)", gale::handler<gale::StaticFileHandler>(statics + "/html")},
            {R"(^/new$)", gale::handler<NewHandler>(std::string("new.html"))},
            {R"(^/new_raw$)", gale::handler<NewHandler>(std::string("new_raw.html"))},
        },
        {.static_path = statics, .template_path = site_directory(args, "template_path", "templates")});
    example::serve(app, args);
}
