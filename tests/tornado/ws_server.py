#!/usr/bin/python3
"""Tornado 6.2's WebSocketHandler, as the far end of gale's WebSocket client
tests (tests/test_websocket_deflate.cpp).

    /usr/bin/python3 tests/tornado/ws_server.py [COMPRESSION_OPTIONS_JSON]

Listens on 127.0.0.1, an ephemeral port, prints "port N" once it accepts
connections and exits when its stdin closes. /echo echoes every message
(text as text, binary as binary); get_compression_options() returns the
JSON argument ("null" or none: no compression). The message "status?" is
answered with "compressor=yes|no extensions=<the request's
Sec-WebSocket-Extensions>", so a test sees what Tornado negotiated.
"""
import json
import sys
import threading

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web
import tornado.websocket

COMPRESSION = json.loads(sys.argv[1]) if len(sys.argv) > 1 else None


class Echo(tornado.websocket.WebSocketHandler):
    def get_compression_options(self):
        return COMPRESSION

    def on_message(self, message):
        if message == "status?":
            compressor = self.ws_connection._compressor is not None
            offered = self.request.headers.get("Sec-WebSocket-Extensions", "")
            self.write_message("compressor=%s extensions=%s" % ("yes" if compressor else "no", offered))
            return
        self.write_message(message, binary=isinstance(message, bytes))


def main():
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(tornado.web.Application([("/echo", Echo)]))
    server.add_sockets(sockets)
    loop = tornado.ioloop.IOLoop.current()

    def watch_stdin():
        sys.stdin.read()
        loop.add_callback(loop.stop)

    threading.Thread(target=watch_stdin, daemon=True).start()
    print("port %d" % sockets[0].getsockname()[1], flush=True)
    loop.start()


if __name__ == "__main__":
    main()
