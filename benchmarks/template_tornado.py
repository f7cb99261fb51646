"""Template rendering benchmark, Tornado's side (template_bench.cpp is
gale's; benchmarks/run_template.sh runs both and prints the ratio).

    /usr/bin/python3 benchmarks/template_tornado.py [--dir DIR] [--page NAME]
        [--rows N] [--iters N] [--reps N] [--dump FILE]

The same page, data and loop as template_bench.cpp: tornado.template.Loader
loads DIR/NAME, the first N rows of DIR/fortunes.json are sorted by message,
and each render is generate(fortunes=rows, engine=..., title=...) (Tornado
builds its namespace dict per call). Time is the process's CPU time
(time.process_time), as in template_bench.cpp. Prints "renders_per_s <median over
reps> bytes <page size>"; --dump writes one render to FILE.
"""

import argparse
import json
import os
import statistics
import time

import tornado.template


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="benchmarks/templates")
    ap.add_argument("--page", default="fortunes.html")
    ap.add_argument("--rows", type=int, default=12)
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--dump")
    args = ap.parse_args()

    loader = tornado.template.Loader(os.path.abspath(args.dir))
    page = loader.load(args.page)
    with open(os.path.join(args.dir, "fortunes.json"), encoding="utf-8") as f:
        rows = json.load(f)[: args.rows]
    rows.sort(key=lambda r: r["message"])

    def render():
        return page.generate(fortunes=rows, engine="gale", title="Fortunes")

    out = render()
    if args.dump:
        with open(args.dump, "wb") as f:
            f.write(out)
    for _ in range(args.iters // 10):  # warm up
        render()
    rates = []
    for _ in range(args.reps):
        t0 = time.process_time()
        for _ in range(args.iters):
            render()
        rates.append(args.iters / (time.process_time() - t0))
    print("renders_per_s %.0f bytes %d" % (statistics.median(rates), len(out)))


if __name__ == "__main__":
    main()
