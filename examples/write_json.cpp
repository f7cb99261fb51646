// write() of text and of a JSON object (seed 004, "184. 输出" 1-2). The seed
// shows four versions of one handler; here each has a path of its own:
//   /        write("hello world!")
//   /dumps   the object serialized by hand: text/html, as the seed notes
//   /dict    write(object): the same text, Content-Type application/json
//   /header  serialized by hand, then set_header("Content-Type", json)
//
//   $ write_json                  # --port=8000
//   $ curl -i http://127.0.0.1:8000/dict
//   Content-Type: application/json; charset=UTF-8
//   {"name": "zhangsan", "age": 24, "gender": 1}
#include <gale/json.hpp>
#include <gale/web.hpp>

#include "example_args.hpp"

gale::json::object student() { return {{"name", "zhangsan"}, {"age", 24}, {"gender", 1}}; }

struct TextHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("hello world!");
        co_return;
    }
};

struct DumpsHandler : gale::RequestHandler {
    gale::task<void> get() {
        write(gale::json::dump(student()));  // json.dumps(stu): still text/html
        co_return;
    }
};

struct DictHandler : gale::RequestHandler {
    gale::task<void> get() {
        write(student());  // an object: JSON, and the Content-Type says so
        co_return;
    }
};

struct HeaderHandler : gale::RequestHandler {
    gale::task<void> get() {
        write(gale::json::dump(student()));
        set_header("Content-Type", "application/json; charset=UTF-8");
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    gale::Application app({
        {"/", gale::handler<TextHandler>()},
        {"/dumps", gale::handler<DumpsHandler>()},
        {"/dict", gale::handler<DictHandler>()},
        {"/header", gale::handler<HeaderHandler>()},
    });
    example::serve(app, args);
}
