#!/usr/bin/env bash
# Packaging is tested like code. Builds and runs tests/packaging/consumer/main.cpp
# three ways, as a user of gale would:
#   1. bare:   c++ -std=c++20 -I include main.cpp -lfmt -pthread
#   2. pkg:    `meson install` gale into a temporary prefix, then compile with
#              the flags `pkg-config gale` gives
#   3. wrap:   the Meson project tests/packaging/consumer, whose
#              subprojects/gale.wrap is pointed at a git snapshot of this work
#              tree; Meson clones it and dependency('gale') falls back to it
# Steps 1 and 3 also build it in gale's separate-compilation mode (a file
# that includes <gale/src.hpp>; the gale-compiled dependency).
# Each step prints PASS, FAIL or SKIP; the script exits non-zero if any failed.
# Everything happens in a temporary directory (KEEP_TMP=1 keeps it), and
# nothing is downloaded: steps 1 and 3 use the installed Asio, {fmt} and
# simdjson, and are skipped where those are not installed (where gale was
# built through its own wrap fallbacks).
#
# usage: tests/packaging/check.sh [SOURCE_ROOT]
set -u

src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
cxx=${CXX:-c++}
consumer_src=$src/tests/packaging/consumer

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gale-packaging.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then
    echo "temporary files kept in $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi

passed=0
failed=0
skipped=0

# Prints why the installed dependencies cannot be used, or nothing.
missing_system_deps() {
    cat >"$tmp/probe.cpp" <<'PROBE'
#include <asio/steady_timer.hpp>
#include <fmt/core.h>
#include <simdjson.h>
int main() { return fmt::format("{}", 25) == "25" ? 0 : 1; }
PROBE
    if ! "$cxx" -std=c++20 "$tmp/probe.cpp" -o "$tmp/probe" -lfmt -lsimdjson -pthread \
            >"$tmp/probe.log" 2>&1; then
        echo "Asio, {fmt} and simdjson are not all installed"
    fi
}
missing=$(missing_system_deps)

# run_step NAME FUNCTION [system]: runs FUNCTION with its output going to a
# log, and reports PASS or FAIL (with the end of the log). A step marked
# `system` is skipped when the installed dependencies are missing.
run_step() {
    local name=$1 fn=$2 log=$tmp/$1.log status
    if [ "${3:-}" = system ] && [ -n "$missing" ]; then
        echo "SKIP: $name ($missing)"
        skipped=$((skipped + 1))
        return
    fi
    # Not inside an `if`, where bash would ignore set -e in the subshell.
    ( set -e -o pipefail; "$fn" ) >"$log" 2>&1
    status=$?
    if [ "$status" -eq 0 ]; then
        echo "PASS: $name"
        passed=$((passed + 1))
    else
        echo "FAIL: $name"
        tail -n 40 "$log" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
}

# Setting up gale or the consumer must never download anything, so that a
# missing system dependency fails here at once instead of going to the network.
meson_setup() {
    meson setup --wrap-mode=nodownload -Dbuildtype=debugoptimized "$@"
}

# json_field NAME: prints a field of the JSON object on stdin; for a list of
# objects (as `subprojects`), their names, one a line.
json_field() {
    python3 -c '
import json, sys
value = json.load(sys.stdin)[sys.argv[1]]
if isinstance(value, list):
    value = "\n".join(item["name"] for item in value)
print(value)' "$1"
}

step_bare_include() {
    "$cxx" -std=c++20 -I"$src/include" "$consumer_src/main.cpp" \
        -o "$tmp/bare_consumer" -lfmt -pthread
    "$tmp/bare_consumer"
}

# The separate-compilation mode by hand: every file with the two macros,
# and <gale/src.hpp> compiled in one of them.
step_bare_separate() {
    local defines=(-DGALE_SEPARATE_COMPILATION -DASIO_SEPARATE_COMPILATION)
    echo '#include <gale/src.hpp>' >"$tmp/gale_src.cpp"
    "$cxx" -std=c++20 "${defines[@]}" -I"$src/include" -c "$tmp/gale_src.cpp" -o "$tmp/gale_src.o"
    "$cxx" -std=c++20 "${defines[@]}" -I"$src/include" "$consumer_src/main.cpp" "$tmp/gale_src.o" \
        -o "$tmp/bare_separate_consumer" -lfmt -lssl -lcrypto -lz -lpcre2-8 -pthread
    "$tmp/bare_separate_consumer"
}

step_pkg_config() {
    local prefix=$tmp/prefix build=$tmp/build-install
    meson_setup "$build" "$src" --prefix="$prefix" \
        -Dtests=false -Dexamples=false -Dbenchmarks=false
    meson install -C "$build" --quiet

    # Every header is installed, and nothing else under include/gale.
    diff -r "$src/include/gale" "$prefix/include/gale"

    local pc
    pc=$(find "$prefix" -name gale.pc)
    [ -n "$pc" ] || { echo "no gale.pc installed under $prefix"; return 1; }
    PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    export PKG_CONFIG_PATH

    local want got
    want=$(meson introspect "$build" --projectinfo | json_field version)
    got=$(pkg-config --modversion gale)
    [ "$got" = "$want" ] || { echo "gale.pc says version $got, meson.build $want"; return 1; }

    local cflags libs
    cflags=$(pkg-config --cflags gale)
    libs=$(pkg-config --libs gale)
    echo "pkg-config --cflags gale: $cflags"
    echo "pkg-config --libs gale: $libs"
    case " $cflags " in
        *" -I$prefix/include "*) ;;
        *) echo "the flags do not point at the installed headers"; return 1 ;;
    esac
    # shellcheck disable=SC2086  # the flags are words
    "$cxx" $cflags "$consumer_src/main.cpp" -o "$tmp/pkg_consumer" $libs
    "$tmp/pkg_consumer"
}

# Copies the files of the work tree that git knows of (committed or not, but
# not ignored ones such as build directories) into a fresh repository, and
# tags it with the revision the consumer's gale.wrap asks for.
snapshot_work_tree() {
    local dest=$1 revision=$2
    mkdir -p "$dest"
    if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$src" ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do
                [ -f "$src/$f" ] && printf '%s\0' "$f"
            done |
            tar -C "$src" --null -T - -cf - | tar -C "$dest" -xf -
    else
        tar -C "$src" --exclude='./build*' --exclude='./subprojects/*/' -cf - . |
            tar -C "$dest" -xf -
    fi
    local git_id=(-c user.name=gale-packaging -c user.email=packaging@localhost
                  -c commit.gpgsign=false -c tag.gpgsign=false)
    git -C "$dest" -c init.defaultBranch=main init -q
    git -C "$dest" add -A
    git -C "$dest" "${git_id[@]}" commit -q -m "work tree snapshot"
    git -C "$dest" "${git_id[@]}" tag "$revision"
}

step_meson_wrap() {
    local consumer=$tmp/consumer build=$tmp/build-consumer
    cp -R "$consumer_src" "$consumer"
    rm -rf "$consumer/subprojects/gale"
    local wrap=$consumer/subprojects/gale.wrap revision
    revision=$(sed -n 's/^revision *= *//p' "$wrap")
    [ -n "$revision" ] || { echo "gale.wrap has no revision"; return 1; }
    snapshot_work_tree "$tmp/gale-git" "$revision"
    sed -i "s|^url *=.*|url = file://$tmp/gale-git|" "$wrap"

    # Meson fetches gale as the wrap says; then it sets up with the fallback
    # forced, so an installed gale.pc cannot stand in for the subproject.
    (cd "$consumer" && meson subprojects download gale)
    [ -f "$consumer/subprojects/gale/include/gale/gen.hpp" ]
    meson_setup "$build" "$consumer" --force-fallback-for=gale
    meson introspect "$build" --projectinfo | json_field subprojects | grep -qx gale
    meson compile -C "$build" -j 2
    "$build/consumer"
    "$build/consumer_compiled"
}

# include/gale/version.hpp and meson.build's project version agree.
step_version() {
    local header project
    header=$(sed -n 's/^#define GALE_VERSION "\(.*\)"$/\1/p' "$src/include/gale/version.hpp")
    project=$(sed -n "s/^  version : '\(.*\)',\$/\1/p" "$src/meson.build" | head -n 1)
    echo "version.hpp: $header, meson.build: $project"
    [ -n "$header" ] && [ "$header" = "$project" ]
}

cd "$tmp"
run_step version step_version
run_step bare-include step_bare_include system
run_step bare-separate step_bare_separate system
run_step pkg-config step_pkg_config
run_step meson-wrap step_meson_wrap system

echo "packaging: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
