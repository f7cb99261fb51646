// A form and get_argument (seeds 000 and 001, "arguments"): GET shows the
// form, POST answers in plain text. Without "message", Tornado's 400 page.
//
//   $ message_form                # --port=8888
//   $ curl -d message=hi http://127.0.0.1:8888/
//   You wrote hi
#include <gale/web.hpp>

#include "example_args.hpp"

struct MainHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("<html><body><form action=\"/\" method=\"post\">"
              "<input type=\"text\" name=\"message\">"
              "<input type=\"submit\" value=\"Submit\">"
              "</form></body></html>");
        co_return;
    }
    gale::task<void> post() {
        set_header("Content-Type", "text/plain");
        write("You wrote " + get_argument("message"));
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8888);
    gale::Application app({
        {"/", gale::handler<MainHandler>()},
    });
    example::serve(app, args);
}
