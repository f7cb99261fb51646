// prepare() runs before every method (seed 004, "185. 接口与调用顺序" 2):
// here it parses a JSON body once for post() and put(), which write each
// member as <h3>key</h3><p>value</p>.
//
//   $ prepare_json                # --port=8000
//   $ curl -H 'Content-Type: application/json' -d '{"a": "x", "b": 2}' http://127.0.0.1:8000/
//   <h3>a</h3><p>x</p><h3>b</h3><p>2</p>
// (A string shows as itself, anything else as its JSON text.)
#include <optional>
#include <string>

#include <gale/json.hpp>
#include <gale/json_parse.hpp>  // json_body()
#include <gale/web.hpp>

#include "example_args.hpp"

struct IndexHandler : gale::RequestHandler {
    std::optional<gale::json::value> json_dict;

    void prepare() {
        std::string_view type = request().headers.get("Content-Type").value_or("");
        if (type.starts_with("application/json")) json_dict = json_body();
    }
    gale::task<void> post() {
        write_members();
        co_return;
    }
    gale::task<void> put() {
        write_members();
        co_return;
    }

private:
    void write_members() {
        if (!json_dict || !json_dict->is_object()) return;
        for (const auto& [key, value] : json_dict->get_object())
            write("<h3>" + key + "</h3><p>" + (value.is_string() ? value.get_string() : gale::json::dump(value)) +
                  "</p>");
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    gale::Application app({
        {"/", gale::handler<IndexHandler>()},
    });
    example::serve(app, args);
}
