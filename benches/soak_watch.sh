#!/bin/sh
# Soak run of `watch` (issue 14): the wall monitor on the demo fleet (chaos 0.5) at a 1 s
# refresh for SECONDS (default 1800), 200x60. Prints RSS every INTERVAL seconds (default 300)
# and the CPU used over the whole run, read from /proc — to see RSS stay flat over time.
# Usage: sh benches/soak_watch.sh [SECONDS] [INTERVAL]   (BIN=path to use a built binary)
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-1800}
interval=${2:-300}
if [ -z "${BIN:-}" ]; then
    cargo build --release --locked --quiet
    BIN=$PWD/target/release/backfill-console
fi
. benches/demo_env.sh
start_demo
tmux new-session -d -s "$session" -x 200 -y 60 "PGPASSFILE='$pgpass' exec $BIN --database-url '$url' watch"
sleep 60 # past start-up and the first history read
watch_pid=$(tmux list-panes -t "$session:0" -F '#{pane_pid}')
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
t0=$(ticks "$watch_pid")
echo "soak of watch (pid $watch_pid), $(nproc) cores, demo chaos 0.5, 1 s refresh, 200x60:"
echo "  t=0s RSS $(rss_mb "$watch_pid") MB"
elapsed=0
while [ "$elapsed" -lt "$seconds" ]; do
    sleep "$interval"
    elapsed=$((elapsed + interval))
    echo "  t=${elapsed}s RSS $(rss_mb "$watch_pid") MB"
done
t1=$(ticks "$watch_pid")
awk -v a="$t0" -v b="$t1" -v s="$seconds" -v hz="$hz" \
    'BEGIN { printf "  CPU over the run: %.2f %% of a core\n", (b - a) / hz / s * 100 }'
echo "watch's screen at the end (first lines):"
tmux capture-pane -p -t "$session:0" | head -n 3
