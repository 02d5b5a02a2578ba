#!/usr/bin/env bash
# Peak resident memory against the horizon (issue 6): the same 4,096 paths of the baseline over
# 30 and 365 days must peak within 10% of each other, because the state is per path and outputs
# stream to disk. Steps of one day (7,200 blocks) keep the 365-day run to minutes on 2 cores; the
# state per path does not depend on the step length.
# Usage: scripts/memory-check.sh [taosim binary, default target/release/taosim]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/taosim}"
[ -x "$bin" ] || { echo "error: $bin not found; run cargo build --release -p taosim-cli" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed -e 's/^\[run\]/[run]\nblocks_per_step = 7200/' \
    -e "s#^snapshot = \"snapshots/#snapshot = \"$(pwd)/configs/snapshots/#" \
    configs/baseline.toml > "$work/daily.toml"
# The same without trace rows (traced paths' rows, trace_paths x samples x slots, spill to disk
# while the paths run, so both configs must stay flat).
if grep -q '^\[output\]' "$work/daily.toml"; then
  sed 's/^trace_paths = .*//; s/^\[output\]/[output]\ntrace_paths = 0/' "$work/daily.toml" \
    > "$work/daily-notrace.toml"
else
  { cat "$work/daily.toml"; printf '\n[output]\ntrace_paths = 0\n'; } > "$work/daily-notrace.toml"
fi
status=0
for config in daily daily-notrace; do
  declare -A rss=()
  for days in 30 365; do
    /usr/bin/time -f "%M %e" -o "$work/time" "$bin" run "$work/$config.toml" \
      --paths 4096 --days "$days" --out "$work/out-$config-$days" >/dev/null 2>"$work/log" \
      || { cat "$work/log" >&2; exit 1; }
    read -r kb secs < "$work/time"
    rss[$days]=$kb
    # Output cost as the run times it: write_s is what it waited for its outputs (the spill on
    # the path threads, handing parts to the background writer, the summaries); part_writer_s
    # is the writer thread's own time, spent alongside the path threads (docs/outputs.md).
    cost=$(python3 -c "import json; t = json.load(open('$work/out-$config-$days/manifest.json'))['timings']; print(f\"write {t['write_s']:.2f} s = {100 * t['write_s'] / t['wall_s']:.2f}% of the run (background part writer {t['part_writer_s']:.2f} s)\")")
    echo "$config: 4096 paths x $days days (daily steps): peak RSS $((kb / 1024)) MiB, $secs s, $cost"
  done
  ratio=$(python3 -c "print(f'{${rss[365]} / ${rss[30]}:.3f}')")
  echo "$config: peak RSS 365 d / 30 d = $ratio (limit 1.10)"
  python3 -c "import sys; sys.exit(0 if ${rss[365]} <= 1.10 * ${rss[30]} else 1)" || status=1
done
exit $status
