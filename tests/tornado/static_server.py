#!/usr/bin/python3
"""Tornado 6.2's StaticFileHandler over a directory, the reference that
tests/test_web_static.cpp compares gale's answers with.

    /usr/bin/python3 tests/tornado/static_server.py ROOT [--no-hash-cache]

Listens on 127.0.0.1, an ephemeral port, prints "port N" once it accepts
connections and exits when its stdin closes. The application is the one the
test builds in gale:

  static_path=ROOT, static_handler_args=dict(default_filename="index.html")
      -> /static/(.*), /(favicon\\.ico), /(robots\\.txt)
  /plain/(.*)    StaticFileHandler(path=ROOT) without default_filename
  /url?path=P    static_url(P), static_url(P, include_host=True) and
                 static_url(P, include_version=False), one per line
"""
import asyncio
import logging
import sys
import threading

import tornado
import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web

assert tornado.version == "6.2", tornado.version


class Url(tornado.web.RequestHandler):
    def get(self):
        path = self.get_argument("path")
        self.set_header("Content-Type", "text/plain")
        self.write(self.static_url(path) + "\n")
        self.write(self.static_url(path, include_host=True) + "\n")
        self.write(self.static_url(path, include_version=False) + "\n")


def main():
    root = sys.argv[1]
    settings = dict(static_path=root, static_handler_args=dict(default_filename="index.html"))
    if "--no-hash-cache" in sys.argv[2:]:
        settings["static_hash_cache"] = False
    app = tornado.web.Application(
        [
            (r"/plain/(.*)", tornado.web.StaticFileHandler, dict(path=root)),
            (r"/url", Url),
        ],
        **settings,
    )
    logging.getLogger("tornado").setLevel(logging.CRITICAL)
    [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets([sock])
    print("port", sock.getsockname()[1], flush=True)

    def wait_for_stdin_close():
        sys.stdin.read()
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=wait_for_stdin_close, daemon=True).start()
    loop.run_forever()


main()
