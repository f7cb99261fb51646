#!/usr/bin/env bash
# Builds the runtime micro benchmark (-O2, NDEBUG) in its own build directory,
# runs it pinned to one core and prints a markdown report: machine, compiler,
# and the table of gale against asio::awaitable.
#
#   benchmarks/run_runtime.sh [--cxx g++|clang++-14] [--cpu LIST] [--reps N]
#                             [--scale F] [--builddir DIR] [-- extra bench args]
#
#   --cxx       compiler (default: $CXX, else g++)
#   --cpu       taskset CPU list (default: the last core; "0,1" lets the
#               worker thread of the cross-thread benchmark run on its own core)
#   --reps      repetitions per benchmark, medians reported (default 9)
#   --scale     multiplies every benchmark's operation count (default 1)
#   --builddir  default /tmp/build-bench-<compiler>
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(dirname "$here")

cxx=${CXX:-g++}
cpu=$(($(nproc) - 1))
reps=9
scale=1
build_dir=""
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --cxx) cxx=$2; shift 2 ;;
        --cpu) cpu=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        --scale) scale=$2; shift 2 ;;
        --builddir) build_dir=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
build_dir=${build_dir:-/tmp/build-bench-$(basename "$cxx")}

. "$here/configure_build.sh"
configure_benchmark_build
ninja -C "$build_dir" -j2 benchmarks/runtime_bench >/dev/null

commit=$(git -C "$source_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git -C "$source_dir" diff --quiet HEAD -- include 2>/dev/null; then
    commit="$commit + uncommitted changes under include/"
fi

echo "### $(basename "$cxx"), $(date -u +%Y-%m-%d)"
echo
echo "- machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), Linux $(uname -r)"
echo "- compiler: $("$cxx" --version | head -1), -O2 -DNDEBUG"
echo "- gale: $commit; pinned with taskset -c $cpu"
echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
taskset -c "$cpu" "$build_dir/benchmarks/runtime_bench" --reps "$reps" --scale "$scale" "${extra[@]}"
