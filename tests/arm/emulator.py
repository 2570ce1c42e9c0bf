"""Host-side driver for the emulated-ARM correctness stage (user-mode qemu, no binfmt/chroot/docker).

The sysroot comes from `scripts/arm/build_sysroot.sh` (default `<repo>/.cache/arm-sysroot`):
`rootfs/` (Debian arm64 with python3.11), `bin/qemu-aarch64-static`, `site/` (aarch64 numpy,
onnxruntime, openvino pinned to requirements/constraints.txt), `STAMP`.

For each CPU profile (igcv_deploy.devices.ARM_PROFILES) this module writes the fake
/proc/cpuinfo and MIDR sysfs files into the rootfs, then runs one aarch64 process of
`aarch64_runner.py` under `QEMU_CPU=<profile>` with one thread, exchanging .npz files:

    sysroot = find_sysroot() or build_sysroot()
    outputs = run_model(sysroot, "cortex-a72", "openvino", "model.xml", {"input": x}, precision="f32")

Uses only the standard library, numpy and igcv_deploy's torch-free modules. CLI, from the repo root:
    python -m tests.arm.emulator versions [--sysroot DIR] [--profile P]
    python -m tests.arm.emulator run --profile P --runtime R --model M --inputs in.npz --outputs out.npz
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

from igcv_deploy.devices import ARM_PROFILES, get_profile
from igcv_deploy.errors import IGCVError, UsageError
from igcv_deploy.runtimes.registry import get_runtime

from .aarch64_runner import RUNTIMES as RUNNER_RUNTIMES

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).resolve().with_name("aarch64_runner.py")
BUILD_SCRIPT = REPO_ROOT / "scripts" / "arm" / "build_sysroot.sh"
ARM_PYTHON = "usr/bin/python3.11"
# The registry runtimes the aarch64 runner runs (its sysroot holds only their wheels).
ARM_RUNTIMES = tuple(RUNNER_RUNTIMES)


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
            f"{job.get('runtime')} {self.stage} failed on emulated {profile} for {job.get('model')}: "
            f"{self.error_type}: {first}"
        )


def check_runtime(name: str) -> str:
    """`name` if it is a runtime of the registry that the aarch64 runner runs, else UsageError."""
    get_runtime(name)
    if name not in ARM_RUNTIMES:
        raise UsageError(
            f"runtime '{name}' does not run on the emulated ARM CPU", f"choose {' or '.join(ARM_RUNTIMES)}"
        )
    return name


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


def cpu_files(profile: str) -> dict[str, str]:
    """Fake /proc/cpuinfo and sysfs files for one emulated CPU (paths relative to the rootfs).

    onnxruntime's cpuinfo library parses these; without them it reads the x86 host's files under
    qemu and segfaults. One CPU only: the runner uses one thread.
    """
    spec = get_profile(profile)
    midr = spec["midr"]
    cpuinfo = (
        "processor\t: 0\n"
        "BogoMIPS\t: 108.00\n"
        f"Features\t: {spec['features']}\n"
        f"CPU implementer\t: 0x{(midr >> 24) & 0xFF:02x}\n"
        "CPU architecture: 8\n"
        f"CPU variant\t: 0x{(midr >> 20) & 0xF:x}\n"
        f"CPU part\t: 0x{(midr >> 4) & 0xFFF:03x}\n"
        f"CPU revision\t: {midr & 0xF}\n"
        "\n"
    )
    cpu = "sys/devices/system/cpu"
    return {
        "proc/cpuinfo": cpuinfo,
        f"{cpu}/possible": "0\n",
        f"{cpu}/present": "0\n",
        f"{cpu}/online": "0\n",
        f"{cpu}/cpu0/regs/identification/midr_el1": f"0x{midr:016x}\n",
        f"{cpu}/cpu0/regs/identification/revidr_el1": "0x0000000000000000\n",
    }


def write_cpu_files(rootfs: str | Path, profile: str) -> None:
    """Write `cpu_files(profile)` under `rootfs` (qemu -L serves them for the absolute paths)."""
    rootfs = Path(rootfs)
    for rel, text in cpu_files(profile).items():
        path = rootfs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # the per-profile roots are hard-link copies: never write through
        path.write_text(text)


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
                _copy_rootfs(sysroot, base, profile)
            write_cpu_files(root, profile)
            yield root
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _copy_rootfs(sysroot: Sysroot, base: Path, profile: str) -> None:
    """Hard-link copy of rootfs/ to base/<profile>, made under a temporary name and renamed."""
    tmp, root = base / f"{profile}.tmp", base / profile
    subprocess.run(["rm", "-rf", str(tmp), str(root)], check=True)
    proc = subprocess.run(["cp", "-al", str(sysroot.rootfs), str(tmp)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ArmEmuError(f"cannot make the {profile} root filesystem: {_tail(proc.stderr, 1)}")
    tmp.rename(root)


def _env(sysroot: Sysroot, profile: str, threads: int) -> dict:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "QEMU_CPU": get_profile(profile)["qemu_cpu"],
        "PYTHONPATH": str(sysroot.site),
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "PYTHONNOUSERSITE": "1",
    }


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_runner(
    sysroot: Sysroot, profile: str, args: list[str], timeout: float = 900, threads: int = 1
) -> subprocess.CompletedProcess:
    """Run aarch64_runner.py with `args` under qemu for `profile`; returns the completed process.

    `-P`: the aarch64 Python gets no script folder on sys.path, only its stdlib and the sysroot's site/.
    """
    with _profile_root(sysroot, profile) as root:
        cmd = [str(sysroot.qemu), "-L", str(root), str(root / ARM_PYTHON), "-P", str(RUNNER)]
        cmd += ["--threads", str(threads), *args]
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

    Each job: {runtime, model, inputs (npz path), outputs (npz path), precision}; `runtime` must pass
    check_runtime (UsageError before anything runs). A failed job has `ok: False` and
    `error: {stage, type, message}`; a crashed process raises ArmEmuError with the stderr tail.
    """
    for job in jobs:
        check_runtime(job["runtime"])
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        jobs_path, report_path = Path(tmp) / "jobs.json", Path(tmp) / "report.json"
        jobs_path.write_text(json.dumps([{k: str(v) for k, v in j.items()} for j in jobs]))
        proc = run_runner(sysroot, profile, ["--jobs", str(jobs_path), "--report", str(report_path)], timeout=timeout)
        report = json.loads(report_path.read_text()) if report_path.exists() else {"records": []}
    records = report["records"]
    if proc.returncode not in (0, 3) or len(records) != len(jobs):
        done = len(records)
        upcoming = f"{jobs[done]['runtime']} {jobs[done]['model']}" if done < len(jobs) else "- "
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
    runtime: str,
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
        job = {"runtime": runtime, "model": str(model), "inputs": in_path, "outputs": out_path, "precision": precision}
        (record,) = run_jobs(sysroot, profile, [job], timeout=timeout)
        if not record["ok"]:
            raise ArmRunError(record, profile)
        return load_outputs(record)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tests.arm.emulator", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pv = sub.add_parser("versions", help="print the pinned runtime versions as seen under qemu")
    pr = sub.add_parser("run", help="run one model on an emulated ARM profile")
    pb = sub.add_parser("build", help="build (or check) the sysroot")
    for sp in (pv, pr, pb):
        sp.add_argument("--sysroot", default=None)
    for sp in (pv, pr):
        sp.add_argument("--profile", default="cortex-a72", choices=sorted(ARM_PROFILES))
    pv.add_argument("--json", action="store_true")
    pr.add_argument("--runtime", required=True, choices=ARM_RUNTIMES)
    pr.add_argument("--model", required=True)
    pr.add_argument("--inputs", required=True)
    pr.add_argument("--outputs", required=True)
    pr.add_argument("--precision", default="f32")
    return p


def _print_versions(sysroot: Sysroot, args: argparse.Namespace) -> int:
    v = versions(sysroot, args.profile)
    print(json.dumps(v) if args.json else " ".join(f"{k}=={v[k]}" for k in ("numpy", "onnxruntime", "openvino")))
    return 0


def _run_one(sysroot: Sysroot, args: argparse.Namespace) -> int:
    job = {k: getattr(args, k) for k in ("runtime", "model", "inputs", "outputs", "precision")}
    (record,) = run_jobs(sysroot, args.profile, [job])
    print(json.dumps(record, indent=1))
    return 0 if record["ok"] else 3


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cmd == "build":
        print(build_sysroot(args.sysroot).root)
        return 0
    sysroot = Sysroot(Path(args.sysroot) if args.sysroot else default_sysroot_dir())
    if not (sysroot.qemu.exists() and sysroot.python.exists()):
        print(f"emulator: no ARM sysroot at {sysroot.root} (run scripts/arm/build_sysroot.sh)", file=sys.stderr)
        return 1
    try:
        return (_print_versions if args.cmd == "versions" else _run_one)(sysroot, args)
    except IGCVError as exc:
        print(f"emulator: {exc.line()}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
