#!/usr/bin/env bash
# The package as a user gets it: install this build tree's library components into a fresh prefix, build
# examples/console against it with find_package(Quiesce 0.2 REQUIRED COMPONENTS Core), run it, stop it with SIGTERM
# and check its exit code, its phase lines in order and that it needs no Qt Gui, Widgets or Sql. Then check that the
# package refuses what it must refuse (an unknown component, a version outside 0.2.x) and installs no private header.
# Last, the application as installed (component Quiesce_App): both executables, quiesce-nox without a GUI library
# in its NEEDED, and the installed `quiesce --headless` running as the installed quiesce-nox.
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

step "install the application (component Quiesce_App) into $prefix"
app=$prefix
"$CMAKE" --install "$QUIESCE_BUILD_DIR" --prefix "$app" --component Quiesce_App >/dev/null
for program in quiesce quiesce-nox; do
    [ -x "$app/bin/$program" ] || fail "no $app/bin/$program installed"
done
binary=$app/bin/quiesce-nox
check_needed "headless (quiesce-nox)" 'libQt6Core' 'libQt6(Gui|Widgets|Network|OpenGL|DBus)|lib(GL|X11|xcb|dbus)'
binary=$app/bin/quiesce
check_needed "windowed (quiesce)" 'libQt6Widgets' 'libQt6(OpenGL|DBus)'

step "the installed quiesce --headless is the installed quiesce-nox"
# (A shared-library build finds the installed components through LD_LIBRARY_PATH: installed binaries have no RUNPATH.)
coproc headless {
    LD_LIBRARY_PATH="$app/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$app/bin/quiesce" --headless --rate 0 \
        --state "$work/app-state.sqlite" 2>&1
}
headless_pid=$headless_PID
exec {from_headless}<&"${headless[0]}"
read -r -t 30 -u "$from_headless" line || fail "no line from quiesce --headless within 30 s"
while [[ $line != READY* ]]; do
    read -r -t 30 -u "$from_headless" line || fail "no READY line from quiesce --headless within 30 s"
done
exe=$(readlink "/proc/$headless_pid/exe")
[ "$exe" = "$(readlink -f "$app/bin/quiesce-nox")" ] || fail "quiesce --headless runs as $exe, not quiesce-nox"
kill -TERM "$headless_pid"
while read -r -t 30 -u "$from_headless" line; do :; done
status=0
wait "$headless_pid" || status=$?
[ "$status" -eq 0 ] || fail "quiesce --headless: exit code $status after SIGTERM, expected 0"

step "ok"
