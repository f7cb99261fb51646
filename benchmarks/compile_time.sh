#!/usr/bin/env bash
# What a user pays in compile time for gale's hello worlds: one translation
# unit each, -O2 -std=c++20 with the project's flags, compiled N times;
# prints a markdown report (medians of wall and user+sys seconds).
#
#   benchmarks/compile_time.sh [--cxx g++|clang++-14] [--runs N] [--parts LIST]
#
#   --cxx    compiler (default: $CXX, else g++)
#   --runs   compilations per case, medians reported (default 3)
#   --parts  comma-separated, default all: time,separate,pch,phases,headers,contents
#     time      examples/hello_http.cpp (bare HTTPServer) and examples/hello.cpp
#               (an Application with one handler): compile to an object file,
#               then the link alone
#     separate  the same in separate-compilation mode (GALE_ and
#               ASIO_SEPARATE_COMPILATION): each hello world's own file, the
#               library compiled once (<gale/src.hpp>), the link, and the
#               web hello world with a precompiled header as well
#     pch       examples/hello.cpp with a precompiled header of <gale/web.hpp>
#               (the recipe in benchmarks/README.md): building the header once,
#               then each compile that uses it
#     phases    where the hello world's compile time goes (g++ -ftime-report)
#     headers   the cost of including each header alone (-fsyntax-only, user+sys)
#     contents  what the web hello world includes: heavy dependencies in or out
#
# The flags are meson's for this project at -O2 (warning_level=2, c++20,
# -DASIO_NO_DEPRECATED, -pthread), without -g. User+sys time is the figure
# to compare on a loaded machine; wall time means something only when the
# machine is otherwise idle (the report prints the load average).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(dirname "$here")

cxx=${CXX:-g++}
runs=3
parts=time,separate,pch,phases,headers,contents
while [ $# -gt 0 ]; do
    case "$1" in
        --cxx) cxx=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --parts) parts=$2; shift 2 ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
has_part() { [[ ",$parts," == *",$1,"* ]]; }

flags=(-std=c++20 -O2 -Wall -Wextra -Werror -DASIO_NO_DEPRECATED -pthread -I"$source_dir/include")
if "$cxx" --version | grep -q clang; then
    # As meson.build: Asio 1.22 switches its coroutine support off under
    # clang with libstdc++ otherwise.
    flags+=(-DASIO_HAS_CO_AWAIT=1 -DASIO_HAS_STD_COROUTINE=1)
    is_clang=1
else
    is_clang=0
fi
libs=(-lfmt -lssl -lcrypto -lz -lpcre2-8)

work=$(mktemp -d /tmp/gale-compile-time.XXXXXX)
trap 'rm -rf "$work"' EXIT

hello_http=$source_dir/examples/hello_http.cpp
hello_web=$source_dir/examples/hello.cpp

# Runs a command `runs` times; prints "wall user+sys" medians in seconds.
measure() {
    local samples=()
    for ((i = 0; i < runs; i++)); do
        /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
            cat "$work/stderr" >&2
            return 1
        }
        samples+=("$(cat "$work/time")")
    done
    printf '%s\n' "${samples[@]}" | python3 -c '
import statistics, sys
rows = [[float(x) for x in line.split()] for line in sys.stdin if line.strip()]
wall = statistics.median(r[0] for r in rows)
cpu = statistics.median(r[1] + r[2] for r in rows)
print("%.2f %.2f %s" % (wall, cpu, " ".join("%.2f" % (r[1] + r[2]) for r in rows)))'
}

row() {  # label, then measure's output
    local label=$1 wall cpu all
    read -r wall cpu all <<<"$2"
    echo "| $label | $wall s | $cpu s | ${all// /, } |"
}

echo "### Compile time, $(basename "$cxx"), $(date -u +'%Y-%m-%d %H:%M UTC')"
echo
echo "- machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- compiler: $("$cxx" --version | head -1)"
echo "- gale: ${GALE_COMMIT:-$(git -C "$source_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
echo "- flags: ${flags[*]/#-I*/-I include}"
echo

# The two hello worlds' compile rows: object files $work/hello_http<suffix>.o
# and $work/hello<suffix>.o, compiled with the flags given.
hello_rows() {
    local suffix=$1
    shift
    row "examples/hello_http.cpp (bare HTTPServer), compile" \
        "$(measure "$cxx" "$@" -c "$hello_http" -o "$work/hello_http$suffix.o")"
    row "examples/hello.cpp (Application, one handler), compile" \
        "$(measure "$cxx" "$@" -c "$hello_web" -o "$work/hello$suffix.o")"
}

if has_part time; then
    echo "#### One translation unit, -O2 (medians of $runs)"
    echo
    echo "| what | wall | user+sys | every run (user+sys) |"
    echo "|---|--:|--:|---|"
    hello_rows "" "${flags[@]}"
    row "examples/hello.cpp, link alone" \
        "$(measure "$cxx" -pthread "$work/hello.o" -o "$work/hello" "${libs[@]}")"
    echo
fi

if has_part separate; then
    separate_flags=("${flags[@]}" -DGALE_SEPARATE_COMPILATION -DASIO_SEPARATE_COMPILATION)
    echo '#include <gale/src.hpp>' >"$work/gale_src.cpp"
    echo '#include <gale/web.hpp>' >"$work/gale_sep_pch.hpp"
    if [ "$is_clang" = 1 ]; then
        sep_pch=(-include-pch "$work/gale_sep_pch.hpp.pch")
        sep_pch_out=$work/gale_sep_pch.hpp.pch
    else
        sep_pch=(-include "$work/gale_sep_pch.hpp" -Winvalid-pch)
        sep_pch_out=$work/gale_sep_pch.hpp.gch
    fi
    echo "#### Separate-compilation mode, -O2 (medians of $runs)"
    echo
    echo "| what | wall | user+sys | every run (user+sys) |"
    echo "|---|--:|--:|---|"
    hello_rows _sep "${separate_flags[@]}"
    row "the library, <gale/src.hpp> with Asio's (once per program)" \
        "$(measure "$cxx" "${separate_flags[@]}" -c "$work/gale_src.cpp" -o "$work/gale_src.o")"
    row "examples/hello.cpp, link with the library" \
        "$(measure "$cxx" -pthread "$work/hello_sep.o" "$work/gale_src.o" -o "$work/hello_sep" "${libs[@]}")"
    row "a precompiled <gale/web.hpp> in this mode (once per flags)" \
        "$(measure "$cxx" "${separate_flags[@]}" -x c++-header "$work/gale_sep_pch.hpp" -o "$sep_pch_out")"
    row "examples/hello.cpp using it, compile" \
        "$(measure "$cxx" "${separate_flags[@]}" "${sep_pch[@]}" -c "$hello_web" -o "$work/hello_sep_pch.o")"
    echo
fi

if has_part pch; then
    echo '#include <gale/web.hpp>' >"$work/gale_pch.hpp"
    if [ "$is_clang" = 1 ]; then
        build_pch=("$cxx" "${flags[@]}" -x c++-header "$work/gale_pch.hpp" -o "$work/gale_pch.hpp.pch")
        use_pch=(-include-pch "$work/gale_pch.hpp.pch")
    else
        build_pch=("$cxx" "${flags[@]}" -x c++-header "$work/gale_pch.hpp" -o "$work/gale_pch.hpp.gch")
        use_pch=(-include "$work/gale_pch.hpp" -Winvalid-pch)
    fi
    echo "#### With a precompiled header of <gale/web.hpp> (medians of $runs)"
    echo
    echo "| what | wall | user+sys | every run (user+sys) |"
    echo "|---|--:|--:|---|"
    row "building the precompiled header (once per flags)" "$(measure "${build_pch[@]}")"
    if [ "$is_clang" = 0 ]; then
        # g++ silently ignores a .gch it cannot use; -H marks a used one with '!'.
        "$cxx" "${flags[@]}" "${use_pch[@]}" -H -fsyntax-only "$hello_web" 2>"$work/pch-includes"
        grep -q '^! ' "$work/pch-includes" || { echo "the precompiled header was not used" >&2; exit 1; }
    fi
    row "examples/hello.cpp using it, compile" \
        "$(measure "$cxx" "${flags[@]}" "${use_pch[@]}" -c "$hello_web" -o "$work/hello_pch.o")"
    echo
    echo "Precompiled header size: $(du -h "$work"/gale_pch.hpp.*ch | cut -f1)."
    echo
fi

if has_part phases; then
    echo "#### Where examples/hello.cpp's compile time goes"
    echo
    if [ "$is_clang" = 1 ]; then
        "$cxx" "${flags[@]}" -ftime-trace -c "$hello_web" -o "$work/hello.o"
        python3 - "$work/hello.json" <<'EOF'
import collections, json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
totals = collections.Counter()
for e in events:
    if e.get("name", "").startswith("Total "):
        totals[e["name"][6:]] = e["dur"] / 1e6
print("clang -ftime-trace totals (seconds; the phases overlap):")
print()
print("| phase | seconds |")
print("|---|--:|")
for name in ("Frontend", "Source", "PerformPendingInstantiations", "InstantiateFunction", "CodeGen Function",
             "Backend", "OptModule", "CodeGenPasses"):
    if name in totals:
        print("| %s | %.2f |" % (name, totals[name]))
EOF
    else
        "$cxx" "${flags[@]}" -ftime-report -c "$hello_web" -o "$work/hello.o" 2>"$work/report"
        echo "g++ -ftime-report, phases (user seconds):"
        echo
        echo "| phase | user | wall |"
        echo "|---|--:|--:|"
        # " phase parsing : 1.23 ( 40%) 0.10 ( 5%) 1.40 ( 40%) 123M ( 30%)": user, sys, wall, memory
        grep -E '^ (phase [a-z. ]+|TOTAL) *:' "$work/report" | sed -E -e 's/\( *[0-9]+%\)//g' -e 's/ +:/:/' |
            while IFS=: read -r name numbers; do
                read -r user _ wall _ <<<"$numbers"
                echo "| ${name# } | $user | $wall |"
            done
    fi
    echo
fi

if has_part headers; then
    echo "#### Including one header alone (-fsyntax-only, user+sys, medians of $runs)"
    echo
    echo "| header | user+sys |"
    echo "|---|--:|"
    for h in asio/io_context.hpp asio/ip/tcp.hpp fmt/format.h openssl/evp.h pcre2-8 zlib.h \
             gale/task.hpp gale/ioloop.hpp gale/iostream.hpp gale/httputil.hpp gale/httpserver.hpp \
             gale/json.hpp gale/routing.hpp gale/signed_value.hpp gale/web.hpp \
             gale/json_parse.hpp gale/template.hpp gale/ssl.hpp gale/httpclient.hpp; do
        if [ "$h" = pcre2-8 ]; then
            printf '#define PCRE2_CODE_UNIT_WIDTH 8\n#include <pcre2.h>\n' >"$work/one.cpp"
            label="pcre2.h"
        else
            echo "#include <$h>" >"$work/one.cpp"
            label=$h
        fi
        read -r _ cpu _ <<<"$(measure "$cxx" "${flags[@]}" -fsyntax-only "$work/one.cpp")"
        echo "| <$label> | $cpu s |"
    done
    echo
fi

if has_part contents; then
    "$cxx" "${flags[@]}" -H -fsyntax-only "$hello_web" 2>"$work/includes" >/dev/null
    count() { grep -cE "$1" "$work/includes" || true; }
    echo "#### What examples/hello.cpp includes"
    echo
    echo "$(grep -c '^\.' "$work/includes") header inclusions in all ($(grep '^\.' "$work/includes" | sed 's/^\.* //' | sort -u | wc -l) distinct files):"
    echo
    echo "| piece | headers included |"
    echo "|---|--:|"
    echo "| gale (include/gale) | $(count '/include/gale/') |"
    echo "| Asio | $(count '/asio/') |"
    echo "| {fmt} | $(count '/fmt/') |"
    echo "| OpenSSL (all) | $(count '/openssl/') |"
    echo "| OpenSSL TLS (openssl/ssl.h, asio/ssl) | $(count '/openssl/ssl\.h|/asio/ssl') |"
    echo "| simdjson (JSON parsing) | $(count 'simdjson') |"
    echo "| template engine (gale/template.hpp, detail/template_*) | $(count 'gale/template|detail/template_') |"
    echo "| WebSocket | $(count 'websocket') |"
    echo "| zlib (gzip bodies) | $(count '/zlib\.h') |"
    echo "| PCRE2 (routes) | $(count '/pcre2\.h') |"
    echo "| libstdc++ <regex> | $(count '/c\+\+/[0-9]+/regex$') |"
    echo
    echo "gale headers, in order of first inclusion:"
    echo
    grep '/include/gale/' "$work/includes" | sed -E -e 's/^\.+ .*\/include\/gale\//gale\//' -e 's#detail/\.\./##' | awk '!seen[$0]++' |
        tr '\n' ' ' | sed 's/ $//'
    echo
    echo
fi
