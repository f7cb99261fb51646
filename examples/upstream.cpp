// A local stand-in for the remote services the seed programs call, since
// tests (and many readers) have no internet:
//   /iplookup/iplookup.php?format=json&ip=X   Sina's IP lookup (seed 004): the
//       seed's sample answer for 14.130.112.24, a few more, {"ret": -1} otherwise
//   /v2/feed/bret                             a FriendFeed feed (seed 001): 3 entries
//   /                                         a home page (seeds 000 and 002 fetch baidu.com)
//
//   $ upstream --port=8001
//   $ ip_lookup --upstream=http://127.0.0.1:8001
#include <map>
#include <string>

#include <gale/json.hpp>
#include <gale/web.hpp>

#include "example_args.hpp"

struct IpLookupHandler : gale::RequestHandler {
    gale::task<void> get() {
        static const std::map<std::string, gale::json::object, std::less<>> places = {
            {"14.130.112.24", place("中国", "北京", "北京")},
            {"15.130.112.24", place("美国", "加利福尼亚", "帕洛阿尔托")},
            {"17.130.112.24", place("美国", "加利福尼亚", "库比蒂诺")},
        };
        auto found = places.find(get_argument("ip", ""));
        // The API answers text/html with a JSON body, like the real one.
        write(gale::json::dump(found != places.end() ? found->second : gale::json::object{{"ret", -1}}));
        co_return;
    }

    static gale::json::object place(const char* country, const char* province, const char* city) {
        return {{"ret", 1},       {"start", -1}, {"end", -1}, {"country", country}, {"province", province},
                {"city", city},   {"district", ""}, {"isp", ""}, {"type", ""},      {"desc", ""}};
    }
};

struct FeedHandler : gale::RequestHandler {
    gale::task<void> get() {
        gale::json::array entries;
        for (const char* body : {"first", "second", "third"}) entries.push_back(gale::json::object{{"body", body}});
        write(gale::json::object{{"entries", std::move(entries)}});
        co_return;
    }
};

struct HomeHandler : gale::RequestHandler {
    gale::task<void> get() {
        write("<html><body>a stand-in home page</body></html>");
        co_return;
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8001);
    gale::Application app({
        {"/", gale::handler<HomeHandler>()},
        {"/iplookup/iplookup.php", gale::handler<IpLookupHandler>()},
        {"/v2/feed/bret", gale::handler<FeedHandler>()},
    });
    example::serve(app, args);
}
