#!/bin/sh
# Reruns every performance measurement of issue 5 (docs/performance.md) in one go and keeps the
# output: benches/results/<date>-<host>.txt. Each bench runs its compared variants side by side.
# Usage: sh benches/run-all.sh            (about 20 minutes on 2 cores; server_cost alone takes 12)
#        RUNS=5 sh benches/run-all.sh     (more repetitions of the claim drain)
set -eu
cd "$(dirname "$0")/.."
mkdir -p benches/results
out="benches/results/$(date -u +%Y%m%dT%H%MZ)-$(hostname).txt"
{
    echo "# $(date -u) on $(hostname): $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "# $(uname -sr); $(rustc --version)"
    for bench in claim_drain snapshot_scale render push_latency startup server_cost; do
        echo
        echo "## cargo bench --bench $bench"
        cargo bench --locked --bench "$bench" 2>&1 | grep -v -e '^\s*Compiling' -e '^\s*Finished' -e '^\s*Running'
    done
} | tee "$out"
echo "written to $out"
