#!/usr/bin/env bash
# taosim's test command: the one the README gives and `.ci/run` calls.
# It installs what the tests need when missing, then runs format, lint, the API docs' check and
# the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || { echo "error: cargo not found; install Rust (rustup) first" >&2; exit 1; }

# The GPU tests run the WGSL on Mesa's software Vulkan driver (lavapipe) where there is no GPU.
if [ ! -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] && ! ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Mesa's Vulkan drivers (lavapipe) for the GPU tests"
    apt-get update -q >/dev/null && apt-get install -y -q mesa-vulkan-drivers libvulkan1 >/dev/null
  else
    echo "note: no Vulkan driver; GPU tests will skip (install mesa-vulkan-drivers to run them)"
  fi
fi

# The output tests read every Arrow file with pyarrow (tests/python/check_outputs.py); the deploy
# checks read the Kubernetes manifests with PyYAML (scripts/check-deploy.py).
if ! python3 -c "import pyarrow, yaml" >/dev/null 2>&1; then
  echo "== installing pyarrow and PyYAML for the output and deploy checks"
  python3 -m pip install --quiet pyarrow pyyaml \
    || python3 -m pip install --quiet --user --break-system-packages pyarrow pyyaml \
    || { echo "error: cannot install pyarrow/PyYAML (pip); install them, e.g. pip install pyarrow pyyaml" >&2; exit 1; }
fi

# The examples (examples/python/) query a sweep's output with polars and DuckDB; a CLI test runs them.
for module in polars duckdb; do
  if ! python3 -c "import $module" >/dev/null 2>&1; then
    echo "== installing $module for the Python examples"
    python3 -m pip install --quiet "$module" \
      || python3 -m pip install --quiet --user --break-system-packages "$module" \
      || echo "note: cannot install $module (pip); the Python examples' test will skip"
  fi
done

# Mesa's drivers call libwayland-client as the Vulkan instance starts, and on a headless machine
# without XDG_RUNTIME_DIR it prints `error: XDG_RUNTIME_DIR is invalid or not set` at every
# adapter probe: harmless (docs/gpu.md, "Pitfalls"), but hundreds of lines that look like
# failures among the tests' output. A private folder for the run silences it.
runtime_dir=""
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  runtime_dir="$(mktemp -d)"
  export XDG_RUNTIME_DIR="$runtime_dir"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
# The API docs (`//!` overviews, intra-doc links) are part of the warning-free build: a broken or
# redundant link is an error here (about 10 s: the dependencies' metadata comes from clippy's build).
echo "== cargo doc --no-deps, rustdoc warnings denied"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
echo "== cargo test"
log="$(mktemp)"
trap 'rm -f "$log"; [ -z "$runtime_dir" ] || rm -rf "$runtime_dir"' EXIT
cargo test --workspace 2>&1 | tee "$log"
# The criterion benches run once each in test mode (quick sizes): the harness is checked on every
# commit; timings come from `cargo bench` and `taosim bench` (docs/performance.md), not from CI.
echo "== criterion benches, test mode (TAOSIM_BENCH_QUICK=1 cargo test --benches)"
TAOSIM_BENCH_QUICK=1 cargo test -p taosim-benches --benches 2>&1 | tee -a "$log"
echo "== deploy checks (scripts/check-deploy.py)"
python3 scripts/check-deploy.py
# The sharded sweep on a one-node Slurm cluster (docs/scaleout.md): needs root and apt for
# slurm-wlm and munge; exit status 77 means it cannot run here.
echo "== Slurm loopback (scripts/slurm-loopback.sh)"
slurm=passed
bash scripts/slurm-loopback.sh || case $? in
  77) slurm="skipped (cannot run here, see above)" ;;
  *) echo "error: scripts/slurm-loopback.sh failed" >&2; exit 1 ;;
esac
# cargo prints one "test result" line per test binary (doc-test binaries with 0 tests last);
# close with the suite's totals so the last line tells the whole story.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed", p, f }' "$log"
echo "; deploy checks passed; Slurm loopback $slurm"
