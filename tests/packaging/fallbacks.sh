#!/usr/bin/env bash
# Checks subprojects/*.wrap: builds gale with every dependency taken from its
# wrap fallback, as on a machine without the packages. Run as root: in a
# private mount namespace it hides the installed Asio, {fmt}, simdjson and
# doctest under /usr (an overlay with whiteouts; nothing changes outside the
# namespace), then
#   1. suites:   sets up gale with its tests, so that Meson fetches all four
#                wraps, builds everything and runs the suites (not `packaging`);
#   2. install:  installs gale into a temporary prefix (with fmt.pc and
#                simdjson.pc from the fallbacks) and builds the consumer with
#                the flags `pkg-config gale` gives;
#   3. wrap:     builds tests/packaging/consumer through its gale.wrap, gale's
#                own wraps providing gale's dependencies.
# Fetching the wraps needs the network. Offline, MIRRORS=DIR names a directory
# of git repositories asio/ fmt/ simdjson/ doctest/ that stand in for upstream
# (same layout, carrying the tags the wraps name); the wraps are pointed there.
# Slow (simdjson is one big translation unit), so `meson test` does not run it.
#
# usage: [MIRRORS=DIR] [KEEP_TMP=1] tests/packaging/fallbacks.sh [SOURCE_ROOT]
set -u

src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)

if [ -z "${GALE_FALLBACKS_INSIDE:-}" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "fallbacks.sh: must run as root (unshare, mount)"; exit 2; }
    exec unshare --mount env GALE_FALLBACKS_INSIDE=1 "$0" "$src"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gale-fallbacks.XXXXXX")
if [ "${KEEP_TMP:-0}" = 1 ]; then
    echo "temporary files kept in $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi

# Hide the installed dependencies: a whiteout in the overlay's upper layer
# for each of their headers, libraries, pkg-config and CMake files.
mount --make-rprivate /
mkdir -p "$tmp/overlay/upper" "$tmp/overlay/work"
libdirs=(lib lib64)
if command -v dpkg-architecture >/dev/null; then
    libdirs+=("lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)")
elif [ -d /usr/lib/x86_64-linux-gnu ]; then
    libdirs+=(lib/x86_64-linux-gnu)
fi
hide=(include/asio include/asio.hpp include/fmt include/simdjson.h include/doctest)
for d in "${libdirs[@]}"; do
    for f in /usr/"$d"/libfmt.* /usr/"$d"/libsimdjson.*; do
        [ -e "$f" ] && hide+=("${f#/usr/}")
    done
    hide+=("$d/pkgconfig/fmt.pc" "$d/pkgconfig/simdjson.pc" "$d/pkgconfig/doctest.pc"
           "$d/cmake/fmt" "$d/cmake/simdjson" "$d/cmake/doctest")
done
for p in "${hide[@]}"; do
    if [ -e "/usr/$p" ]; then
        mkdir -p "$tmp/overlay/upper/$(dirname "$p")"
        mknod "$tmp/overlay/upper/$p" c 0 0
    fi
done
mount -t overlay overlay \
    -o "lowerdir=/usr,upperdir=$tmp/overlay/upper,workdir=$tmp/overlay/work" /usr || exit 2
if echo '#include <asio.hpp>' | c++ -x c++ -fsyntax-only - 2>/dev/null ||
        pkg-config --exists fmt || pkg-config --exists simdjson; then
    echo "fallbacks.sh: could not hide the installed dependencies"
    exit 2
fi

passed=0
failed=0
run_step() {
    local name=$1 fn=$2 log=$tmp/$1.log status
    ( set -e -o pipefail; "$fn" ) >"$log" 2>&1
    status=$?
    if [ "$status" -eq 0 ]; then
        echo "PASS: $name"
        passed=$((passed + 1))
    else
        echo "FAIL: $name (log: $log)"
        tail -n 40 "$log" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
}

# The work tree's files that git knows of, as a fresh repository tagged with
# the revision the consumer's gale.wrap asks for; its wraps point at MIRRORS.
gale_git=$tmp/gale-git
make_snapshot() {
    mkdir -p "$gale_git"
    git -C "$src" ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            [ -f "$src/$f" ] && printf '%s\0' "$f"
        done |
        tar -C "$src" --null -T - -cf - | tar -C "$gale_git" -xf -
    if [ -n "${MIRRORS:-}" ]; then
        local mirrors wrap name
        mirrors=$(cd "$MIRRORS" && pwd)
        for wrap in "$gale_git"/subprojects/*.wrap; do
            name=$(basename "$wrap" .wrap)
            sed -i "s|^url *=.*|url = file://$mirrors/$name|" "$wrap"
        done
    fi
    local revision git_id=(-c user.name=gale-fallbacks -c user.email=fallbacks@localhost
                           -c commit.gpgsign=false -c tag.gpgsign=false)
    revision=$(sed -n 's/^revision *= *//p' "$src/tests/packaging/consumer/subprojects/gale.wrap")
    git -C "$gale_git" -c init.defaultBranch=main init -q
    git -C "$gale_git" add -A
    git -C "$gale_git" "${git_id[@]}" commit -q -m "work tree snapshot"
    git -C "$gale_git" "${git_id[@]}" tag "$revision"
}

step_suites() {
    meson setup "$tmp/build" "$gale_git" --prefix="$tmp/prefix" -Dexamples=false
    meson introspect "$tmp/build" --projectinfo |
        python3 -c 'import json, sys; print(*sorted(s["name"] for s in json.load(sys.stdin)["subprojects"]))' |
        grep -qx 'asio doctest fmt simdjson'
    meson compile -C "$tmp/build" -j 2
    local suites
    suites=$(meson test -C "$tmp/build" --list --no-rebuild | sed 's/^.*://' | grep -vx packaging)
    # shellcheck disable=SC2086  # one word per suite
    meson test -C "$tmp/build" --no-rebuild --num-processes 2 $suites
}

step_install() {
    meson install -C "$tmp/build" --quiet
    local pc
    pc=$(find "$tmp/prefix" -name gale.pc)
    PKG_CONFIG_PATH=$(dirname "$pc")
    export PKG_CONFIG_PATH
    pkg-config --cflags --libs gale
    # shellcheck disable=SC2046  # the flags are words
    c++ $(pkg-config --cflags gale) "$src/tests/packaging/consumer/main.cpp" \
        -o "$tmp/pkg_consumer" $(pkg-config --libs gale)
    "$tmp/pkg_consumer"
}

step_wrap() {
    local consumer=$tmp/consumer
    cp -R "$src/tests/packaging/consumer" "$consumer"
    rm -rf "$consumer/subprojects/gale"
    sed -i "s|^url *=.*|url = file://$gale_git|" "$consumer/subprojects/gale.wrap"
    meson setup "$tmp/build-consumer" "$consumer"
    meson compile -C "$tmp/build-consumer" -j 2
    "$tmp/build-consumer/consumer"
}

cd "$tmp"
make_snapshot >"$tmp/snapshot.log" 2>&1 || { cat "$tmp/snapshot.log"; exit 2; }
run_step suites step_suites
if [ -f "$tmp/build/build.ninja" ]; then
    run_step install step_install
fi
run_step wrap step_wrap

echo "fallbacks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
