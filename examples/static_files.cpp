// Static files with default_filename (seed 004, "StaticFileHandler"): the
// page statics/html/index.html is reachable three ways, and the stylesheet
// and script it links come from static_path.
//
//   $ static_files                    # --port=8000 --static_path=<examples/statics>
//   $ curl http://127.0.0.1:8000/                      # statics/html/index.html (default_filename)
//   $ curl http://127.0.0.1:8000/view/index.html       # the same file
//   $ curl http://127.0.0.1:8000/static/html/index.html
//   $ curl -i http://127.0.0.1:8000/static/css/index.css
//   HTTP/1.1 200 OK
//   Accept-Ranges: bytes
//   Etag: "<sha-512 of the file>"
//   Last-Modified: ...
//   Content-Type: text/css
//
// As in Tornado, static_path also adds /favicon.ico and /robots.txt, and
// static_url("css/index.css") gives "/static/css/index.css?v=<version>".
#include <filesystem>
#include <string>

#include <gale/web.hpp>

#include "example_args.hpp"

// The statics directory: --static_path=DIR, else the one beside this file.
std::string statics_directory(const example::args& args) {
    std::string given = args.get("static_path");
    if (!given.empty()) return std::filesystem::absolute(given).string();
    std::filesystem::path beside = std::filesystem::path(__FILE__).parent_path() / "statics";
    return std::filesystem::absolute(beside).lexically_normal().string();
}

// Writes the versioned URLs a template would put in its page.
struct UrlsHandler : gale::RequestHandler {
    gale::task<void> get() {
        set_header("Content-Type", "text/plain");
        write(static_url("css/index.css") + "\n");
        write(static_url("js/index.js") + "\n");
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    std::string statics = statics_directory(args);
    std::string html = statics + "/html";
    gale::Application app(
        {
            {R"(^/()$)", gale::handler<gale::StaticFileHandler>(html, std::string("index.html"))},
            {R"(^/view/(.*)$)", gale::handler<gale::StaticFileHandler>(html)},
            {"/urls", gale::handler<UrlsHandler>()},
        },
        {.static_path = statics});
    example::serve(app, args);
}
