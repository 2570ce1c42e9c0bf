"""Bundles on a device: copied once into its cache, keyed by the manifest's hash, then hash-verified there."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from ..bundle import MANIFEST, Bundle
from ..errors import IGCVError
from .transport import Connection

# unpack into a fresh folder, then rename: a copy cut short never looks like a cached bundle
UNPACK = 'mkdir -p "$0" && tar -C "$0" -xf - && if [ -d "$1" ]; then rm -rf "$0"; else mv "$0" "$1"; fi'
CACHED = 'test -f "$0/manifest.json" && echo cached || echo missing'


@dataclass(frozen=True)
class Sent:
    remote_path: str
    bytes_sent: int  # 0: the device had it already


def local_bundle(path: str) -> Bundle:
    """The bundle to send, hash-verified here first (a tampered bundle is never copied)."""
    bundle = Bundle.load(path)
    if not bundle.path.is_dir():
        raise IGCVError(f"'{path}' is not a bundle folder", "--on takes a bundle written by igcv-export")
    return bundle


def bundle_key(bundle: Bundle) -> str:
    return hashlib.sha256((bundle.path / MANIFEST).read_bytes()).hexdigest()[:32]


def sync_bundle(conn: Connection, cache: str, bundle: Bundle, timeout: float | None) -> Sent:
    """The bundle's folder on the device: the cached copy, or a new one."""
    remote = f"{cache}/bundles/{bundle_key(bundle)}"
    if conn.run(["sh", "-c", CACHED, remote], timeout).strip() == "cached":
        return Sent(remote, 0)
    partial = f"{remote}.partial-{uuid.uuid4().hex[:8]}"
    conn.send_tree(bundle.path, ["sh", "-c", UNPACK, partial, remote], timeout)
    return Sent(remote, sum(f.stat().st_size for f in bundle.path.rglob("*") if f.is_file()))
