#!/usr/bin/env bash
# The NVIDIA device check of issue 6 in one call (docs/performance.md, "NVIDIA device check"):
# `taosim bench` with the CPU rows at 2 threads (the CI machine's core count) and the GPU rows at
# many paths, each workload's GPU/2-thread ratio, then GPU-against-CPU parity (`taosim compare`)
# of the baseline with Yuma off and on, in f64 and f32. Everything it prints is also written
# under $OUT.
#
# The device gives one call of at most 540 s here, and what is under $OUT comes back even when
# the call is cut, so the steps run most important first, each under a timeout that ends before
# DEVICE_DEADLINE_S (default 500) seconds from the start; a step with no time left is skipped and
# said so:
#   1. a short bench (DEVICE_QUICK_GPU_PATHS = 1024 GPU paths, 5 days): a ratio even if the card
#      is much slower than expected;
#   2. the full bench (DEVICE_GPU_PATHS = 8192 GPU paths, DEVICE_DAYS = 30 days, the standard
#      workloads' horizon);
#   both with the time by stage (`--stages`: a second, timed run of each workload; on the card,
#   device time from timestamps), which says where the card spends a step and so what to
#   optimise next;
#   3. the four compares (DEVICE_COMPARE_PATHS = 256 paths, DEVICE_DAYS days).
#
# Runs the binary that scripts/device-pack.sh left in .device/ (the lent machine has no Rust), and
# installs the Vulkan loader from .gl/ when the machine has none (it starts bare). Locally it runs
# against whatever adapter wgpu finds, e.g. lavapipe, with smaller sizes:
#   DEVICE_COMPARE_PATHS=8 DEVICE_QUICK_GPU_PATHS=4 DEVICE_GPU_PATHS=16 DEVICE_DAYS=2 \
#     OUT=/tmp/dc bash scripts/device-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp/taosim-device-check}"
compare_paths="${DEVICE_COMPARE_PATHS:-256}"
gpu_paths="${DEVICE_GPU_PATHS:-8192}"
quick_gpu_paths="${DEVICE_QUICK_GPU_PATHS:-1024}"
deadline="${DEVICE_DEADLINE_S:-500}"
days="${DEVICE_DAYS:-30}"
bin="${DEVICE_BIN:-.device/taosim}"
mkdir -p "$out"
log="$out/device-check.log"
say() { echo "$*" | tee -a "$log"; }
[ -x "$bin" ] || { say "error: $bin not found; run scripts/device-pack.sh first"; exit 2; }

if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  if ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    say "error: no Vulkan loader on this machine and none packed in .gl/"
    exit 2
  fi
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then
  export VK_DRIVER_FILES="$icd"
fi
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"

say "== $(date -u +%FT%TZ) $(uname -m), $(nproc) CPUs"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee -a "$log"
fi
"$bin" devices 2>&1 | tee -a "$log"

# The baseline with an absolute snapshot path (the config is copied out of configs/), Yuma off
# and on.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed "s#^snapshot = \"snapshots/#snapshot = \"$(pwd)/configs/snapshots/#" configs/baseline.toml \
  >"$work/light.toml"
{ cat "$work/light.toml"; printf '\n[yuma]\nenabled = true\n'; } >"$work/yuma.toml"

status=0
# step NAME TIMEOUT OUTFILE COMMAND...: runs COMMAND (stdout to OUTFILE, stderr to the log) under
# min(TIMEOUT, the time left before the deadline); skips it when under 20 s are left.
step() {
  local name="$1" limit="$2" file="$3"
  shift 3
  local left=$((deadline - SECONDS))
  if [ "$left" -lt 20 ]; then
    say "== $name: skipped, ${left}s left before the ${deadline}s deadline"
    status=1
    return 1
  fi
  [ "$limit" -le "$left" ] || limit="$left"
  say "== $name (timeout ${limit}s)"
  timeout "$limit" "$@" >"$file" 2>>"$log"
  local rc=$?
  say "$name: exit $rc after ${SECONDS}s"
  [ "$rc" -eq 0 ] || status=1
  return "$rc"
}

# Each workload's rows and its GPU / 2-thread-CPU ratio, from a bench's JSON.
ratios() {
  python3 - "$1" <<'EOF' 2>&1 | tee -a "$log"
import json, sys
records = json.load(open(sys.argv[1]))
if records:
    m = records[0]["machine"]
    print(f"host: {m['cpu']}, {m['logical_cores']} logical cores; build: {m['build_simd']}; "
          f"kernels: {m['kernel_simd']}; peak: {m.get('peak_isa', '?')}")
for workload in ("baseline", "light"):
    rows = [r for r in records if r["workload"] == workload]
    cpu = [r for r in rows if r["backend"] == "cpu"]
    gpu = [r for r in rows if r["backend"] != "cpu"]
    for r in rows:
        print(f"{workload:9} {r['backend']:40.40} threads {r['threads']:2} paths {r['paths']:5} "
              f"{r['subnet_steps_per_s']:.4e} subnet-steps/s, peak {100 * r['peak_fraction']:.2f}%")
    if cpu and gpu:
        wide = max(cpu, key=lambda r: r["threads"])
        print(f"{workload:9} GPU / CPU {wide['threads']} threads: "
              f"{gpu[0]['subnet_steps_per_s'] / wide['subnet_steps_per_s']:.3g}x")
    for r in rows:
        for s in r.get("stages") or []:
            print(f"{workload:9}   {r['backend'][:24]:24} stage {s['stage']:16} "
                  f"{s['seconds']:10.4f} s {100 * s['share']:5.1f}%")
EOF
}

if step "bench, short: CPU rows at 2 threads, GPU rows at $quick_gpu_paths paths, 5 days" 120 \
  "$out/bench-short.json" "$bin" bench --json --threads 2 --repeats 1 --stages \
  --gpu-paths "$quick_gpu_paths" --days 5; then
  ratios "$out/bench-short.json"
fi
if step "bench: CPU rows at 2 threads, GPU rows at $gpu_paths paths, $days days" 240 \
  "$out/bench.json" "$bin" bench --json --threads 2 --stages --gpu-paths "$gpu_paths" \
  --days "$days"; then
  ratios "$out/bench.json"
fi
for w in light yuma; do
  for precision in f64 f32; do
    if step "compare $w $precision: $compare_paths paths x $days days" 120 \
      "$out/compare-$w-$precision.txt" "$bin" compare "$work/$w.toml" \
      --paths "$compare_paths" --days "$days" --precision "$precision"; then
      tail -n 3 "$out/compare-$w-$precision.txt" | tee -a "$log"
    fi
  done
done
say "== done after ${SECONDS}s, status $status"
exit "$status"
