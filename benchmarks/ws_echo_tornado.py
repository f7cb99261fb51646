"""A WebSocket echo server on Tornado 6.2, the reference for
benchmarks/run_websocket.sh (gale's twin: ws_echo_gale.cpp).

    /usr/bin/python3 benchmarks/ws_echo_tornado.py [--port N] [--address A]

ws://A:N/ echoes every message to its sender (the EchoWebSocket of
Tornado's documentation, with set_nodelay(True) as gale's twin has; no
compression, Tornado's default). Prints "port N" on stdout once listening
(0, the default, takes any free port), "requests N" on stderr after SIGTERM
or SIGINT: the messages it echoed.
"""

import argparse
import asyncio
import signal
import sys

import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket

echoed = 0


class EchoHandler(tornado.websocket.WebSocketHandler):
    def open(self):
        self.set_nodelay(True)

    def on_message(self, message):
        global echoed
        echoed += 1
        self.write_message(message, binary=isinstance(message, bytes))


async def main(args):
    server = tornado.web.Application([(r"/", EchoHandler)])
    sockets = tornado.netutil.bind_sockets(args.port, args.address)
    http_server = tornado.httpserver.HTTPServer(server)
    http_server.add_sockets(sockets)
    print("port", sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("requests", echoed, file=sys.stderr, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--address", default="127.0.0.1")
    asyncio.run(main(parser.parse_args()))
