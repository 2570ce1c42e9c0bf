"""Bundles: a folder of artifacts plus manifest.json, written atomically and verified on load.

Imports no torch, so devices can load and check bundles.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import IGCVError, check_interrupted

SCHEMA_VERSION = "1.0"
MANIFEST = "manifest.json"
REFERENCE = "reference.npz"  # a few parity inputs and the reference outputs: `igcv-profile verify` reruns them
REFERENCE_BYTES = 3 << 18  # 0.75 MB: reference.npz stays under 1 MB (one 224x224 float32 input is 0.6 MB raw)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hash_files(folder: Path) -> dict[str, str]:
    """sha256 of every file in the folder except the manifest, by relative POSIX path."""
    return {
        path.relative_to(folder).as_posix(): sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def check_writable_destination(output: Path, force: bool) -> None:
    """Refuse an `output` that exists (without --force) or cannot be written: probed by making its missing parent
    folders and a staging folder, then removing them, so it can run before any export work and leaves nothing."""
    with _writing(output):
        taken = output.exists()
    if taken and not force:
        raise IGCVError(f"output folder '{output}' already exists", "pass --force to overwrite it or choose --output")
    with _parents_made(output):
        _new_staging(output).rmdir()


@contextlib.contextmanager
def _parents_made(output: Path):
    """Create `output`'s missing parent folders for the block; on leaving it, remove those that are still empty."""
    made: list[Path] = []
    try:
        with _writing(output):
            for folder in reversed([output.parent, *output.parent.parents]):  # outermost first
                if not folder.exists():
                    folder.mkdir()
                    made.append(folder)
        yield
    finally:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()


def _new_staging(output: Path) -> Path:
    """A new hidden folder beside `output`, named so that remove_abandoned_staging knows its process."""
    with _writing(output):
        return Path(tempfile.mkdtemp(prefix=f".{output.name}.partial-{os.getpid()}-", dir=output.parent))


@contextlib.contextmanager
def _writing(output: Path):
    """An OSError in the block (read-only or virtual filesystem, a file in the path, no permission) becomes an
    IGCVError naming `output` and the OS's reason."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise IGCVError(f"cannot write to '{output}': {reason}", "choose a writable --output folder") from exc


@contextlib.contextmanager
def staged_folder(output: Path, force: bool):
    """Yield a temporary sibling folder; on success it replaces `output`, on any failure it is removed, with the
    parent folders made for it."""
    check_writable_destination(output, force)
    with _parents_made(output):
        remove_abandoned_staging(output)
        staging = _new_staging(output)
        try:
            yield staging
            check_interrupted()
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if output.exists():
            shutil.rmtree(output)
        staging.chmod(0o755)
        os.replace(staging, output)


def remove_abandoned_staging(output: Path) -> None:
    """Delete staging folders of `output` whose export process is gone (killed before it could clean up)."""
    for folder in output.parent.glob(f".{output.name}.partial-*"):
        pid = folder.name.rsplit(".partial-", 1)[1].split("-")[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_reference_set(folder: Path, samples, outputs: list, batch: int) -> None:
    """reference.npz: the parity inputs and the reference the export judged each output against, `input`
    (N,C,H,W float32) and `output_0`, `output_1`, ... (float64 where the gate judged against float64), compressed;
    halved (whole batches, at least one) until under REFERENCE_BYTES."""
    import numpy as np

    count = len(samples) - len(samples) % batch
    while True:
        np.savez_compressed(
            folder / REFERENCE,
            input=np.ascontiguousarray(samples[:count], dtype=np.float32),
            **{f"output_{index}": np.ascontiguousarray(output[:count]) for index, output in enumerate(outputs)},
        )
        if count <= batch or (folder / REFERENCE).stat().st_size <= REFERENCE_BYTES:
            return
        count = max(batch, count // 2 - count // 2 % batch)


def write_manifest(folder: Path, manifest: dict) -> dict:
    manifest = {**manifest, "files": hash_files(folder)}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    return manifest


@dataclass
class Bundle:
    """A bundle folder whose files have been checked against its manifest."""

    path: Path
    manifest: dict

    @classmethod
    def load(cls, path: str | Path, verify: bool = True) -> Bundle:
        folder = Path(path)
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            raise IGCVError(f"'{folder}' is not a bundle (no {MANIFEST})", "pass a folder written by igcv-export")
        try:
            manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as exc:
            raise IGCVError(f"{manifest_path} is not valid JSON ({exc.msg})", "re-export the bundle") from exc
        bundle = cls(folder, manifest)
        if verify:
            bundle.verify()
        return bundle

    def verify(self) -> None:
        """Refuse a bundle whose files no longer match the manifest hashes."""
        for relative, expected in self.manifest.get("files", {}).items():
            path = self.path / relative
            if not path.is_file():
                raise IGCVError(f"bundle file '{relative}' listed in the manifest is missing", "re-export the bundle")
            if sha256(path) != expected:
                raise IGCVError(
                    f"bundle file '{relative}' does not match its manifest sha256",
                    "re-export the bundle; do not edit bundle files",
                )

    def file(self, relative: str) -> Path:
        return self.path / relative

    @property
    def primary(self) -> Path:
        return self.path / self.manifest["primary_artifact"]
