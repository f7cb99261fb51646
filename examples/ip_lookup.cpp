// Calling a web API from a handler (seed 004, "193. Tornado异步"): Sina's IP
// lookup, fetched with AsyncHTTPClient inside the handler's coroutine.
//   /           the seed's callback and coroutine versions (they answer the same)
//   /info       the lookup moved into a coroutine of its own, get_ip_info
//   /parallel   four lookups at once: two gathered from a list, two from a map
// --upstream is where the API lives (a local stand-in: examples/upstream.cpp).
//
//   $ upstream --port=8001 &
//   $ ip_lookup --upstream=http://127.0.0.1:8001     # --port=8000
//   $ curl http://127.0.0.1:8000/
//   国家：中国 省份: 北京 城市: 北京
#include <map>
#include <string>
#include <vector>

#include <gale/gen.hpp>
#include <gale/httpclient.hpp>
#include <gale/json.hpp>
#include <gale/json_parse.hpp>
#include <gale/web.hpp>

#include "example_args.hpp"

// What the handlers share: one client for the loop, and the API's address.
struct IpApi {
    gale::AsyncHTTPClient client;
    std::string url;  // e.g. http://int.dpool.sina.com.cn
};

bool found(const gale::json::value& rep) {
    const gale::json::value* ret = rep.is_object() ? rep.get_object().find("ret") : nullptr;
    return ret && ret->is_int() && ret->get_int() == 1;
}

std::string place(const gale::json::value& rep) {
    return "国家：" + rep["country"].get_string() + " 省份: " + rep["province"].get_string() +
           " 城市: " + rep["city"].get_string();
}

struct IpHandler : gale::RequestHandler {
    IpApi* api = nullptr;
    void initialize(IpApi* a) { api = a; }

    // The API's answer for ip, or {"ret": 0} if the request failed.
    gale::task<gale::json::value> get_ip_info(std::string ip) {
        gale::HTTPResponse response =
            co_await api->client.fetch(api->url + "/iplookup/iplookup.php?format=json&ip=" + ip, false);
        if (response.error) co_return gale::json::object{{"ret", 0}};
        co_return gale::json::parse(response.body);
    }
};

struct IndexHandler : IpHandler {
    gale::task<void> get() {
        gale::HTTPResponse response =
            co_await api->client.fetch(api->url + "/iplookup/iplookup.php?format=json&ip=14.130.112.24", false);
        if (response.error) {
            send_error(500);
            co_return;
        }
        gale::json::value data = gale::json::parse(response.body);
        write(found(data) ? place(data) : "查询IP信息错误");
    }
};

struct InfoHandler : IpHandler {
    gale::task<void> get() {
        gale::json::value rep = co_await get_ip_info("14.130.112.24");
        write(found(rep) ? place(rep) : "查询IP信息错误");
    }
};

struct ParallelHandler : IpHandler {
    gale::task<void> get() {
        std::vector<std::string> ips = {"14.130.112.24", "15.130.112.24", "16.130.112.24", "17.130.112.24"};
        // A list of lookups: the results in the same order.
        std::vector<gale::task<gale::json::value>> list;
        list.push_back(get_ip_info(ips[0]));
        list.push_back(get_ip_info(ips[1]));
        std::vector<gale::json::value> rep12 = co_await gale::gather(std::move(list));
        // A map of lookups: the results under the same keys.
        std::map<std::string, gale::task<gale::json::value>> dict;
        dict.emplace("rep3", get_ip_info(ips[2]));
        dict.emplace("rep4", get_ip_info(ips[3]));
        std::map<std::string, gale::json::value> rep34 = co_await gale::gather(std::move(dict));
        write_response(ips[0], rep12[0]);
        write_response(ips[1], rep12[1]);
        write_response(ips[2], rep34["rep3"]);
        write_response(ips[3], rep34["rep4"]);
    }

    void write_response(const std::string& ip, const gale::json::value& response) {
        write(ip);
        write(":<br/>");
        write(found(response) ? place(response) + "<br/>" : "查询IP信息错误<br/>");
    }
};

int main(int argc, char** argv) {
    example::args args(argc, argv, 8000);
    IpApi api;
    api.url = args.get("upstream", "http://int.dpool.sina.com.cn");
    gale::Application app({
        {"/", gale::handler<IndexHandler>(&api)},
        {"/info", gale::handler<InfoHandler>(&api)},
        {"/parallel", gale::handler<ParallelHandler>(&api)},
    });
    example::serve(app, args);
}
