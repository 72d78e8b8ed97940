#!/usr/bin/env bash
# The examples/ projects beyond the console one, as a user builds them: install this build tree's library
# components into a fresh prefix, build the example named on the command line against it with find_package(Quiesce),
# run it, stop it with SIGTERM and check its exit code and its phase lines in order.
#
#   package_examples.sh widgets   examples/widgets (Core + Qt Widgets), run under QT_QPA_PLATFORM=offscreen
#   package_examples.sh jobs      examples/jobs (Workers + Journal): files hashed by a WorkerPool with a journal,
#                                 stopped mid-work, restarted: every file is hashed right, none lost
#
# Environment: see tests/package_support.sh.
set -euo pipefail
# shellcheck source=tests/package_support.sh
source "$(dirname "${BASH_SOURCE[0]}")/package_support.sh"

widgets() {
    build_example widgets widgets_window

    step "what the binary needs (readelf -d)"
    needed=$(needed_of "$binary")
    printf '%s\n' "$needed"
    grep -q 'libQt6Widgets' <<<"$needed" || fail "the binary does not link Qt6Widgets"
    if grep -E 'libQt6Sql' <<<"$needed"; then
        fail "a Core + Widgets user links Qt Sql"
    fi

    step "run it offscreen, wait for its ready line, SIGTERM, read to the end"
    run_and_stop env QT_QPA_PLATFORM=offscreen "$binary"
    [ "$status" -eq 0 ] || fail "exit code $status after SIGTERM, expected 0"
    expect_in_order "SHUTDOWN begin reason=sigterm" "phase stop-ticker: stopped at" \
        "SHUTDOWN phase=stop-ticker end outcome=ok" "phase save-state:" "SHUTDOWN phase=save-state end outcome=ok" \
        "SHUTDOWN done exit=0"
}

case "${1:-}" in
widgets) install_package; widgets ;;
*) fail "usage: package_examples.sh widgets|jobs" ;;
esac
step "ok"
