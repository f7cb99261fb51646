// send_error and write_error (seed 004, "184. 输出" 6-7).
//   /send_error        writes, then send_error(404): the buffer is dropped, Tornado's 404 page
//   /send_error_write  the same, then write() again: refused ("Cannot write() after
//                      finish()", logged), the 404 page already sent
//   /?code=404&title=..&content=..   send_error with the handler's own error page
// Tornado passes send_error's keyword arguments on to write_error; in C++ the
// handler keeps what its write_error shows in members.
//
//   $ errors                      # --port=8000
//   $ curl 'http://127.0.0.1:8000/?code=404&title=Oops&content=Gone'
//   <h1>出错了，程序员GG正在赶过来！</h1><p>错误名：Oops</p><p>错误详情：Gone</p>
#include <cstdlib>
#include <string>

#include <gale/web.hpp>

#include "example_args.hpp"

struct SendErrorHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("主页");
        send_error(404);
        co_return;
    }
};

struct SendErrorThenWriteHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("主页");
        send_error(404);
        write("结束");  // throws: do not write after send_error
        co_return;
    }
};

struct IndexHandler : gale::RequestHandler {
    std::string title, content;  // what write_error shows

    gale::task<void> get() {
        std::optional<std::string> code = get_argument("code", std::nullopt);
        if (code) {
            title = get_argument("title", "");
            content = get_argument("content", "");
            send_error(std::atoi(code->c_str()));
        } else {
            write("主页");
        }
        co_return;
    }

    void write_error(int, std::exception_ptr) override {
        write("<h1>出错了，程序员GG正在赶过来！</h1>");
        write("<p>错误名：" + title + "</p>");
        write("<p>错误详情：" + content + "</p>");
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    gale::Application app({
        {"/", gale::handler<IndexHandler>()},
        {"/send_error", gale::handler<SendErrorHandler>()},
        {"/send_error_write", gale::handler<SendErrorThenWriteHandler>()},
    });
    example::serve(app, args);
}
