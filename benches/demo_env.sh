# Sourced by the scripts that measure the console on the demo fleet (idle_cost.sh,
# soak_watch.sh): a work directory, a tmux session name, the demo started in the background
# with its URL and password file read from its first lines, and cleanup of all of it.
# Sets: work, session, demo_pid, url, port, pgpass. Needs: BIN (the binary to run).
work=$(mktemp -d)
session="demo-bench-$$"
cleanup() {
    status=$?
    tmux kill-session -t "$session" 2>/dev/null || true
    if [ -n "${demo_pid:-}" ]; then
        kill "$demo_pid" 2>/dev/null || true
        wait "$demo_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_demo() {
    "$BIN" demo --no-tui --chaos 0.5 > "$work/demo.out" 2>&1 &
    demo_pid=$!
    url=""
    for _ in $(seq 1 100); do
        url=$(head -n 1 "$work/demo.out" 2>/dev/null | grep '^postgres' || true)
        [ -n "$url" ] && break
        sleep 0.2
    done
    [ -n "$url" ] || { echo "the demo printed no URL:"; cat "$work/demo.out"; exit 1; }
    port=$(printf '%s' "$url" | sed -n 's|.*:\([0-9][0-9]*\)/.*|\1|p')
    # The demo's password comes in a 0600 password file it names on its second line.
    pgpass=$(sed -n 2p "$work/demo.out" | sed 's|.*: ||')
}
