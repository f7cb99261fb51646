#!/usr/bin/env bash
# Builds the HTTP benchmark servers (-O2, NDEBUG) in their own build
# directory and runs the HTTP benchmarks against gale, raw Asio and Tornado
# 6.2 (benchmarks/http_bench.py does the measuring), printing a markdown
# report: machine, versions, then the tables.
#
#   benchmarks/run_http.sh [--cxx g++|clang++-14] [--builddir DIR]
#                          [--parts throughput,callgrind,syscalls,client,rss,web,webcallgrind]
#                          [--reps N]
#                          [--duration S] [-- extra http_bench.py args]
#
#   --cxx       compiler (default: $CXX, else g++)
#   --builddir  default /tmp/build-bench-http-<compiler>
#   --parts     which measurements (default all seven); "web" and
#               "webcallgrind" are the full framework (web_hello_gale's
#               /plaintext, /json and route table) beside the bare server,
#               raw Asio and Tornado's tornado.web
#   --reps      repetitions, medians reported (default 3)
#   --duration  seconds per wrk run (default 5)
#   extra args  see /usr/bin/python3 benchmarks/http_bench.py --help
#               (--server-cpu, --client-cpu, --connections, --max-load, ...)
#
# A clean measurement of one commit while the working tree changes:
#   git archive <commit> | tar -x -C /tmp/gale-snap
#   GALE_COMMIT=<commit> /tmp/gale-snap/benchmarks/run_http.sh
#
# Needs wrk, valgrind (for the callgrind part), taskset and Debian's
# python3-tornado (Tornado 6.2, run with /usr/bin/python3). Waits until the
# 1-minute load average is below 1.5 before measuring (--max-load).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(dirname "$here")

cxx=${CXX:-g++}
build_dir=""
bench_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --cxx) cxx=$2; shift 2 ;;
        --builddir) build_dir=$2; shift 2 ;;
        --parts|--reps|--duration) bench_args+=("$1" "$2"); shift 2 ;;
        --) shift; bench_args+=("$@"); break ;;
        -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
build_dir=${build_dir:-/tmp/build-bench-http-$(basename "$cxx")}

for tool in wrk taskset; do
    command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done
/usr/bin/python3 -c 'import tornado' 2>/dev/null || { echo "python3-tornado is needed" >&2; exit 1; }

. "$here/configure_build.sh"
configure_benchmark_build
ninja -C "$build_dir" -j2 benchmarks/http_hello_gale benchmarks/http_hello_asio benchmarks/web_hello_gale \
    benchmarks/http_client_gale benchmarks/libhttp_syscount.so >/dev/null

# 10,000 idle connections need as many descriptors in the server and in
# the client.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10100 ]; then
    echo "the descriptor limit is $(ulimit -n); the idle-connection part needs 10,100" >&2
    exit 1
fi

# GALE_COMMIT names the revision when the tree is not a git checkout (for
# example a `git archive` snapshot, measured while others edit the tree).
if [ -n "${GALE_COMMIT:-}" ]; then
    commit=$GALE_COMMIT
else
    commit=$(git -C "$source_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if ! git -C "$source_dir" diff --quiet HEAD -- include 2>/dev/null; then
        commit="$commit + uncommitted changes under include/"
    fi
fi

echo "### HTTP, $(basename "$cxx"), $(date -u +%Y-%m-%d)"
echo
echo "- machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), Linux $(uname -r)"
echo "- compiler: $("$cxx" --version | head -1), -O2 -DNDEBUG"
echo "- gale: $commit"
echo "- $(/usr/bin/python3 --version), Tornado $(/usr/bin/python3 -c 'import tornado; print(tornado.version)')," \
     "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(valgrind --version 2>/dev/null || echo 'no valgrind')"
/usr/bin/python3 "$here/http_bench.py" --build-dir "$build_dir" "${bench_args[@]}"
