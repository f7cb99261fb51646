"""Python Tornado's side of gale's signed-value, XSRF and Set-Cookie interop
tests (tests/test_signed_value.cpp). Run with /usr/bin/python3 (Debian's
python3-tornado).

Reads one command a line on stdin and writes one answer a line on stdout.
A command is an operation name and arguments separated by spaces; an argument
is `h:<hex bytes>` (text, UTF-8), `n` (None), `i:<int>`, `f:<float>` or
`d:<key version>=<hex secret>,...` (a {key_version: secret} dict). An answer
is `b:<hex>` (bytes or str result), `N` (None), `i:<int>`, `x:<version>:<hex
token>:<timestamp>` (a decoded XSRF token) or `E:<exception type>:<hex
message>`.

Operations:
  sign secret name value version clock key_version   create_signed_value
  decode secret name value max_age_days clock min_version   decode_signed_value
  keyver value                                      get_signature_key_version
  xsrf_decode text                                  RequestHandler._decode_xsrf_token
  xsrf_check argument x_xsrftoken x_csrftoken cookie   check_xsrf_cookie's message
  xsrf_form cookie                                  xsrf_form_html, token unmasked
  cookie name value domain expires path expires_days max_age httponly secure samesite now
                                                    set_cookie's Set-Cookie value (now: utcnow())
"""

import datetime
import sys

import tornado.web
from tornado.httputil import HTTPHeaders, HTTPServerRequest
from tornado.web import (
    Application,
    HTTPError,
    RequestHandler,
    create_signed_value,
    decode_signed_value,
    get_signature_key_version,
)


def arg(token):
    if token == "n":
        return None
    kind, _, rest = token.partition(":")
    if kind == "h":
        return bytes.fromhex(rest).decode("utf-8", "surrogateescape")
    if kind == "i":
        return int(rest)
    if kind == "f":
        return float(rest)
    if kind == "d":
        secrets = {}
        for item in rest.split(","):
            version, _, secret = item.partition("=")
            secrets[int(version)] = bytes.fromhex(secret).decode("utf-8")
        return secrets
    raise SystemExit("bad argument " + token)


def raw(text):
    """Bytes of a text argument (kept as bytes for the signed-value API)."""
    return None if text is None else text.encode("utf-8", "surrogateescape")


def answer(result):
    if result is None:
        return "N"
    if isinstance(result, int):
        return "i:%d" % result
    if isinstance(result, str):
        result = result.encode("utf-8", "surrogateescape")
    return "b:" + result.hex()


class FixedDatetime(datetime.datetime):
    """datetime whose utcnow() is a given time (set_cookie's expires_days)."""

    fixed = None

    @classmethod
    def utcnow(cls):
        return cls.fixed


class FixedDatetimeModule:
    timedelta = datetime.timedelta
    datetime = FixedDatetime


class Connection:
    def set_close_callback(self, callback):
        pass


def handler(cookie=None, argument=None, headers=()):
    request_headers = HTTPHeaders()
    if cookie is not None:
        request_headers.add("Cookie", "_xsrf=" + cookie)
    for name, value in headers:
        if value is not None:
            request_headers.add(name, value)
    request = HTTPServerRequest(method="POST", uri="/", headers=request_headers, connection=Connection())
    if argument is not None:
        request.arguments["_xsrf"] = [argument.encode("utf-8")]
        request.body_arguments["_xsrf"] = [argument.encode("utf-8")]
    return RequestHandler(Application([], cookie_secret="unused"), request)


def run(op, args):
    if op == "sign":
        secret, name, value, version, clock, key_version = args
        return answer(
            create_signed_value(secret, name, raw(value), version, (lambda: clock) if clock is not None else None, key_version)
        )
    if op == "decode":
        secret, name, value, max_age_days, clock, min_version = args
        return answer(
            decode_signed_value(secret, name, raw(value), max_age_days, (lambda: clock) if clock is not None else None, min_version)
        )
    if op == "keyver":
        return answer(get_signature_key_version(raw(args[0])))
    if op == "xsrf_decode":
        version, token, timestamp = RequestHandler._decode_xsrf_token(handler(), args[0])
        if token is None:
            return "N"
        return "x:%d:%s:%d" % (version, token.hex(), int(timestamp) if version == 2 else 0)
    if op == "xsrf_check":
        argument, x_xsrftoken, x_csrftoken, cookie = args
        h = handler(cookie, argument, [("X-Xsrftoken", x_xsrftoken), ("X-Csrftoken", x_csrftoken)])
        try:
            h.check_xsrf_cookie()
        except HTTPError as e:
            return answer(e.log_message)
        return "b:"  # accepted
    if op == "xsrf_form":
        h = handler(args[0])
        html = h.xsrf_form_html()
        return answer(html) + " " + answer(h._get_raw_xsrf_token()[1])
    if op == "cookie":
        name, value, domain, expires, path, expires_days, max_age, httponly, secure, samesite, now = args
        kwargs = {}
        if max_age is not None:
            kwargs["max_age"] = max_age
        if httponly:
            kwargs["httponly"] = True
        if secure:
            kwargs["secure"] = True
        if samesite is not None:
            kwargs["samesite"] = samesite
        h = handler()
        if now is not None:
            FixedDatetime.fixed = FixedDatetime.utcfromtimestamp(now)
            tornado.web.datetime = FixedDatetimeModule
        try:
            h.set_cookie(name, value, domain=domain, expires=expires, path=path, expires_days=expires_days, **kwargs)
        finally:
            tornado.web.datetime = datetime
        return answer(h._new_cookie[name].OutputString(None))
    raise SystemExit("bad operation " + op)


def main():
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        try:
            out = run(parts[0], [arg(p) for p in parts[1:]])
        except Exception as e:  # reported, compared by the C++ side
            out = "E:%s:%s" % (type(e).__name__, str(e).encode("utf-8", "surrogateescape").hex())
        sys.stdout.write(out + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
