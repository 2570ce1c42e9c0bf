"""`--on DEVICE`: `ssh://[user@]host[:port]` or an alias from the ssh config, checked before ssh sees it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import UsageError

# what a host name, address or ssh-config alias may hold: no spaces, quotes, shell or control characters
SAFE_NAME = re.compile(r"[A-Za-z0-9_.%:\[\]-]+")
SAFE_USER = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Device:
    spec: str  # as the user wrote it; names the device in results
    host: str  # what ssh connects to: a host name, address or alias
    user: str | None = None
    port: int | None = None

    def ssh_args(self) -> list[str]:
        """ssh options that say who and where (the config supplies what is not given)."""
        return [*(["-l", self.user] if self.user else []), *(["-p", str(self.port)] if self.port else [])]

    @property
    def file_name(self) -> str:
        """The device's name as a file name (for one result file per device)."""
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.spec.removeprefix("ssh://")).strip("_") or "device"


def _refuse(spec: str, why: str) -> UsageError:
    return UsageError(f"--on {spec!r}: {why}", "use ssh://[user@]host[:port] or an alias from your ssh config")


def parse_device(spec: str) -> Device:
    if spec.startswith("-"):
        raise _refuse(spec, "a device name cannot start with '-'")
    if any(c.isspace() or not c.isprintable() for c in spec):
        raise _refuse(spec, "a device name cannot hold spaces or control characters")
    if not spec.startswith("ssh://"):
        if not SAFE_NAME.fullmatch(spec):
            raise _refuse(spec, "not a host name or ssh-config alias (spaces, quotes, '/' or shell characters)")
        return Device(spec, spec)
    parts = urlsplit(spec)
    try:
        port = parts.port
    except ValueError:
        raise _refuse(spec, "the port is not a number from 1 to 65535") from None
    host = parts.hostname or ""
    if not host or parts.path not in ("", "/") or parts.query or parts.fragment or parts.password is not None:
        raise _refuse(spec, "expected ssh://[user@]host[:port] and nothing more")
    if host.startswith("-") or not SAFE_NAME.fullmatch(host):
        raise _refuse(spec, "the host name holds characters a host name cannot")
    if parts.username is not None and not SAFE_USER.fullmatch(parts.username):
        raise _refuse(spec, "the user name holds characters a user name cannot")
    return Device(spec, host, parts.username, port)
