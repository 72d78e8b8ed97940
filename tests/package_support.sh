# shellcheck shell=bash
# shellcheck disable=SC2034 # binary, lines, before_ready, status: set here for the sourcing script
# Sourced by the package tests (tests/package_console.sh, tests/package_examples.sh): install this build tree's
# library components into a fresh prefix, build an examples/ project against it with the tree's compiler and flags
# (a static Quiesce built with sanitizers needs them too), run it, stop it with SIGTERM once it is ready, and check
# its lines.
#
# Environment (set by tests/CMakeLists.txt): QUIESCE_BUILD_DIR, QUIESCE_SOURCE_DIR, QUIESCE_WORK_DIR, CMAKE,
# GENERATOR, CXX_COMPILER, CXX_FLAGS, EXE_LINKER_FLAGS, BUILD_TYPE, and optionally COMPILER_LAUNCHER.

fail() { printf 'package test: FAIL: %s\n' "$*" >&2; exit 1; }
step() { printf '== %s\n' "$*"; }

work=${QUIESCE_WORK_DIR:?}
prefix=$work/prefix

install_package() { # a fresh $work with the library components installed into $prefix
    rm -rf "$work"
    mkdir -p "$work"
    step "install the library components into $prefix"
    local component
    for component in Quiesce_Runtime Quiesce_Development; do
        "$CMAKE" --install "$QUIESCE_BUILD_DIR" --prefix "$prefix" --component "$component" >/dev/null
    done
    [ -f "$prefix/lib/cmake/Quiesce/QuiesceConfig.cmake" ] || fail "no QuiesceConfig.cmake installed"
    [ -f "$prefix/include/Quiesce/shutdowncoordinator.h" ] || fail "no <Quiesce/shutdowncoordinator.h> installed"
}

configure() { # configure <source dir> <build dir> [extra args...]
    local src=$1 bld=$2
    shift 2
    "$CMAKE" -S "$src" -B "$bld" -G "$GENERATOR" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
        -DCMAKE_CXX_COMPILER="$CXX_COMPILER" -DCMAKE_CXX_FLAGS="$CXX_FLAGS" \
        -DCMAKE_EXE_LINKER_FLAGS="$EXE_LINKER_FLAGS" ${COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER="$COMPILER_LAUNCHER"} \
        "$@"
}

build_example() { # build_example <examples/ folder> <binary name>: configures and builds it, sets $binary
    local name=$1
    step "configure and build examples/$name against the installed package"
    configure "$QUIESCE_SOURCE_DIR/examples/$name" "$work/$name" >"$work/$name-configure.log" 2>&1 ||
        { cat "$work/$name-configure.log" >&2; fail "examples/$name does not configure against the package"; }
    "$CMAKE" --build "$work/$name" >"$work/$name-build.log" 2>&1 ||
        { cat "$work/$name-build.log" >&2; fail "examples/$name does not build against the package"; }
    binary=$work/$name/$2
    [ -x "$binary" ] || fail "no $binary"
}

check_needed() { # check_needed <user> <must link (regex)> <must not link (regex)>: $binary's NEEDED entries
    step "what the binary needs (readelf -d)"
    local needed
    needed=$(readelf -d "$binary" | grep NEEDED || true)
    printf '%s\n' "$needed"
    grep -qE "$2" <<<"$needed" || fail "a $1 user does not link $2"
    if grep -E "$3" <<<"$needed"; then
        fail "a $1 user links $3"
    fi
}

sigterm() { kill -TERM "$1"; }

run_and_stop() { # run_and_stop <stop> <command...>: starts the command, waits for its "ready" line, runs
                 # "<stop> <pid>" (e.g. sigterm), reads to the end; sets $before_ready and $lines (the lines before
                 # and after the ready line) and $status (the exit code)
    local stop=$1 line from_child child_pid
    shift
    coproc child { exec "$@" 2>&1; }
    # shellcheck disable=SC2154 # child_PID is set by coproc
    child_pid=$child_PID
    exec {from_child}<&"${child[0]}"
    lines=()
    before_ready=()
    while :; do
        read -r -t 30 -u "$from_child" line || fail "no ready line within 30 s"
        [[ $line == ready* ]] && break
        printf '  %s\n' "$line"
        before_ready+=("$line")
    done
    "$stop" "$child_pid"
    while read -r -t 30 -u "$from_child" line; do
        printf '  %s\n' "$line"
        lines+=("$line")
    done
    exec {from_child}<&-
    status=0
    wait "$child_pid" || status=$?
}

expect_in_order() { # expect_in_order <prefix>...: each is the start of a line in $lines, in this order
    local next=0 expected=("$@") line
    for line in "${lines[@]}"; do
        if [ "$next" -lt ${#expected[@]} ] && [[ $line == "${expected[$next]}"* ]]; then
            next=$((next + 1))
        fi
    done
    [ "$next" -eq ${#expected[@]} ] || fail "missing or out of order: '${expected[$next]}'"
}
