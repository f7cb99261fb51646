// The argument families (seed 004, "183. 输入"): get_query_argument(s) read
// the query string, get_body_argument(s) the form body, get_argument(s)
// both; a missing argument without a default is web::MissingArgumentError.
// The reply prints the lists the way the seed's "%s" % list does (Python's
// repr), so its text is the Python program's.
//
//   $ arguments                   # --port=8000
//   $ curl -d 'a=1&a=+2+' 'http://127.0.0.1:8000/?a=q'
//   query_arg:q<br/>query_args:['q']<br/>body_arg:2<br/>body_args:['1', ' 2 ']<br/>...
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <gale/web.hpp>

#include "example_args.hpp"

// Python's repr() of a str: quoted, backslashes and control characters escaped.
std::string py_repr(std::string_view s) {
    char quote = s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos ? '"' : '\'';
    std::string out(1, quote);
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '\\' || c == quote) out += {'\\', c};
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
        else out += c;
    }
    return out + quote;
}

// Python's str() of a list of str: ['a', 'b'].
std::string py_list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + py_repr(items[i]);
    return out + "]";
}

struct IndexHandler : gale::RequestHandler {
    gale::task<void> post() {
        std::string query_arg = get_query_argument("a");
        std::vector<std::string> query_args = get_query_arguments("a");
        std::string body_arg = get_body_argument("a");
        std::vector<std::string> body_args = get_body_arguments("a", false);
        std::string arg = get_argument("a");
        std::vector<std::string> args = get_arguments("a");

        std::string default_arg = get_argument("b", "itcast");
        std::vector<std::string> default_args = get_arguments("b");

        std::string missing_arg;
        try {
            missing_arg = get_argument("c");
        } catch (const gale::web::MissingArgumentError& e) {
            missing_arg = "We catched the MissingArgumentError!";
            std::printf("%s\n", e.what());
        }
        std::vector<std::string> missing_args = get_arguments("c");

        std::string rep = "query_arg:" + query_arg + "<br/>";
        rep += "query_args:" + py_list(query_args) + "<br/>";
        rep += "body_arg:" + body_arg + "<br/>";
        rep += "body_args:" + py_list(body_args) + "<br/>";
        rep += "arg:" + arg + "<br/>";
        rep += "args:" + py_list(args) + "<br/>";
        rep += "default_arg:" + default_arg + "<br/>";
        rep += "default_args:" + py_list(default_args) + "<br/>";
        rep += "missing_arg:" + missing_arg + "<br/>";
        rep += "missing_args:" + py_list(missing_args) + "<br/>";
        write(rep);
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    gale::Application app({
        {"/", gale::handler<IndexHandler>()},
    });
    example::serve(app, args);
}
