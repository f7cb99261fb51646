// Micro benchmark of routing.hpp: a table of 100 routes, the request
// matching the last one, so every rule is tried.
//
//   routing_bench [--reps N] [--iters N] [--only CASE]
//
// --only runs one case, which is handy under valgrind --tool=callgrind
// (instructions per lookup do not depend on what else the machine runs).
//
// Cases (nanoseconds per lookup, median of the repetitions, and heap
// allocations per lookup, counted by alloc_count.cpp's operator new):
//   regex-100      100 rules "/api/v1/resN/([0-9]+)", path "/api/v1/res99/12345"
//                  (99 PCRE2 misses, then a match with one group unescaped)
//   regex-100-nogroups  the same without a group: "/api/v1/resN/[0-9]+"
//   literal-100    100 rules "/api/v1/resN", path "/api/v1/res99": the
//                  literal fast path, no PCRE2 call
//   literal-as-regex-100  the same 100 patterns through PCRE2 (what the
//                  fast path saves)
//   one-regex      a single "/story/([0-9]+)" rule matching "/story/42"
//   one-literal    a single "/about" rule matching "/about"
// Output is a markdown table on stdout.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gale/routing.hpp>

#include "alloc_count.hpp"

namespace {

int reps = 7;
long iters = 200000;
const char* only = nullptr;

template <class F>
void run(const char* name, F&& lookup) {
    if (only != nullptr && std::strcmp(only, name) != 0) return;
    for (long i = 0; i < iters / 10; ++i) lookup();  // warm up
    std::vector<double> ns;
    std::uint64_t allocs = 0;
    for (int r = 0; r < reps; ++r) {
        std::uint64_t a0 = alloc_count::total();
        auto t0 = std::chrono::steady_clock::now();
        for (long i = 0; i < iters; ++i) lookup();
        auto t1 = std::chrono::steady_clock::now();
        allocs += alloc_count::total() - a0;
        ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(iters));
    }
    std::sort(ns.begin(), ns.end());
    std::printf("| %-22s | %9.1f | %9.1f | %6.2f |\n", name, ns[ns.size() / 2], ns.front(),
                static_cast<double>(allocs) / static_cast<double>(iters) / reps);
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--reps") == 0) reps = std::atoi(argv[i + 1]);
        if (std::strcmp(argv[i], "--iters") == 0) iters = std::atol(argv[i + 1]);
        if (std::strcmp(argv[i], "--only") == 0) only = argv[i + 1];
    }
    gale::RuleRouter<int> regex_router, nogroup_router, literal_router;
    std::vector<gale::detail::regex> literal_regexes;
    for (int i = 0; i < 100; ++i) {
        std::string base = "/api/v1/res" + std::to_string(i);
        regex_router.add_rule({base + "/([0-9]+)", i});
        nogroup_router.add_rule({base + "/[0-9]+", i});
        literal_router.add_rule({base, i});
        literal_regexes.emplace_back(base + "$");
    }
    if (!literal_regexes.back().jit())
        std::fprintf(stderr, "note: PCRE2 JIT unavailable, the regex cases are interpreted\n");

    gale::HTTPServerRequest regex_request("GET", "/api/v1/res99/12345");
    gale::HTTPServerRequest literal_request("GET", "/api/v1/res99");
    gale::route_params params;
    volatile int sink = 0;

    std::printf("| case                   | ns/lookup | best ns   | allocs |\n");
    std::printf("|------------------------|-----------|-----------|--------|\n");
    run("regex-100", [&] {
        const auto* rule = regex_router.find_rule(regex_request, params);
        sink = sink + (rule ? rule->target : -1);
    });
    run("regex-100-nogroups", [&] {
        const auto* rule = nogroup_router.find_rule(regex_request, params);
        sink = sink + (rule ? rule->target : -1);
    });
    run("literal-100", [&] {
        const auto* rule = literal_router.find_rule(literal_request, params);
        sink = sink + (rule ? rule->target : -1);
    });
    run("literal-as-regex-100", [&] {
        int found = -1;
        for (std::size_t i = 0; i < literal_regexes.size(); ++i)
            if (literal_regexes[i].matches(literal_request.path)) {
                found = static_cast<int>(i);
                break;
            }
        sink = sink + found;
    });
    gale::PathMatches story(R"(/story/([0-9]+))"), about("/about");
    gale::HTTPServerRequest story_request("GET", "/story/42"), about_request("GET", "/about");
    run("one-regex", [&] {
        params.clear();
        sink = sink + story.match(story_request, params);
    });
    run("one-literal", [&] {
        params.clear();
        sink = sink + about.match(about_request, params);
    });
    return sink == 12345 ? 1 : 0;
}
