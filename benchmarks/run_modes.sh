#!/usr/bin/env bash
# Builds web_modes_gale (-O2, NDEBUG) and measures the plaintext app with wrk
# served three ways: one process (single), fork_processes children (fork) and
# run_threads threads (threads), printing a markdown table of requests per
# second (the median of the repetitions, with the lowest and highest).
#
#   benchmarks/run_modes.sh [--cxx g++] [--builddir DIR] [--workers N] [--reps N]
#                           [--duration S] [--connections C] [--server-cpus LIST]
#                           [--client-cpus LIST]
#
# Defaults: 2 workers, 5 repetitions of 5 s, 64 connections, the server on
# CPUs 0,1 and wrk (2 threads) on CPUs 0,1 (taskset): on a two-core machine
# the client shares the cores, so the figures compare the modes with each
# other, not with a machine where wrk runs elsewhere. The modes take turns
# within each repetition, so a change of load on a shared machine hits all
# three alike.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(dirname "$here")
cxx=${CXX:-g++}
build_dir=""
workers=2 reps=5 duration=5 connections=64 server_cpus=0,1 client_cpus=0,1
while [ $# -gt 0 ]; do
    case "$1" in
        --cxx) cxx=$2; shift 2 ;;
        --builddir) build_dir=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        --server-cpus) server_cpus=$2; shift 2 ;;
        --client-cpus) client_cpus=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
build_dir=${build_dir:-/tmp/build-bench-http-$(basename "$cxx")}
for tool in wrk taskset setsid; do
    command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done

. "$here/configure_build.sh"
configure_benchmark_build
ninja -C "$build_dir" -j2 benchmarks/web_modes_gale >/dev/null
server_bin=$build_dir/benchmarks/web_modes_gale

# One wrk run against one mode; prints its requests per second.
measure() {
    local mode=$1 out port pid rps
    out=$(mktemp)
    local n=$workers
    [ "$mode" = single ] && n=1
    setsid taskset -c "$server_cpus" "$server_bin" --mode "$mode" --workers "$n" >"$out" 2>/dev/null &
    pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/^port //p' "$out")
        [ -n "$port" ] && break
        sleep 0.1
    done
    # The threads mode binds its other sockets after printing: give every
    # worker a moment to listen before measuring.
    sleep 0.5
    taskset -c "$client_cpus" wrk -t2 -c"$connections" -d1s "http://127.0.0.1:$port/plaintext" >/dev/null
    rps=$(taskset -c "$client_cpus" wrk -t2 -c"$connections" -d"${duration}s" \
        "http://127.0.0.1:$port/plaintext" | sed -n 's/^Requests\/sec: *//p')
    kill -TERM -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$out"
    echo "$rps"
}

declare -A results
for rep in $(seq "$reps"); do
    for mode in single fork threads; do
        results[$mode]+="$(measure "$mode") "
    done
done

commit=$(git -C "$source_dir" rev-parse --short HEAD 2>/dev/null || echo "${GALE_COMMIT:-unknown}")
echo "### Plaintext through an Application: one process, fork_processes($workers), run_threads($workers)"
echo
echo "$(basename "$cxx") -O2, commit $commit, $(nproc) CPUs, server on CPUs $server_cpus, wrk -t2 -c$connections" \
     "on CPUs $client_cpus, ${duration} s per run, $reps runs each (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| mode | requests/s (median) | lowest | highest |"
echo "| --- | ---: | ---: | ---: |"
for mode in single fork threads; do
    python3 -c '
import statistics, sys
mode, values = sys.argv[1], [float(v) for v in sys.argv[2].split()]
print(f"| {mode} | {statistics.median(values):,.0f} | {min(values):,.0f} | {max(values):,.0f} |")
' "$mode" "${results[$mode]}"
done
