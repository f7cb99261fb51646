#!/usr/bin/python3
"""Tornado 6.2's cookies, signed cookies, XSRF and login, as the reference
for gale's tests/test_web_cookies.cpp, which serves the same handlers from
gale and compares the two servers' answers (Set-Cookie headers byte for
byte, XSRF and login behaviour) and passes cookies and tokens from one to the
other.

Run with Debian's python3-tornado:  /usr/bin/python3 tests/tornado/cookies_server.py

Listens on 127.0.0.1, ephemeral ports, and prints one line
"ports MAIN V1 KEYED" once it accepts connections; exits when its stdin
closes. The three applications:

  MAIN   cookie_secret SECRET, xsrf_cookies, login_url "/login"
  V1     cookie_secret SECRET, xsrf_cookies, xsrf_cookie_version 1, no login_url
  KEYED  cookie_secret {1: "old secret", 2: "new secret"}, key_version 2

Handlers (the same in each application):

  /set            set_cookie with every option (absolute expiry times), a name set twice
  /days           set_cookie("n3", "v3", expires_days=20)
  /clear          clear_cookie("n3"); clear_cookie("d", path="/p", domain="example.com")
  /clear_all      clear_all_cookies()
  /bad?case=N     a good set_cookie, then an invalid one (N: 0 space in the value, 1 ";" in
                  the name, 2 reserved name): a 500 page with the good cookie
  /signed/set?name=N&value=V[&days=D][&version=1]   set_secure_cookie(N, V[, expires_days=D][, version=1])
  /signed/get?name=N[&min_version=M]    get_secure_cookie(N[, min_version=M]) ("None" if absent or invalid)
  /signed/keyver?name=N                 get_secure_cookie_key_version(N)
  /xsrf           GET: xsrf_form_html(); POST, PUT, DELETE: "ok <method>"
  /user           GET (authenticated): "Hello, <current user>"; POST (authenticated): "posted"
  /user_abs       as /user with get_login_url() "http://example.com/login"
  /user_query     as /user with get_login_url() "/login?from=here"

The current user is get_secure_cookie("user").
"""
import datetime
import sys
import threading

import tornado
import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web

assert tornado.version == "6.2", tornado.version

SECRET = "61oETzKXQAGaYdkL5gEmGeJJFuYh7EQnp2XdTP1o/Vo="


class Base(tornado.web.RequestHandler):
    def get_current_user(self):
        return self.get_secure_cookie("user")


class SetHandler(Base):
    def get(self):
        self.set_cookie("n1", "v1")
        self.set_cookie("n2", "v2", path="/new", expires=1478908799)
        self.set_cookie(
            "n4",
            "v4",
            domain="example.com",
            expires=datetime.datetime(2016, 11, 11, 23, 59, 59),
            httponly=True,
            secure=True,
            samesite="Lax",
            max_age=3600,
        )
        self.set_cookie("q", 'a"quoted";value,\\')
        self.set_cookie("u", "\u00e9t\u00e9")
        self.set_cookie("e", "")
        self.set_cookie("nopath", "x", path="")
        self.set_cookie("n1", "again")
        self.write("ok")


class DaysHandler(Base):
    def get(self):
        self.set_cookie("n3", "v3", expires_days=20)
        self.write("ok")


class ClearHandler(Base):
    def get(self):
        self.clear_cookie("n3")
        self.clear_cookie("d", path="/p", domain="example.com")
        self.write("ok")


class ClearAllHandler(Base):
    def get(self):
        self.clear_all_cookies()
        self.write("ok")


class BadHandler(Base):
    def get(self):
        case = self.get_argument("case")
        self.set_cookie("before", "x")  # still sent with the error page
        if case == "0":
            self.set_cookie("n", "a b")
        elif case == "1":
            self.set_cookie("a;b", "v")
        else:
            self.set_cookie("Path", "v")
        self.write("not reached")


class SignedSetHandler(Base):
    def get(self):
        days = self.get_argument("days", None)
        version = self.get_argument("version", None)
        kwargs = {} if days is None else {"expires_days": float(days)}
        if version is not None:
            kwargs["version"] = int(version)
        self.set_secure_cookie(self.get_argument("name"), self.get_argument("value"), **kwargs)
        self.write("ok")


class SignedGetHandler(Base):
    def get(self):
        min_version = self.get_argument("min_version", None)
        value = self.get_secure_cookie(
            self.get_argument("name"),
            min_version=None if min_version is None else int(min_version),
        )
        self.write("None" if value is None else value)


class SignedKeyVersionHandler(Base):
    def get(self):
        self.write(str(self.get_secure_cookie_key_version(self.get_argument("name"))))


class XsrfHandler(Base):
    def get(self):
        self.write(self.xsrf_form_html())

    def post(self):
        self.write("ok POST")

    def put(self):
        self.write("ok PUT")

    def delete(self):
        self.write("ok DELETE")


class UserHandler(Base):
    @tornado.web.authenticated
    def get(self):
        self.write("Hello, " + self.current_user.decode())

    @tornado.web.authenticated
    def post(self):
        self.write("posted")


class AbsoluteLoginHandler(UserHandler):
    def get_login_url(self):
        return "http://example.com/login"


class QueryLoginHandler(UserHandler):
    def get_login_url(self):
        return "/login?from=here"


HANDLERS = [
    ("/set", SetHandler),
    ("/days", DaysHandler),
    ("/clear", ClearHandler),
    ("/clear_all", ClearAllHandler),
    ("/bad", BadHandler),
    ("/signed/set", SignedSetHandler),
    ("/signed/get", SignedGetHandler),
    ("/signed/keyver", SignedKeyVersionHandler),
    ("/xsrf", XsrfHandler),
    ("/user", UserHandler),
    ("/user_abs", AbsoluteLoginHandler),
    ("/user_query", QueryLoginHandler),
]


def serve(settings):
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(tornado.web.Application(HANDLERS, **settings))
    server.add_sockets(sockets)
    return sockets[0].getsockname()[1]


def main():
    loop = tornado.ioloop.IOLoop.current()
    main_port = serve(dict(cookie_secret=SECRET, xsrf_cookies=True, login_url="/login"))
    v1_port = serve(dict(cookie_secret=SECRET, xsrf_cookies=True, xsrf_cookie_version=1))
    keyed_port = serve(dict(cookie_secret={1: "old secret", 2: "new secret"}, key_version=2))
    print("ports %d %d %d" % (main_port, v1_port, keyed_port), flush=True)

    def wait_for_stdin():
        sys.stdin.read()
        loop.add_callback(loop.stop)

    threading.Thread(target=wait_for_stdin, daemon=True).start()
    loop.start()


if __name__ == "__main__":
    main()
