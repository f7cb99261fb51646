// The WebSocket chat room (seed 004, "在线聊天室的小Demo"): GET / renders
// chat/templates/index.html, whose script (chat/static/js/chat.js) opens a
// WebSocket to /chat. Every user who joins, speaks or leaves is announced to
// everyone in the room with the speaker's address and the local time:
//
//   $ chat                            # --port=8000 --template_path=... --static_path=...
//   $ python3 -m websockets ws://127.0.0.1:8000/chat
//   < [127.0.0.1]-[2026-11-22 05:10:00]-进入聊天室
//   > hello
//   < [127.0.0.1]-[2026-11-22 05:10:03]-说：hello
//   (another user leaving)
//   < [127.0.0.1]-[2026-11-22 05:10:09]-离开聊天室
//
// As in the seed, check_origin accepts every origin. The room is a set of
// pointers to the live handlers: a handler adds itself in open() and removes
// itself in on_close(), and write_message only queues a frame (nothing is
// awaited while the set is walked), so a connection closing during a
// broadcast cannot invalidate it; one already closing is skipped.
#include <ctime>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

#include <gale/web.hpp>
#include <gale/web_template.hpp>
#include <gale/websocket.hpp>

#include "example_args.hpp"

// --name=DIR, else chat/<beside> next to this file. A relative __FILE__ is
// relative to the build directory, the parent of this program's examples/.
std::string chat_directory(const example::args& args, std::string_view option, std::string_view beside) {
    std::string given = args.get(option);
    if (!given.empty()) return std::filesystem::absolute(given).string();
    std::filesystem::path source(__FILE__);
    if (source.is_relative())
        source = std::filesystem::canonical("/proc/self/exe").parent_path().parent_path() / source;
    return (source.parent_path() / "chat" / beside).lexically_normal().string();
}

struct IndexHandler : gale::RequestHandler {
    gale::task<void> get() {
        render("index.html");
        co_return;
    }
};

// "[remote ip]-[YYYY-mm-dd HH:MM:SS]-" followed by what happened, as the seed writes it.
std::string entry(std::string_view remote_ip, std::string_view what) {
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char stamp[32];
    std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local);
    std::string line;
    line.reserve(remote_ip.size() + n + what.size() + 6);
    line.append("[").append(remote_ip).append("]-[").append(stamp, n).append("]-").append(what);
    return line;
}

struct ChatHandler : gale::WebSocketHandler<ChatHandler> {
    static inline std::set<ChatHandler*> users;  // everyone in the room (this loop's thread only)

    void open() {
        users.insert(this);
        broadcast(entry(request().remote_ip, "进入聊天室"));
    }

    void on_message(std::string_view message, bool /*binary*/) {
        std::string said = "说：";
        said += message;
        broadcast(entry(request().remote_ip, said));
    }

    void on_close() {
        users.erase(this);
        broadcast(entry(request().remote_ip, "离开聊天室"));
    }

    bool check_origin(std::string_view /*origin*/) override { return true; }

private:
    static void broadcast(std::string_view line) {
        for (ChatHandler* user : users)
            if (!user->is_closing()) (void)user->write_message(line);
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    std::string templates = chat_directory(args, "template_path", "templates");
    gale::Application app(
        {
            {"/", gale::handler<IndexHandler>()},
            {"/chat", gale::handler<ChatHandler>()},
        },
        {.static_path = chat_directory(args, "static_path", "static"), .template_path = templates});
    example::serve(app, args);
}
