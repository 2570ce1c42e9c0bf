"""What every target exporter receives: the request, the model, real inputs and the manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IGCVError
from ..runtimes.parity import compare

# Parity gates per precision: (max relative error, min top-1 agreement). int8 is judged by calibration.
PARITY_GATES = {"fp32": (1e-4, 1.0), "fp16": (1e-2, 0.99)}


@dataclass
class ExportRequest:
    model: str
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
    fold: bool = True
    parity_tol: float | None = None
    allow_parity_failure: bool = False
    calib_data: str | None = None
    calib_size: int = 64
    calib_method: str = "auto"
    max_accuracy_drop: float | None = None
    device: str = "x86"
    compute_capability: tuple[str, ...] = ()
    timing_cache: str | None = None

    def output_dir(self, target_name: str, precision: str) -> Path:
        return Path(self.output) if self.output else Path("artifacts") / f"{self.model}_{target_name}_{precision}"


@dataclass
class ExportContext:
    request: ExportRequest
    target: str
    precision: str
    config: object  # ModelConfig
    model: object  # torch.nn.Module in eval mode
    bundle_dir: Path
    scratch: Path
    samples: np.ndarray
    reference: np.ndarray
    manifest: dict
    cache: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> list:
        batch = "batch" if self.request.dynamic_batch else self.request.batch
        return [batch, *self.config.input_size]

    def check_parity(self, artifact: str, runner, precision: str | None = None, primary: bool = False) -> dict:
        """Run the artifact on the real samples, record its parity, and gate FP32/FP16 artifacts."""
        precision = precision or self.precision
        batch = 1 if self.request.dynamic_batch else self.request.batch
        outputs = runner.run_batches(self.samples, batch)
        figures = {**compare(self.reference, outputs), "runtime": runner.name, "runtime_version": runner.version}
        self.manifest.setdefault("artifacts", {})[artifact] = {"precision": precision, "parity": figures}
        if primary:
            self.manifest["parity"] = figures
        self._gate(artifact, precision, figures)
        return figures

    def _gate(self, artifact: str, precision: str, figures: dict) -> None:
        if precision not in PARITY_GATES or self.request.allow_parity_failure:
            return
        max_rel, min_top1 = PARITY_GATES[precision]
        if precision == "fp32" and self.request.parity_tol is not None:
            max_rel = self.request.parity_tol
        if figures["max_rel_err"] > max_rel or figures["top1_agreement"] < min_top1:
            raise IGCVError(
                f"{artifact} disagrees with PyTorch in {figures['runtime']}: max rel err "
                f"{figures['max_rel_err']:.2e} (limit {max_rel:.0e}), top-1 agreement {figures['top1_agreement']:.2f}",
                "report it; --parity-tol or --allow-parity-failure overrides the gate",
            )
