// tests for examples/: each example server is started from this build's
// examples/ directory on an ephemeral port (--port=0) and asked, with curl,
// what its seed program (../shared/seeds, see examples/SEEDS.md) is asked
// here; the answer must be the Python program's. The expected transcripts
// (curl -i without the Date and Server headers) were recorded once from the
// seed programs, with the routes of their C++ twins, run by /usr/bin/python3
// with Tornado 6.2 (the recording script is described in examples/SEEDS.md).
// Where gale differs from Tornado on purpose, the expectation says so.
// Some tests also use gale's own client, and the examples' standard output
// (what the seed programs print) and log.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gale/httpclient.hpp>

#include "support.hpp"

using namespace std::chrono_literals;
using gale_test::run_command;

namespace {

// Where the examples were built: $GALE_EXAMPLES_DIR, else examples/ next
// to this program's tests/ directory in the build tree.
std::filesystem::path examples_dir() {
    if (const char* dir = std::getenv("GALE_EXAMPLES_DIR")) return dir;
    return std::filesystem::canonical("/proc/self/exe").parent_path().parent_path() / "examples";
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// An example program running in a process group of its own (so that a
// server's children go with it), its standard output read through a pipe,
// its standard error (the log) kept in a file. A server announces
// "Listening on http://127.0.0.1:PORT/" (after what it prints first, kept in
// printed_before()); port() is that port.
class example_process {
public:
    explicit example_process(const std::string& name, std::vector<std::string> args = {}) {
        std::filesystem::path program = examples_dir() / name;
        if (!std::filesystem::exists(program))
            throw std::runtime_error(program.string() + " is not built (configure with -Dexamples=true)");
        char log_template[] = "/tmp/gale-example-log-XXXXXX";
        int log_fd = ::mkstemp(log_template);
        log_path_ = log_template;
        int out[2];
        if (log_fd < 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
        args.insert(args.begin(), "--port=0");
        args.insert(args.begin(), program.string());
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::setpgid(0, 0);
            ::dup2(out[1], 1);
            ::dup2(log_fd, 2);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::setpgid(pid_, pid_);
        ::close(out[1]);
        ::close(log_fd);
        out_ = out[0];
        std::string line;
        while (!(line = read_line()).starts_with("Listening on http://")) printed_before_.push_back(line);
        port_ = static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
    }
    example_process(const example_process&) = delete;
    example_process& operator=(const example_process&) = delete;
    ~example_process() {
        ::kill(-pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        ::close(out_);
        std::filesystem::remove(log_path_);
    }

    std::uint16_t port() const noexcept { return port_; }
    pid_t pid() const noexcept { return pid_; }
    std::string url(std::string_view path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
    }
    // The next line the program prints (without its newline).
    std::string read_line(std::chrono::milliseconds timeout = 20s) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (std::size_t nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            pollfd p{out_, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
                throw std::runtime_error("no line from the example in time; its log:\n" + log());
            char chunk[4096];
            ssize_t n = ::read(out_, chunk, sizeof chunk);
            if (n <= 0) throw std::runtime_error("the example ended; its log:\n" + log());
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    // What the program printed before its "Listening on" line.
    const std::vector<std::string>& printed_before() const noexcept { return printed_before_; }
    // What the program has logged so far.
    std::string log() const { return read_file(log_path_); }

private:
    pid_t pid_ = -1;
    int out_ = -1;
    std::uint16_t port_ = 0;
    std::string buffer_;
    std::string log_path_;
    std::vector<std::string> printed_before_;
};

// One request (curl options, path) and the answer expected.
struct exchange {
    const char* options;
    const char* path;
    const char* expected;
};

// curl -i's answer as the recording saw it: the head without Date and
// Server, CRs removed, a blank line, the body; trailing newlines folded to one.
std::string transcript(const example_process& p, const std::string& options, const std::string& path) {
    std::string raw = run_command("curl -s -i " + options + " '" + p.url(path) + "'");
    std::size_t end = raw.find("\r\n\r\n");
    if (end == std::string::npos) return "no response: " + raw;
    std::istringstream head(raw.substr(0, end));
    std::string out, line;
    while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.starts_with("Date:") || line.starts_with("Server:")) continue;
        out += line + "\n";
    }
    out += "\n" + raw.substr(end + 4);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out + "\n";
}

void check_exchanges(const example_process& p, const std::vector<exchange>& exchanges) {
    for (const exchange& e : exchanges) {
        INFO("curl " << e.options << " " << e.path);
        CHECK(transcript(p, e.options, e.path) == e.expected);
    }
}

// The seed programs' answers under Tornado 6.2 (recorded; see the top).
namespace tornado {
const std::vector<exchange> hello = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "e02aa1b106d5c7c6a98def2b13005d5b84fd8dc8"
Content-Length: 12

Hello, world
)"},
};
const std::vector<exchange> hello_post = {
    {"-d ''", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Content-Length: 12

Hello Wrold!
)"},
    {"", "/", R"(HTTP/1.1 405 Method Not Allowed
Content-Type: text/html; charset=UTF-8
Allow: POST
Content-Length: 87

<html><title>405: Method Not Allowed</title><body>405: Method Not Allowed</body></html>
)"},
};
const std::vector<exchange> story = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "f5ba0514f4b1c0b96dc133ae30be684002b218e7"
Content-Length: 27

You requested the main page
)"},
    {"", "/story/42", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "c0d722f0f620360309969bbf2203b75fca423b4c"
Content-Length: 26

You requested the story 42
)"},
    {"", "/story/x", R"(HTTP/1.1 404 Not Found
Content-Type: text/html; charset=UTF-8
Content-Length: 69

<html><title>404: Not Found</title><body>404: Not Found</body></html>
)"},
};
const std::vector<exchange> message_form = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "8f05d16bedf60756d7a430b3cbc1f6eb33a41f1b"
Content-Length: 134

<html><body><form action="/" method="post"><input type="text" name="message"><input type="submit" value="Submit"></form></body></html>
)"},
    {"-d message=hi+there", "/", R"(HTTP/1.1 200 OK
Content-Type: text/plain
Content-Length: 18

You wrote hi there
)"},
    {"-d ''", "/", R"(HTTP/1.1 400 Bad Request
Content-Type: text/html; charset=UTF-8
Content-Length: 73

<html><title>400: Bad Request</title><body>400: Bad Request</body></html>
)"},
};
const std::vector<exchange> path_args = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "fee1db16228ff29046e32122bc751342fe719be8"
Content-Length: 13

hello itcast.
)"},
    {"", "/sub-city/python/beijing", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "138be652bbb7b69744bc772a341d4198ecc88117"
Content-Length: 33

Subject: python<br/>City: beijing
)"},
    {"", "/sub-date/python/20161011", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "3ad71b336c1d7f3fdbb31ba8aebf4622f3b51010"
Content-Length: 34

Date: 20161011<br/>Subject: python
)"},
};
const std::vector<exchange> people_urls = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "88fdd585121a4ccb3d1540527aee53a77c77abb8"
Content-Length: 6

hello1
)"},
    {"", "/people/42", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "92cfceb39d57d914ed8b14d0e37643de0797ae56"
Content-Length: 2

42
)"},
    {"", "/people/ann/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "4ce87cf3c140685e56d01e208fcc2994ea037996"
Content-Length: 10

hello1:ann
)"},
    {"", "/people/ann/42", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "16bff0003b447b183cd881d54e0eb0bf43195e65"
Content-Length: 5

ann42
)"},
    {"", "/people/ann/42/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "16bff0003b447b183cd881d54e0eb0bf43195e65"
Content-Length: 5

ann42
)"},
};
const std::vector<exchange> subdomains = {
    {"-H 'Host: a.com'", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "595a3a5594021310372793d66732ff4e0401f1f9"
Content-Length: 12

Hello, a.com
)"},
    {"-H 'Host: www.a.com:8888'", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "595a3a5594021310372793d66732ff4e0401f1f9"
Content-Length: 12

Hello, a.com
)"},
    {"-H 'Host: bbs.b.com:8888'", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "0e98f28a6df3be3018779aa2bd5401b57f44d909"
Content-Length: 16

Hello, world,bbs
)"},
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "5c2a8945f8b7bae54a4ab447cd893c47d0aef55f"
Content-Length: 16

Hello, world,127
)"},
};
const std::vector<exchange> named_urls = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "5f06e749c40fab5e0ee77ba484aa395750a7ad6e"
Content-Length: 28

<a href="/python">itcast</a>
)"},
    {"", "/cpp", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "372946aa26080e14f96a0c055a7702bce6227d43"
Content-Length: 3

c++
)"},
    {"", "/python", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "4235227b51436ad86d07c7cf5d69bda2644984de"
Content-Length: 6

python
)"},
};
const std::vector<exchange> arguments = {
    {"-d 'a=1&a=+2+&b=x%27y'", "/?a=q&a=%20r%20", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Content-Length: 242

query_arg:r<br/>query_args:['q', 'r']<br/>body_arg:2<br/>body_args:['1', ' 2 ']<br/>arg:2<br/>args:['q', 'r', '1', '2']<br/>default_arg:x'y<br/>default_args:["x'y"]<br/>missing_arg:We catched the MissingArgumentError!<br/>missing_args:[]<br/>
)"},
    {"-d a=1", "/", R"(HTTP/1.1 400 Bad Request
Content-Type: text/html; charset=UTF-8
Content-Length: 73

<html><title>400: Bad Request</title><body>400: Bad Request</body></html>
)"},
};
const std::vector<exchange> write_json = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "430ce34d020724ed75a196dfc2ad67c77772d169"
Content-Length: 12

hello world!
)"},
    {"", "/dumps", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "b05b976ec132093c22c4f6ed86a57aec918131b4"
Content-Length: 44

{"name": "zhangsan", "age": 24, "gender": 1}
)"},
    {"", "/dict", R"(HTTP/1.1 200 OK
Content-Type: application/json; charset=UTF-8
Etag: "b05b976ec132093c22c4f6ed86a57aec918131b4"
Content-Length: 44

{"name": "zhangsan", "age": 24, "gender": 1}
)"},
    {"", "/header", R"(HTTP/1.1 200 OK
Content-Type: application/json; charset=UTF-8
Etag: "b05b976ec132093c22c4f6ed86a57aec918131b4"
Content-Length: 44

{"name": "zhangsan", "age": 24, "gender": 1}
)"},
};
const std::vector<exchange> headers = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: application/json; charset=UTF-8
Itcast: i love python
Etag: "b05b976ec132093c22c4f6ed86a57aec918131b4"
Content-Length: 44

{"name": "zhangsan", "age": 24, "gender": 1}
)"},
    {"-d ''", "/", R"(HTTP/1.1 200 OK
Content-Type: application/json; charset=UTF-8
Itcast: python
Content-Length: 44

{"name": "zhangsan", "age": 24, "gender": 1}
)"},
};
const std::vector<exchange> status = {
    {"", "/err/404", R"(HTTP/1.1 404 Not Found
Content-Type: text/html; charset=UTF-8
Content-Length: 12

hello itcast
)"},
    {"", "/err/210", R"(HTTP/1.1 210 itcast error
Content-Type: text/html; charset=UTF-8
Content-Length: 12

hello itcast
)"},
    {"", "/err/211", R"(HTTP/1.1 211 Unknown
Content-Type: text/html; charset=UTF-8
Content-Length: 12

hello itcast
)"},
};
const std::vector<exchange> redirect = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "25c408b30e744f1d264bdff79bb170c00a2b3a9b"
Content-Length: 6

主页
)"},
    {"", "/login", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "9112da887929851d6069374ba23c1860e057ebd4"
Content-Length: 63

<form method="post"><input type="submit" value="登陆"></form>
)"},
    {"-d ''", "/login", R"(HTTP/1.1 302 Found
Content-Type: text/html; charset=UTF-8
Location: /
Content-Length: 0
)"},
    {"", "/old-page", R"(HTTP/1.1 301 Moved Permanently
Content-Type: text/html; charset=UTF-8
Location: /some-canonical-page
Content-Length: 0
)"},
    {"", "/foo?x=1", R"(HTTP/1.1 302 Found
Content-Type: text/html; charset=UTF-8
Location: /bar?x=1
Content-Length: 0
)"},
    {"", "/static/tornado-0.2.tar.gz", R"(HTTP/1.1 301 Moved Permanently
Content-Type: text/html; charset=UTF-8
Location: http://github.com/downloads/facebook/tornado/tornado-0.2.tar.gz
Content-Length: 0
)"},
};
const std::vector<exchange> errors = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "25c408b30e744f1d264bdff79bb170c00a2b3a9b"
Content-Length: 6

主页
)"},
    {"", "/send_error", R"(HTTP/1.1 404 Not Found
Content-Type: text/html; charset=UTF-8
Content-Length: 69

<html><title>404: Not Found</title><body>404: Not Found</body></html>
)"},
    {"", "/send_error_write", R"(HTTP/1.1 404 Not Found
Content-Type: text/html; charset=UTF-8
Content-Length: 69

<html><title>404: Not Found</title><body>404: Not Found</body></html>
)"},
    {"", "/?code=404&title=Oops&content=Gone", R"(HTTP/1.1 404 Not Found
Content-Type: text/html; charset=UTF-8
Content-Length: 99

<h1>出错了，程序员GG正在赶过来！</h1><p>错误名：Oops</p><p>错误详情：Gone</p>
)"},
    {"", "/?code=503&title=t", R"(HTTP/1.1 503 Service Unavailable
Content-Type: text/html; charset=UTF-8
Content-Length: 92

<h1>出错了，程序员GG正在赶过来！</h1><p>错误名：t</p><p>错误详情：</p>
)"},
};
const std::vector<exchange> hooks = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "da39a3ee5e6b4b0d3255bfef95601890afd80709"
Content-Length: 0
)"},
    {"-d ''", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Content-Length: 0
)"},
};
const std::vector<exchange> prepare_json = {
    {"-H 'Content-Type: application/json' -d '{\"a\": \"x\", \"b\": 2}'", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Content-Length: 36

<h3>a</h3><p>x</p><h3>b</h3><p>2</p>
)"},
    {"-X PUT -H 'Content-Type: application/json; charset=UTF-8' -d '{\"k\": \"v\"}'", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Content-Length: 18

<h3>k</h3><p>v</p>
)"},
    {"-d a=1", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Content-Length: 0
)"},
};
const std::vector<exchange> httpserver = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "5b5f6066f3110991a3a60a86da68fa7cdcdc56ec"
Content-Length: 13

Hello Itcast!
)"},
};
const std::vector<exchange> ip_lookup = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "bbfa36d7862d3b7f4753c2f9be08908ce6806af7"
Content-Length: 45

国家：中国 省份: 北京 城市: 北京
)"},
    {"", "/info", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "bbfa36d7862d3b7f4753c2f9be08908ce6806af7"
Content-Length: 45

国家：中国 省份: 北京 城市: 北京
)"},
    {"", "/parallel", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "99edaa3fbc5349f028124f87ccb29bc3e4a353b8"
Content-Length: 284

14.130.112.24:<br/>国家：中国 省份: 北京 城市: 北京<br/>15.130.112.24:<br/>国家：美国 省份: 加利福尼亚 城市: 帕洛阿尔托<br/>16.130.112.24:<br/>查询IP信息错误<br/>17.130.112.24:<br/>国家：美国 省份: 加利福尼亚 城市: 库比蒂诺<br/>
)"},
};
const std::vector<exchange> coroutine_fetch = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "34c50822fdfef646359e160ef8264c6c669cb08b"
Content-Length: 46

<html><body>a stand-in home page</body></html>
)"},
};
const std::vector<exchange> feed_count = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "69642cd95956c97b6bcb5553690f1a0daedd117e"
Content-Length: 41

Fetched 3 entries from the FriendFeed API
)"},
};
const std::vector<exchange> house_site = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "9bf378f52b7967855402058c5ed8b44ee199b85b"
Content-Length: 2972

<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=device-width, initial-scale=1, maximum-scale=1, user-scalable=no">

<title>爱家-房源</title>

<link href="/static/plugins/bootstrap/css/bootstrap.min.css?v=fc0ed70a8fb43d90daa6d6cc657bf6ddea69a82cad7dab8376c39eba1054569fde88e460c4d5c3952aadb9042656400e83a223ece84ea0e904d6929c32eb8628" rel="stylesheet">
<link href="/static/plugins/font-awesome/css/font-awesome.min.css?v=2e964537e18e4ddc26e8f327c217bbd762eee340c74c2922024fa8e3eb5fd657b47f7f562531cef10f69db458efe28ebf23fa0e55c7aa628b1fe49ee5d4d63fe" rel="stylesheet">
<link href="/static/css/reset.css?v=9af7764354e59543725ba9a089ec1c932fc01b9ed8a3c5448ce1abec479bf68a9c1bcd431d53b874f0ea7f7548522c5ee03a0761c2c506f18cb590bddb8d8a82" rel="stylesheet">
<link href="/static/css/main.css?v=518ddd5784680ad4b07a4de194eb5864cbac1b47808ea8ac177493a32ffb1026a1690e731abb254e94014ee3748547afc1ed9b0a90bda18a2924677c5d3aa9f4" rel="stylesheet">

<link href="/static/css/index.css?v=33fdeccb9ff8dfd53c6fb566c0ac10b8eb5cdbf39abca970ad1f861e899cdd897ba694b8b3f306278889bc6c6e6dcec5f0d43dd213da95c26a10d934c893ce1c" rel="stylesheet">

</head>
<body>
<div class="container">
<div class="top-bar">

<div class="nav-bar">
<h3 class="page-title">房 源</h3>
</div>

</div>

<ul class="house-list">


<li class="house-item">
<a href=""><img src="/static/images/home01.jpg"></a>
<div class="house-desc">
<div class="landlord-pic"><img src="/static/images/landlord01.jpg"></div>
<div class="house-price">￥<span>398</span>/晚</div>
<div class="house-intro">
<span class="house-title">宽窄巷子+160平大空间+文化保护区双地铁</span>
<em>整套出租 - 5分/6点评 - 北京市丰台区六里桥地铁</em>
</div>
</div>
</li>

<li class="house-item">
<a href=""><img src="/static/images/home01.jpg"></a>
<div class="house-desc">
<div class="landlord-pic"><img src="/static/images/landlord01.jpg"></div>
<div class="house-price">￥<span>398</span>/晚</div>
<div class="house-intro">
<span class="house-title">宽窄巷子+160平大空间+文化保护区双地铁</span>
<em>整套出租 - 5分/6点评 - 北京市丰台区六里桥地铁</em>
</div>
</div>
</li>


</ul>

<div class="footer">

<p><span><i class="fa fa-copyright"></i></span>爱家租房&nbsp;&nbsp;享受家的温馨</p>

</div>
</div>
<script src="/static/js/jquery.min.js?v=da2e1808a9f59b8571893dfa8ddb7cb73843c60da2a5a830671bcbdeae823243b9fef98c45041eae01e26018c5e23ba73732a8dbffd4931bdccdd762d1632614"></script>
<script src="/static/plugins/bootstrap/js/bootstrap.min.js?v=6a20f197a00da221bc4771aefe0b22fd84364a46c4e55069a3a115a90187504dd2f642ed4c884e464d216e26fc57615a741ea99ce9ee7c0d1c569d490c894d2a"></script>

<script src="/static/js/index.js?v=9a847a16b50477492b6cfabe6eaf4be56b9228dd2230f8d159dbf06106886dfc78b6d794b083ec882f77791e38bd278e370199c1eb4d899c235c81818a7eeea9"></script>

</body>
</html>
)"},
    {"", "/new", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "50925baf0697cbc6f87fa0d474cd73c6eeb3d829"
Content-Length: 190

<!DOCTYPE html>
<html>
<head>
<title>新建房源</title>
</head>
<body>
<form method="post">
<textarea name="text"></textarea>
<input type="submit" value="提交">
</form>

</body>
</html>
)"},
    {R"(-d 'text=<script>alert("hello!");</script>')", "/new", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Content-Length: 245

<!DOCTYPE html>
<html>
<head>
<title>新建房源</title>
</head>
<body>
<form method="post">
<textarea name="text"></textarea>
<input type="submit" value="提交">
</form>
&lt;script&gt;alert(&quot;hello!&quot;);&lt;/script&gt;
</body>
</html>
)"},
    {R"(-d 'text=<b>hi</b> %26 "x"')", "/new_raw", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Content-Length: 261

<!DOCTYPE html>
<html>
<head>
<title>新建房源</title>
</head>
<body>
<form method="post">
<textarea name="text"></textarea>
<input type="submit" value="提交">
</form>
<p><b>hi</b> & "x"</p>
<p>&lt;b&gt;hi&lt;/b&gt; &amp; &quot;x&quot;</p>
</body>
</html>
)"},
};
const std::vector<exchange> entries = {
    {"", "/", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "7e6a21d86bfdea642a436dc6b59a81683e26ce84"
Content-Length: 781

<!DOCTYPE html>
<html>
<head>
<title>Entries</title>
<style type="text/css">
.entry { margin-bottom: 1em; }
</style>
</head>
<body>

<div class="entry">
<h2><a href="/entry/3">Templates &amp; modules</a></h2>
<div class="date">2026-11-03</div>
<div class="body"><p>{% module Entry(entry) %} renders <em>this</em>.</p></div>

<a href="/entry/3">2 comments</a>

</div>


<div class="entry">
<h2><a href="/entry/2">Static files</a></h2>
<div class="date">2026-11-02</div>
<div class="body"><p>static_url adds a version.</p></div>

<a href="/entry/2">1 comments</a>

</div>


<div class="entry">
<h2><a href="/entry/1">Hello, world</a></h2>
<div class="date">2026-11-01</div>
<div class="body"><p>The first entry.</p></div>

<a href="/entry/1">0 comments</a>

</div>


</body>
</html>
)"},
    {"", "/entry/3", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "6de795eb451d658c0f41738d20ac3402794197ae"
Content-Length: 488

<!DOCTYPE html>
<html>
<head>
<title>Templates &amp; modules</title>
<style type="text/css">
.entry { margin-bottom: 1em; }
</style>
</head>
<body>
<div class="entry">
<h2><a href="/entry/3">Templates &amp; modules</a></h2>
<div class="date">2026-11-03</div>
<div class="body"><p>{% module Entry(entry) %} renders <em>this</em>.</p></div>

<ul class="comments">
<li>Neat</li><li>&lt;script&gt;alert(1)&lt;/script&gt;</li>
</ul>

</div>

<p><a href="/">All entries</a></p>
</body>
</html>
)"},
    {"", "/entry/1", R"(HTTP/1.1 200 OK
Content-Type: text/html; charset=UTF-8
Etag: "8fa443d41a624099422ba74defb9d0566b605e4d"
Content-Length: 375

<!DOCTYPE html>
<html>
<head>
<title>Hello, world</title>
<style type="text/css">
.entry { margin-bottom: 1em; }
</style>
</head>
<body>
<div class="entry">
<h2><a href="/entry/1">Hello, world</a></h2>
<div class="date">2026-11-01</div>
<div class="body"><p>The first entry.</p></div>

<ul class="comments">

</ul>

</div>

<p><a href="/">All entries</a></p>
</body>
</html>
)"},
    {"", "/entry/9", R"(HTTP/1.1 404 Not Found
Content-Type: text/html; charset=UTF-8
Content-Length: 69

<html><title>404: Not Found</title><body>404: Not Found</body></html>
)"},
};
}  // namespace tornado

gale::HTTPResponse gale_fetch(const std::string& url) {
    gale::HTTPClient client;
    return client.fetch(gale::HTTPRequest(url).with_follow_redirects(false), false);
}

}  // namespace

TEST_CASE("examples: hello") {
    example_process p("hello");
    check_exchanges(p, tornado::hello);
    CHECK(gale_fetch(p.url("/")).body == "Hello, world");  // and through gale's client
}

TEST_CASE("examples: hello_post (405 for GET; gale adds Allow)") {
    example_process p("hello_post");
    check_exchanges(p, tornado::hello_post);
}

TEST_CASE("examples: story") {
    example_process p("story");
    check_exchanges(p, tornado::story);
}

TEST_CASE("examples: message_form") {
    example_process p("message_form");
    check_exchanges(p, tornado::message_form);
    CHECK(p.log().find("400 POST / (127.0.0.1): Missing argument message") != std::string::npos);
}

TEST_CASE("examples: path_args") {
    example_process p("path_args");
    check_exchanges(p, tornado::path_args);
}

TEST_CASE("examples: people_urls (initialize prints its argument)") {
    example_process p("people_urls");
    check_exchanges(p, tornado::people_urls);
    CHECK(p.read_line() == "wh");  // once: one request reached PeopleNameHandler
}

TEST_CASE("examples: upload saves the file") {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / ("gale-upload-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string content("binary\0data\r\n--not-a-boundary\xff", 30);
    std::ofstream(dir / "photo.png", std::ios::binary) << content;
    {
        example_process p("upload", {"--upload_dir=" + dir.string()});
        CHECK(transcript(p, "-F 'img=@" + (dir / "photo.png").string() + ";filename=a.png'", "/upload") ==
              "HTTP/1.1 200 OK\nContent-Type: text/html; charset=UTF-8\nContent-Length: 2\n\nOK\n");
        CHECK(read_file(dir / "itcast") == content);
        std::filesystem::remove(dir / "itcast");
        CHECK(transcript(p, "-F 'other=x'", "/upload").ends_with("\n\nOK\n"));  // no img: nothing saved
        CHECK(!std::filesystem::exists(dir / "itcast"));
        CHECK(gale_fetch(p.url("/")).body == "hello itcast.");
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("examples: subdomains (add_handlers)") {
    example_process p("subdomains");
    check_exchanges(p, tornado::subdomains);
}

TEST_CASE("examples: named_urls (initialize arguments, reverse_url)") {
    example_process p("named_urls");
    check_exchanges(p, tornado::named_urls);
}

TEST_CASE("examples: arguments (query, body and both)") {
    example_process p("arguments");
    check_exchanges(p, tornado::arguments);
    CHECK(p.read_line() == "HTTP 400: Bad Request (Missing argument c)");  // what the seed prints
}

TEST_CASE("examples: write_json") {
    example_process p("write_json");
    check_exchanges(p, tornado::write_json);
}

TEST_CASE("examples: headers (set_default_headers)") {
    example_process p("headers");
    check_exchanges(p, tornado::headers);
    for (const char* line : {"执行了set_default_headers()", "执行了get()", "执行了set_default_headers()", "执行了post()"})
        CHECK(p.read_line() == line);
}

TEST_CASE("examples: status") {
    example_process p("status");
    check_exchanges(p, tornado::status);
}

TEST_CASE("examples: redirect") {
    example_process p("redirect");
    check_exchanges(p, tornado::redirect);
}

TEST_CASE("examples: errors (send_error, write_error)") {
    example_process p("errors");
    check_exchanges(p, tornado::errors);
    std::string log = p.log();
    CHECK(log.find("Uncaught exception GET /send_error_write (127.0.0.1)") != std::string::npos);
    CHECK(log.find("Cannot write() after finish()") != std::string::npos);
}

namespace {

// What the hooks example printed for one GET and one POST (up to the second on_finish).
std::vector<std::string> hook_lines(example_process& p) {
    std::vector<std::string> lines;
    int finished = 0;
    while (finished < 2) {
        lines.push_back(p.read_line());
        if (lines.back() == "调用了on_finish()") ++finished;
    }
    return lines;
}

const std::vector<std::string> tornado_hook_order = {
    "调用了set_default_headers()", "调用了initialize()", "调用了prepare()", "调用了get()", "调用了on_finish()",
    "调用了set_default_headers()", "调用了initialize()", "调用了prepare()", "调用了post()",
    "调用了set_default_headers()", "调用了write_error()", "调用了on_finish()"};

}  // namespace

TEST_CASE("examples: hooks run in Tornado's order (initialize aside)") {
    example_process p("hooks");
    check_exchanges(p, tornado::hooks);
    std::vector<std::string> lines = hook_lines(p);
    std::erase(lines, "调用了initialize()");
    std::vector<std::string> expected = tornado_hook_order;
    std::erase(expected, "调用了initialize()");
    CHECK(lines == expected);
}

TEST_CASE("examples: hooks: an argument-less initialize() is called, as in Tornado") {
    example_process p("hooks");
    check_exchanges(p, tornado::hooks);
    CHECK(hook_lines(p) == tornado_hook_order);
}

TEST_CASE("examples: prepare_json") {
    example_process p("prepare_json");
    check_exchanges(p, tornado::prepare_json);
}

TEST_CASE("examples: httpserver") {
    example_process p("httpserver");
    check_exchanges(p, tornado::httpserver);
}

TEST_CASE("examples: multiprocess serves from the children it forks") {
    example_process p("multiprocess", {"--processes=2"});
    for (int i = 0; i < 6; ++i) {
        gale::AsyncHTTPClientOptions options;
        options.keep_alive = false;  // a new connection each time
        gale::HTTPClient client(options);
        gale::HTTPResponse r = client.fetch(gale::HTTPRequest(p.url("/")), false);
        CHECK(r.code == 200);
        CHECK(r.body == "Hello Itcast!");
    }
    // The parent and its two children, all in the example's process group.
    std::string count;
    for (int i = 0; i < 100 && count != "3\n"; ++i) {
        count = run_command("pgrep -c -g " + std::to_string(p.pid()));
        if (count != "3\n") ::usleep(50 * 1000);
    }
    CHECK(count == "3\n");
}

TEST_CASE("examples: ip_lookup against the upstream stand-in (gather over a list and a map)") {
    example_process upstream("upstream");
    example_process p("ip_lookup", {"--upstream=http://127.0.0.1:" + std::to_string(upstream.port())});
    check_exchanges(p, tornado::ip_lookup);
    gale::HTTPResponse r = gale_fetch(p.url("/parallel"));
    CHECK(r.code == 200);
    CHECK(std::string(tornado::ip_lookup[2].expected).ends_with("\n\n" + r.body + "\n"));
}

TEST_CASE("examples: coroutine_fetch and feed_count fetch from the upstream stand-in") {
    example_process upstream("upstream");
    example_process fetch("coroutine_fetch", {"--upstream=" + upstream.url("/")});
    check_exchanges(fetch, tornado::coroutine_fetch);
    example_process feed("feed_count", {"--upstream=http://127.0.0.1:" + std::to_string(upstream.port())});
    check_exchanges(feed, tornado::feed_count);
}

TEST_CASE("examples: http_fetch prints a page, or the error") {
    example_process hello("hello");
    std::string program = (examples_dir() / "http_fetch").string();
    CHECK(run_command(program + " --url=" + hello.url("/")) == "Hello, world\n");
    CHECK(run_command(program + " --url=http://127.0.0.1:1/") ==
          "Error: connect to 127.0.0.1:1: Connection refused\n");
}

TEST_CASE("examples: static_files serves one page three ways (helper static's example)") {
    // The compiler ran in the build directory, where a relative __FILE__ starts.
    std::filesystem::path statics =
        (examples_dir().parent_path() / __FILE__).parent_path().parent_path() / "examples" / "statics";
    example_process p("static_files", {"--static_path=" + statics.string()});
    std::string page = read_file(statics / "html" / "index.html");
    REQUIRE(!page.empty());
    for (const char* path : {"/", "/view/index.html", "/static/html/index.html"}) {
        INFO(path);
        gale::HTTPResponse r = gale_fetch(p.url(path));
        CHECK(r.code == 200);
        CHECK(r.body == page);
    }
    gale::HTTPResponse css = gale_fetch(p.url("/static/css/index.css"));
    CHECK(css.code == 200);
    CHECK(css.headers.get("Content-Type") == "text/css");
    CHECK(css.body == read_file(statics / "css" / "index.css"));
    CHECK(gale_fetch(p.url("/view/nope.html")).code == 404);
}

TEST_CASE("examples: options_port reads its config file and command line (helper options' example)") {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / ("gale-options-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "config") << "port = 0\nitcast = [\"python\",\"c++\"]\n";
    {
        example_process p("options_port", {"--config=" + (dir / "config").string(), "--itcast=a,b"});
        CHECK(p.printed_before() == std::vector<std::string>{"['a', 'b']"});
        CHECK(gale_fetch(p.url("/")).body == "Hello Itcast!");
    }
    std::filesystem::remove_all(dir);
}

// The example's own directory under examples/ (the compiler ran in the
// build directory, where a relative __FILE__ starts).
std::filesystem::path example_source(const std::string& name) {
    return (examples_dir().parent_path() / __FILE__).parent_path().parent_path() / "examples" / name;
}

TEST_CASE("examples: house_site (templates with blocks, static_url, a function, the escaping form)") {
    std::filesystem::path site = example_source("house_site");
    example_process p("house_site",
                      {"--template_path=" + (site / "templates").string(), "--static_path=" + (site / "statics").string()});
    check_exchanges(p, tornado::house_site);
    CHECK(p.read_line() == R"(<script>alert("hello!");</script>)");  // the seed prints what was posted
    CHECK(p.read_line() == R"(<b>hi</b> & "x")");
    gale::HTTPResponse page = gale_fetch(p.url("/view/index.html"));
    CHECK(page.code == 200);
    CHECK(page.body == read_file(site / "statics" / "html" / "index.html"));
}

TEST_CASE("examples: entries (a UI module with its CSS)") {
    example_process p("entries", {"--template_path=" + (example_source("entries") / "templates").string()});
    check_exchanges(p, tornado::entries);
}
