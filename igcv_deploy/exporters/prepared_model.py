"""The model an export starts from, whatever it came from: module or ONNX file, config, weights, reference.

Registered models keep the zoo's path (config, `--weights` import, seeded random init). The user's own models
(Python callables, torch.export programs, nn.Module objects, ONNX files) get a config from the preprocessing
flags; their PyTorch module (or, for an ONNX file, onnxruntime on the original file) is the parity reference.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import IGCVError, UsageError
from ..models.sources import FOREIGN_INPUT_SIZE, ModelSource, foreign_config, resolve_source
from .context import ExportRequest
from .input_size import check_input_size, fixed_input_size, parse_floats, parse_input_size

CHANNEL_ORDERS = ("rgb", "bgr")


@dataclass
class PreparedModel:
    source: ModelSource
    module: object  # torch.nn.Module in eval mode; None for an ONNX source
    config: object  # ModelConfig
    weights: object  # the manifest's weights record
    reference_all: Callable[[np.ndarray], list[np.ndarray]]  # images -> every output of the original model

    def reference(self, images: np.ndarray) -> np.ndarray:
        """The original model's first output (the logits of a classifier)."""
        return self.reference_all(images)[0]

    def reference_float64(self, images: np.ndarray) -> np.ndarray | None:
        """The module's outputs in double precision (the exact result FP32 rounding departs from); None for an ONNX
        file, or a module that cannot run in float64 (a torch.export program with float32 baked in)."""
        if self.module is None:
            return None
        import copy

        import torch

        try:
            exact = copy.deepcopy(self.module).double()
            with torch.no_grad():
                return output_arrays(exact(torch.from_numpy(np.asarray(images, dtype=np.float64))))[0]
        except Exception:  # noqa: BLE001 - any failure means "no float64 reference"; the plain gate then stands
            return None


def prepare_model(request: ExportRequest) -> PreparedModel:
    source = resolve_source(request.model, request.num_classes)
    if source.kind != "registry" and request.weights:
        raise UsageError(
            f"--weights applies to registered models, not to the {source.kind} model '{source.name}'",
            "load the weights in your own code, or save them in the .pt2 / .onnx file",
        )
    config = _with_preprocessing(_config(source, request), request)
    check_input_size(config.input_size, reference_batch(request.batch))  # before anything is built
    if source.kind == "registry":
        module, config = _registered_model(request, config)
        weights = _load_weights(request, module, config)
    else:
        module = source.module
        weights = "from the ONNX file" if module is None else "from the model object"
    # a torch.export program keeps the batch it was traced with: feed it the export's batch at a time
    chunk = (1 if request.dynamic_batch else request.batch) if source.kind == "exported_program" else None
    return PreparedModel(source, module, config, weights, _reference(source, module, chunk))


def reference_batch(batch: int) -> int:
    """Images in the one forward pass that computes the reference outputs (parity_samples: whole batches)."""
    from ..calibration.images import BUILTIN_PHOTOS

    return -(-max(len(BUILTIN_PHOTOS), batch) // batch) * batch


def requested_input_size(request: ExportRequest, channels: int = 3) -> tuple[int, int, int] | None:
    """--input-size C,H,W, or --imgsz N (square, with the model's channels), or None."""
    if request.input_size and request.imgsz is not None:
        raise UsageError("--imgsz and --input-size both set the input size", "pass only one of them")
    if request.input_size:
        return parse_input_size(request.input_size)
    return None if request.imgsz is None else (channels, request.imgsz, request.imgsz)


def _config(source: ModelSource, request: ExportRequest):
    if source.kind == "onnx":
        from .onnx_source import onnx_input_size

        return foreign_config(source.name, onnx_input_size(source.path, requested_input_size(request)), 0)
    if source.kind == "exported_program" and source.input_shape and len(source.input_shape) == 4:
        return foreign_config(source.name, _program_input_size(source, request), 0)
    if source.kind != "registry":
        return foreign_config(source.name, requested_input_size(request) or FOREIGN_INPUT_SIZE, 0)
    from ..models import get_config

    config = get_config(request.model)
    size = requested_input_size(request, config.input_size[0]) or config.input_size
    if size[0] != config.input_size[0]:
        raise UsageError(
            f"{request.model} takes {config.input_size[0]} input channels, not {size[0]}",
            f"use --input-size {config.input_size[0]},{size[1]},{size[2]}",
        )
    return config.with_overrides(input_size=size)


def _program_input_size(source, request: ExportRequest) -> tuple[int, int, int]:
    """A torch.export program's own input size where it fixes one, checked against the flags and the batch."""
    shape, requested = source.input_shape, requested_input_size(request)
    batch = 1 if request.dynamic_batch else request.batch
    if shape[0] is not None and shape[0] != batch:
        raise UsageError(
            f"{source.path.name} was exported for batch {shape[0]}, not {batch}",
            f"pass --batch {shape[0]}, or save the program with a dynamic batch (torch.export.Dim)",
        )
    if requested is None and shape[2] is None and shape[3] is None:
        requested = (shape[1] or FOREIGN_INPUT_SIZE[0], *FOREIGN_INPUT_SIZE[1:])
    return fixed_input_size(source.path.name, shape, requested, "or save the program with a dynamic size")


def _registered_model(request: ExportRequest, config):
    from ..models import create_model

    config = config.with_overrides(num_classes=_registered_num_classes(request, config.num_classes))
    return create_model(request.model, num_classes=config.num_classes), config


def _registered_num_classes(request: ExportRequest, default: int) -> int:
    if request.num_classes is not None:
        return request.num_classes
    if request.weights:
        from ..models.checkpoints import checkpoint_num_classes

        found = checkpoint_num_classes(request.weights, request.model)
        if found and found != default:
            print(
                f"note: {request.weights} has a {found}-class head; building {request.model} with num_classes={found}",
                file=sys.stderr,
            )
            return found
    return default


def _load_weights(request: ExportRequest, model, config):
    if request.weights:
        from ..models.checkpoints import load_weights

        return load_weights(model, request.model, request.weights)
    weights = config.extra.get("weights", "random-init")
    if weights == "random-init":
        from ..models.init import init_random_weights

        init_random_weights(model)  # seeded: random-init bundles are reproducible byte for byte
        print(
            f"warning: no --weights given: '{request.model}' uses RANDOM initialisation; its outputs are meaningless",
            file=sys.stderr,
        )
    return weights


def _with_preprocessing(config, request: ExportRequest):
    channels = config.input_size[0]
    if request.channel_order and request.channel_order.lower() not in CHANNEL_ORDERS:
        raise UsageError(f"unknown --channel-order '{request.channel_order}'", "use rgb or bgr")
    scale = config.pixel_range  # the flags speak the 0-1 scale; models fed raw 0-255 pixels keep theirs
    overrides = {
        "mean": tuple(v * scale for v in parse_floats(request.mean, "--mean", channels)) if request.mean else None,
        "std": tuple(v * scale for v in parse_floats(request.std, "--std", channels)) if request.std else None,
        "channel_order": request.channel_order.upper() if request.channel_order else None,
    }
    return config.with_overrides(**{key: value for key, value in overrides.items() if value is not None})


def output_arrays(result) -> list[np.ndarray]:
    """A module's result as a list of arrays: one tensor, or a tuple/list/dict of them (main and auxiliary heads)."""
    if isinstance(result, dict):
        result = list(result.values())
    if isinstance(result, (tuple, list)):
        if not result or not all(hasattr(item, "numpy") for item in result):
            raise UsageError(
                f"the model returns {type(result).__name__} of {[type(item).__name__ for item in result]}",
                "return a tensor, or a tuple of tensors",
            )
        return [item.numpy() for item in result]
    return [result.numpy()]


def _reference(source: ModelSource, module, chunk: int | None) -> Callable[[np.ndarray], np.ndarray]:
    if module is None:
        from .onnx_source import onnx_reference

        return onnx_reference(source.path)
    import torch

    def forward(images: np.ndarray) -> list[np.ndarray]:
        with torch.no_grad():
            return output_arrays(module(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))))

    def run(images: np.ndarray) -> list[np.ndarray]:
        try:
            if chunk is None:
                return forward(images)
            runs = [forward(images[i : i + chunk]) for i in range(0, len(images), chunk)]
            return [np.concatenate(parts) for parts in zip(*runs)]
        except RuntimeError as exc:  # a shape the model cannot take: too small for its pooling, wrong channels
            if source.kind == "registry":
                raise
            size = "x".join(map(str, (1, *images.shape[1:])))
            raise IGCVError(
                f"{source.name} fails on a {size} input: {str(exc).splitlines()[0]}",
                "pass the input size it takes with --imgsz N or --input-size C,H,W",
            ) from exc

    return run
