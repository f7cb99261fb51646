// Template rendering benchmark, gale's side (template_tornado.py is
// Tornado's, benchmarks/run_template.sh runs both and prints the ratio).
//
//   template_bench [--dir DIR] [--page NAME] [--rows N] [--iters N] [--reps N] [--dump FILE]
//
// Loads DIR/NAME (default benchmarks/templates/fortunes.html, which extends
// base.html) through a Loader, reads the first N rows (default 12) of
// DIR/fortunes.json sorted by message as TechEmpower's Fortunes does, and
// renders the page --iters times per repetition. Each render builds the
// namespace a handler would (the rows borrowed, two strings) and appends to
// one output string that is cleared and reused, as a handler's write buffer
// is. Time is the process's CPU time (so other load on a shared machine
// costs cache, not scheduling delays), the same clock template_tornado.py
// uses. Prints one line: "renders_per_s <median over reps> allocs_per_render
// <heap allocations per render, counted by alloc_count.cpp> bytes <page size>".
// --dump writes one render to FILE (the runner compares it with Tornado's).
// --iters 0 with --reps 1 renders once (handy under valgrind).

#include <algorithm>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gale/json_parse.hpp>
#include <gale/template.hpp>

#include "alloc_count.hpp"

namespace {

double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct config {
    std::string dir = "benchmarks/templates";
    std::string page = "fortunes.html";
    std::size_t rows = 12;
    long iters = 20000;
    int reps = 7;
    std::string dump;
};

config parse_args(int argc, char** argv) {
    config c;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view flag = argv[i];
        const char* v = argv[i + 1];
        if (flag == "--dir") c.dir = v;
        else if (flag == "--page") c.page = v;
        else if (flag == "--rows") c.rows = static_cast<std::size_t>(std::atol(v));
        else if (flag == "--iters") c.iters = std::atol(v);
        else if (flag == "--reps") c.reps = std::atoi(v);
        else if (flag == "--dump") c.dump = v;
        else {
            std::fprintf(stderr, "unknown argument %s\n", argv[i]);
            std::exit(2);
        }
    }
    return c;
}

// The first n fortunes, sorted by message.
gale::json::value load_rows(const std::string& dir, std::size_t n) {
    std::ifstream in(dir + "/fortunes.json", std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    gale::json::array all = gale::json::parse(text.str()).get_array();
    all.resize(std::min(n, all.size()));
    std::sort(all.begin(), all.end(), [](const gale::json::value& a, const gale::json::value& b) {
        return a["message"].get_string() < b["message"].get_string();
    });
    return all;
}

}  // namespace

int main(int argc, char** argv) {
    config c = parse_args(argc, argv);
    gale::Loader loader(c.dir);
    gale::Template page = loader.load(c.page);
    const gale::json::value rows = load_rows(c.dir, c.rows);
    const gale::json::value engine("gale"), title("Fortunes");

    std::string out;
    auto render = [&] {
        gale::template_namespace ns;
        ns.set_ref("fortunes", rows).set_ref("engine", engine).set_ref("title", title);
        out.clear();
        page.generate(ns, out);
    };
    render();
    if (!c.dump.empty()) std::ofstream(c.dump, std::ios::binary) << out;

    for (long i = 0; i < c.iters / 10; ++i) render();  // warm up
    std::vector<double> rates;
    std::uint64_t allocs = 0;
    for (int r = 0; r < c.reps && c.iters > 0; ++r) {
        std::uint64_t a0 = alloc_count::total();
        double t0 = cpu_seconds();
        for (long i = 0; i < c.iters; ++i) render();
        double t1 = cpu_seconds();
        allocs += alloc_count::total() - a0;
        rates.push_back(static_cast<double>(c.iters) / (t1 - t0));
    }
    if (rates.empty()) return 0;
    std::sort(rates.begin(), rates.end());
    std::printf("renders_per_s %.0f allocs_per_render %.2f bytes %zu\n", rates[rates.size() / 2],
                static_cast<double>(allocs) / static_cast<double>(c.iters) / c.reps, out.size());
}
