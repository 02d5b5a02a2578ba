#!/usr/bin/env bash
# Submits a sharded taosim sweep to Slurm: a job array of SHARDS tasks (sweep-array.sbatch, one
# shard each), then the merge (merge.sbatch) with --dependency=afterok:<array job>.
#
#   deploy/slurm/submit.sh CONFIG OUT_ROOT
#
# Environment (all optional; deploy/slurm/README.md):
#   SHARDS=8           number of shards = array tasks
#   CPUS=4             CPUs per array task (passed to taosim as --threads)
#   TAOSIM_BIN=PATH    the taosim binary, on the shared filesystem  [taosim on PATH]
#   TAOSIM_ARGS="..."  extra flags for `taosim sweep` (--paths, --days, --seed)
#   ONLY=3,5           resubmit only these array indices (after a failure; done shards skip anyway)
#   MAX_PARALLEL=K     run at most K tasks at once (--array=...%K)
#   SBATCH_ARGS="..."  extra sbatch flags for both jobs (--partition, --time, --account, --mem)
# Prints the two job ids; the last line is `ARRAY_JOB=<id> MERGE_JOB=<id>`.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 CONFIG OUT_ROOT   (env: SHARDS CPUS TAOSIM_BIN TAOSIM_ARGS ONLY MAX_PARALLEL SBATCH_ARGS)" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
config="$(realpath "$1")"
out_root="$(realpath -m "$2")"
shards="${SHARDS:-8}"
cpus="${CPUS:-4}"
bin="${TAOSIM_BIN:-$(command -v taosim || true)}"
[ -f "$config" ] || { echo "error: config $1 not found" >&2; exit 2; }
[ -n "$bin" ] && [ -x "$bin" ] || { echo "error: no taosim binary: set TAOSIM_BIN (or put taosim on PATH)" >&2; exit 2; }
bin="$(realpath "$bin")"
case "$shards" in '' | *[!0-9]* | 0) echo "error: SHARDS must be a positive integer, got '$shards'" >&2; exit 2 ;; esac
case "$cpus" in '' | *[!0-9]* | 0) echo "error: CPUS must be a positive integer, got '$cpus'" >&2; exit 2 ;; esac
if ! "$bin" sweep --help 2>/dev/null | grep -q -- '--shard'; then
  echo "error: $bin has no \`sweep --shard\`: build a taosim with the shard/merge commands" >&2
  exit 2
fi
if [ -e "$out_root/merged" ]; then
  echo "error: $out_root/merged exists: this sweep is merged already (remove it to merge again)" >&2
  exit 2
fi

indices="${ONLY:-0-$((shards - 1))}"
[ -n "${MAX_PARALLEL:-}" ] && indices="$indices%$MAX_PARALLEL"
mkdir -p "$out_root/logs"
export TAOSIM_CONFIG="$config" TAOSIM_OUT_ROOT="$out_root" TAOSIM_BIN="$bin" TAOSIM_SHARDS="$shards"
export TAOSIM_ARGS="${TAOSIM_ARGS:-}"

# shellcheck disable=SC2086 # SBATCH_ARGS is a list of flags, split on purpose
array_job="$(sbatch --parsable ${SBATCH_ARGS:-} --array="$indices" --cpus-per-task="$cpus" \
  --output="$out_root/logs/sweep-%A_%a.out" --export=ALL "$here/sweep-array.sbatch")"
array_job="${array_job%%;*}" # --parsable prints "id;cluster" on multi-cluster set-ups
echo "array job $array_job: $shards shards (tasks $indices) of $config, $cpus CPUs each -> $out_root/shards/"

# shellcheck disable=SC2086
merge_job="$(sbatch --parsable ${SBATCH_ARGS:-} --dependency="afterok:$array_job" \
  --kill-on-invalid-dep=yes --output="$out_root/logs/merge-%j.out" --export=ALL \
  "$here/merge.sbatch")"
merge_job="${merge_job%%;*}"
echo "merge job $merge_job: after every task of $array_job succeeds -> $out_root/merged/"
echo "ARRAY_JOB=$array_job MERGE_JOB=$merge_job"
