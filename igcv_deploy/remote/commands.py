"""`igcv-profile BUNDLE|tune|verify --on DEVICE`: the same command run by the device's igcv-profile on a copy of
the bundle there; its JSON comes back tagged with the device."""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path

from .bundles import local_bundle, sync_bundle
from .environment import locate, profile_cli
from .fleet import finish, parse_devices, run_fleet
from .transport import Connection

REMOTE_OPTIONS = ("on", "ssh_config", "timeout", "jobs")
EXIT_CODES = "exit codes: 0 ok, 1 failure, 2 usage error, 3 partial (some --on devices failed: see fleet.json)"


def add_remote_options(parser: argparse.ArgumentParser, what: str = "run it") -> None:
    group = parser.add_argument_group("on a device over SSH")
    group.add_argument(
        "--on",
        action="append",
        metavar="DEVICE",
        help=f"{what} on DEVICE (ssh://[user@]host[:port] or an ssh-config alias); repeat for a fleet, which "
        "then needs --output FOLDER (one DEVICE.json each and fleet.json)",
    )
    group.add_argument("--ssh-config", metavar="FILE", help="ssh config file to use instead of ~/.ssh/config")
    group.add_argument("--timeout", type=float, default=600, help="seconds per device (default 600)")
    group.add_argument("--jobs", type=int, default=4, help="devices worked on at once (default 4)")
    parser.epilog = EXIT_CODES if parser.epilog is None else f"{parser.epilog}\n\n{EXIT_CODES}"


def forwarded(parser: argparse.ArgumentParser, args: argparse.Namespace, skip=()) -> list[str]:
    """The options the user gave, as argv for the device's igcv-profile (the remote-only ones, the output and the
    positional artifact left out)."""
    argv = []
    for action in parser._actions:
        if not action.option_strings or action.dest in (*REMOTE_OPTIONS, "output", "help", *skip):
            continue
        value = getattr(args, action.dest, None)
        if value is None or value is False or value == action.default:
            continue
        flag = max(action.option_strings, key=len)
        argv += [flag] if value is True else [flag, *map(str, value if isinstance(value, list) else [value])]
    return argv


def run_on_devices(parser, args, subcommand: list[str], tag, say_done, extra: list[str] = ()) -> int:
    """Run `igcv-profile [subcommand] BUNDLE <options> --output FILE` on every --on device; tag(document, device,
    info) adds where it ran; say_done(document, say) prints its outcome."""
    devices = parse_devices(args.on, args.output)
    bundle = local_bundle(args.artifact)
    options = [*forwarded(parser, args), *extra]

    def job(conn: Connection, say) -> dict:
        cache = locate(conn, args.timeout)
        sent = sync_bundle(conn, cache, bundle, args.timeout)
        say(f"bundle: sent {sent.bytes_sent / 1e6:.2f} MB" if sent.bytes_sent else "bundle: cached on the device")
        say(f"running igcv-profile {' '.join(subcommand)}".rstrip())
        document = remote_json(conn, cache, [*subcommand, sent.remote_path, *options], args.timeout)
        tag(document, conn.device)
        say_done(document, say)
        return document

    outcomes = run_fleet(devices, job, args.ssh_config, args.jobs)
    return finish(outcomes, args.output, write_json)


def remote_json(conn: Connection, cache: str, argv: list[str], timeout: float | None) -> dict:
    """Run the device's `igcv-profile ARGV --output FILE` and return that file's JSON (removed there after)."""
    remote_output = f"{cache}/runs/{uuid.uuid4().hex}.json"
    conn.run(["mkdir", "-p", f"{cache}/runs"], timeout)
    try:
        conn.run(profile_cli(cache, *argv, "--output", remote_output), timeout)
        return json.loads(conn.read(remote_output, timeout))
    finally:
        conn.remove(remote_output)


def write_json(document: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n")
