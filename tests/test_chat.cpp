// tests for examples/chat (the seed's WebSocket chat room): tests/chat_driver.py
// starts the built example on an ephemeral port and plays the same scene with
// three kinds of client — two pages in headless Chromium (DevTools protocol),
// python3-websockets and Tornado's websocket_connect: A joins, B joins, A
// says something, B leaves. Each test checks every line both users saw, in
// order, in the seed's format "[ip]-[YYYY-mm-dd HH:MM:SS]-<what happened>".
// A fourth drops five of ten connections in the middle of broadcasts. Run
// with $GALE_EXAMPLES_DIR pointing at a sanitizer build's examples, the
// tests also check that the example's sanitizers reported nothing.
//
// Needs the examples built (-Dexamples=true; $GALE_EXAMPLES_DIR overrides
// where they are) and /usr/bin/python3; the browser test needs Debian's
// chromium, the others python3-websockets and python3-tornado. A test whose
// client is missing says so and passes without checking anything.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support.hpp"

namespace fs = std::filesystem;

namespace {

fs::path this_program() { return fs::canonical("/proc/self/exe"); }

// Where the examples were built: $GALE_EXAMPLES_DIR, else examples/ next to
// this program's tests/ directory in the build tree.
fs::path chat_program() {
    if (const char* dir = std::getenv("GALE_EXAMPLES_DIR")) return fs::path(dir) / "chat";
    return this_program().parent_path().parent_path() / "examples" / "chat";
}

// tests/chat_driver.py, next to this file (a relative __FILE__ is relative to
// the build directory, the parent of this program's tests/).
fs::path driver() {
    fs::path source(__FILE__);
    if (source.is_relative()) source = this_program().parent_path().parent_path() / source;
    return source.parent_path() / "chat_driver.py";
}

bool succeeds(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// Why the scene cannot be played with this client here, or "".
std::string missing_for(const std::string& mode) {
    if (!fs::exists(chat_program())) return chat_program().string() + " is not built (configure with -Dexamples=true)";
    if (mode == "browser" && !succeeds("test -x /usr/bin/chromium"))
        return "Debian's chromium is not installed (/usr/bin/chromium)";
    if ((mode == "websockets" || mode == "crowd") && !succeeds("/usr/bin/python3 -c 'import websockets'"))
        return "python3-websockets is not installed";
    if (mode == "tornado" && !succeeds("/usr/bin/python3 -c 'import tornado.websocket'"))
        return "python3-tornado is not installed";
    return "";
}

// Whether `mode`'s clients are missing here (the test then says so and checks nothing).
bool skipped(const std::string& mode) {
    std::string why = missing_for(mode);
    if (!why.empty()) MESSAGE("skipped: " << why);
    return !why.empty();
}

struct scene {
    std::vector<std::string> a, b;  // what each user saw, without the "[ip]-[time]-" prefix
    std::string output;             // everything the driver and the server printed
};

// Plays the scene with `mode`'s clients. Every line must carry the client's
// address and a timestamp in the seed's format.
scene play(const std::string& mode) {
    scene s;
    s.output = gale_test::run_command("/usr/bin/python3 " + driver().string() + " " + mode + " " +
                                      chat_program().string() + " 2>&1");
    static const std::regex entry(R"(^([AB]): \[127\.0\.0\.1\]-\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]-(.*)$)");
    std::istringstream lines(s.output);
    for (std::string line; std::getline(lines, line);) {
        std::smatch m;
        if (!std::regex_match(line, m, entry)) continue;
        (m[1] == "A" ? s.a : s.b).push_back(m[2]);
    }
    return s;
}

const std::string joined = "进入聊天室";
const std::string said = "说：hello from A 你好";
const std::string left = "离开聊天室";

// The scene's output, or "" when it was skipped.
std::string check_scene(const std::string& mode) {
    if (skipped(mode)) return "";
    scene s = play(mode);
    INFO("the driver printed:\n" << s.output);
    CHECK(s.output.find("Sanitizer") == std::string::npos);  // a sanitizer build of the example reports nothing
    CHECK(s.output.find("runtime error") == std::string::npos);
    // A sees itself and B join, its own message, and B leave; B sees itself join and A's message.
    CHECK(s.a == std::vector<std::string>{joined, joined, said, left});
    CHECK(s.b == std::vector<std::string>{joined, said});
    return s.output;
}

}  // namespace

TEST_CASE("chat: two pages in headless Chromium join, talk and leave") {
    std::string output = check_scene("browser");
    if (output.empty()) return;
    // The rendered page linked its script and stylesheet with static_url (versioned), and the browser loaded them.
    CHECK(output.find("200 GET /static/js/chat.js?v=") != std::string::npos);
    CHECK(output.find("200 GET /static/css/chat.css?v=") != std::string::npos);
}

TEST_CASE("chat: python3-websockets clients") {
    check_scene("websockets");
}

TEST_CASE("chat: Tornado's websocket_connect clients") {
    check_scene("tornado");
}

TEST_CASE("chat: connections dropped during broadcasts (python3-websockets)") {
    if (skipped("crowd")) return;
    scene s = play("crowd");
    INFO("the driver printed:\n" << s.output);
    // Five of ten users vanish without a closing handshake while messages are broadcast: the other four
    // still get the next message and one leave line for each, and the server still answers.
    CHECK(s.output.find("survivors 4\n") != std::string::npos);
    CHECK(s.output.find("leaves seen by every survivor: 5\n") != std::string::npos);
    CHECK(s.output.find("server alive\n") != std::string::npos);
    CHECK(s.output.find("Sanitizer") == std::string::npos);
    CHECK(s.output.find("runtime error") == std::string::npos);
}
