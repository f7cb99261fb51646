#!/usr/bin/python3
"""python3-websockets' server (permessage-deflate on, its default), as a
far end of gale's WebSocket client tests (tests/test_websocket_deflate.cpp).

    /usr/bin/python3 tests/tornado/ws_websockets_server.py

Listens on 127.0.0.1, an ephemeral port, prints "port N" once it accepts
connections and exits when its stdin closes. Every message is echoed; the
message "extensions?" is answered with the extensions websockets agreed,
e.g. "permessage-deflate; client_max_window_bits=15"... as websockets
writes them (the repr of its extension objects).
"""
import asyncio
import sys

import websockets


async def echo(ws, path=None):
    async for message in ws:
        if message == "extensions?":
            await ws.send(", ".join(e.name for e in ws.extensions) or "none")
        else:
            await ws.send(message)


async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: done.done() or done.set_result(None))
    async with websockets.serve(echo, "127.0.0.1", 0) as server:
        print("port %d" % server.sockets[0].getsockname()[1], flush=True)
        await done


asyncio.run(main())
