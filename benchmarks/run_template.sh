#!/usr/bin/env bash
# Template rendering, gale against Tornado in the same run: builds
# template_bench (-O2, NDEBUG) in its own build directory, checks that both
# engines render the same bytes for every case, then runs the two back to
# back, each pinned to the same core, --reps times, and prints a markdown
# report: machine, load, and per case the median renders per CPU second of
# each engine (process CPU time, so other load on the machine disturbs the
# figures less than wall time would), the ratio of the medians, and gale's
# heap allocations per render.
#
#   benchmarks/run_template.sh [--cxx g++|clang++-14] [--cpu N] [--reps N]
#                              [--scale F] [--builddir DIR]
#
#   --cxx       compiler (default: $CXX, else g++)
#   --cpu       the core both engines are pinned to (default: the last one)
#   --reps      alternating repetitions per case, medians reported (default 7)
#   --scale     multiplies the renders per repetition (default 1: about
#               0.2 s per repetition and engine)
#   --builddir  default /tmp/build-bench-<compiler>
#
# Cases (benchmarks/templates/): fortunes.html (extends base.html: three
# blocks, a loop over the rows writing an id and an escaped message) with 12
# and 100 rows, and fortunes_include.html (the same page with an include
# per row and one for the header) with 100 rows.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(dirname "$here")

cxx=${CXX:-g++}
cpu=$(($(nproc) - 1))
reps=7
scale=1
build_dir=""
while [ $# -gt 0 ]; do
    case "$1" in
        --cxx) cxx=$2; shift 2 ;;
        --cpu) cpu=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        --scale) scale=$2; shift 2 ;;
        --builddir) build_dir=$2; shift 2 ;;
        -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
build_dir=${build_dir:-/tmp/build-bench-$(basename "$cxx")}

. "$here/configure_build.sh"
configure_benchmark_build
ninja -C "$build_dir" -j2 benchmarks/template_bench >/dev/null

gale_bin=$build_dir/benchmarks/template_bench
tornado=("/usr/bin/python3" "$here/template_tornado.py")
templates=$here/templates
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

commit=$(git -C "$source_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git -C "$source_dir" diff --quiet HEAD -- include benchmarks 2>/dev/null; then
    commit="$commit + uncommitted changes"
fi
tornado_version=$("${tornado[0]}" -c 'import tornado, sys; print(tornado.version, "on Python", sys.version.split()[0])')

echo "### $(basename "$cxx"), $(date -u +%Y-%m-%d)"
echo
echo "- machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), Linux $(uname -r)"
echo "- compiler: $("$cxx" --version | head -1), -O2 -DNDEBUG; Tornado $tornado_version"
echo "- gale: $commit; both engines pinned with taskset -c $cpu, alternating, $reps repetitions"
echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| page | rows | gale renders/CPU s | Tornado renders/CPU s | gale / Tornado | gale allocations per render |"
echo "|---|---:|---:|---:|---:|---:|"

# case: page rows gale-iterations tornado-iterations
run_case() {
    local page=$1 rows=$2 gale_iters tornado_iters
    gale_iters=$(awk -v n="$3" -v s="$scale" 'BEGIN { printf "%d", n * s }')
    tornado_iters=$(awk -v n="$4" -v s="$scale" 'BEGIN { printf "%d", n * s }')
    taskset -c "$cpu" "$gale_bin" --dir "$templates" --page "$page" --rows "$rows" --iters 1 --reps 1 \
        --dump "$work/gale.html" >/dev/null
    taskset -c "$cpu" "${tornado[@]}" --dir "$templates" --page "$page" --rows "$rows" --iters 1 --reps 1 \
        --dump "$work/tornado.html" >/dev/null
    if ! cmp -s "$work/gale.html" "$work/tornado.html"; then
        echo "$page with $rows rows: gale's output differs from Tornado's" >&2
        diff "$work/tornado.html" "$work/gale.html" | head -20 >&2
        exit 1
    fi
    : >"$work/gale.txt"
    : >"$work/tornado.txt"
    for _ in $(seq "$reps"); do
        taskset -c "$cpu" "$gale_bin" --dir "$templates" --page "$page" --rows "$rows" \
            --iters "$gale_iters" --reps 1 >>"$work/gale.txt"
        taskset -c "$cpu" "${tornado[@]}" --dir "$templates" --page "$page" --rows "$rows" \
            --iters "$tornado_iters" --reps 1 >>"$work/tornado.txt"
    done
    python3 - "$page" "$rows" "$work/gale.txt" "$work/tornado.txt" <<'PY'
import statistics, sys
page, rows, gale_file, tornado_file = sys.argv[1:]
def fields(path):
    return [dict(zip(l.split()[::2], map(float, l.split()[1::2]))) for l in open(path)]
gale, tornado = fields(gale_file), fields(tornado_file)
g = statistics.median(r["renders_per_s"] for r in gale)
t = statistics.median(r["renders_per_s"] for r in tornado)
allocs = statistics.median(r["allocs_per_render"] for r in gale)
print(f"| {page} | {rows} | {g:,.0f} | {t:,.0f} | {g / t:.1f} | {allocs:.2f} |")
PY
}

run_case fortunes.html 12 100000 4000
run_case fortunes.html 100 20000 600
run_case fortunes_include.html 100 20000 600

echo
echo "- load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
