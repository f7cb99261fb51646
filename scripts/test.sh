#!/usr/bin/env bash
# Builds gale and runs every test suite with g++ 12 and with clang 14 under
# AddressSanitizer + UndefinedBehaviorSanitizer, both with -std=c++20 -Wall
# -Wextra -Werror. Ends with one line "N passed, N failed" counting the
# doctest test cases run across all suites and builds (a non-doctest test,
# such as the packaging check, counts as one case).
#
#   scripts/test.sh            the gcc and asan builds (what CI runs)
#   scripts/test.sh gcc clang  only the named builds (gcc, clang, asan)
#
# A plain clang build is available but not run by default: the asan build
# is clang 14 with the same warnings, so it adds only time (on the 2-core CI
# machine the three builds took over 30 minutes).
set -uo pipefail
cd "$(dirname "$0")/.."

builds=("$@")
[ ${#builds[@]} -eq 0 ] && builds=(gcc asan)
jobs=$(nproc 2>/dev/null || echo 2)

configure() {
  local name=$1 dir=build-$1
  local -a env_args=() opts=()
  case $name in
    # The gcc build links gale compiled once (the gale-compiled dependency),
    # the sanitizer build uses it header-only: both modes are tested.
    gcc)   env_args=(CXX=g++)
           opts=(-Dseparate_compilation=true) ;;
    # Each header is compiled alone in the gcc build only: being
    # self-contained does not depend on the compiler, and it saves CI time.
    clang) env_args=(CXX=clang++-14)
           opts=(-Dheader_checks=false) ;;
    # The sanitizer build compiles at -O0 (half the compile time of -O2,
    # and the sanitizers see the code as written) and leaves the example
    # programs to the gcc build, which runs them.
    asan)  env_args=(CXX=clang++-14)
           # -fno-sanitize=function: clang 14 rejects inline coroutines under it.
           opts=(-Db_sanitize=address,undefined -Db_lundef=false -Dcpp_args=-fno-sanitize=function
                 -Doptimization=0 -Dexamples=false -Dheader_checks=false) ;;
    *) echo "unknown build: $name" >&2; return 2 ;;
  esac
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "${opts[@]}" >/dev/null
  else
    env "${env_args[@]}" meson setup "$dir" "${opts[@]}" >/dev/null
  fi
}

status=0
logs=()
failed_builds=0
for name in "${builds[@]}"; do
  echo "== $name: build"
  if ! configure "$name" || ! ninja -C "build-$name" -j "$jobs" >"build-$name/ninja-output.log" 2>&1; then
    tail -n 60 "build-$name/ninja-output.log" 2>/dev/null
    echo "== $name: BUILD FAILED"
    status=1
    failed_builds=$((failed_builds + 1))
    continue
  fi
  echo "== $name: test"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  # The packaging check builds consumers of the sources, not of this build:
  # once (with g++) is enough.
  suites=()
  [ "$name" != gcc ] && suites=(--no-suite packaging)
  meson test -C "build-$name" --num-processes "$jobs" --print-errorlogs "${suites[@]}" || status=1
  logs+=("build-$name/meson-logs/testlog.json")
done

# Sum the doctest summaries ("[doctest] test cases: N | P passed | F failed").
# A build that failed counts as one failure: its suites never ran.
python3 - "$failed_builds" "${logs[@]}" <<'PY'
import json, re, sys
passed = 0
failed = int(sys.argv[1])
pattern = re.compile(r"\[doctest\] test cases:\s*(\d+) \|\s*(\d+) passed \|\s*(\d+) failed")
for path in sys.argv[2:]:
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        continue
    for line in lines:
        entry = json.loads(line)
        found = pattern.findall(entry.get("stdout", "") or "")
        ok = entry.get("result") == "OK"
        if found:
            _, p, f = map(int, found[-1])
            passed += p
            failed += f
            if not ok and f == 0:
                failed += 1  # crashed or timed out after its summary
        elif ok:
            passed += 1
        else:
            failed += 1      # crashed, timed out, or not a doctest suite
print(f"{passed} passed, {failed} failed")
PY
summary_status=$?
[ $summary_status -ne 0 ] && status=1
exit $status
