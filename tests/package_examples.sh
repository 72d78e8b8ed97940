#!/usr/bin/env bash
# The examples/ projects beyond the console one, as a user builds them: install this build tree's library
# components into a fresh prefix, build the example named on the command line against it with find_package(Quiesce),
# run it, stop it with SIGTERM and check its exit code and its phase lines in order.
#
#   package_examples.sh widgets   examples/widgets (Core + Qt Widgets): SIGTERM under QT_QPA_PLATFORM=offscreen,
#                                 then (where Xvfb and quiesce_xclose exist) its window closed twice under Xvfb
#   package_examples.sh jobs      examples/jobs (Workers + Journal): files hashed by a WorkerPool with a journal,
#                                 stopped mid-work, restarted: every file is hashed right, none lost
#
# Environment: see tests/package_support.sh.
set -euo pipefail
# shellcheck source=tests/package_support.sh
source "$(dirname "${BASH_SOURCE[0]}")/package_support.sh"

widgets() {
    build_example widgets widgets_window

    check_needed "Core + Widgets" 'libQt6Widgets' 'libQt6Sql'

    step "run it offscreen, wait for its ready line, SIGTERM, read to the end"
    run_and_stop sigterm env QT_QPA_PLATFORM=offscreen "$binary"
    [ "$status" -eq 0 ] || fail "exit code $status after SIGTERM, expected 0"
    expect_widgets_phases sigterm

    # The window's own quit path needs a window system: Xvfb, and quiesce_xclose to click the close button.
    if ! command -v Xvfb >/dev/null || [ -z "${QUIESCE_XCLOSE:-}" ]; then
        step "skipped: closing the window under Xvfb (needs Xvfb and quiesce_xclose, i.e. libxcb's headers)"
        return
    fi
    step "run it under Xvfb and close its window twice, as a double click on the close button does"
    local fifo=$work/xvfb-display display
    mkfifo "$fifo"
    Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$fifo" 2>"$work/xvfb.log" &
    xvfb_pid=$!
    trap 'kill "$xvfb_pid" 2>/dev/null || true' EXIT
    read -r -t 20 display <"$fifo" || fail "Xvfb gave no display number: $(cat "$work/xvfb.log")"
    close_twice() {
        DISPLAY=":$display" "$QUIESCE_XCLOSE" "$1" "Quiesce widgets example" 2 >/dev/null ||
            fail "quiesce_xclose did not close the window"
    }
    run_and_stop close_twice env QT_QPA_PLATFORM=xcb DISPLAY=":$display" "$binary"
    [ "$status" -eq 0 ] || fail "exit code $status after closing the window, expected 0"
    expect_widgets_phases window
    if printf '%s\n' "${lines[@]}" | grep 'SHUTDOWN escalate'; then
        fail "a repeated close escalated the shutdown"
    fi
}

expect_widgets_phases() { # expect_widgets_phases <reason>
    expect_in_order "SHUTDOWN begin reason=$1" "phase stop-ticker: stopped at" \
        "SHUTDOWN phase=stop-ticker end outcome=ok" "phase save-state:" "SHUTDOWN phase=save-state end outcome=ok" \
        "SHUTDOWN done exit=0"
}

jobs() {
    build_example jobs jobs_hasher

    check_needed "Workers + Journal" 'libQt6Core' 'libQt6(Gui|Widgets)'

    local files=$work/files state=$work/hashes.sqlite f i
    mkdir -p "$files"
    # A missing file first: a job that can never succeed (failed once, never retried).
    local inputs=("$files/missing")
    for i in 1 2 3 4 5 6 7 8; do
        head -c 2097152 /dev/urandom >"$files/file$i"
        inputs+=("$files/file$i")
    done

    # 32 chunks of 64 KiB per file, 20 ms apart: each job takes at least 640 ms, so the stop finds work in flight
    # and queued; a drain budget of 0 sends the running jobs straight to the cancel phase.
    step "run 1: hash ${#inputs[@]} files on 2 workers, SIGTERM once every job is accepted"
    run_and_stop sigterm "$binary" --state "$state" --workers 2 --throttle-ms 20 --drain-ms 0 "${inputs[@]}"
    [ "$status" -eq 0 ] || fail "run 1: exit code $status after SIGTERM, expected 0"
    expect_in_order "SHUTDOWN begin reason=sigterm" "SHUTDOWN phase=stop-intake end outcome=ok" \
        "SHUTDOWN phase=drain end" "SHUTDOWN phase=cancel end outcome=ok" "SHUTDOWN phase=save end outcome=ok" \
        "SHUTDOWN phase=stop-threads end outcome=ok" "SHUTDOWN done exit=0"
    local run1=("${before_ready[@]}" "${lines[@]}")
    local done1 failed1
    done1=$(printf '%s\n' "${run1[@]}" | grep -c '^done id=' || true)
    failed1=$(printf '%s\n' "${run1[@]}" | grep -c '^failed id=' || true)

    step "run 2: no new files; what run 1 left pending runs, then it stops by itself"
    local log=$work/run2.log
    status=0
    timeout 120 "$binary" --state "$state" --workers 2 --exit-when-idle >"$log" 2>&1 || status=$?
    sed 's/^/  /' "$log"
    [ "$status" -eq 0 ] || fail "run 2: exit code $status, expected 0"
    local expected_pending=$((${#inputs[@]} - done1 - failed1))
    grep -q "^pending=$expected_pending " "$log" ||
        fail "run 2 did not find the $expected_pending jobs run 1 left (done $done1, failed $failed1)"

    step "every file hashed exactly once, right; the missing one failed exactly once"
    local all
    all=$( (printf '%s\n' "${run1[@]}"; cat "$log") )
    for f in "${inputs[@]:1}"; do
        local digest hits
        digest=$(sha256sum "$f" | cut -d' ' -f1)
        hits=$(grep -c "^done id=[0-9]* sha256=$digest path=$f\$" <<<"$all" || true)
        [ "$hits" -eq 1 ] || fail "$f: $hits right done lines, expected 1"
        [ "$(grep -c "path=$f\$" <<<"$all")" -eq 1 ] || fail "$f: hashed more than once or wrongly"
    done
    [ "$(grep -c '^failed id=' <<<"$all")" -eq 1 ] || fail "the missing file did not fail exactly once"
}

case "${1:-}" in
widgets) install_package; widgets ;;
jobs) install_package; jobs ;;
*) fail "usage: package_examples.sh widgets|jobs" ;;
esac
step "ok"
