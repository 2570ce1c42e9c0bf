"""INT8 for the targets built from the PyTorch module (executorch, litert): PT2E, and --max-accuracy-drop.

Each target names its quantizer (a `Pt2eScheme`: ExecuTorch's XNNPACK quantizer, litert-torch's PT2E quantizer;
both per-channel symmetric weights, per-tensor activations from histogram observers), calibrated on the
calibration data every target uses. --max-accuracy-drop follows the Q/DQ path's method
(calibration/sensitivity.py, calibration/budget.py): rank the conv/linear layers by the output error of
quantising only that layer's weights, keep the fewest top-ranked layers in float that bring the held-out drop
within the budget, then hold the shipped artifact to it. The search measures every configuration on one calibrated
model whose observers became switchable fake quantisers, so a configuration costs a forward pass in PyTorch
rather than a prepare, calibrate and convert (5 s or more each for igcv3-digits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torchao.quantization.pt2e.observer import ObserverBase
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

from ..calibration.bundle_report import PLOT, RANKING
from ..calibration.evaluate import output_error, top1
from ..errors import IGCVError, UsageError
from ..progress import progress_bar, step
from .context import ExportContext

CHUNK = 32  # images per forward pass when the batch dimension is free
SEARCH_RUNTIME = "pytorch (pt2e fake quantisation)"
LAYER_TARGETS = {
    torch.ops.aten.conv1d.default,
    torch.ops.aten.conv2d.default,
    torch.ops.aten.convolution.default,
    torch.ops.aten.linear.default,
}
PER_CHANNEL = (torch.per_channel_symmetric, torch.per_channel_affine)


@dataclass(frozen=True)
class Pt2eScheme:
    method: str  # the manifest's calibration.method
    quantizer: Callable  # (float layer module paths) -> a PT2E Quantizer leaving those layers in float
    fold_quantize: bool = True  # convert_pt2e's: litert-torch wants the weights' quantize ops kept
    min_samples: int = 1  # fewest calibration images accepted


def quantize_int8(ctx: ExportContext, module, scheme: Pt2eScheme):
    """(`module` PT2E-quantised, the calibration set); float layers chosen by --max-accuracy-drop if given."""
    from ..calibration.data import load_calibration_set

    request = ctx.request
    check_budget(request.max_accuracy_drop)
    calib = load_calibration_set(request.calib_data, ctx.config, request.calib_size)
    if len(calib.images) < scheme.min_samples:
        raise UsageError(
            f"{ctx.target} INT8 calibration needs at least {scheme.min_samples} images, got {len(calib.images)}",
            f"pass --calib-size {scheme.min_samples} or more, and --calib-data with at least that many images",
        )
    program, batch = measurement_program(module, calib.images, request.batch)
    budget = {} if request.max_accuracy_drop is None else fit_float_layers(ctx, program, batch, calib, scheme)
    float_layers = budget.get("float_layers", [])
    prepared = prepare_pt2e(program.module(), scheme.quantizer(float_layers))
    run_batches(prepared, calib.images, batch)
    ctx.manifest["calibration"] = {
        "method": scheme.method,
        "n_samples": len(calib.images),
        "data": calib.description,
        "data_sha256": calib.sha256,
        "float_layers": float_layers,
        "max_accuracy_drop": request.max_accuracy_drop,
        **budget,
    }
    return convert_pt2e(prepared, fold_quantize=scheme.fold_quantize), calib


def checked_accuracy(ctx: ExportContext, runner, calib, artifact: str) -> dict | None:
    """Held-out top-1 of PyTorch vs the artifact (labelled data); held to --max-accuracy-drop, which the search met."""
    accuracy = ctx.labelled_accuracy(runner, calib)
    budget = ctx.request.max_accuracy_drop
    if accuracy and budget is not None and accuracy["drop_points"] > budget and not ctx.request.allow_parity_failure:
        searched = ctx.manifest["calibration"]["search_accuracy"]["drop_points"]
        raise IGCVError(
            f"{artifact} loses {accuracy['drop_points']} top-1 points in {runner.name} (budget {budget}; the PT2E "
            f"search measured {searched} in PyTorch)",
            "raise --max-accuracy-drop, or pass --allow-parity-failure to keep it",
        )
    return accuracy


def leave_in_float(quantizer, float_layers):
    """`quantizer` with the nodes of `float_layers` (module paths) left unannotated, i.e. in float; for quantizers
    that refuse set_module_name(name, None)."""
    from torchao.quantization.pt2e.quantizer.utils import get_module_name_filter

    in_float = [get_module_name_filter(name) for name in float_layers]
    annotate = quantizer.annotate

    def annotate_all_but_float(model):
        model = annotate(model)
        for node in model.graph.nodes:
            if any(is_in(node) for is_in in in_float):
                node.meta.pop("quantization_annotation", None)
        return model

    if in_float:
        quantizer.annotate = annotate_all_but_float
    return quantizer


def check_budget(budget: float | None) -> None:
    if budget is not None and budget < 0:
        raise UsageError(f"--max-accuracy-drop must be 0 or more, got {budget}", "pass a drop in points")


def measurement_program(model, images: np.ndarray, batch: int):
    """(exported program, its static batch or None): a free batch dimension lets calibration and the search run
    CHUNK images a call; a model that fixes its batch is measured `batch` images a call."""
    example = torch.from_numpy(np.repeat(images[:1], 2, axis=0))  # an example batch of 1 would be specialised
    try:
        return torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},)), None
    except Exception:  # torch.export raises several kinds when a model (or a .pt2 program) fixes its batch
        if len(images) < batch:
            raise UsageError(
                f"the model fixes its batch, so calibration runs --batch {batch} images a call, "
                f"but the calibration set has only {len(images)}",
                f"pass --calib-size {batch} or more (a multiple of {batch} uses every image)",
            ) from None
        return torch.export.export(model, (torch.from_numpy(images[:batch].copy()),)), batch


def batches(images: np.ndarray, batch: int | None) -> list[np.ndarray]:
    """CHUNK images a call when the batch is free (the last call takes the rest), else whole batches only."""
    size = batch or CHUNK
    stop = len(images) if batch is None else len(images) - len(images) % batch
    return [images[start : start + size] for start in range(0, stop, size)]


def run_batches(module, images: np.ndarray, batch: int | None) -> np.ndarray:
    with torch.no_grad():
        return np.concatenate([module(torch.from_numpy(chunk.copy())).numpy() for chunk in batches(images, batch)])


def fit_float_layers(ctx: ExportContext, program, batch: int | None, calib, scheme: Pt2eScheme) -> dict:
    """Rank the layers, keep the fewest most sensitive in float that fit the budget; the manifest's record."""
    from ..calibration.budget import fit_budget
    from ..calibration.sensitivity import plot_ranking, rank_layers, save_ranking

    budget = ctx.request.max_accuracy_drop
    with step("calibrate and rank layer sensitivity (PT2E)"):
        prepared = prepare_pt2e(program.module(), scheme.quantizer([]))
        run_batches(prepared, calib.images, batch)
        search = SwitchableQuantization(prepared, batch, calib, ctx.prepared.reference)
        # the evaluator API's `amax` is unused here: the ranges live in the calibrated observers
        ranking = rank_layers(search, None, {layer: [layer] for layer in search.layers})
    with step("fit the accuracy budget (PT2E)"):
        float_layers, accuracy, trace = fit_budget(search, None, ranking, search.layers, budget)
    if accuracy["drop_points"] > budget:
        raise IGCVError(
            f"INT8 loses {accuracy['drop_points']} points on {accuracy['dataset']} even with all "
            f"{len(search.layers)} conv/linear layers in float (budget {budget})",
            "raise --max-accuracy-drop, or export --precision fp32",
        )
    save_ranking(ranking, ctx.bundle_dir / RANKING)
    plot_ranking(ranking, ctx.bundle_dir / PLOT, float_layers)
    return {"float_layers": float_layers, "search_accuracy": accuracy, "budget_trace": trace, "files": [PLOT, RANKING]}


class FakeQuantSwitch(torch.nn.Module):
    """A calibrated observer's quantise-dequantise, applied only while `on`."""

    def __init__(self, observer: ObserverBase):
        super().__init__()
        scale, zero_point = observer.calculate_qparams()
        self.scale, self.zero_point = scale.float(), zero_point.int()
        self.limits = (observer.quant_min, observer.quant_max)
        self.axis = observer.ch_axis if observer.qscheme in PER_CHANNEL else None
        self.on = True

    def forward(self, x):
        if not self.on:
            return x
        if self.axis is None:
            return torch.fake_quantize_per_tensor_affine(x, self.scale, self.zero_point, *self.limits)
        return torch.fake_quantize_per_channel_affine(x, self.scale, self.zero_point, self.axis, *self.limits)


class SwitchableQuantization:
    """A calibrated PT2E model that quantises only the weights asked for: the evaluator of rank_layers/fit_budget.

    Each observer becomes a FakeQuantSwitch. A layer the quantizer skips keeps float weights, but the tensors it
    reads and writes stay int8 when its neighbours quantise them (the int8 kernels run on int8 tensors), so a
    layer's sensitivity is the output error with only its weights quantised, and accuracy checks quantise every
    activation.
    """

    def __init__(self, observed, batch: int | None, calib, reference):
        self.model, self.batch = observed, batch
        self.switches = install_switches(observed)
        self.layers = [layer for _, layer in self.switches if layer]
        self.images = calib.images
        self.reference = reference(self.images)
        images, labels, self.dataset = calib.evaluation()
        usable = len(images) if batch is None else len(images) - len(images) % batch
        self.eval_images, self.labels = images[:usable], None if labels is None else labels[:usable]
        self.eval_reference = reference(self.eval_images)

    def quantize_only(self, layers: set, activations: bool) -> None:
        for switch, layer in self.switches:
            switch.on = layer in layers if layer else activations

    def unit_errors(self, amax, units: dict[str, list[str]], samples: int, progress: bool = True) -> dict:
        """Output error vs FP32 on `samples` calibration images with only that unit's weights quantised, per unit."""
        errors = {}
        for unit in progress_bar(units, "layer sensitivity", progress):
            self.quantize_only(set(units[unit]), activations=False)
            outputs = run_batches(self.model, self.images[:samples], self.batch)
            errors[unit] = output_error(self.reference[: len(outputs)], outputs)
        return errors

    def accuracy(self, amax, layers) -> dict:
        """Held-out top-1 (or top-1 agreement with FP32, unlabelled) with the weights of `layers` and every
        activation quantised."""
        self.quantize_only(set(layers), activations=True)
        outputs = run_batches(self.model, self.eval_images, self.batch)
        figures = drop_figures(self.eval_reference, outputs, self.labels)
        return {"dataset": self.dataset, "n_samples": len(outputs), **figures, "runtimes": {SEARCH_RUNTIME: figures}}


def drop_figures(reference: np.ndarray, outputs: np.ndarray, labels: np.ndarray | None) -> dict:
    """Top-1 before and after (labelled data) or top-1 agreement with FP32, and the drop in points."""
    if labels is None:
        agreement = top1(outputs, reference.argmax(axis=1))
        return {"top1_agreement": agreement, "drop_points": round(100 * (1 - agreement), 4)}
    before, after = top1(reference, labels), top1(outputs, labels)
    return {"reference_top1": before, "quantized_top1": after, "drop_points": round(100 * (before - after), 4)}


def install_switches(model) -> list[tuple[FakeQuantSwitch, str | None]]:
    """Replace every observer by a FakeQuantSwitch; (switch, the layer whose weights it quantises or None)."""
    switches = []
    for node in model.graph.nodes:
        if node.op == "call_module" and isinstance(model.get_submodule(node.target), ObserverBase):
            switch = FakeQuantSwitch(model.get_submodule(node.target))
            model.set_submodule(node.target, switch)
            weights = node.args[0].op == "get_attr"
            switches.append((switch, layer_of(next(iter(node.users))) if weights else None))
    return switches


def layer_of(node) -> str | None:
    """The module path of a conv/linear node, as the quantizer's name filter reads it; None for other nodes."""
    stack = node.meta.get("nn_module_stack")
    if node.target not in LAYER_TARGETS or not stack:
        return None
    return list(stack.values())[-1][0].removeprefix("L['self'].")
