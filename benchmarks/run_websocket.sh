#!/usr/bin/env bash
# Builds the WebSocket benchmark programs (-O2, NDEBUG) in their own build
# directory and measures gale's echo server against Tornado 6.2's in the same
# run, with a framework-free floor (ws_echo_floor) beside them
# (benchmarks/ws_bench.py does the measuring), printing a markdown report:
# messages/s with 1 and 100 clients, server CPU per message, and the memory of
# 10,000 idle connections.
#
#   benchmarks/run_websocket.sh [--cxx g++|clang++-14] [--builddir DIR] [-- ws_bench.py args]
#
#   --cxx       compiler (default: $CXX, else g++)
#   --builddir  default /tmp/build-bench-ws-<compiler>
#   ws_bench.py --reps N (3), --seconds S (3), --clients 1,100, --idle N (10000),
#               --size B (64), --in-flight K (1), --load raw|gale (raw),
#               --server-cpu C (0), --client-cpu C (1)
#
# Needs taskset and Debian's python3-tornado (run with /usr/bin/python3), and a
# descriptor limit above the idle connection count.
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
        --) shift; bench_args+=("$@"); break ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
build_dir=${build_dir:-/tmp/build-bench-ws-$(basename "$cxx")}

command -v taskset >/dev/null || { echo "taskset is needed" >&2; exit 1; }
/usr/bin/python3 -c 'import tornado' 2>/dev/null || { echo "python3-tornado is needed" >&2; exit 1; }

. "$here/configure_build.sh"
configure_benchmark_build
ninja -C "$build_dir" -j2 benchmarks/ws_echo_gale benchmarks/ws_echo_floor benchmarks/ws_load benchmarks/ws_load_raw >/dev/null

ulimit -n "$(ulimit -Hn)"

echo "### WebSocket, $(basename "$cxx"), $(git -C "$source_dir" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%Y-%m-%d)"
echo
/usr/bin/python3 "$here/ws_bench.py" --build "$build_dir" "${bench_args[@]}"
