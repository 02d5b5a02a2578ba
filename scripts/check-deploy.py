#!/usr/bin/env python3
"""Checks deploy/ without a cluster: the Kubernetes manifests parse and agree with each other, their
container scripts call taosim as intended, and the Slurm scripts are valid bash.

The Kubernetes scripts run here with a stand-in `taosim` on PATH (it records its arguments) and
/data pointed at a temp dir: the sweep pod of index 2 must run `taosim sweep CONFIG --shard 2/N
--out /data/RUN/shards/shard-2 --threads T`, a pod whose shard is complete must not run taosim,
and the merge pod must merge shard-0 .. shard-(N-1) in order. scripts/slurm-loopback.sh runs the
Slurm scripts on a real (loopback) cluster. Exit status 0 when all is well, 1 otherwise.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
SLURM = ROOT / "deploy" / "slurm"
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures.append(what)


def load(name: str) -> dict:
    docs = [d for d in yaml.safe_load_all((K8S / name).read_text()) if d is not None]
    check(len(docs) == 1, f"{name}: one YAML document")
    return docs[0]


def env_of(container: dict) -> dict:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def run_script(container: dict, data: Path, env: dict) -> list[list[str]]:
    """Runs a container's `bash -c` script with /data -> `data`; returns taosim's argv per call."""
    assert container["command"] == ["/bin/bash", "-c"], container["command"]
    script = container["args"][0].replace("/data", str(data))
    fake = data / "bin"
    fake.mkdir(exist_ok=True)
    calls = data / "calls"
    (fake / "taosim").write_text(
        '#!/bin/sh\n[ "$2" = --help ] && exit 0\n'
        f'printf "%s\\n" "$@" > "{calls}"; echo --- >> "{calls}.all"\n'
    )
    (fake / "taosim").chmod(0o755)
    calls.unlink(missing_ok=True)
    full_env = {"PATH": f"{fake}:{os.environ['PATH']}", **env}
    r = subprocess.run(["bash", "-c", script], env=full_env, capture_output=True, text=True)
    check(r.returncode == 0, f"the container script exits 0 {r.stderr.strip()}")
    return [calls.read_text().split("\n")[:-1]] if calls.exists() else []


def main() -> int:
    print("deploy/k8s")
    pvc, sweep, merge = load("pvc.yaml"), load("sweep-job.yaml"), load("merge-job.yaml")
    check(pvc["kind"] == "PersistentVolumeClaim", "pvc.yaml is a PersistentVolumeClaim")
    check("ReadWriteMany" in pvc["spec"]["accessModes"], "the PVC is ReadWriteMany (pods on any node)")
    for job, name in ((sweep, "sweep-job.yaml"), (merge, "merge-job.yaml")):
        check(job["apiVersion"] == "batch/v1" and job["kind"] == "Job", f"{name} is a batch/v1 Job")
        pod = job["spec"]["template"]["spec"]
        check(pod["restartPolicy"] in ("Never", "OnFailure"), f"{name}: restartPolicy Never/OnFailure")
        claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]]
        check(claims == [pvc["metadata"]["name"]], f"{name} mounts the PVC {pvc['metadata']['name']}")
    spec = sweep["spec"]
    check(spec.get("completionMode") == "Indexed", "sweep-job.yaml: completionMode Indexed")
    s_ctr = spec["template"]["spec"]["containers"][0]
    m_ctr = merge["spec"]["template"]["spec"]["containers"][0]
    s_env, m_env = env_of(s_ctr), env_of(m_ctr)
    n = spec["completions"]
    check(spec["parallelism"] == n, f"sweep-job.yaml: parallelism == completions ({n})")
    check(int(s_env["TAOSIM_SHARDS"]) == n, "sweep-job.yaml: TAOSIM_SHARDS == completions")
    check(int(m_env["TAOSIM_SHARDS"]) == n, "merge-job.yaml: TAOSIM_SHARDS == the sweep's completions")
    check(m_env["TAOSIM_RUN"] == s_env["TAOSIM_RUN"], "merge-job.yaml: same TAOSIM_RUN as the sweep")
    check(m_ctr["image"] == s_ctr["image"], "both Jobs use the same image")
    threads = next(e for e in s_ctr["env"] if e["name"] == "TAOSIM_THREADS")["valueFrom"]
    check(threads["resourceFieldRef"]["resource"] == "limits.cpu", "--threads follows the CPU limit")
    config = s_env["TAOSIM_CONFIG"]
    in_image = config.removeprefix("/opt/taosim/")
    check(config.startswith("/data/") or (ROOT / in_image).is_file(), f"{config} is in the image")

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        run = s_env["TAOSIM_RUN"]
        env = {"JOB_COMPLETION_INDEX": "2", "TAOSIM_THREADS": "4", **s_env}
        calls = run_script(s_ctr, data, env)
        shard2 = f"{data}/{run}/shards/shard-2"
        want = ["sweep", config, "--shard", f"2/{n}", "--out", shard2, "--threads", "4"]
        check(calls == [want], f"sweep pod 2 runs: taosim {' '.join(want)}")
        Path(shard2).mkdir(parents=True)
        (Path(shard2) / "manifest.json").write_text("{}")
        check(run_script(s_ctr, data, env) == [], "sweep pod 2 skips its complete shard")
        calls = run_script(m_ctr, data, m_env)
        shards = [f"{data}/{run}/shards/shard-{i}" for i in range(n)]
        want = ["merge", *shards, "--out", f"{data}/{run}/merged"]
        check(calls == [want], f"the merge pod runs: taosim merge shard-0 .. shard-{n - 1} --out .../merged")

    dockerfile = (K8S / "Dockerfile").read_text()
    check("cargo build --release --locked -p taosim-cli" in dockerfile, "Dockerfile builds taosim-cli")
    check((ROOT / "configs").is_dir(), "Dockerfile's COPY configs exists")

    print("deploy/slurm, scripts/slurm-loopback.sh")
    for script in [*sorted(SLURM.glob("*.sh")), *sorted(SLURM.glob("*.sbatch")), ROOT / "scripts" / "slurm-loopback.sh"]:
        r = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        check(r.returncode == 0, f"bash -n {script.relative_to(ROOT)} {r.stderr.strip()}")

    if failures:
        print(f"check-deploy: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("check-deploy: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
