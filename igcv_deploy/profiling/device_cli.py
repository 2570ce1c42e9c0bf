"""`igcv-profile device setup|info`: the environment a device runs bundles in (here, or --on DEVICE over SSH)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import UsageError
from ..remote.commands import add_remote_options
from ..runtimes.registry import runtime_names
from .device_info import device_info, info_lines

DEVICE_RUNTIMES = tuple(name for name in runtime_names() if name != "torch")


def device_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="igcv-profile device",
        description="setup: make a torch-free igcv-deploy environment on a device (a venv in its user's "
        "$XDG_CACHE_HOME/igcv-deploy or ~/.cache/igcv-deploy) with the runtimes asked for. info: what a device "
        "offers (CPU and ISA class, cores, memory, Python, runtimes, GPU); without --on, this machine.",
    )
    p.add_argument("action", choices=("setup", "info"))
    p.add_argument(
        "--runtime",
        default="onnxruntime",
        help=f"setup: comma-separated runtimes from {', '.join(DEVICE_RUNTIMES)} (default onnxruntime; "
        "tensorrt: the system's JetPack package)",
    )
    p.add_argument("--wheelhouse", help="setup: folder of wheels for a device without internet (copied over)")
    p.add_argument("--python", default="python3", help="setup: the device's Python 3.10+ (default python3)")
    p.add_argument("--json", action="store_true", help="info: print JSON")
    p.add_argument("--output", help="several --on devices: folder for one DEVICE.json each and fleet.json")
    add_remote_options(p, "set up or read the environment")
    return p


def run_device_command(argv: list[str]) -> int:
    args = device_parser().parse_args(argv)
    if not args.on:
        if args.action == "setup":
            raise UsageError("device setup works on another machine", "pass --on DEVICE")
        info = device_info()
        print(json.dumps(info, indent=1) if args.json else "\n".join(info_lines(info)))
        return 0
    from ..remote.commands import write_json
    from ..remote.fleet import finish, parse_devices, run_fleet

    devices = parse_devices(args.on, args.output)
    job = setup_job(args) if args.action == "setup" else info_job(args)
    return finish(run_fleet(devices, job, args.ssh_config, args.jobs), args.output, write_json)


def info_job(args):
    from ..remote.environment import locate, read_info

    def job(conn, say) -> dict:
        info = read_info(conn, locate(conn, args.timeout), args.timeout)
        for line in info_lines(info):
            say(line)
        return info

    return job


def setup_job(args):
    from ..remote.environment import setup

    runtimes = [name.strip() for name in args.runtime.split(",") if name.strip()]
    unknown = sorted(set(runtimes) - set(DEVICE_RUNTIMES))
    if unknown or not runtimes:
        raise UsageError(f"unknown --runtime {', '.join(unknown) or '(none)'}", f"use {', '.join(DEVICE_RUNTIMES)}")
    wheelhouse = Path(args.wheelhouse) if args.wheelhouse else None
    if wheelhouse and not any(wheelhouse.glob("*.whl")):
        raise UsageError(f"--wheelhouse {wheelhouse} holds no .whl files", "pip download the wheels into it")

    def job(conn, say) -> dict:
        report = setup(conn, runtimes, args.python, wheelhouse, args.timeout, say)
        for line in info_lines(report["info"]):
            say(line)
        say(f"environment: {report['info']['cache']}/venv, {report['venv_mb']} MB")
        for runtime, reason in report["missing"].items():
            say(f"missing: {runtime} {reason}")
        if report["missing"]:
            from ..remote.transport import RemoteError

            missing = ", ".join(report["missing"])
            raise RemoteError(conn.device, f"{missing} unavailable on the device", "see the 'missing:' lines above")
        say(f"next: igcv-profile BUNDLE --on {conn.device.spec}, igcv-profile verify BUNDLE --on {conn.device.spec}")
        return report

    return job
