"""Tornado 6.2's "Hello, World!", the reference for the HTTP benchmarks
(benchmarks/run_http.sh; the numbers are in benchmarks/README.md).

    /usr/bin/python3 benchmarks/http_hello_tornado.py [--mode web|bare] [--port N]
                                                      [--routes none|regex100|pcre100]

--mode web (the default) is Tornado's hello world: a tornado.web.Application
with one RequestHandler at /, which sets Content-Type: text/plain and writes
"Hello, World!" (Tornado adds Server, Date, Etag and Content-Length itself).
The same Application also answers TechEmpower's two tests, the counterpart
of benchmarks/web_hello_gale.cpp: /plaintext (the same handler) and /json
(self.write({"message": "Hello, World!"}), application/json; charset=UTF-8).
--routes puts web_hello_gale's table of 100 regex rules in front of them,
the last one matching GET /api/v1/res99/12345 (Tornado tries each rule's
regex in turn, so regex100 and pcre100 cost it the same).

--mode bare is the like-for-like counterpart of gale's bare HTTPServer: a
tornado.httpserver.HTTPServer with a plain callback that writes the same
bytes as http_hello_gale through request.connection (Content-Type and
Content-Length only).

Like the C++ servers: "port N" on stdout once listening (0, the default,
takes any free port), "requests N" on stderr after SIGTERM or SIGINT.
Debian's python3-tornado is 6.2 on the stock asyncio loop.
"""

import argparse
import asyncio
import signal
import sys

import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web

BODY = b"Hello, World!"
requests = 0


class MainHandler(tornado.web.RequestHandler):
    def get(self):
        global requests
        requests += 1
        self.set_header("Content-Type", "text/plain")
        self.write(BODY)


class JsonHandler(tornado.web.RequestHandler):
    def get(self):
        global requests
        requests += 1
        self.write({"message": "Hello, World!"})


class ResourceHandler(tornado.web.RequestHandler):
    def get(self, _id):
        global requests
        requests += 1
        self.set_header("Content-Type", "text/plain")
        self.write(BODY)


def route_table(kind):
    if kind == "none":
        return []
    head = "/api" if kind == "regex100" else "/[a-z0-9]+"
    return [(head + "/v1/res%d/([0-9]+)" % n, ResourceHandler) for n in range(100)]


def bare_callback(request):
    global requests
    requests += 1
    headers = tornado.httputil.HTTPHeaders(
        {"Content-Type": "text/plain", "Content-Length": str(len(BODY))})
    request.connection.write_headers(
        tornado.httputil.ResponseStartLine("HTTP/1.1", 200, "OK"), headers, BODY)
    request.connection.finish()


async def main(args):
    if args.mode == "web":
        server = tornado.httpserver.HTTPServer(tornado.web.Application(route_table(args.routes) + [
            (r"/", MainHandler), (r"/plaintext", MainHandler), (r"/json", JsonHandler)]))
    else:
        server = tornado.httpserver.HTTPServer(bare_callback)
    sockets = tornado.netutil.bind_sockets(args.port, args.address)
    server.add_sockets(sockets)
    print("port", sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("requests", requests, file=sys.stderr, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("web", "bare"), default="web")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--routes", choices=("none", "regex100", "pcre100"), default="none")
    parser.add_argument("--address", default="127.0.0.1")
    asyncio.run(main(parser.parse_args()))
