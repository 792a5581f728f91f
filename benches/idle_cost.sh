#!/bin/sh
# Idle cost of `watch` against pg_activity 3.6 (issue 5, target 4), side by side in one run:
# both watch the same demo fleet at a 1 s refresh for SECONDS (default 600); prints CPU % of a core
# and RSS of each, read from /proc at the start and the end.
# Needs: tmux, python3 with venv, network to PyPI (pg_activity goes into a throwaway venv).
# Usage: sh benches/idle_cost.sh [SECONDS]
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-600}
BIN=$PWD/target/release/backfill-console
. benches/demo_env.sh

cargo build --release --locked --quiet
bin=$BIN
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "pg_activity==3.6.*" "psycopg[binary]"

start_demo

tmux new-session -d -s "$session" -x 200 -y 60 "PGPASSFILE='$pgpass' exec $bin --database-url '$url' watch"
tmux new-window -t "$session" "PGPASSFILE='$pgpass' PGSSLMODE=disable exec $work/venv/bin/pg_activity -h 127.0.0.1 -p $port -U postgres -d postgres --refresh 1"
sleep 5
# Each pane runs its program itself (exec): the pane's pid is the program's.
watch_pid=$(tmux list-panes -t "$session:0" -F '#{pane_pid}')
pga_pid=$(tmux list-panes -t "$session:1" -F '#{pane_pid}')

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
w0=$(ticks "$watch_pid"); p0=$(ticks "$pga_pid")
sleep "$seconds"
w1=$(ticks "$watch_pid"); p1=$(ticks "$pga_pid")
echo "watch's screen at the end (first lines):"
tmux capture-pane -p -t "$session:0" | head -n 4
echo "pids: watch $watch_pid ($(tr '\0' ' ' < "/proc/$watch_pid/cmdline" | cut -c1-60)), pg_activity $pga_pid"
echo "idle cost over ${seconds} s at a 1 s refresh, same demo fleet (chaos 0.5), $(nproc) cores:"
awk -v a="$w0" -v b="$w1" -v s="$seconds" -v hz="$hz" -v rss="$(rss_mb "$watch_pid")" \
    'BEGIN { printf "  backfill-console watch  CPU %.2f %% of a core, RSS %s MB\n", (b - a) / hz / s * 100, rss }'
awk -v a="$p0" -v b="$p1" -v s="$seconds" -v hz="$hz" -v rss="$(rss_mb "$pga_pid")" \
    'BEGIN { printf "  pg_activity 3.6         CPU %.2f %% of a core, RSS %s MB\n", (b - a) / hz / s * 100, rss }'
