#!/usr/bin/env bash
# The NVIDIA device check of issue 6 in one call (docs/performance.md, "NVIDIA device check"):
# GPU-against-CPU parity of the baseline with Yuma off and on, then `taosim bench` with the CPU
# rows at 2 threads (the CI machine's core count) and the GPU rows at DEVICE_GPU_PATHS paths,
# both over DEVICE_DAYS days (30, the standard workloads' horizon),
# and the GPU/2-thread ratio per workload. Everything it prints is also written under $OUT.
#
# Runs the binary that scripts/device-pack.sh left in .device/ (the lent machine has no Rust), and
# installs the Vulkan loader from .gl/ when the machine has none (it starts bare). Locally it runs
# against whatever adapter wgpu finds, e.g. lavapipe, with smaller sizes:
#   DEVICE_COMPARE_PATHS=8 DEVICE_GPU_PATHS=16 DEVICE_DAYS=2 OUT=/tmp/dc bash scripts/device-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp/taosim-device-check}"
compare_paths="${DEVICE_COMPARE_PATHS:-256}"
gpu_paths="${DEVICE_GPU_PATHS:-8192}"
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
for w in light yuma; do
  for precision in f64 f32; do
    say "== compare $w $precision: $compare_paths paths x $days days"
    timeout 240 "$bin" compare "$work/$w.toml" --paths "$compare_paths" --days "$days" \
      --precision "$precision" 2>&1 | tee "$out/compare-$w-$precision.txt" | tee -a "$log" >/dev/null
    rc=${PIPESTATUS[0]}
    tail -n 3 "$out/compare-$w-$precision.txt"
    say "compare $w $precision: exit $rc"
    [ "$rc" -eq 0 ] || status=1
  done
done

say "== bench: CPU rows at 2 threads, GPU rows at $gpu_paths paths"
timeout 300 "$bin" bench --json --threads 2 --gpu-paths "$gpu_paths" --days "$days" \
  >"$out/bench.json" 2>"$out/bench.err"
rc=$?
cat "$out/bench.err" >>"$log"
say "bench: exit $rc"
if [ "$rc" -ne 0 ]; then
  say "== done, status 1"
  exit 1
fi
python3 - "$out/bench.json" <<'EOF' 2>&1 | tee -a "$log"
import json, sys
records = json.load(open(sys.argv[1]))
for workload in ("baseline", "light"):
    rows = [r for r in records if r["workload"] == workload]
    cpu = [r for r in rows if r["backend"] == "cpu"]
    gpu = [r for r in rows if r["backend"] != "cpu"]
    for r in rows:
        print(f"{workload:9} {r['backend']:40.40} threads {r['threads']:2} paths {r['paths']:5} "
              f"{r['subnet_steps_per_s']:.4e} subnet-steps/s, peak {100 * r['peak_fraction']:.2f}%")
    if cpu and gpu:
        print(f"{workload:9} GPU / CPU 2 threads: {gpu[0]['subnet_steps_per_s'] / cpu[0]['subnet_steps_per_s']:.3g}x")
EOF
say "== done, status $status"
exit "$status"
