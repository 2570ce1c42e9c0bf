"""Export orchestration: validate -> build model -> reference outputs -> target exporter -> bundle."""

from __future__ import annotations

import importlib
import sys
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

from .. import __version__
from ..bundle import SCHEMA_VERSION, check_writable_destination, staged_folder, write_manifest, write_reference_set
from ..errors import UsageError
from ..isa import HOST, host_class, resolve_device
from ..progress import collect_timings, step
from ..runtimes.parity import output_kind
from ..targets import Target, check_precision, get_target
from .context import ExportContext, ExportRequest
from .prepared_model import PreparedModel, prepare_model

VERSIONED_PACKAGES = ("torch", "onnx", "onnxruntime", "onnxslim", "openvino", "nncf", "numpy", "tensorrt_rtx")


def validate(request: ExportRequest, explicit_options: set[str] = frozenset()) -> tuple[Target, str]:
    """Resolve the target and precision; reject options that do not apply to them."""
    from .base_onnx import check_exporter, check_simplifier
    from .lowering import check_lowering, check_tunable

    target = get_target(request.target)
    isa = resolve_device(request.device)
    precision = request.precision or target.default_precision(isa.arch)
    check_precision(target, precision)
    check_exporter(request.exporter, request.opset)
    check_simplifier(request.simplifier)
    check_lowering(request.lowering, request.lowering_plan, target.runtime, request.tuning)
    check_tunable(request.lowering, target, isa == host_class())
    rejected = sorted(o for o in explicit_options if not target.accepts(o, precision))
    if rejected:
        flags = ", ".join("--" + o.replace("_", "-") for o in rejected)
        raise UsageError(f"{flags} does not apply to target '{target.name}' at {precision}", "remove it")
    if request.weight_bits not in (None, 7, 8):
        raise UsageError(f"--weight-bits must be 7 or 8, got {request.weight_bits}", "use 7 (x86 CPUs) or 8 (GPUs)")
    if request.batch < 1:
        raise UsageError(f"--batch must be at least 1, got {request.batch}", "pass a positive batch size")
    return target, precision


def parity_samples(config, batch: int):
    """Real preprocessed images for parity checks, a whole number of batches (at least 8 images)."""
    from ..calibration.images import reference_images

    images = reference_images(config)
    count = -(-max(len(images), batch) // batch) * batch
    return np.resize(images, (count, *images.shape[1:]))


def package_versions() -> dict:
    versions = {"igcv-deploy": __version__, "python": sys.version.split()[0]}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(
                package.replace("_", "-") + ("-cu13" if package == "tensorrt_rtx" else "")
            )
        except metadata.PackageNotFoundError:
            continue
    return versions


def complexity(prepared: PreparedModel) -> tuple[int, int]:
    if prepared.module is None:
        from .onnx_source import onnx_complexity

        return onnx_complexity(prepared.source.path)
    from ..models.complexity import count_macs, count_params

    return count_params(prepared.module), count_macs(prepared.module, prepared.config.input_size)


def base_manifest(target: Target, precision: str, prepared: PreparedModel) -> dict:
    config = prepared.config
    params, macs = complexity(prepared)
    return {
        "schema_version": SCHEMA_VERSION,
        "model": {
            "name": config.name,
            "family": config.family,
            "params": params,
            "macs": macs,
            "weights": prepared.weights,
            **prepared.source.describe(),
        },
        "target": target.name,
        "precision": precision,
        "preprocessing": config.preprocessing(),
        "num_classes": config.num_classes,
        "versions": package_versions(),
    }


def device_record(request: ExportRequest) -> dict:
    """The CPU class the defaults were chosen for, and how it was chosen."""
    isa, host = resolve_device(request.device), host_class()
    return {
        "isa_class": isa.name,
        "label": isa.label,
        "chosen_by": "--device" if request.device not in (None, HOST) else "this host",
        "host_isa_class": host.name,
    }


def run_export(request: ExportRequest, explicit_options: set[str] = frozenset()) -> tuple[Path, dict]:
    target, precision = validate(request, explicit_options)
    if request.output:  # fail before the model is built; the default folder is checked when staged
        check_writable_destination(Path(request.output), request.force)
    collect_timings()
    with step("build the model"):
        prepared = prepare_model(request)
    config = prepared.config
    output = request.output_dir(config.name, target.name, precision)
    with step(f"{'onnxruntime' if prepared.module is None else 'PyTorch'} reference outputs on real data"):
        samples = parity_samples(config, 1 if request.dynamic_batch else request.batch)
        reference, *extra_references = prepared.reference_all(samples)
    if config.num_classes == 0:  # a model that carries no config: its head says how many classes (per pixel)
        classes = reference.shape[1] if output_kind(reference.shape) == "dense_map" else np.prod(reference.shape[1:])
        prepared.config = config = config.with_overrides(num_classes=int(classes))
    manifest = base_manifest(target, precision, prepared)
    if target.accepts("device", precision):
        manifest["device"] = device_record(request)
    module_name, function = target.exporter.split(":")
    exporter = getattr(importlib.import_module(f"igcv_deploy.exporters.{module_name}"), function)
    with staged_folder(output, request.force) as staging, tempfile.TemporaryDirectory() as scratch:
        ctx = ExportContext(
            request, target.name, precision, prepared, staging, Path(scratch), samples, reference, manifest
        )
        ctx.extra_references = extra_references
        with step(f"{target.name} {precision} export and parity"):
            manifest["primary_artifact"] = exporter(ctx)
        write_reference_set(staging, samples, ctx.judged_references(), 1 if request.dynamic_batch else request.batch)
        manifest["step_seconds"] = collect_timings()
        from .base_onnx import input_spec, output_spec

        manifest.setdefault("inputs", input_spec(ctx))  # a target may describe its file's own input
        manifest["outputs"] = output_spec(ctx)
        manifest["created_utc"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        manifest = write_manifest(staging, manifest)
    return output, manifest
