#!/usr/bin/python3
"""Tornado 6.2's render / render_string / UI modules / locale over the site in
tests/templates/web_site/, the reference tests/test_web_template.cpp
compares gale's answers with (the same handlers, in C++, in the test).

    /usr/bin/python3 tests/tornado/web_template_server.py SITE

Listens on 127.0.0.1, an ephemeral port, prints "port N" once it accepts
connections and exits when its stdin closes.

  /?name=&count=&user=   index.html (extends base.html): a function given to
                         render (title_join), the ui_method shout, the UI module
                         Book (every resource hook), Template modules with
                         set_resources, linkify, reverse_url, static_url, _()
  /plain?text=           plain.html with values (escaping, raw, escape())
  /raw?text=             raw.html ({% autoescape None %})
  /string?text=          render_string("plain.html") written as text/plain
  /xsrf                  {% module xsrf_form_html() %} and {{ xsrf_form_html() }}
  /locale?count=         locale.html: the browser's locale (Accept-Language)
  /user_locale           locale.html with get_user_locale() = fr
  /error                 error.html: a NameError while rendering (500)
  /missing               a template that does not exist (500)
  /nohead                a module with CSS on a page without </head> (500)
  /house/([0-9]+)        named "house", for reverse_url
"""
import asyncio
import logging
import sys
import threading

import tornado
import tornado.httpserver
import tornado.ioloop
import tornado.locale
import tornado.netutil
import tornado.web

assert tornado.version == "6.2", tornado.version

HOUSES = [
    {"price": 398, "titles": ["宽窄巷子", "160平大空间", "文化保护区双地铁"]},
    {"price": 120, "titles": ["<Loft>", "A & B"]},
]


def house_title_join(titles):
    return "+".join(titles)


def shout(handler, text):
    return text.upper() + "!"


class Book(tornado.web.UIModule):
    def render(self, house):
        return self.render_string("book.html", house=house)

    def embedded_css(self):
        return ".book { color: red; }"

    def embedded_javascript(self):
        return "var books = 1;"

    def css_files(self):
        return ["css/book.css", "/abs/book.css", "css/book.css"]

    def javascript_files(self):
        return ["js/book.js"]

    def html_head(self):
        return '<meta name="book">'

    def html_body(self):
        return "<div>book body</div>"


class Base(tornado.web.RequestHandler):
    def get_current_user(self):
        return self.get_argument("user", None)

    def get_template_namespace(self):
        ns = super().get_template_namespace()
        ns["site"] = "Gale houses"
        return ns


class Index(Base):
    def get(self):
        self.render("index.html", houses=HOUSES, title_join=house_title_join,
                    name=self.get_argument("name", "<b>Home</b>"),
                    count=int(self.get_argument("count", "1")))


class Plain(Base):
    def get(self):
        self.render("plain.html", text=self.get_argument("text", ""))


class Raw(Base):
    def get(self):
        self.render("raw.html", text=self.get_argument("text", ""))


class String(Base):
    def get(self):
        self.set_header("Content-Type", "text/plain")
        self.write(self.render_string("plain.html", text=self.get_argument("text", "")))


class Xsrf(Base):
    def get(self):
        self.render("xsrf.html")


class Locale(Base):
    def get(self):
        self.render("locale.html", count=int(self.get_argument("count", "1")))


class UserLocale(Locale):
    def get_user_locale(self):
        return tornado.locale.get("fr")


class Error(Base):
    def get(self):
        self.render("error.html")


class Missing(Base):
    def get(self):
        self.render("nope.html")


class NoHead(Base):
    def get(self):
        self.render("nohead.html", house=HOUSES[0])


class House(Base):
    def get(self, id):
        self.write("house " + id)


def main():
    site = sys.argv[1]
    tornado.locale.load_translations(site + "/translations")
    app = tornado.web.Application(
        [
            (r"/", Index),
            (r"/plain", Plain),
            (r"/raw", Raw),
            (r"/string", String),
            (r"/xsrf", Xsrf),
            (r"/locale", Locale),
            (r"/user_locale", UserLocale),
            (r"/error", Error),
            (r"/missing", Missing),
            (r"/nohead", NoHead),
            tornado.web.url(r"/house/([0-9]+)", House, name="house"),
        ],
        template_path=site,
        static_path=site + "/static",
        ui_modules={"Book": Book},
        ui_methods={"shout": shout},
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
