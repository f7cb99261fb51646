# Sourced by the run_*.sh benchmark scripts: configures (once) a Meson build
# directory for benchmarking in $build_dir from $source_dir with $cxx, at
# -O2 without debug checks, benchmarks only. Refuses a directory that was
# configured for another source tree.
configure_benchmark_build() {
    if [ -f "$build_dir/build.ninja" ]; then
        local configured
        configured=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["directories"]["source"])' \
            "$build_dir/meson-info/meson-info.json")
        if [ "$(realpath "$configured")" != "$(realpath "$source_dir")" ]; then
            echo "$build_dir was configured for $configured; pass another --builddir" >&2
            exit 1
        fi
    else
        # meson's "release" preset means -O3; the benchmark is meant at -O2.
        CXX=$cxx meson setup "$build_dir" "$source_dir" \
            -Doptimization=2 -Ddebug=false -Db_ndebug=true \
            -Dbenchmarks=true -Dtests=false -Dexamples=false >/dev/null
    fi
}
