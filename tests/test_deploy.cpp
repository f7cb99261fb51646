// The deployment of deploy/ run for real: Debian's nginx, started as a
// normal program with deploy/nginx.conf adapted to ephemeral ports and a
// temporary directory, in front of four examples/production processes
// (started with --xheaders=1, as deploy/supervisor.conf does) and the chat
// example. Checks that requests are spread over all four, that remote_ip
// is the client's and not nginx's, that nginx serves the static files with
// a long expiry for versioned URLs, that killing a process in the middle of
// requests loses none once nginx retries, and that the chat WebSocket works
// through the proxy. Skipped, with a message, when nginx (apt-get install
// nginx-light) or the examples are missing.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gale/websocket.hpp>

#include "process_support.hpp"
#include "support.hpp"

namespace {

using namespace process_test;

// The client's address: a loopback address other than nginx's own
// 127.0.0.1, so that the client and the proxy can be told apart.
const asio::ip::address client_address = asio::ip::make_address("127.0.0.2");

response get(std::uint16_t port, const std::string& path) { return http_get(port, path, client_address); }

fs::path source_root() {
    fs::path source(__FILE__);
    if (source.is_relative()) source = build_root() / source;
    return source.parent_path().parent_path().lexically_normal();
}

fs::path find_nginx() {
    for (const char* candidate : {"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"})
        if (::access(candidate, X_OK) == 0) return candidate;
    return {};
}

// Asks until the answer is a 200 (bounded: about 20 s).
bool wait_until_serving(std::uint16_t port, const std::string& path) {
    for (int i = 0; i < 400; ++i) {
        if (get(port, path).status == 200) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
    std::size_t at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, "deploy/nginx.conf no longer contains: " << from);
    text.replace(at, from.size(), to);
}

// deploy/nginx.conf with every path in `dir` and every port an ephemeral one.
std::string adapt_config(const fs::path& dir, std::uint16_t listen_port, const std::vector<std::uint16_t>& backends,
                         std::uint16_t chat_port) {
    std::ifstream in(source_root() / "deploy" / "nginx.conf");
    std::stringstream whole;
    whole << in.rdbuf();
    std::string conf = whole.str();
    const std::string d = dir.string();
    // As root, nginx's workers would run as www-data, which cannot read the
    // temporary directory; as anyone else the directive is ignored.
    replace_once(conf, "user www-data;", ::geteuid() == 0 ? "user root;" : "");
    replace_once(conf, "error_log /var/log/nginx/error.log;", "error_log " + d + "/error.log;");
    replace_once(conf, "pid /run/nginx.pid;", "pid " + d + "/nginx.pid;");
    replace_once(conf, "access_log /var/log/nginx/access.log;",
                 "access_log " + d + "/access.log;\n    client_body_temp_path " + d + "/body;\n    proxy_temp_path " +
                     d + "/proxy;\n    fastcgi_temp_path " + d + "/fastcgi;\n    uwsgi_temp_path " + d +
                     "/uwsgi;\n    scgi_temp_path " + d + "/scgi;");
    replace_once(conf, "upstream chat_backend {\n        server 127.0.0.1:8000;",
                 "upstream chat_backend {\n        server 127.0.0.1:" + std::to_string(chat_port) + ";");
    for (std::size_t i = 0; i < backends.size(); ++i)
        replace_once(conf, "server 127.0.0.1:800" + std::to_string(i) + ";",
                     "server 127.0.0.1:" + std::to_string(backends[i]) + ";");
    replace_once(conf, "listen 80;", "listen 127.0.0.1:" + std::to_string(listen_port) + ";");
    replace_once(conf, "root /var/www/gale;", "root " + d + "/www;");
    return conf;
}

// The whole deployment: four gale processes, the chat example (if built)
// and nginx in front.
struct deployment {
    temp_dir dir;
    std::vector<std::uint16_t> backend_ports;
    std::vector<std::unique_ptr<running>> backends;
    std::unique_ptr<running> chat;
    std::unique_ptr<running> nginx;
    std::uint16_t port = 0;
    std::uint16_t chat_port = 0;

    deployment(const fs::path& nginx_binary, const fs::path& production, const fs::path& chat_binary) {
        for (int i = 0; i < 4; ++i) {
            backend_ports.push_back(free_port());
            backends.push_back(std::make_unique<running>(
                std::vector<std::string>{production.string(), "--port=" + std::to_string(backend_ports.back()),
                                         "--xheaders=1"},
                dir.path / ("gale-" + std::to_string(i) + ".log")));
        }
        chat_port = free_port();
        if (!chat_binary.empty())
            chat = std::make_unique<running>(
                std::vector<std::string>{chat_binary.string(), "--port=" + std::to_string(chat_port)},
                dir.path / "chat.log");
        fs::create_directories(dir.path / "www" / "static");
        write_file(dir.path / "www" / "static" / "app.css", "body { color: teal }\n");
        port = free_port();
        write_file(dir.path / "nginx.conf", adapt_config(dir.path, port, backend_ports, chat_port));
        for (std::uint16_t backend : backend_ports) REQUIRE(wait_until_serving(backend, "/"));
        if (chat) REQUIRE(wait_until_serving(chat_port, "/"));
        nginx = std::make_unique<running>(
            std::vector<std::string>{nginx_binary.string(), "-p", dir.path.string() + "/", "-c",
                                     (dir.path / "nginx.conf").string(), "-g", "daemon off;"},
            dir.path / "nginx.out");
        REQUIRE_MESSAGE(wait_until_serving(port, "/static/app.css"), "nginx did not start; see its error.log");
    }
    ~deployment() {
        if (nginx) nginx->stop(SIGTERM);  // the master stops its workers
    }
};

}  // namespace

TEST_CASE("deploy: nginx in front of four gale processes, as deploy/nginx.conf configures it") {
    fs::path nginx = find_nginx();
    fs::path production = example("production");
    if (nginx.empty()) {
        MESSAGE("skipped: nginx is not installed (Debian: apt-get install nginx-light)");
        return;
    }
    if (production.empty()) {
        MESSAGE("skipped: examples/production is not built (-Dexamples=false)");
        return;
    }
    fs::path chat = example("chat");
    deployment site(nginx, production, chat);

    SUBCASE("requests are spread over all four processes, each seeing the client's address") {
        std::set<std::string> ports;
        for (int i = 0; i < 40; ++i) {
            response r = get(site.port, "/");
            REQUIRE(r.status == 200);
            ports.insert(field(r.body, "port"));
            CHECK(field(r.body, "remote_ip") == "127.0.0.2");  // not nginx's 127.0.0.1
            CHECK(field(r.body, "protocol") == "http");        // from X-Scheme
        }
        std::set<std::string> expected;
        for (std::uint16_t p : site.backend_ports) expected.insert(std::to_string(p));
        CHECK(ports == expected);
    }

    SUBCASE("nginx serves the static files, versioned URLs with a long expiry") {
        response versioned = get(site.port, "/static/app.css?v=0123456789abcdef");
        CHECK(versioned.status == 200);
        CHECK(versioned.body == "body { color: teal }\n");
        CHECK(versioned.head.find("Cache-Control: max-age=315360000") != std::string::npos);
        CHECK(versioned.head.find("Expires: Thu, 31 Dec 2037 23:55:55 GMT") != std::string::npos);
        response plain = get(site.port, "/static/app.css");
        CHECK(plain.status == 200);
        CHECK(plain.head.find("Expires:") == std::string::npos);
    }

    SUBCASE("killing a process during requests loses none: nginx retries them on another") {
        std::vector<response> answers(8);
        std::vector<std::thread> clients;
        for (std::size_t i = 0; i < answers.size(); ++i)
            clients.emplace_back([&, i] { answers[i] = get(site.port, "/slow?seconds=0.5"); });
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let them reach the processes
        site.backends[1]->stop(SIGKILL);
        for (std::thread& client : clients) client.join();
        for (const response& r : answers) {
            CHECK(r.status == 200);
            CHECK(r.body == "slept 0.5\n");
        }
        // nginx did meet the dead process (and retried elsewhere).
        std::ifstream log(site.dir.path / "error.log");
        std::string errors((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
        CHECK(errors.find("127.0.0.1:" + std::to_string(site.backend_ports[1])) != std::string::npos);
        // And afterwards the three others answer everything.
        std::set<std::string> ports;
        for (int i = 0; i < 20; ++i) {
            response r = get(site.port, "/");
            CHECK(r.status == 200);
            ports.insert(field(r.body, "port"));
        }
        CHECK(ports.size() == 3);
        CHECK(ports.count(std::to_string(site.backend_ports[1])) == 0);
    }

    SUBCASE("the chat WebSocket works through the proxy") {
        if (!site.chat) {
            MESSAGE("skipped: examples/chat is not built");
            return;
        }
        auto [joined, said] = gale_test::run_async([&]() -> gale::task<std::pair<std::string, std::string>> {
            std::string url = "ws://127.0.0.1:" + std::to_string(site.port) + "/chat";
            gale::WebSocketClientConnection ws = co_await gale::websocket_connect(url);
            auto first = co_await ws.read_message();
            co_await ws.write_message("hello through nginx");
            std::string heard;
            while (heard.find("hello through nginx") == std::string::npos) {
                auto next = co_await ws.read_message();
                if (!next) break;
                heard = next->data;
            }
            ws.close();
            co_return std::pair{first ? first->data : std::string(), heard};
        });
        CHECK(joined.find("进入聊天室") != std::string::npos);
        CHECK(said.find("hello through nginx") != std::string::npos);
    }
}
