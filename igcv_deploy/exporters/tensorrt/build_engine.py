"""igcv-export build-engine BUNDLE: build model.engine from a `tensorrt` bundle on the device.

Needs only tensorrt, numpy and onnx (no torch): it checks the bundle's hashes, builds with the
plan the manifest records (TensorRT 10: builder flags + our calibration cache; 11: strongly typed
from the FP16 / Q/DQ ONNX), and rewrites the manifest with the engine's section and hashes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ...bundle import Bundle, write_manifest
from ...errors import IGCVError, run_guarded
from .builder import BuildPlan, build
from .library import load_builder


def rebuild(folder: Path) -> dict:
    """Build the engine of a verified tensorrt bundle in place; returns the new manifest."""
    bundle = Bundle.load(folder)
    engine = bundle.manifest.get("engine", {})
    if bundle.manifest.get("target") != "tensorrt" or "plan" not in engine:
        raise IGCVError(
            f"'{folder}' is not a tensorrt bundle", "export one with: igcv-export --model M --target tensorrt"
        )
    library = load_builder("tensorrt")
    section = build(library, BuildPlan(**engine["plan"]), folder)
    section["parity"] = "not measured by build-engine (no PyTorch reference on the device)"
    manifest = {key: value for key, value in bundle.manifest.items() if key not in ("next_steps_notes", "files")}
    return write_manifest(folder, {**manifest, "engine": section, "primary_artifact": section["file"]})


def main(argv: list[str]) -> int:
    return run_guarded(_build_command, argv)


def _build_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="igcv-export build-engine", description=__doc__.splitlines()[0])
    parser.add_argument("bundle", help="a bundle folder written by igcv-export --target tensorrt")
    args = parser.parse_args(argv)
    manifest = rebuild(Path(args.bundle))
    engine = manifest["engine"]
    print(
        f"built {Path(args.bundle) / engine['file']} ({engine['size_bytes'] / 2**20:.1f} MB) with "
        f"{engine['library']} {engine['version']} in {engine['build_seconds']:.1f} s"
    )
    return 0
