// A route's regex groups become the method's arguments (seed 001, "handle url").
//
//   $ story                       # --port=8888
//   $ curl http://127.0.0.1:8888/story/42
//   You requested the story 42
#include <string>

#include <gale/web.hpp>

#include "example_args.hpp"

struct MainHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("You requested the main page");
        co_return;
    }
};

struct StoryHandler : gale::RequestHandler {
    gale::task<void> get(std::string_view story_id) {
        write("You requested the story " + std::string(story_id));
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8888);
    gale::Application app({
        {"/", gale::handler<MainHandler>()},
        {"/story/([0-9]+)", gale::handler<StoryHandler>()},
    });
    example::serve(app, args);
}
