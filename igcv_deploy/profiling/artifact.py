"""What `igcv-profile` was pointed at: a bundle folder (hash-verified first) or a bare model file."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..bundle import Bundle, sha256
from ..errors import IGCVError
from ..runtimes.registry import get_runtime, runtime_for

GRAPH_SUFFIXES = (".onnx", ".xml")


@dataclass(frozen=True)
class Artifact:
    path: Path  # the file the runtime loads
    bundle: Path | None = None
    manifest: dict | None = None

    @property
    def precision(self) -> str | None:
        return self.manifest["precision"] if self.manifest else None

    def describe(self) -> dict:
        manifest = self.manifest or {}
        primary = manifest.get("primary_artifact")
        return {
            "path": str(self.path),
            "bundle": str(self.bundle) if self.bundle else None,
            "model": manifest.get("model", {"name": self.path.stem}),
            "target": manifest.get("target"),
            "precision": self.precision,
            "input_shape": manifest["inputs"][0]["shape"] if manifest.get("inputs") else None,
            "sha256": manifest.get("files", {}).get(primary) or sha256(self.path),
        }

    def file_for(self, suffixes) -> Artifact:
        """For a bundle, the file a runtime can load if the primary one is not (e.g. a built model.engine)."""
        if self.bundle is None or self.path.suffix in suffixes:
            return self
        found = sorted(f for suffix in suffixes for f in self.bundle.glob(f"*{suffix}"))
        return replace(self, path=found[0]) if found else self

    def graph_file(self) -> Path | None:
        """The ONNX/IR graph that per-layer roles are classified on: the file itself, else a sibling .onnx."""
        if self.path.suffix in GRAPH_SUFFIXES:
            return self.path
        siblings = [self.bundle / name for name in (self.manifest or {}).get("files", {}) if name.endswith(".onnx")]
        candidates = [self.path.with_suffix(".onnx"), *sorted(siblings)]
        return next((c for c in candidates if c.is_file()), None)


def resolve(target: str | Path) -> Artifact:
    path = Path(target)
    if path.is_dir():
        bundle = Bundle.load(path)  # refuses a bundle whose files no longer match their hashes
        return Artifact(bundle.primary, path, bundle.manifest)
    if path.is_file():
        return Artifact(path)
    raise IGCVError(f"'{target}' does not exist", "pass a bundle folder or a .onnx/.ort/.xml/.engine file")


def resolve_for_runtime(target: str | Path, runtime: str | None) -> tuple[Artifact, str]:
    """The artifact and the runtime that loads it: `runtime`'s file in a bundle (its suffix picks one if None)."""
    artifact = resolve(target)
    if runtime:
        artifact = artifact.file_for(get_runtime(runtime).suffixes)
    return artifact, runtime_for(artifact.path, runtime)
