#!/usr/bin/python3
"""Renders gale's template conformance corpus with Tornado 6.2.

Each directory under tests/templates/ is one case: template files, and a
case.json:

    {"render": ["index.html", ...],        templates to render (default index.html)
     "context": {...},                     keyword arguments of generate()
     "options": {"autoescape": null | "name", "whitespace": "single"}}  Loader options

Every template in "render" is rendered by tornado.template.Loader(case_dir)
with the context plus the stub functions and UI modules below (the C++ test
registers the same stubs), and the output is written to
<case>/expected/<template name>. The expected files are committed, so the C++
suite runs without Python; run this script again after changing the corpus:

    /usr/bin/python3 tests/tornado/render_templates.py
"""
import json
import logging
import os
import sys

import tornado
import tornado.template
from tornado.escape import to_unicode, xhtml_escape
from tornado.util import ObjectDict

assert tornado.version.startswith("6.2"), tornado.version

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "templates")

XSRF_FORM = '<input type="hidden" name="_xsrf" value="2|8e0f1d2c|3b5a6c7d8e9f0a1b2c3d4e5f6a7b8c9d|1700000000"/>'


def static_url(path, include_host=None, **kwargs):
    return "/static/" + path + "?v=5d41402abc4b"


def translate(message, plural_message=None, count=None):
    if plural_message is not None and count != 1:
        return plural_message
    return message


def entry_module(entry, show_comments=False):
    html = '<div class="entry"><h2>' + xhtml_escape(entry["title"]) + "</h2>"
    if show_comments:
        html += "<p>" + str(len(entry.get("comments", []))) + " comments</p>"
    return html + "</div>"


# Functions every render sees (handler-style helpers and the seeds' own).
STUBS = {
    "static_url": static_url,
    "xsrf_form_html": lambda: XSRF_FORM,
    "_": translate,
    "reverse_url": lambda name, *args: "/" + name + "".join("/" + str(a) for a in args),
    "title_join": lambda titles: "+".join(titles),
    # apply hands its function the body as bytes (Tornado's _tt_utf8).
    "shout": lambda text: to_unicode(text).upper() + "!",
    "bracket": lambda text: "[" + to_unicode(text) + "]",
}

MODULES = {
    "xsrf_form_html": lambda: XSRF_FORM,
    "Entry": entry_module,
}


def render_case(case_dir):
    with open(os.path.join(case_dir, "case.json"), encoding="utf-8") as f:
        case = json.load(f)
    options = case.get("options", {})
    loader = tornado.template.Loader(case_dir, **options)
    namespace = dict(STUBS)
    namespace.update(case.get("context", {}))
    namespace["_tt_modules"] = ObjectDict(MODULES)
    for name in case.get("render", ["index.html"]):
        output = loader.load(name).generate(**namespace)
        path = os.path.join(case_dir, "expected", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(output)


def main():
    # Tornado logs the generated Python of a template that fails to compile.
    logging.getLogger("tornado.application").setLevel(logging.CRITICAL)
    cases = sorted(d for d in os.listdir(CORPUS) if os.path.isfile(os.path.join(CORPUS, d, "case.json")))
    for case in cases:
        try:
            render_case(os.path.join(CORPUS, case))
        except Exception as e:
            print("%s: %s: %s" % (case, type(e).__name__, e), file=sys.stderr)
            return 1
    print("rendered %d cases" % len(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
