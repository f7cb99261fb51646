// A script that fetches one page and prints it (seed 002, "简单httpclient测试",
// and seed 003's AsyncHTTPClient example): IOLoop::run_sync runs the
// coroutine f to its end.
//
//   $ http_fetch --url=http://127.0.0.1:8888/
//   Hello, world
//   $ http_fetch --url=http://127.0.0.1:1/
//   Error: connect to 127.0.0.1:1: Connection refused
#include <cstdio>
#include <exception>
#include <string>

#include <gale/httpclient.hpp>
#include <gale/ioloop.hpp>

#include "example_args.hpp"

gale::task<void> f(std::string url) {
    gale::AsyncHTTPClient http_client;
    try {
        gale::HTTPResponse response = co_await http_client.fetch(url);
        std::printf("%s\n", response.body.c_str());
    } catch (const std::exception& e) {
        std::printf("Error: %s\n", e.what());
    }
}

int main(int argc, char** argv) {
    example::args args(argc, argv, 0);
    std::string url = args.get("url", "http://www.baidu.com");
    gale::IOLoop::current().run_sync([&] { return f(url); });
}
