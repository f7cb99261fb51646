#!/usr/bin/python3
"""Tornado 6.2's HTTP/1.x server behaviour on the wire, as ground truth for
gale's tests/test_httpserver.cpp.

Run with Debian's python3-tornado:  /usr/bin/python3 tests/tornado/wire.py [case-substring ...]

Starts, in a fresh child process per case, a bare tornado.httpserver.HTTPServer whose
request callback echoes the request (see `echo` below; test_httpserver.cpp
installs the same callback in gale), several variants of it with options,
and the tornado.web hello-world application. Then it sends exact bytes over
raw sockets and prints, per case, what came back (exact bytes, Python repr,
with the Date header's value replaced by <date>), when, and whether the
server closed the connection. Tornado's log lines during the case are printed
too. The findings are written up in /work/plan/tornado-wire.md.
"""
import asyncio
import gzip
import logging
import re
import socket
import subprocess
import sys
import time

import tornado
import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web
from tornado.httputil import HTTPHeaders, ResponseStartLine

assert tornado.version == "6.2", tornado.version


# --------------------------------------------------------------------------
# Server side


def echo_body(request):
    """The text every echo response carries (gale's test builds the same)."""
    lines = [
        "method=" + request.method,
        "uri=" + request.uri,
        "version=" + request.version,
        "remote_ip=" + str(request.remote_ip),
        "protocol=" + request.protocol,
        "host=" + request.host,
    ]
    for name, value in request.headers.get_all():
        lines.append("header=" + name + ": " + value)
    text = "\n".join(lines) + "\nbody=" 
    return text.encode("latin1") + request.body


def echo(request):
    """Bare HTTPServer callback.

    /            -> 200 with Content-Length and the echo body (none for HEAD)
    /chunked     -> 200 without Content-Length, two writes ("abc", "def")
    /204         -> 204 No Content, no headers
    /304         -> 304 Not Modified with Content-Length: 5 (the app's; no body)
    /close       -> 200 with Content-Length and "Connection: close" set by the app
    """
    conn = request.connection
    path = request.path
    if path == "/chunked":
        conn.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders())
        if request.method != "HEAD":
            conn.write(b"abc")
            conn.write(b"def")
        conn.finish()
        return
    if path == "/204":
        conn.write_headers(ResponseStartLine("HTTP/1.1", 204, "No Content"), HTTPHeaders())
        conn.finish()
        return
    if path == "/304":
        conn.write_headers(ResponseStartLine("HTTP/1.1", 304, "Not Modified"),
                           HTTPHeaders({"Content-Length": "5"}))
        conn.finish()
        return
    body = echo_body(request)
    headers = HTTPHeaders({"Content-Length": str(len(body))})
    if path == "/close":
        headers["Connection"] = "close"
    conn.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), headers)
    if request.method != "HEAD":
        conn.write(body)
    conn.finish()


class MainHandler(tornado.web.RequestHandler):
    def get(self):
        self.write("Hello, world")

    def head(self):
        self.write("Hello, world")

    def post(self):
        self.write(self.request.body)


class FlushHandler(tornado.web.RequestHandler):
    async def get(self):
        self.write("abc")
        await self.flush()
        self.write("def")
        self.finish()


class NoContentHandler(tornado.web.RequestHandler):
    def get(self):
        self.set_header("X-Kept", "yes")
        self.set_status(204)


class NotModifiedHandler(tornado.web.RequestHandler):
    def get(self):
        self.set_header("X-Kept", "yes")
        self.set_header("Content-Language", "en")
        self.set_status(304)


def web_app():
    return tornado.web.Application([
        (r"/", MainHandler),
        (r"/flush", FlushHandler),
        (r"/204", NoContentHandler),
        (r"/304", NotModifiedHandler),
    ])


SERVERS = {
    "bare": lambda: tornado.httpserver.HTTPServer(echo),
    "bare_xheaders": lambda: tornado.httpserver.HTTPServer(echo, xheaders=True),
    "bare_trusted": lambda: tornado.httpserver.HTTPServer(
        echo, xheaders=True, trusted_downstream=["10.0.0.1", "10.0.0.2"]),
    "bare_limits": lambda: tornado.httpserver.HTTPServer(
        echo, max_header_size=1024, max_body_size=1024),
    "bare_timeouts": lambda: tornado.httpserver.HTTPServer(
        echo, body_timeout=1, idle_connection_timeout=1),
    "bare_no_keep_alive": lambda: tornado.httpserver.HTTPServer(echo, no_keep_alive=True),
    "bare_decompress": lambda: tornado.httpserver.HTTPServer(echo, decompress_request=True),
    "web": lambda: tornado.httpserver.HTTPServer(web_app()),
    "web_limits": lambda: tornado.httpserver.HTTPServer(web_app(), max_body_size=1024),
}


def serve(name):
    """Child process: runs one server, prints its port, logs to stderr."""
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                        format="log: %(name)s %(levelname)s %(message)s")

    async def run():
        server = SERVERS[name]()
        sock, = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server.add_sockets([sock])
        print(sock.getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


def start_server(name):
    """A fresh server process per case: a case that wedges Tornado's loop
    (chunk size -5 does) must not poison the next one."""
    proc = subprocess.Popen([sys.executable, __file__, "--serve", name],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    port = int(proc.stdout.readline())
    return proc, port


# --------------------------------------------------------------------------
# Client side

def show(data):
    data = re.sub(rb"(Date: )[^\r\n]*", rb"\1<date>", data)
    data = re.sub(rb"([ap])\1{19,}", lambda m: b"<%s x %d>" % (m.group(1), len(m.group(0))), data)
    return repr(data)


def run_case(port, steps, quiet):
    """steps: bytes to send, ('sleep', s), ('read', s) to read what arrives
    until s seconds pass with no data. At the end: read until EOF or `quiet`
    seconds without data."""
    s = socket.create_connection(("127.0.0.1", port))
    start = time.monotonic()
    out = []
    closed = [None]

    def read_for(limit):
        got = b""
        deadline = time.monotonic() + limit
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed[0] = "RST at %.2fs" % (time.monotonic() - start)
                break
            if not data:
                closed[0] = "EOF at %.2fs" % (time.monotonic() - start)
                break
            got += data
            deadline = time.monotonic() + limit
        return got

    for step in steps:
        if isinstance(step, bytes):
            try:
                s.sendall(step)
                if len(step) < 300:
                    out.append("  send %r" % step)
                else:
                    out.append("  send %d bytes %r..." % (len(step), step[:60]))
            except OSError as e:
                out.append("  send failed: %s" % e)
        elif step[0] == "sleep":
            time.sleep(step[1])
        elif step[0] == "other":
            # a second connection, to see whether the server still serves
            t = socket.create_connection(("127.0.0.1", port))
            t.sendall(step[1])
            t.settimeout(1.0)
            try:
                got = t.recv(65536)
            except socket.timeout:
                got = b"<nothing within 1s>"
            t.close()
            out.append("  other connection sent %r got %s" % (step[1], show(got)))
        elif step[0] == "read":
            got = read_for(step[1])
            out.append("  recv(%.2fs) %s" % (time.monotonic() - start, show(got)))
        if closed[0]:
            break
    if not closed[0]:
        got = read_for(quiet)
        out.append("  recv(%.2fs) %s" % (time.monotonic() - start, show(got)))
    out.append("  connection: " + (closed[0] or "still open after %.1fs quiet" % quiet))
    s.close()
    return out


def chunked(*parts):
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


G = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
P = b"POST / HTTP/1.1\r\nHost: h\r\n"
TE = P + b"Transfer-Encoding: chunked\r\n\r\n"
GZ = gzip.compress(b"hello gzip", mtime=0)
GZ2 = gzip.compress(b"chunked gzip", mtime=0)

CASES = [
    # (name, server, steps[, quiet seconds])
    ("get 1.1", "bare", [G]),
    ("get 1.0", "bare", [b"GET / HTTP/1.0\r\n\r\n"]),
    ("get 1.0 keep-alive", "bare", [b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", ("read", 0.3), b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"]),
    ("post 1.0 keep-alive no length", "bare", [b"POST / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"]),
    ("head 1.1", "bare", [b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", ("read", 0.3), G]),
    ("pipelined 3", "bare", [b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"]),
    ("pipelined 3 keep open", "bare", [b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhiGET /3 HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("keep-alive default then second request", "bare", [G, ("read", 0.3), G]),
    ("connection close", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"]),
    ("connection Close (case)", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n"]),
    ("connection keep-alive, close (list)", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n"]),
    ("app sets Connection: close", "bare", [b"GET /close HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("leading blank lines", "bare", [b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("leading one CRLF", "bare", [b"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("extra CRLF after 1.0 keep-alive body", "bare", [b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok\r\n", ("read", 0.3), b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"]),
    ("bare LF", "bare", [b"GET / HTTP/1.1\nHost: h\nX-A: 1\n\n"]),
    ("bare LF with body", "bare", [b"POST / HTTP/1.1\nHost: h\nContent-Length: 3\n\nabc"]),
    ("mixed CRLF/LF", "bare", [b"GET / HTTP/1.1\r\nHost: h\nX-A: 1\r\n\n"]),
    ("obs-fold", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Fold: a\r\n  b\r\n\tc\r\n\r\n"]),
    ("obs-fold first line", "bare", [b"GET / HTTP/1.1\r\n X-Fold: a\r\nHost: h\r\n\r\n"]),
    ("duplicate header", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-B: 2\r\nx-a: 3\r\n\r\n"]),
    ("header whitespace", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nX-A:   spaced   \r\nX-B:\r\n\r\n"]),
    ("space before colon", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nX-A : v\r\n\r\n"]),
    # Expect
    ("expect 100-continue", "bare", [P + b"Content-Length: 4\r\nExpect: 100-continue\r\n\r\n", ("read", 0.5), b"body"]),
    ("expect 100-Continue (case)", "bare", [P + b"Content-Length: 4\r\nExpect: 100-Continue\r\n\r\n", ("read", 0.5), b"body"]),
    ("expect 100-continue 1.0", "bare", [b"POST / HTTP/1.0\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n", ("read", 0.5), b"body"]),
    ("expect 100-continue no body", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n"]),
    ("expect 100-continue with body already sent", "bare", [P + b"Content-Length: 4\r\nExpect: 100-continue\r\n\r\nbody"]),
    ("expect 100-continue chunked", "bare", [P + b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n", ("read", 0.5), chunked(b"body")]),
    ("expect unknown", "bare", [P + b"Content-Length: 4\r\nExpect: something\r\n\r\nbody"]),
    # chunked request bodies
    ("chunked valid", "bare", [TE + chunked(b"hello", b" world"), ("read", 0.3), G]),
    ("chunked uppercase hex", "bare", [TE + b"A\r\n0123456789\r\n0\r\n\r\n"]),
    ("chunked with extension", "bare", [TE + b"5;name=value\r\nhello\r\n0\r\n\r\n"]),
    ("chunked with trailer", "bare", [TE + b"5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n"]),
    ("chunked size zz", "bare", [TE + b"zz\r\nhello\r\n0\r\n\r\n"]),
    ("chunked size -5", "bare", [TE + b"-5\r\nhello\r\n0\r\n\r\n"]),
    ("chunked size -5 wedges the server", "bare", [TE + b"-5\r\nhello\r\n0\r\n\r\n", ("sleep", 0.2), ("other", G)]),
    ("chunked size 0x5", "bare", [TE + b"0x5\r\nhello\r\n0\r\n\r\n"]),
    ("chunked size +5", "bare", [TE + b"+5\r\nhello\r\n0\r\n\r\n"]),
    ("chunked size 5 with spaces", "bare", [TE + b" 5 \r\nhello\r\n0\r\n\r\n"]),
    ("chunked size 0_5", "bare", [TE + b"0_5\r\nhello\r\n0\r\n\r\n"]),
    ("chunked size huge", "bare", [TE + b"ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"]),
    ("chunked size line over 64 bytes", "bare", [TE + b"0" * 70 + b"5\r\nhello\r\n0\r\n\r\n"]),
    ("chunked missing CRLF after data", "bare", [TE + b"5\r\nhelloXX0\r\n\r\n"]),
    ("chunked LF-only size line", "bare", [TE + b"5\nhello\r\n0\r\n\r\n"]),
    ("chunked bad last-chunk terminator", "bare", [TE + b"5\r\nhello\r\n0\r\nXX"]),
    ("chunked empty size line", "bare", [TE + b"\r\nhello\r\n0\r\n\r\n"]),
    ("chunked over max_body_size", "bare_limits", [TE + b"400\r\n" + b"a" * 1024 + b"\r\n1\r\nb\r\n0\r\n\r\n"]),
    ("chunked exactly max_body_size", "bare_limits", [TE + b"3ff\r\n" + b"a" * 1023 + b"\r\n1\r\nb\r\n0\r\n\r\n"]),
    ("chunked HEAD keep-alive", "bare", [b"HEAD /chunked HTTP/1.1\r\nHost: h\r\n\r\n", ("read", 0.3), G]),
    # malformed request lines
    ("request line without version", "bare", [b"GET /\r\nHost: h\r\n\r\n"]),
    ("HTTP/2.0", "bare", [b"GET / HTTP/2.0\r\nHost: h\r\n\r\n"]),
    ("HTTP/1.2", "bare", [b"GET / HTTP/1.2\r\nHost: h\r\n\r\n"]),
    ("http/1.1 lowercase", "bare", [b"GET / http/1.1\r\nHost: h\r\n\r\n"]),
    ("junk", "bare", [b"\x16\x03\x01junk junk\r\n\r\n"]),
    ("two spaces", "bare", [b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("tab separators", "bare", [b"GET\t/\tHTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("trailing space after version", "bare", [b"GET / HTTP/1.1 \r\nHost: h\r\n\r\n"]),
    ("method FOO", "bare", [b"FOO / HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("method FOO,BAR", "bare", [b"FOO,BAR / HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("method FOO web", "web", [b"FOO / HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("method FOO,BAR web", "web", [b"FOO,BAR / HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("lowercase get", "bare", [b"get / HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("absolute-form target", "bare", [b"GET http://example.com/x?y=1 HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("asterisk target", "bare", [b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("double slash path", "bare", [b"GET //double HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("NUL in target", "bare", [b"GET /a\x00b HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("empty request line", "bare", [b"\r\nHost: h\r\n\r\n"]),
    # headers
    ("header without colon", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"]),
    ("header with empty name", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n"]),
    ("header name with space", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nX A: v\r\n\r\n"]),
    ("non-ASCII header name", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nX-\xc3\xa9: v\r\n\r\n"]),
    ("non-ASCII header value", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nX-A: caf\xc3\xa9\r\n\r\n"]),
    ("NUL in header value", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n"]),
    ("CR in header value", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n"]),
    # Host
    ("missing Host 1.1", "bare", [b"GET / HTTP/1.1\r\n\r\n"]),
    ("missing Host 1.0", "bare", [b"GET / HTTP/1.0\r\n\r\n"]),
    ("empty Host 1.1", "bare", [b"GET / HTTP/1.1\r\nHost:\r\n\r\n"]),
    ("two Hosts", "bare", [b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"]),
    ("Host with comma", "bare", [b"GET / HTTP/1.1\r\nHost: a,b\r\n\r\n"]),
    ("Host with space", "bare", [b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"]),
    ("Host with port", "bare", [b"GET / HTTP/1.1\r\nHost: Example.COM:8080\r\n\r\n"]),
    ("Host with slash", "bare", [b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"]),
    ("missing Host 1.1 web", "web", [b"GET / HTTP/1.1\r\n\r\n"]),
    # Content-Length
    ("content-length abc", "bare", [P + b"Content-Length: abc\r\n\r\n"]),
    ("content-length -1", "bare", [P + b"Content-Length: -1\r\n\r\n"]),
    ("content-length +3", "bare", [P + b"Content-Length: +3\r\n\r\nabc"]),
    ("content-length 0_3", "bare", [P + b"Content-Length: 0_3\r\n\r\nabc"]),
    ("content-length 1,2", "bare", [P + b"Content-Length: 1,2\r\n\r\nab"]),
    ("content-length 3,3", "bare", [P + b"Content-Length: 3,3\r\n\r\nabc"]),
    ("content-length 3, 3", "bare", [P + b"Content-Length: 3, 3\r\n\r\nabc"]),
    ("content-length two different", "bare", [P + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"]),
    ("content-length two same", "bare", [P + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"]),
    ("content-length empty", "bare", [P + b"Content-Length:\r\n\r\n"]),
    ("content-length huge", "bare", [P + b"Content-Length: 99999999999999999999999\r\n\r\n"]),
    ("content-length leading zeros", "bare", [P + b"Content-Length: 003\r\n\r\nabc"]),
    ("content-length on GET", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"]),
    ("post without length 1.1", "bare", [P + b"\r\n"]),
    ("body shorter than length then close", "bare", [P + b"Content-Length: 10\r\n\r\nabc"]),
    # Transfer-Encoding
    ("TE gzip, chunked", "bare", [P + b"Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"]),
    ("TE chunked, chunked", "bare", [P + b"Transfer-Encoding: chunked, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"]),
    ("TE two headers chunked", "bare", [P + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"]),
    ("TE Chunked", "bare", [P + b"Transfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"]),
    ("TE identity", "bare", [P + b"Transfer-Encoding: identity\r\n\r\nhello"]),
    ("TE chunked 1.0", "bare", [b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"]),
    ("TE and CL", "bare", [P + b"Transfer-Encoding: chunked\r\nContent-Length: 10\r\n\r\n5\r\nhello\r\n0\r\n\r\n"]),
    ("TE xchunked and CL", "bare", [P + b"Transfer-Encoding: xchunked\r\nContent-Length: 3\r\n\r\nabc"]),
    # limits
    ("header block 1024 bytes (limit 1024)", "bare_limits", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + b"p" * (1024 - 36) + b"\r\n\r\n"]),
    ("header block 1025 bytes (limit 1024)", "bare_limits", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + b"p" * (1025 - 36) + b"\r\n\r\n"]),
    ("header 4000 bytes (limit 1024)", "bare_limits", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + b"p" * 4000 + b"\r\n\r\n"]),
    ("header 4000 bytes no end yet (limit 1024)", "bare_limits", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + b"p" * 4000]),
    ("header 70000 bytes (default limit)", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + b"p" * 70000 + b"\r\n\r\n"]),
    ("content-length over max_body_size", "bare_limits", [P + b"Content-Length: 1025\r\n\r\n", ("read", 0.5), b"a" * 1025]),
    ("content-length equal max_body_size", "bare_limits", [P + b"Content-Length: 1024\r\n\r\n" + b"a" * 1024]),
    ("content-length over max_body_size with expect", "bare_limits", [P + b"Content-Length: 1025\r\nExpect: 100-continue\r\n\r\n"]),
    ("content-length over max_body_size web", "web_limits", [P + b"Content-Length: 1025\r\n\r\n" + b"a" * 1025]),
    ("body_timeout 1s", "bare_timeouts", [P + b"Content-Length: 10\r\n\r\nabc"], 3.0),
    ("idle_connection_timeout 1s (nothing sent)", "bare_timeouts", [], 3.0),
    ("idle_connection_timeout 1s (after a request)", "bare_timeouts", [G], 3.0),
    ("idle_connection_timeout 1s (partial header)", "bare_timeouts", [b"GET / HTTP/1.1\r\nHo"], 3.0),
    ("idle timeout covers the whole header, not each byte", "bare_timeouts", [b"GET / HTTP/1.1\r\n", ("sleep", 0.6), b"Host: h\r\n", ("sleep", 0.6), b"X-A: 1\r\n", ("read", 0.1), b"\r\n"], 3.0),
    ("no_keep_alive 1.1", "bare_no_keep_alive", [G]),
    ("no_keep_alive 1.0 keep-alive", "bare_no_keep_alive", [b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"]),
    ("decompress gzip body", "bare_decompress", [P + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(GZ) + GZ]),
    ("decompress off gzip body", "bare", [P + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(GZ) + GZ]),
    ("decompress bad gzip", "bare_decompress", [P + b"Content-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello"]),
    ("decompress truncated gzip", "bare_decompress", [P + b"Content-Encoding: gzip\r\nContent-Length: 15\r\n\r\n" + GZ[:15]]),
    ("decompress chunked gzip", "bare_decompress", [P + b"Content-Encoding: GZIP\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(GZ2[:10], GZ2[10:])]),
    # xheaders
    ("xheaders X-Real-Ip", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Real-Ip: 4.4.4.4\r\n\r\n"]),
    ("xheaders X-Forwarded-For hops", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3\r\n\r\n"]),
    ("xheaders X-Real-Ip beats X-Forwarded-For", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\nX-Real-Ip: 4.4.4.4\r\n\r\n"]),
    ("xheaders invalid X-Real-Ip", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Real-Ip: not-an-ip\r\n\r\n"]),
    ("xheaders invalid X-Real-Ip with valid XFF", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\nX-Real-Ip: bogus\r\n\r\n"]),
    ("xheaders invalid last XFF", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1, bogus\r\n\r\n"]),
    ("xheaders IPv6", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Real-Ip: 2001:db8::1\r\n\r\n"]),
    ("xheaders two XFF headers", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n\r\n"]),
    ("xheaders trusted_downstream", "bare_trusted", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 10.0.0.1, 10.0.0.2\r\n\r\n"]),
    ("xheaders trusted all", "bare_trusted", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n\r\n"]),
    ("xheaders X-Scheme https", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Scheme: https\r\n\r\n"]),
    ("xheaders X-Forwarded-Proto list", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: http, https\r\n\r\n"]),
    ("xheaders X-Scheme beats X-Forwarded-Proto", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\nX-Scheme: http\r\n\r\n"]),
    ("xheaders bad proto", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Scheme: ftp\r\n\r\n"]),
    ("xheaders HTTPS uppercase", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Scheme: HTTPS\r\n\r\n"]),
    ("xheaders reset between requests", "bare_xheaders", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Real-Ip: 4.4.4.4\r\nX-Scheme: https\r\n\r\n", ("read", 0.3), G]),
    ("xheaders off ignores X-Real-Ip", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nX-Real-Ip: 4.4.4.4\r\nX-Scheme: https\r\n\r\n"]),
    # responses
    ("bare chunked response 1.1", "bare", [b"GET /chunked HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("bare chunked response 1.0", "bare", [b"GET /chunked HTTP/1.0\r\n\r\n"]),
    ("bare chunked response 1.0 keep-alive", "bare", [b"GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"]),
    ("bare 204", "bare", [b"GET /204 HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("bare 304", "bare", [b"GET /304 HTTP/1.1\r\nHost: h\r\n\r\n", ("read", 0.3), G]),
    ("web hello", "web", [G]),
    ("web hello 1.0", "web", [b"GET / HTTP/1.0\r\n\r\n"]),
    ("web hello 1.0 keep-alive", "web", [b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"]),
    ("web HEAD", "web", [b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("web etag 304", "web", [b"GET / HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"e02aa1b106d5c7c6a98def2b13005d5b84fd8dc8\"\r\n\r\n"]),
    ("web flush chunked", "web", [b"GET /flush HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("web flush 1.0", "web", [b"GET /flush HTTP/1.0\r\n\r\n"]),
    ("web 204", "web", [b"GET /204 HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("web 304", "web", [b"GET /304 HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("web 404", "web", [b"GET /nope HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("web post echo", "web", [P + b"Content-Length: 5\r\n\r\nhello"]),
    ("web pipelined", "web", [G + G]),
    ("web connection close", "web", [b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"]),
    ("web HEAD chunked handler", "web", [b"HEAD /flush HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("pipelined 1.0 then 1.1", "bare", [b"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"]),
    ("connection keep-alive on 1.1", "bare", [b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n"]),
    ("web malformed", "web", [b"GET /\r\n\r\n"]),
]


def main():
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2])
        return
    wanted = sys.argv[1:]
    for case in CASES:
        name, server, steps = case[:3]
        quiet = case[3] if len(case) > 3 else 0.5
        if wanted and not any(w in name for w in wanted):
            continue
        proc, port = start_server(server)
        lines = run_case(port, steps, quiet)
        time.sleep(0.05)
        proc.terminate()
        _, err = proc.communicate()
        print("### %s  [%s]" % (name, server))
        for line in lines:
            print(line)
        for line in err.decode("latin1").splitlines():
            if line.startswith("log: ") and "asyncio DEBUG" not in line:
                print("  " + line)
        print()


if __name__ == "__main__":
    main()
