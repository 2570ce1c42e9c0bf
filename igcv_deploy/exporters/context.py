"""What every target exporter receives: the request, the model, real inputs and the manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IGCVError
from ..isa import IsaClass, resolve_device
from ..runtimes import get_runtime
from ..runtimes.parity import compare
from ..targets import get_target

# Parity gates per precision. INT8 accuracy is judged by calibration; its gate only catches a
# runtime that computes something else entirely (e.g. OpenVINO's Gather-permutation miscompile).
ONNX_REFERENCE = "onnxruntime (original ONNX file)"  # the reference when the export starts from an ONNX file
PARITY_GATES = {
    "fp32": {"max_rel_err": 1e-4, "top1_agreement": 1.0, "cosine": 0.9999},
    "fp16": {"max_rel_err": 1e-2, "top1_agreement": 0.99, "cosine": 0.999},
    "int8": {"max_rel_err": float("inf"), "top1_agreement": 0.0, "cosine": 0.9},
}


@dataclass
class ExportRequest:
    model: object  # a registered name, FILE.py:CALLABLE, MODULE:CALLABLE, .pt2, .onnx, or an nn.Module
    target: str = "onnx"
    precision: str | None = None
    weights: str | None = None
    output: str | None = None
    force: bool = False
    batch: int = 1
    imgsz: int | None = None
    dynamic_batch: bool = False
    opset: int = 17
    exporter: str = "torchscript"
    num_classes: int | None = None
    input_size: str | None = None  # "C,H,W"
    mean: str | None = None  # "0.485,0.456,0.406" (0-1 scale)
    std: str | None = None
    channel_order: str | None = None  # rgb or bgr
    simplifier: str = "onnxslim"
    fold: bool = True
    lowering: str = "auto"
    lowering_plan: str | None = None
    parity_tol: float | None = None
    allow_parity_failure: bool = False
    calib_data: str | None = None
    calib_size: int = 64
    calib_method: str = "auto"
    max_accuracy_drop: float | None = None
    weight_bits: int | None = None  # None: what the device class takes (isa.IsaClass.weight_bits)
    device: str | None = None  # an isa class (x86-avx2, arm-dotprod, ...); None: this host's
    compute_capability: tuple[str, ...] = ()
    timing_cache: str | None = None
    input_layout: str = "nchw"  # litert: nhwc for camera frames and Android bitmaps

    def output_dir(self, model_name: str, target_name: str, precision: str) -> Path:
        return Path(self.output) if self.output else Path("artifacts") / f"{model_name}_{target_name}_{precision}"


@dataclass
class ExportContext:
    request: ExportRequest
    target: str
    precision: str
    prepared: object  # exporters.prepared_model.PreparedModel
    bundle_dir: Path
    scratch: Path
    samples: np.ndarray
    reference: np.ndarray
    manifest: dict
    cache: dict = field(default_factory=dict)

    @property
    def config(self):
        return self.prepared.config

    @property
    def model(self):
        """The torch.nn.Module in eval mode; None when the export starts from an ONNX file."""
        return self.prepared.module

    @property
    def runtime(self) -> str:
        """The runtime that runs this target's artifact; folding, lowering and INT8 form are chosen for it."""
        return get_target(self.target).runtime

    @property
    def isa(self) -> IsaClass:
        """The instruction-set class of the CPU the artifact is for (--device, else this host's)."""
        return resolve_device(self.request.device)

    def weight_bits(self) -> tuple[int, str]:
        """(INT8 weight bits, why): --weight-bits, 8 on GPUs, else what the CPU class takes."""
        if self.request.weight_bits is not None:
            return self.request.weight_bits, "--weight-bits"
        if get_runtime(self.runtime).needs_gpu:
            return 8, "GPU int8 kernels accumulate in int32: 8-bit weights do not saturate"
        return self.isa.weight_bits, self.isa.weight_bits_reason

    @property
    def input_shape(self) -> list:
        batch = "batch" if self.request.dynamic_batch else self.request.batch
        return [batch, *self.config.input_size]

    def measure_parity(self, runner) -> dict:
        """Run an artifact on the real samples and compare it with the PyTorch reference."""
        outputs = runner.run_batches(self.samples, 1 if self.request.dynamic_batch else self.request.batch)
        figures = compare(self.reference, outputs, "pytorch" if self.model is not None else ONNX_REFERENCE)
        return {**figures, "runtime": runner.name, "runtime_version": runner.version}

    def labelled_accuracy(self, runner, calib) -> dict | None:
        """Top-1 of the original model vs the artifact on the calibration source's labelled evaluation split."""
        images, labels, dataset = calib.evaluation()
        if labels is None:
            return None
        batch = 1 if self.request.dynamic_batch else self.request.batch
        usable = len(images) - len(images) % batch
        images, labels = images[:usable], labels[:usable]
        reference = self.prepared.reference(images).argmax(axis=1)
        quantized = runner.run_batches(images, batch).argmax(axis=1)
        reference_top1, quantized_top1 = float((reference == labels).mean()), float((quantized == labels).mean())
        return {
            "dataset": dataset,
            "n_samples": int(usable),
            "runtime": runner.name,
            "reference_top1": reference_top1,
            "quantized_top1": quantized_top1,
            "drop_points": round(100 * (reference_top1 - quantized_top1), 3),
        }

    def check_parity(self, artifact: str, runner, precision: str | None = None, primary: bool = False) -> dict:
        """Measure an artifact's parity, record it in the manifest, and gate it by precision."""
        precision = precision or self.precision
        figures = self.measure_parity(runner)
        self.manifest.setdefault("artifacts", {})[artifact] = {"precision": precision, "parity": figures}
        if primary:
            self.manifest["parity"] = figures
        self._gate(artifact, precision, figures)
        return figures

    @staticmethod
    def _reference_label(figures: dict) -> str:
        return "PyTorch" if figures["reference"] == "pytorch" else "the original ONNX file"

    def _gate(self, artifact: str, precision: str, figures: dict) -> None:
        if self.request.allow_parity_failure:
            return
        gate = dict(PARITY_GATES[precision])
        if precision == "fp32" and self.request.parity_tol is not None:
            gate["max_rel_err"] = self.request.parity_tol
        if (
            figures["max_rel_err"] > gate["max_rel_err"]
            or figures["top1_agreement"] < gate["top1_agreement"]
            or figures["cosine"] < gate["cosine"]
        ):
            raise IGCVError(
                f"{artifact} disagrees with {self._reference_label(figures)} in {figures['runtime']}: "
                f"max rel err {figures['max_rel_err']:.2e} (limit {gate['max_rel_err']:.0e}), "
                f"top-1 agreement {figures['top1_agreement']:.2f}, "
                f"cosine {figures['cosine']:.4f}",
                "report it; --parity-tol or --allow-parity-failure overrides the gate",
            )
