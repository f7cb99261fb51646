# The seed programs (../../shared/seeds), under Python 3 + Tornado 6.2, with the
# routes of their gale twins in examples/: `python3 seeds.py NAME PORT [UPSTREAM]`.
# tests/tornado/seeds/run.sh asks them the requests tests/test_examples.cpp sends;
# its output is where the expected texts in that test came from.
# Fixes to the seeds' own bugs (Python 2 prints, a str status code, a
# misspelled class name, an undefined variable) are marked "seed bug".
import json, os, sys, tempfile
import tornado.httpclient, tornado.ioloop, tornado.web
from tornado import gen
from tornado.web import RequestHandler, MissingArgumentError, url

name, port = sys.argv[1], int(sys.argv[2])
upstream = sys.argv[3] if len(sys.argv) > 3 else ""
stu = {"name": "zhangsan", "age": 24, "gender": 1}

class Hello(RequestHandler):
    def get(self): self.write("Hello, world")
class HelloPost(RequestHandler):
    def post(self): self.write("Hello Wrold!")
class Main001(RequestHandler):
    def get(self): self.write("You requested the main page")
class Story(RequestHandler):
    def get(self, story_id): self.write("You requested the story " + story_id)
class Form(RequestHandler):
    def get(self):
        self.write('<html><body><form action="/" method="post">'
                   '<input type="text" name="message">'
                   '<input type="submit" value="Submit">'
                   '</form></body></html>')
    def post(self):
        self.set_header("Content-Type", "text/plain")
        self.write("You wrote " + self.get_argument("message"))
class Itcast(RequestHandler):
    def get(self): self.write("hello itcast.")
class SubjectCity(RequestHandler):
    def get(self, subject, city): self.write(("Subject: %s<br/>City: %s" % (subject, city)))
class SubjectDate(RequestHandler):
    def get(self, date, subject): self.write(("Date: %s<br/>Subject: %s" % (date, subject)))
class Index002(RequestHandler):
    async def get(self, *args, **kwargs): self.write('hello1')
class PeopleName(RequestHandler):
    def initialize(self, name): print(name, flush=True)
    async def get(self, name, *args, **kwargs): self.write('hello1:{}'.format(name))
class PeopleAge(RequestHandler):
    async def get(self, age, *args, **kwargs): self.write(age)
class PeopleInfo(RequestHandler):
    async def get(self, name, age, *args, **kwargs): self.write(name + age)
class Upload(RequestHandler):
    def post(self):
        img_files = self.request.files.get('img')
        if img_files:
            with open(os.path.join(upstream or ".", "itcast"), 'wb') as f:  # the seed's "./itcast"
                f.write(img_files[0]["body"])
        self.write("OK")
class Sub(RequestHandler):
    def get(self):
        subdomain = self.request.host.split(".")[0]
        self.write("Hello, world," + subdomain)
class Domain(RequestHandler):
    def get(self): self.write("Hello, a.com")
class IndexNamed(RequestHandler):
    def get(self): self.write('<a href="%s">itcast</a>' % self.reverse_url("python_url"))
class ItcastSubject(RequestHandler):
    def initialize(self, subject): self.subject = subject
    def get(self): self.write(self.subject)
class Arguments(RequestHandler):
    def post(self):
        query_arg = self.get_query_argument("a")
        query_args = self.get_query_arguments("a")
        body_arg = self.get_body_argument("a")
        body_args = self.get_body_arguments("a", strip=False)
        arg = self.get_argument("a")
        args = self.get_arguments("a")
        default_arg = self.get_argument("b", "itcast")
        default_args = self.get_arguments("b")
        try:
            missing_arg = self.get_argument("c")
        except MissingArgumentError as e:
            missing_arg = "We catched the MissingArgumentError!"
            print(e, flush=True)  # seed bug: Python 2 print
        missing_args = self.get_arguments("c")
        rep = "query_arg:%s<br/>" % query_arg
        rep += "query_args:%s<br/>" % query_args
        rep += "body_arg:%s<br/>" % body_arg
        rep += "body_args:%s<br/>" % body_args
        rep += "arg:%s<br/>" % arg
        rep += "args:%s<br/>" % args
        rep += "default_arg:%s<br/>" % default_arg
        rep += "default_args:%s<br/>" % default_args
        rep += "missing_arg:%s<br/>" % missing_arg
        rep += "missing_args:%s<br/>" % missing_args
        self.write(rep)
class Text(RequestHandler):
    def get(self): self.write("hello world!")
class Dumps(RequestHandler):
    def get(self): self.write(json.dumps(stu))
class Dict(RequestHandler):
    def get(self): self.write(stu)
class Header(RequestHandler):
    def get(self):
        self.write(json.dumps(stu))
        self.set_header("Content-Type", "application/json; charset=UTF-8")
class Headers(RequestHandler):
    def set_default_headers(self):
        print("执行了set_default_headers()", flush=True)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("itcast", "python")
    def get(self):
        print("执行了get()", flush=True)
        self.write(json.dumps(stu))
        self.set_header("itcast", "i love python")
    def post(self):
        print("执行了post()", flush=True)
        self.write(json.dumps(stu))
class Err404(RequestHandler):
    def get(self):
        self.write("hello itcast")
        self.set_status(404)
class Err210(RequestHandler):
    def get(self):
        self.write("hello itcast")
        self.set_status(210, "itcast error")
class Err211(RequestHandler):
    def get(self):
        self.write("hello itcast")
        self.set_status(211)
class IndexMain(RequestHandler):
    def get(self): self.write("主页")
class Login(RequestHandler):
    def get(self): self.write('<form method="post"><input type="submit" value="登陆"></form>')
    def post(self): self.redirect("/")
class OldPage(RequestHandler):
    def get(self): self.redirect('/some-canonical-page', permanent=True)
class SendError(RequestHandler):
    def get(self):
        self.write("主页")
        self.send_error(404, content="出现404错误")
class SendErrorWrite(RequestHandler):
    def get(self):
        self.write("主页")
        self.send_error(404, content="出现404错误")
        self.write("结束")
class ErrorPage(RequestHandler):
    def get(self):
        err_code = self.get_argument("code", None)
        err_title = self.get_argument("title", "")
        err_content = self.get_argument("content", "")
        if err_code:
            self.send_error(int(err_code), title=err_title, content=err_content)  # seed bug: str code
        else:
            self.write("主页")
    def write_error(self, status_code, **kwargs):
        self.write(u"<h1>出错了，程序员GG正在赶过来！</h1>")
        self.write(u"<p>错误名：%s</p>" % kwargs["title"])
        self.write(u"<p>错误详情：%s</p>" % kwargs["content"])
class Hooks(RequestHandler):
    def initialize(self): print("调用了initialize()", flush=True)
    def prepare(self): print("调用了prepare()", flush=True)
    def set_default_headers(self): print("调用了set_default_headers()", flush=True)
    def write_error(self, status_code, **kwargs): print("调用了write_error()", flush=True)
    def get(self): print("调用了get()", flush=True)
    def post(self):
        print("调用了post()", flush=True)
        self.send_error(200)
    def on_finish(self): print("调用了on_finish()", flush=True)
class PrepareJson(RequestHandler):
    def prepare(self):
        if self.request.headers.get("Content-Type").startswith("application/json"):
            self.json_dict = json.loads(self.request.body)
        else:
            self.json_dict = None
    def post(self):
        if self.json_dict:
            for key, value in self.json_dict.items():
                self.write("<h3>%s</h3><p>%s</p>" % (key, value))
    def put(self):
        if self.json_dict:
            for key, value in self.json_dict.items():
                self.write("<h3>%s</h3><p>%s</p>" % (key, value))
class HelloItcast(RequestHandler):
    def get(self): self.write("Hello Itcast!")

API = upstream + "/iplookup/iplookup.php?format=json&ip="
class IpIndex(RequestHandler):
    @gen.coroutine
    def get(self):
        http = tornado.httpclient.AsyncHTTPClient()
        response = yield http.fetch(API + "14.130.112.24")
        if response.error:
            self.send_error(500)
        else:
            data = json.loads(response.body)
            if 1 == data["ret"]:
                self.write(u"国家：%s 省份: %s 城市: %s" % (data["country"], data["province"], data["city"]))
            else:
                self.write("查询IP信息错误")
class IpBase(RequestHandler):
    @gen.coroutine
    def get_ip_info(self, ip):
        http = tornado.httpclient.AsyncHTTPClient()
        response = yield http.fetch(API + ip)
        if response.error:
            rep = {"ret": 0}
        else:
            rep = json.loads(response.body)
        raise tornado.gen.Return(rep)
class IpInfo(IpBase):
    @gen.coroutine
    def get(self):
        rep = yield self.get_ip_info("14.130.112.24")
        if 1 == rep["ret"]:
            self.write(u"国家：%s 省份: %s 城市: %s" % (rep["country"], rep["province"], rep["city"]))
        else:
            self.write("查询IP信息错误")
class IpParallel(IpBase):
    @gen.coroutine
    def get(self):
        ips = ["14.130.112.24", "15.130.112.24", "16.130.112.24", "17.130.112.24"]
        rep1, rep2 = yield [self.get_ip_info(ips[0]), self.get_ip_info(ips[1])]
        rep34_dict = yield dict(rep3=self.get_ip_info(ips[2]), rep4=self.get_ip_info(ips[3]))
        self.write_response(ips[0], rep1)
        self.write_response(ips[1], rep2)
        self.write_response(ips[2], rep34_dict['rep3'])
        self.write_response(ips[3], rep34_dict['rep4'])
    def write_response(self, ip, response):
        self.write(ip)
        self.write(":<br/>")
        if 1 == response["ret"]:
            self.write(u"国家：%s 省份: %s 城市: %s<br/>" % (response["country"], response["province"], response["city"]))
        else:
            self.write("查询IP信息错误<br/>")
class CoroutineFetch(RequestHandler):
    @gen.coroutine
    def get(self):
        response = yield self.fetch_json(upstream)
        self.write(response)
    @gen.coroutine
    def fetch_json(self, url):
        response = yield tornado.httpclient.AsyncHTTPClient().fetch(url)
        raise gen.Return(response.body)
class Feed(RequestHandler):
    async def get(self):
        response = await tornado.httpclient.AsyncHTTPClient().fetch(upstream + "/v2/feed/bret", raise_error=False)
        if response.error: raise tornado.web.HTTPError(500)
        data = tornado.escape.json_decode(response.body)
        self.write("Fetched " + str(len(data["entries"])) + " entries "
                   "from the FriendFeed API")

# Seed 004's house-listing site (templates, blocks, static_url, a function
# passed to render, the escaping form) and seed 001's Entry UI module, over
# the templates and statics of examples/house_site and examples/entries.
EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples")
HOUSE = os.path.join(EXAMPLES, "house_site")
def house_title_join(titles):
    return "+".join(titles)
class HouseIndex(RequestHandler):
    def get(self):
        house = {"price": 398, "titles": ["宽窄巷子", "160平大空间", "文化保护区双地铁"],
                 "score": 5, "comments": 6, "position": "北京市丰台区六里桥地铁"}
        self.render("index.html", houses=[house, dict(house)], title_join=house_title_join)
class HouseNew(RequestHandler):
    def initialize(self, page): self.page = page  # new.html, or new_raw.html
    def get(self): self.render(self.page, text="")
    def post(self):
        text = self.get_argument("text", "")
        print(text, flush=True)  # seed: Python 2's print text
        self.render(self.page, text=text)
ENTRIES = [
    {"id": 3, "title": "Templates & modules", "date": "2026-11-03",
     "html": "<p>{% module Entry(entry) %} renders <em>this</em>.</p>",
     "comments": ["Neat", "<script>alert(1)</script>"]},
    {"id": 2, "title": "Static files", "date": "2026-11-02",
     "html": "<p>static_url adds a version.</p>", "comments": ["Useful"]},
    {"id": 1, "title": "Hello, world", "date": "2026-11-01",
     "html": "<p>The first entry.</p>", "comments": []},
]
class EntryModule(tornado.web.UIModule):
    def render(self, entry, show_comments=False):
        return self.render_string("module-entry.html", entry=entry, show_comments=show_comments)
    def embedded_css(self):
        return ".entry { margin-bottom: 1em; }"
class EntriesHome(RequestHandler):
    def get(self): self.render("home.html", entries=ENTRIES)
class EntryPage(RequestHandler):
    def get(self, entry_id):
        entry = next((e for e in ENTRIES if e["id"] == int(entry_id)), None)
        if not entry: raise tornado.web.HTTPError(404)
        self.render("entry.html", entry=entry)

apps = {
    "hello": [(r"/", Hello)],
    "hello_post": [(r"/", HelloPost)],
    "story": [(r"/", Main001), (r"/story/([0-9]+)", Story)],
    "message_form": [(r"/", Form)],
    "path_args": [(r"/", Itcast), (r"/sub-city/(.+)/([a-z]+)", SubjectCity),
                  (r"/sub-date/(?P<subject>.+)/(?P<date>\d+)", SubjectDate)],
    "people_urls": [url('/', Index002, name='index'), url(r'/people/(\d+)/?', PeopleAge),
                    url(r'/people/(\w+)/?', PeopleName, {'name': 'wh'}),
                    url(r'/people/(?P<name>\w+)/(?P<age>\d+)/?', PeopleInfo)],
    "upload": [(r"/", Itcast), (r"/upload", Upload)],
    "subdomains": [(r"/", Sub)],
    "named_urls": [(r"/", IndexNamed), (r"/cpp", ItcastSubject, {"subject": "c++"}),
                   url(r"/python", ItcastSubject, {"subject": "python"}, name="python_url")],
    "arguments": [(r"/", Arguments)],
    "write_json": [(r"/", Text), (r"/dumps", Dumps), (r"/dict", Dict), (r"/header", Header)],
    "headers": [(r"/", Headers)],
    "status": [(r"/err/404", Err404), (r"/err/210", Err210), (r"/err/211", Err211)],
    "redirect": [(r"/", IndexMain), (r"/login", Login), (r"/old-page", OldPage),
                 (r"/foo", tornado.web.RedirectHandler, {"url": "/bar", "permanent": False}),
                 (r"/static/tornado-0.2.tar.gz", tornado.web.RedirectHandler,
                  dict(url="http://github.com/downloads/facebook/tornado/tornado-0.2.tar.gz"))],
    "errors": [(r"/", ErrorPage), (r"/send_error", SendError), (r"/send_error_write", SendErrorWrite)],
    "hooks": [(r"/", Hooks)],
    "prepare_json": [(r"/", PrepareJson)],
    "httpserver": [(r"/", HelloItcast)],
    "ip_lookup": [(r"/", IpIndex), (r"/info", IpInfo), (r"/parallel", IpParallel)],
    "coroutine_fetch": [(r"/", CoroutineFetch)],
    "feed_count": [(r"/", Feed)],
    "house_site": [(r"^/$", HouseIndex),
                   (r"^/view/(.*)$", tornado.web.StaticFileHandler, {"path": os.path.join(HOUSE, "statics", "html")}),
                   (r"^/new$", HouseNew, {"page": "new.html"}), (r"^/new_raw$", HouseNew, {"page": "new_raw.html"})],
    "entries": [url(r"/", EntriesHome, name="home"), (r"/entry/([0-9]+)", EntryPage)],
}
settings = {"debug": True} if name in ("people_urls", "named_urls") else {}
if name == "house_site":
    settings = dict(static_path=os.path.join(HOUSE, "statics"), template_path=os.path.join(HOUSE, "templates"))
if name == "entries":
    settings = dict(template_path=os.path.join(EXAMPLES, "entries", "templates"), ui_modules={"Entry": EntryModule})
app = tornado.web.Application(apps[name], **settings)
if name == "subdomains":
    app.add_handlers(r"^(www\.)?a\.com$", [(r"/", Domain)])
app.listen(port, "127.0.0.1")
print("Listening", flush=True)
tornado.ioloop.IOLoop.current().start()
