# The same stand-in as examples/upstream.cpp, in Python, for seeds.py.
import json, sys, tornado.ioloop, tornado.web
def place(country, province, city):
    return {"ret": 1, "start": -1, "end": -1, "country": country, "province": province, "city": city,
            "district": "", "isp": "", "type": "", "desc": ""}
PLACES = {"14.130.112.24": place("中国", "北京", "北京"), "15.130.112.24": place("美国", "加利福尼亚", "帕洛阿尔托"),
          "17.130.112.24": place("美国", "加利福尼亚", "库比蒂诺")}
class Ip(tornado.web.RequestHandler):
    def get(self): self.write(json.dumps(PLACES.get(self.get_argument("ip", ""), {"ret": -1})))
class Feed(tornado.web.RequestHandler):
    def get(self): self.write({"entries": [{"body": b} for b in ("first", "second", "third")]})
class Home(tornado.web.RequestHandler):
    def get(self): self.write("<html><body>a stand-in home page</body></html>")
tornado.web.Application([(r"/", Home), (r"/iplookup/iplookup.php", Ip), (r"/v2/feed/bret", Feed)]).listen(int(sys.argv[1]), "127.0.0.1")
tornado.ioloop.IOLoop.current().start()
