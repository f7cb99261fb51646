"""Tornado 6.2's "Hello, World!", the reference for the HTTP benchmarks
(benchmarks/run_http.sh; the numbers are in benchmarks/README.md).

    /usr/bin/python3 benchmarks/http_hello_tornado.py [--mode web|bare] [--port N]

--mode web (the default) is Tornado's hello world: a tornado.web.Application
with one RequestHandler, which sets Content-Type: text/plain and writes
"Hello, World!" (Tornado adds Server, Date, Etag and Content-Length itself).

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
        server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/", MainHandler)]))
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
    parser.add_argument("--address", default="127.0.0.1")
    asyncio.run(main(parser.parse_args()))
