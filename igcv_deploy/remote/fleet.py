"""Run one job on several devices at once (bounded), a progress line per device, and keep what succeeded.

Exit codes of a fleet run: 0 every device succeeded, 3 partial (some failed; their reasons are in fleet.json),
1 all failed.
"""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from ..errors import IGCVError, UsageError
from .device import Device, parse_device
from .transport import Connection

PARTIAL = 3
FLEET_RESULTS = "fleet.json"
_print_lock = threading.Lock()


@dataclass
class Outcome:
    device: Device
    result: object = None
    error: IGCVError | None = None


def say(device: Device, message: str) -> None:
    with _print_lock:
        print(f"[{device.spec}] {message}", file=sys.stderr, flush=True)


def parse_devices(specs: list[str], output: str | None, needs_output: bool = True) -> list[Device]:
    devices = [parse_device(spec) for spec in specs]
    if len({d.spec for d in devices}) != len(devices):
        raise UsageError("the same --on device is given twice", "name each device once")
    if len(devices) > 1 and needs_output and not output:
        raise UsageError("several --on devices need --output FOLDER", "pass --output for one result file per device")
    return devices


def run_fleet(devices: list[Device], job, ssh_config: str | None, jobs: int) -> list[Outcome]:
    """job(conn, say) on each device through its own connection, at most `jobs` at a time. Ctrl-C stops the
    commands running on every device before it is raised."""
    outcomes = [Outcome(d) for d in devices]
    live: set[Connection] = set()

    def one(outcome: Outcome) -> None:
        tell = lambda message: say(outcome.device, message)  # noqa: E731
        try:
            tell("connecting")
            with Connection(outcome.device, ssh_config) as conn:
                live.add(conn)
                try:
                    outcome.result = job(conn, tell)
                finally:
                    live.discard(conn)
            tell("done")
        except Exception as error:  # one device's failure, whatever it is, must not lose the others' results
            if not isinstance(error, IGCVError):
                error = IGCVError(f"{outcome.device.spec}: {type(error).__name__}: {error}", "report it")
            outcome.error = error
            tell(f"failed: {error.line().removeprefix(outcome.device.spec + ': ')}")

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(one, outcome) for outcome in outcomes]
        try:
            while wait(futures, timeout=0.2).not_done:
                pass
        except KeyboardInterrupt:
            for conn in list(live):
                conn.interrupt()
            for future in futures:
                future.cancel()
            raise
    return outcomes


def finish(outcomes: list[Outcome], output: str | None, write) -> int:
    """One device: its error is raised, else write(result, path). Several: write each success into the output
    folder as DEVICE.json, the status of every device into fleet.json; exit 0, 3 (partial) or 1."""
    if len(outcomes) == 1:
        only = outcomes[0]
        if only.error:
            raise only.error
        if output:
            write(only.result, Path(output))
        return 0
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    status = {}
    for outcome in outcomes:
        if outcome.error:
            status[outcome.device.spec] = {"status": "failed", "reason": outcome.error.line()}
            continue
        path = folder / f"{outcome.device.file_name}.json"
        write(outcome.result, path)
        status[outcome.device.spec] = {"status": "ok", "result": path.name}
    (folder / FLEET_RESULTS).write_text(json.dumps(status, indent=1) + "\n")
    failed = sum(o.error is not None for o in outcomes)
    print(f"{len(outcomes) - failed} of {len(outcomes)} devices succeeded; results in {folder / FLEET_RESULTS}")
    if failed == len(outcomes):
        raise IGCVError(f"every device failed (reasons in {folder / FLEET_RESULTS})")
    return PARTIAL if failed else 0
