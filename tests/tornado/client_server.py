#!/usr/bin/python3
"""Tornado 6.2's web server, as the far end of gale's HTTP client tests
(tests/test_httpclient.cpp).

Run with Debian's python3-tornado:

    /usr/bin/python3 tests/tornado/client_server.py [--idle-timeout SECONDS] [--cert PEM --key PEM]

Listens on 127.0.0.1, an ephemeral port, prints "port N" on stdout once it
accepts connections, and exits when its stdin closes (so a test that dies
leaves no server behind). With --cert and --key it serves HTTPS. Handlers:

  /hello                 "Hello world!"
  /echo                  the request as text: method=, uri=, header=Name: value (one per
                         header, in order), then body= and the body
  /redirect?url=U&status=N   status N (default 302) with Location U
  /countdown/N           302 to /countdown/N-1 ... /countdown/0 answers "Zero"
  /gzip                  a gzip-encoded text body, Content-Encoding: gzip, when the
                         request accepts gzip; plain otherwise
  /chunked               "asdf" and "qwer" in two flushes (chunked transfer coding)
  /stream?n=N&size=S     N flushes of S bytes ('a' .. 'z' by chunk)
  /auth                  the Authorization header ("" if none)
  /peer                  the client's source port (one port: one connection)
  /close                 "closing" with Connection: close
  /status?code=N         status N, body "status N"
  /hang                  never answers
  /reject_expect         (stream_request_body) answers 417 before reading the body
  /not_found             404
"""
import asyncio
import gzip
import logging
import os
import sys
import threading

import tornado
import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web

assert tornado.version == "6.2", tornado.version


class Echo(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND")

    def _echo(self, *args):
        r = self.request
        lines = ["method=" + r.method, "uri=" + r.uri]
        for name, value in r.headers.get_all():
            lines.append("header=" + name + ": " + value)
        self.set_header("Content-Type", "text/plain")
        self.write(("\n".join(lines) + "\nbody=").encode("latin1") + r.body)

    get = head = post = put = delete = patch = options = _echo

    def propfind(self):
        self._echo()


class Hello(tornado.web.RequestHandler):
    def get(self):
        self.write("Hello world!")


class Redirect(tornado.web.RequestHandler):
    def _redirect(self):
        self.redirect(self.get_argument("url"), status=int(self.get_argument("status", "302")))

    get = head = post = put = delete = patch = _redirect


class Countdown(tornado.web.RequestHandler):
    def get(self, count):
        count = int(count)
        if count > 0:
            self.redirect(self.reverse_url("countdown", count - 1))
        else:
            self.write("Zero")


GZIP_TEXT = b"gale gzip test line\n" * 100


class Gzip(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "text/plain")
        if "gzip" in self.request.headers.get("Accept-Encoding", ""):
            self.set_header("Content-Encoding", "gzip")
            self.write(gzip.compress(GZIP_TEXT))
        else:
            self.write(GZIP_TEXT)


class Chunked(tornado.web.RequestHandler):
    async def get(self):
        self.write("asdf")
        await self.flush()
        await asyncio.sleep(0.01)
        self.write("qwer")


class Stream(tornado.web.RequestHandler):
    async def get(self):
        n = int(self.get_argument("n"))
        size = int(self.get_argument("size"))
        for i in range(n):
            self.write(bytes([ord("a") + i % 26]) * size)
            await self.flush()


class Auth(tornado.web.RequestHandler):
    def get(self):
        self.write(self.request.headers.get("Authorization", ""))


class Peer(tornado.web.RequestHandler):
    def get(self):
        self.write(str(self.request.connection.stream.socket.getpeername()[1]))

    post = get


class Close(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Connection", "close")
        self.write("closing")


class Status(tornado.web.RequestHandler):
    def get(self):
        code = int(self.get_argument("code"))
        self.set_status(code)
        self.write("status %d" % code)


class Hang(tornado.web.RequestHandler):
    async def get(self):
        await asyncio.Event().wait()


@tornado.web.stream_request_body
class RejectExpect(tornado.web.RequestHandler):
    def prepare(self):
        self.set_status(417)
        self.finish("no body wanted")

    def data_received(self, chunk):
        pass

    def post(self):
        pass

    put = post


def main():
    idle_timeout = None
    if "--idle-timeout" in sys.argv:
        idle_timeout = float(sys.argv[sys.argv.index("--idle-timeout") + 1])
    app = tornado.web.Application(
        [
            (r"/hello", Hello),
            (r"/echo", Echo),
            (r"/redirect", Redirect),
            tornado.web.url(r"/countdown/([0-9]+)", Countdown, name="countdown"),
            (r"/gzip", Gzip),
            (r"/chunked", Chunked),
            (r"/stream", Stream),
            (r"/auth", Auth),
            (r"/peer", Peer),
            (r"/close", Close),
            (r"/status", Status),
            (r"/hang", Hang),
            (r"/reject_expect", RejectExpect),
        ]
    )
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    ssl_options = None
    if "--cert" in sys.argv:
        ssl_options = {
            "certfile": sys.argv[sys.argv.index("--cert") + 1],
            "keyfile": sys.argv[sys.argv.index("--key") + 1],
        }
    server = tornado.httpserver.HTTPServer(app, idle_connection_timeout=idle_timeout, ssl_options=ssl_options)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    loop = tornado.ioloop.IOLoop.current()

    def watch_stdin():
        sys.stdin.read()
        loop.add_callback(loop.stop)

    threading.Thread(target=watch_stdin, daemon=True).start()
    logging.getLogger("tornado.access").setLevel(logging.CRITICAL)
    print("port %d" % port, flush=True)
    loop.start()
    os._exit(0)  # quietly: /hang's handlers are still pending


if __name__ == "__main__":
    main()
