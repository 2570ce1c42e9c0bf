"""Host-side driver for the emulated-ARM correctness stage (user-mode qemu, no binfmt/chroot/docker).

The sysroot comes from `scripts/arm/build_sysroot.sh` (default `<repo>/.cache/arm-sysroot`):
`rootfs/` (Debian arm64 with python3.11), `bin/qemu-aarch64-static`, `site/` (aarch64 numpy,
onnxruntime, openvino pinned to requirements/constraints.txt), `STAMP`.

For each CPU profile (igcv_deploy.runtimes.arm_profiles) this module writes the fake
/proc/cpuinfo and MIDR sysfs files into the rootfs, then runs one aarch64 process of
`arm_runner.py` under `QEMU_CPU=<profile>` with one thread, exchanging .npz files:

    sysroot = find_sysroot() or build_sysroot()
    outputs = run_model(sysroot, "cortex-a72", "openvino", "model.xml", {"input": x}, precision="f32")

Uses only the standard library and numpy (no torch). CLI:
    python -m igcv_deploy.runtimes.arm_emu versions [--sysroot DIR] [--profile P]
    python -m igcv_deploy.runtimes.arm_emu run --profile P --backend B --model M --inputs in.npz --outputs out.npz
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IGCVError
from .arm_profiles import ARM_PROFILES, get_profile, write_cpu_files

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).resolve().with_name("arm_runner.py")
BUILD_SCRIPT = REPO_ROOT / "scripts" / "arm" / "build_sysroot.sh"
ARM_PYTHON = "usr/bin/python3.11"
ERROR_TAG = "ARM_RUNNER_ERROR"


class ArmEmuError(IGCVError):
    """The emulated ARM Python could not be built or run."""


class ArmRunError(IGCVError):
    """A job failed inside the ARM runner (load/read/compile/infer), with the runtime's message."""

    def __init__(self, record: dict, profile: str):
        err = record.get("error", {})
        self.stage = err.get("stage", "?")
        self.error_type = err.get("type", "?")
        self.message = err.get("message", "")
        self.profile = profile
        self.record = record
        job = record.get("job", {})
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        super().__init__(
            f"{job.get('backend')} {self.stage} failed on emulated {profile} for {job.get('model')}: "
            f"{self.error_type}: {first}"
        )


def default_sysroot_dir() -> Path:
    return Path(os.environ.get("ARM_SYSROOT") or REPO_ROOT / ".cache" / "arm-sysroot")


@dataclass(frozen=True)
class Sysroot:
    root: Path

    @property
    def rootfs(self) -> Path:
        return self.root / "rootfs"

    @property
    def qemu(self) -> Path:
        return self.root / "bin" / "qemu-aarch64-static"

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def python(self) -> Path:
        return self.rootfs / ARM_PYTHON

    @property
    def stamp(self) -> Path:
        return self.root / "STAMP"

    def ready(self) -> bool:
        return self.stamp.is_file() and os.access(self.qemu, os.X_OK) and self.python.exists() and self.site.is_dir()


def find_sysroot(path: str | Path | None = None) -> Sysroot | None:
    """The built sysroot at `path` (default: $ARM_SYSROOT or .cache/arm-sysroot), or None."""
    sysroot = Sysroot(Path(path) if path else default_sysroot_dir())
    return sysroot if sysroot.ready() else None


def build_sysroot(path: str | Path | None = None, timeout: float = 1800, python: str | None = None) -> Sysroot:
    """Run scripts/arm/build_sysroot.sh (idempotent; fast when up to date). Raises ArmEmuError."""
    root = Path(path) if path else default_sysroot_dir()
    env = dict(os.environ)
    env.setdefault("PYTHON", python or sys.executable)
    try:
        proc = subprocess.run(
            ["bash", str(BUILD_SCRIPT), str(root)], env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise ArmEmuError(f"building the ARM sysroot took more than {timeout:.0f} s", f"see {root}") from exc
    except OSError as exc:
        raise ArmEmuError(f"cannot run {BUILD_SCRIPT}: {exc}") from exc
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).strip().splitlines() if ln.strip()]
        reason = lines[-1] if lines else f"exit status {proc.returncode}"
        raise ArmEmuError(
            f"cannot build the ARM sysroot: {reason}", f"run {BUILD_SCRIPT.relative_to(REPO_ROOT)} by hand"
        )
    sysroot = Sysroot(root)
    if not sysroot.ready():
        raise ArmEmuError(f"build_sysroot.sh succeeded but {root} is incomplete")
    return sysroot


@contextlib.contextmanager
def _profile_root(sysroot: Sysroot, profile: str):
    """A root filesystem of this profile's own (hard-link copy of rootfs/ + its fake CPU files), locked.

    qemu -L serves the fake /proc/cpuinfo and MIDR files from the prefix, so each profile gets its
    own prefix: different profiles can then run at the same time; one run per profile at a time.
    """
    base = sysroot.root / "profiles"
    base.mkdir(exist_ok=True)
    root = base / profile
    with open(base / f"{profile}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (root / ARM_PYTHON).exists():
                tmp = base / f"{profile}.tmp"
                subprocess.run(["rm", "-rf", str(tmp), str(root)], check=True)
                proc = subprocess.run(["cp", "-al", str(sysroot.rootfs), str(tmp)], capture_output=True, text=True)
                if proc.returncode != 0:
                    raise ArmEmuError(f"cannot make the {profile} root filesystem: {_tail(proc.stderr, 1)}")
                tmp.rename(root)
            write_cpu_files(root, profile)
            yield root
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _env(sysroot: Sysroot, profile: str, threads: int) -> dict:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "QEMU_CPU": get_profile(profile)["qemu_cpu"],
        "PYTHONPATH": str(sysroot.site),
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "PYTHONNOUSERSITE": "1",
    }
    return env


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_runner(
    sysroot: Sysroot, profile: str, args: list[str], timeout: float = 900, threads: int = 1
) -> subprocess.CompletedProcess:
    """Run arm_runner.py with `args` under qemu for `profile`; returns the completed process."""
    with _profile_root(sysroot, profile) as root:
        cmd = [
            str(sysroot.qemu),
            "-L",
            str(root),
            str(root / ARM_PYTHON),
            "-P",
            str(RUNNER),
            "--threads",
            str(threads),
            *args,
        ]
        try:
            return subprocess.run(
                cmd, env=_env(sysroot, profile, threads), capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            tail = _tail((exc.stderr or b"").decode() if isinstance(exc.stderr, bytes) else (exc.stderr or ""))
            raise ArmEmuError(f"emulated {profile} runner took more than {timeout:.0f} s\n{tail}") from exc


def versions(sysroot: Sysroot, profile: str = "cortex-a72", timeout: float = 300) -> dict:
    proc = run_runner(sysroot, profile, ["--versions"], timeout=timeout)
    if proc.returncode != 0:
        raise ArmEmuError(f"the aarch64 python failed on {profile} (exit {proc.returncode}):\n{_tail(proc.stderr)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_jobs(
    sysroot: Sysroot, profile: str, jobs: list[dict], workdir: str | Path | None = None, timeout: float = 900
) -> list[dict]:
    """Run several jobs in ONE emulated process (runtimes imported once). Returns the records.

    Each job: {backend, model, inputs (npz path), outputs (npz path), precision}. A failed job has
    `ok: False` and `error: {stage, type, message}`; a crashed process raises ArmEmuError with the
    stderr tail.
    """
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        jobs_path, report_path = Path(tmp) / "jobs.json", Path(tmp) / "report.json"
        jobs_path.write_text(json.dumps([{k: str(v) for k, v in j.items()} for j in jobs]))
        proc = run_runner(sysroot, profile, ["--jobs", str(jobs_path), "--report", str(report_path)], timeout=timeout)
        report = json.loads(report_path.read_text()) if report_path.exists() else {"records": []}
    records = report["records"]
    if proc.returncode not in (0, 3) or len(records) != len(jobs):
        done = len(records)
        upcoming = f"{jobs[done]['backend']} {jobs[done]['model']}" if done < len(jobs) else "- "
        raise ArmEmuError(
            f"emulated {profile} runner died (exit {proc.returncode}) after {done} of {len(jobs)} jobs"
            f" (next: {upcoming}):\n"
            f"{_tail(proc.stderr)}"
        )
    for record in records:
        record["profile"] = profile
        record["versions"] = report.get("versions", {})
    return records


def load_outputs(record: dict) -> dict[str, np.ndarray]:
    with np.load(record["job"]["outputs"]) as data:
        return {k: data[k] for k in data.files}


def run_model(
    sysroot: Sysroot,
    profile: str,
    backend: str,
    model: str | Path,
    inputs: dict[str, np.ndarray] | np.ndarray,
    precision: str = "f32",
    timeout: float = 900,
) -> dict[str, np.ndarray]:
    """Run one model on emulated `profile`; returns {output name: array}. Raises ArmRunError."""
    if isinstance(inputs, np.ndarray):
        inputs = {"input": inputs}
    with tempfile.TemporaryDirectory() as tmp:
        in_path, out_path = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(in_path, **inputs)
        job = {"backend": backend, "model": str(model), "inputs": in_path, "outputs": out_path, "precision": precision}
        (record,) = run_jobs(sysroot, profile, [job], timeout=timeout)
        if not record["ok"]:
            raise ArmRunError(record, profile)
        return load_outputs(record)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m igcv_deploy.runtimes.arm_emu", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pv = sub.add_parser("versions", help="print the pinned runtime versions as seen under qemu")
    pr = sub.add_parser("run", help="run one model on an emulated ARM profile")
    pb = sub.add_parser("build", help="build (or check) the sysroot")
    for sp in (pv, pr, pb):
        sp.add_argument("--sysroot", default=None)
    for sp in (pv, pr):
        sp.add_argument("--profile", default="cortex-a72", choices=sorted(ARM_PROFILES))
    pv.add_argument("--json", action="store_true")
    pr.add_argument("--backend", required=True, choices=["onnxruntime", "openvino"])
    pr.add_argument("--model", required=True)
    pr.add_argument("--inputs", required=True)
    pr.add_argument("--outputs", required=True)
    pr.add_argument("--precision", default="f32")
    args = p.parse_args(argv)

    if args.cmd == "build":
        print(build_sysroot(args.sysroot).root)
        return 0
    sysroot = Sysroot(Path(args.sysroot) if args.sysroot else default_sysroot_dir())
    if not (sysroot.qemu.exists() and sysroot.python.exists()):
        print(f"arm_emu: no ARM sysroot at {sysroot.root} (run scripts/arm/build_sysroot.sh)", file=sys.stderr)
        return 1
    try:
        if args.cmd == "versions":
            v = versions(sysroot, args.profile)
            print(
                json.dumps(v) if args.json else " ".join(f"{k}=={v[k]}" for k in ("numpy", "onnxruntime", "openvino"))
            )
            return 0
        job = {
            "backend": args.backend,
            "model": args.model,
            "inputs": args.inputs,
            "outputs": args.outputs,
            "precision": args.precision,
        }
        (record,) = run_jobs(sysroot, args.profile, [job])
        print(json.dumps(record, indent=1))
        return 0 if record["ok"] else 3
    except IGCVError as exc:
        print(f"arm_emu: {exc.line()}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
