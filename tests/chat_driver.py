#!/usr/bin/python3
"""Drives examples/chat for tests/test_chat.cpp: two users join, A speaks,
B leaves, and the driver prints every line each user saw, in order:

    A: [127.0.0.1]-[2026-11-22 05:10:00]-进入聊天室
    ...
    B: ...

Usage: chat_driver.py MODE CHAT_PROGRAM
  MODE browser     two pages of the chat room in headless Chromium, driven
                   through the DevTools protocol (--remote-debugging-port);
                   A types into the textarea and clicks the send link, B's
                   page is closed
  MODE websockets  two clients from python3-websockets
  MODE tornado     two clients from Tornado's websocket_connect
  MODE crowd       ten python3-websockets users; while one of them sends 50
                   messages, five others drop their TCP connections without
                   a closing handshake; then the sender says "last" and the
                   driver prints "survivors N" (how many of the other four saw
                   it), "leaves seen by every survivor: N" and "server alive"
                   when GET / still answers

The driver starts CHAT_PROGRAM --port=0 itself and reads its "Listening on"
line; it waits for each step's lines before the next step (20 s at most per
step, then it prints what it has and exits with 1). The server's log (its
standard error) goes to the driver's standard error.
"""
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, "/usr/lib/python3/dist-packages")

MESSAGE = "hello from A 你好"
STEP_SECONDS = 20


class Timeout(Exception):
    pass


def start_chat(program):
    server = subprocess.Popen([program, "--port=0"], stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    if not line.startswith("Listening on http://"):
        server.kill()
        raise SystemExit("the chat server did not start: %r" % line)
    return server, int(line.strip().rstrip("/").rsplit(":", 1)[1])


async def wait_for(condition):
    deadline = time.monotonic() + STEP_SECONDS
    while not await condition():
        if time.monotonic() > deadline:
            raise Timeout()
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------ plain clients


class SocketUser:
    """A chat user on a WebSocket client; seen() is every message received."""

    def __init__(self, connection, receive):
        self.lines = []
        self.connection = connection
        self.task = asyncio.ensure_future(self.collect(receive))

    async def collect(self, receive):
        while True:
            message = await receive()
            if message is None:
                return
            self.lines.append(message)

    async def seen(self):
        return self.lines


async def websockets_user(url):
    import websockets

    connection = await websockets.connect(url)

    async def receive():
        try:
            return await connection.recv()
        except websockets.ConnectionClosed:
            return None

    user = SocketUser(connection, receive)
    user.send = connection.send
    user.leave = connection.close
    return user


async def tornado_user(url):
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(url)
    user = SocketUser(connection, connection.read_message)

    async def send(text):
        await connection.write_message(text)

    async def leave():
        connection.close()
        await user.task

    user.send = send
    user.leave = leave
    return user


# ------------------------------------------------------------------ Chromium


class DevTools:
    """The browser's DevTools endpoint: commands with ids, replies matched back."""

    def __init__(self, socket):
        self.socket = socket
        self.next_id = 0
        self.waiting = {}
        self.reader = asyncio.ensure_future(self.read())

    async def read(self):
        async for text in self.socket:
            reply = json.loads(text)
            future = self.waiting.pop(reply.get("id"), None)
            if future and not future.done():
                future.set_result(reply)

    async def call(self, method, session=None, **params):
        self.next_id += 1
        command = {"id": self.next_id, "method": method, "params": params}
        if session:
            command["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = future
        await self.socket.send(json.dumps(command))
        reply = await asyncio.wait_for(future, STEP_SECONDS)
        if "error" in reply:
            raise RuntimeError("%s: %s" % (method, reply["error"]))
        return reply["result"]


class PageUser:
    """A chat page in its own browser tab."""

    def __init__(self, tools, target, session):
        self.tools, self.target, self.session = tools, target, session

    async def evaluate(self, expression):
        result = await self.tools.call("Runtime.evaluate", self.session, expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def seen(self):
        lines = await self.evaluate(
            "Array.from(document.querySelectorAll('#contents p')).map(p => p.textContent)")
        return lines or []

    async def send(self, text):
        # As a person does: type into the textarea, click the send link.
        await self.evaluate("document.getElementById('msg').focus()")
        await self.tools.call("Input.insertText", self.session, text=text)
        await self.evaluate("document.getElementById('send').click()")

    async def leave(self):
        await self.tools.call("Target.closeTarget", targetId=self.target)


def start_chromium(profile):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-proxy-server", "--remote-debugging-port=0", "--user-data-dir=" + profile, "about:blank"]
    browser = subprocess.Popen([chromium] + flags, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    active = os.path.join(profile, "DevToolsActivePort")
    deadline = time.monotonic() + STEP_SECONDS
    while not (os.path.exists(active) and len(open(active).read().split("\n")) >= 2):
        if time.monotonic() > deadline or browser.poll() is not None:
            browser.kill()
            raise SystemExit("chromium did not open its DevTools port")
        time.sleep(0.05)
    port, path = open(active).read().split("\n")[:2]
    return browser, "ws://127.0.0.1:%s%s" % (port, path)


async def page_user(tools, url):
    created = await tools.call("Target.createTarget", url=url)
    attached = await tools.call("Target.attachToTarget", targetId=created["targetId"], flatten=True)
    return PageUser(tools, created["targetId"], attached["sessionId"])


# ------------------------------------------------------------------ the scenario


async def scenario(join):
    """Returns what users A and B saw: A joins, B joins, A speaks, B leaves."""
    a = await join()
    try:
        await wait_for(lambda: has(a, 1))
        b = await join()
        await wait_for(lambda: both(has(a, 2), has(b, 1)))
        await a.send(MESSAGE)
        await wait_for(lambda: both(has(a, 3), has(b, 2)))
        b_saw = list(await b.seen())
        await b.leave()
        await wait_for(lambda: has(a, 4))
        a_saw = list(await a.seen())
    except Timeout:
        print("timed out; A saw %s" % (await a.seen()))
        raise
    await a.leave()
    return a_saw, b_saw


async def has(user, n):
    return len(await user.seen()) >= n


async def both(first, second):
    first, second = await first, await second
    return first and second


async def crowd(port):
    """Connections vanish in the middle of broadcasts; the room goes on."""
    import urllib.request

    users = [await websockets_user("ws://127.0.0.1:%d/chat" % port) for _ in range(10)]
    sender, survivors, leavers = users[0], users[1:5], users[5:]
    await wait_for(lambda: has(survivors[-1], 6))
    for i in range(50):
        await sender.send("message %d" % i)
        if i == 10:
            for user in leavers:
                user.connection.transport.abort()
    await sender.send("last")
    said_last = "说：last"
    for user in survivors:
        await wait_for(lambda: saw(user, said_last))
    print("survivors %d" % sum([await saw(user, said_last) for user in survivors]))
    for user in survivors:
        await wait_for(lambda: left_count(user, 5))
    print("leaves seen by every survivor: %d" % min([await left_count(user, 0) for user in survivors]))
    page = await asyncio.get_running_loop().run_in_executor(
        None, lambda: urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            "http://127.0.0.1:%d/" % port).read())
    if b"WebSocket" in page or b"chat.js" in page:
        print("server alive")
    for user in users[:5]:
        await user.leave()
    return [], []


async def left_count(user, at_least):
    """How many leave messages user saw, when at least `at_least` (else 0)."""
    n = sum(line.endswith("离开聊天室") for line in await user.seen())
    return n if n >= at_least else 0


async def saw(user, text):
    return any(line.endswith(text) for line in await user.seen())


async def run(mode, port):
    if mode == "crowd":
        return await crowd(port)
    if mode == "websockets":
        return await scenario(lambda: websockets_user("ws://127.0.0.1:%d/chat" % port))
    if mode == "tornado":
        return await scenario(lambda: tornado_user("ws://127.0.0.1:%d/chat" % port))
    import websockets

    profile = tempfile.mkdtemp(prefix="gale-chat-chromium-")
    browser, endpoint = start_chromium(profile)
    try:
        async with websockets.connect(endpoint, max_size=None) as socket:
            tools = DevTools(socket)
            return await scenario(lambda: page_user(tools, "http://127.0.0.1:%d/" % port))
    finally:
        browser.kill()
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)


def main():
    mode, program = sys.argv[1], sys.argv[2]
    sys.stdout.reconfigure(encoding="utf-8")
    server, port = start_chat(program)
    try:
        a_saw, b_saw = asyncio.run(run(mode, port))
    except Timeout:
        sys.exit(1)
    finally:
        server.terminate()
        server.wait()
    for line in a_saw:
        print("A: " + line)
    for line in b_saw:
        print("B: " + line)


if __name__ == "__main__":
    main()
