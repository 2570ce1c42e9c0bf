"""What every target exporter receives: the request, the model, real inputs and the manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IGCVError
from ..isa import IsaClass, resolve_device
from ..runtimes import get_runtime
from ..runtimes.parity import PARITY_GATES, compare, exceeded, outputs_exceeded
from ..targets import get_target

ONNX_REFERENCE = "onnxruntime (original ONNX file)"  # the reference when the export starts from an ONNX file
# An ill-conditioned network (deep, randomly initialised) amplifies rounding: PyTorch's own FP32 result can be far
# from the exact (float64) one. A correct FP32 runtime rounds as often, in another order and with other algorithms
# (Winograd, blocked GEMMs): measured on pytorchcv's random-init IGCV3 at 224, onnxruntime and OpenVINO were 1.0x
# PyTorch's own distance from float64 (7.0e-4 vs 7.1e-4). 10x leaves a decade for other runtimes and algorithms,
# and stays far below a wrong graph's error (a misplaced permutation: rel err 0.1-1, cosine well below 0.9999).
FLOAT64_NOISE_FACTOR = 10.0


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
    tuning: str | None = None  # a tuning-store file carried from the device (tuning_store.py)
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
    extra_references: list = field(default_factory=list)  # the reference's outputs after the first, if any

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
        return self._parity_figures(runner, self._artifact_outputs(runner))

    def _artifact_outputs(self, runner) -> list[np.ndarray]:
        outputs = runner.run_batches_all(self.samples, 1 if self.request.dynamic_batch else self.request.batch)
        if len(outputs) != 1 + len(self.extra_references):
            raise IGCVError(
                f"the {runner.name} artifact has {len(outputs)} outputs, the model {1 + len(self.extra_references)}",
                "report it: an output was lost or added on the way",
            )
        return outputs

    def _parity_figures(self, runner, outputs: list[np.ndarray]) -> dict:
        """The first output's figures (what summaries show), and every output's where there are several."""
        name = "pytorch" if self.model is not None else ONNX_REFERENCE
        each = [compare(ref, out, name) for ref, out in zip([self.reference, *self.extra_references], outputs)]
        extra = {"per_output": each} if len(each) > 1 else {}
        return {**each[0], **extra, "runtime": runner.name, "runtime_version": runner.version}

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
        outputs = self._artifact_outputs(runner)
        figures = self._parity_figures(runner, outputs)
        limits = self._limits(precision)
        if not self.request.allow_parity_failure and outputs_exceeded(figures, limits) and self._scalable(precision):
            figures["float64"], limits = self._float64_judgement(outputs[0], limits)
        figures["limits"] = limits
        self.manifest.setdefault("artifacts", {})[artifact] = {"precision": precision, "parity": figures}
        if primary:
            self.manifest["parity"] = figures
        if not self.request.allow_parity_failure:
            self._gate(artifact, figures, limits)
        return figures

    def _limits(self, precision: str) -> dict:
        limits = {**PARITY_GATES[precision], "against": "reference"}
        if precision == "fp32" and self.request.parity_tol is not None:
            limits["max_rel_err"] = self.request.parity_tol
        return limits

    def _scalable(self, precision: str) -> bool:
        """The FP32 gate may scale with the model's own float noise: not when --parity-tol fixes it, and only with a
        PyTorch module to run in float64."""
        return precision == "fp32" and self.request.parity_tol is None and self.model is not None

    def judged_references(self) -> list[np.ndarray]:
        """What the primary artifact was judged against, per output: float64 where the gate scaled to it."""
        if self.manifest.get("parity", {}).get("limits", {}).get("against") == "pytorch-float64":
            return [self.float64_reference()]
        return [self.reference, *self.extra_references]

    def float64_reference(self) -> np.ndarray | None:
        """The PyTorch module in double precision on the parity samples (cached; None if it cannot run in float64)."""
        if "float64_reference" not in self.cache:
            from ..progress import step

            with step("float64 reference (the FP32 gate failed: measuring PyTorch's own FP32 error)"):
                self.cache["float64_reference"] = self.prepared.reference_float64(self.samples)
        return self.cache["float64_reference"]

    def _float64_judgement(self, outputs: np.ndarray, limits: dict) -> tuple[dict, dict]:
        """Where PyTorch's own FP32 result is more than the gate away from float64 (an ill-conditioned network), judge
        the artifact against float64 with a limit of FLOAT64_NOISE_FACTOR x PyTorch's FP32 error."""
        exact = self.float64_reference()
        if exact is None or self.extra_references:  # multi-output models keep the plain gate
            return {"available": False}, limits
        noise = compare(exact, self.reference)["max_rel_err"]
        record = {"pytorch_fp32_max_rel_err": noise, "artifact": compare(exact, outputs, "pytorch-float64")}
        if noise <= limits["max_rel_err"]:  # PyTorch FP32 is within the gate: the plain gate stands
            return record, limits
        scaled = {**limits, "max_rel_err": FLOAT64_NOISE_FACTOR * noise, "against": "pytorch-float64"}
        return record, scaled

    @staticmethod
    def _reference_label(figures: dict) -> str:
        return "PyTorch" if figures["reference"] == "pytorch" else "the original ONNX file"

    def _gate(self, artifact: str, figures: dict, limits: dict) -> None:
        if limits["against"] == "pytorch-float64":
            problems, against = exceeded(figures["float64"]["artifact"], limits), "PyTorch in float64"
        else:
            problems, against = outputs_exceeded(figures, limits), self._reference_label(figures)
        if problems:
            raise IGCVError(
                f"{artifact} disagrees with {against} in {figures['runtime']}: {'; '.join(problems)}",
                "report it; --parity-tol or --allow-parity-failure overrides the gate",
            )
