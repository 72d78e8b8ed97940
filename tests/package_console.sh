#!/usr/bin/env bash
# The package as a user gets it: install this build tree's library components into a fresh prefix, build
# examples/console against it with find_package(Quiesce 0.2 REQUIRED COMPONENTS Core), run it, stop it with SIGTERM
# and check its exit code, its phase lines in order and that it needs no Qt Gui, Widgets or Sql. Then check that the
# package refuses what it must refuse (an unknown component, a version outside 0.2.x) and installs no private header.
# Fails on a broken package config, installed header or exported target, and when the README's "Use the library"
# code is no longer the example's.
#
# Environment: see tests/package_support.sh.
set -euo pipefail
# shellcheck source=tests/package_support.sh
source "$(dirname "${BASH_SOURCE[0]}")/package_support.sh"

install_package
private=$(find "$prefix" -name '*_p.h')
[ -z "$private" ] || fail "private headers installed: $private"

step "the README's \"Use the library\" code is examples/console, byte for byte"
readme_block() { # readme_block <language>: the first fenced block of that language in the section
    awk -v lang="$1" '/^## Use the library/ { in_section = 1; next }
        in_section && /^## / { exit }
        in_section && !done && $0 == "```" lang { in_block = 1; next }
        in_block && $0 == "```" { in_block = 0; done = 1; next }
        in_block { print }' "$QUIESCE_SOURCE_DIR/README.md"
}
cmp -s <(readme_block cmake) "$QUIESCE_SOURCE_DIR/examples/console/CMakeLists.txt" ||
    fail "README's cmake block differs from examples/console/CMakeLists.txt"
cmp -s <(readme_block cpp) "$QUIESCE_SOURCE_DIR/examples/console/main.cpp" ||
    fail "README's cpp block differs from examples/console/main.cpp"

build_example console console_service

check_needed Core-only 'libQt6Core' 'libQt6(Gui|Widgets|Sql)'

step "run it, wait for its ready line, SIGTERM, read to the end"
run_and_stop sigterm "$binary"
[ ${#before_ready[@]} -eq 0 ] || fail "first line is not the ready line: ${before_ready[0]}"
[ "$status" -eq 0 ] || fail "exit code $status after SIGTERM, expected 0"
expect_in_order "SHUTDOWN begin reason=sigterm" "phase flush:" "SHUTDOWN phase=flush end outcome=ok" "phase close:" \
    "SHUTDOWN phase=close end outcome=ok" "SHUTDOWN done exit=0"

# A consumer that asks for what the package does not have must not configure.
mkdir -p "$work/refuse"
refused() { # refused <name> <find_package arguments>
    local dir=$work/refuse/$1
    mkdir -p "$dir"
    printf 'cmake_minimum_required(VERSION 3.25)\nproject(refuse LANGUAGES CXX)\nfind_package(%s)\n' "$2" \
        >"$dir/CMakeLists.txt"
    if configure "$dir" "$dir/build" >"$dir/configure.log" 2>&1; then
        fail "find_package($2) configured, expected it to fail"
    fi
    printf '  refused as expected: find_package(%s)\n' "$2"
}
step "the package refuses an unknown component and another minor version"
refused component "Quiesce 0.2 REQUIRED COMPONENTS Core Nonexistent"
refused version "Quiesce 0.3 REQUIRED COMPONENTS Core"
grep -q 'no component "Nonexistent"' "$work/refuse/component/configure.log" ||
    fail "the unknown component is not named in the error"

step "ok"
