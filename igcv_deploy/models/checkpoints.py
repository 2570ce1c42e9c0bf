"""Load trained weights into a zoo model. The format is detected from the file, never guessed:

- ``native``: a state dict of this package's model (``torch.save(model.state_dict(), f)``), bare or
  wrapped as ``{"state_dict": ...}``; read with ``torch.load(weights_only=True)``, so a pickle that
  would run code is refused;
- ``pytorchcv-igcv3``: osmr/pytorchcv ``igcv3_w1 / w3d4 / wd2 / wd4`` state dicts
  (features.init_block.*, features.stageN.unitK.conv{1,2,3}.{conv,bn}.*, features.final_block.*, output.*);
- ``mxnet-igcv3`` / ``mxnet-igcv1``: the official MXNet ``.params`` files (arg:/aux: prefixes), read
  with numpy (see mxnet_params.py).

A file whose classifier alone differs from the registered model (a fine-tuned head with another class
count) is recognised by ``checkpoint_num_classes``, so the model can be built to fit it.

Which formats a model takes is part of its config (``extra["weight_formats"]``, default native
only): the official MXNet IGCV3 weights expect 0-255 mean-only input, so they go into
``igcv3-mxnet``, never silently into ``igcv3``.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import IGCVError
from .mxnet_params import is_mxnet_params, parse_params
from .registry import create_model, get_config, list_models

FORMATS = {
    "native": "a state dict of this package's models",
    "pytorchcv-igcv3": "pytorchcv IGCV3 weights",
    "mxnet-igcv3": "official MXNet IGCV3 weights",
    "mxnet-igcv1": "official MXNet IGCV1 weights",
}
HEAD = ("classifier.fc.weight", "classifier.fc.bias")  # ConvNet's final Linear, named so in every family
SHOWN = 4  # offenders listed per kind in an error line
SEQ = {"conv": "0", "conv2d": "0", "bn": "1", "batchnorm": "1"}  # conv_bn's Sequential indices
MXNET_PARAM = {
    "weight": "weight",
    "bias": "bias",
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_var": "running_var",
}
# pytorchcv conv1/2/3 and MXNet exp/depthwise/linear -> our InvertedResidual parts
IGCV3_PARTS = {
    "1": "expand",
    "2": "depthwise",
    "3": "project",
    "exp": "expand",
    "depthwise": "depthwise",
    "linear": "project",
}


def _block_index(keys: Iterable[str], pattern: re.Pattern) -> dict[tuple[int, int], int]:
    """(stage, unit) -> position in our flat `blocks`, in the file's own stage/unit order."""
    units = sorted({(int(m[1]), int(m[2])) for key in keys if (m := pattern.fullmatch(key))})
    return {unit: i for i, unit in enumerate(units)}


_OSMR_UNIT = re.compile(r"features\.stage(\d+)\.unit(\d+)\.conv([123])\.(conv|bn)\.(\w+)")
_OSMR_END = re.compile(r"features\.(init_block|final_block)\.(conv|bn)\.(\w+)")


def _pytorchcv_igcv3(keys: list[str]) -> Callable[[str], str | None]:
    index = _block_index(keys, _OSMR_UNIT)

    def rename(key: str) -> str | None:
        if m := _OSMR_UNIT.fullmatch(key):
            return f"blocks.{index[int(m[1]), int(m[2])]}.{IGCV3_PARTS[m[3]]}.{SEQ[m[4]]}.{m[5]}"
        if m := _OSMR_END.fullmatch(key):
            return f"{'stem' if m[1] == 'init_block' else 'head'}.{SEQ[m[2]]}.{m[3]}"
        if m := re.fullmatch(r"output\.(weight|bias)", key):
            return f"classifier.fc.{m[1]}"
        return None

    return rename


def _mxnet(unit: re.Pattern, rename_layer: Callable[[str, dict], str | None]) -> Callable:
    """An MXNet converter: strip arg:/aux:, split '<layer>_<param>', rename the layer."""

    def build(keys: list[str]) -> Callable[[str], str | None]:
        split = {key: re.fullmatch(r"(?:arg|aux):(.+)_(" + "|".join(MXNET_PARAM) + ")", key) for key in keys}
        index = _block_index((m[1] for m in split.values() if m), unit)

        def rename(key: str) -> str | None:
            if not (parts := split.get(key)):
                return None
            layer = rename_layer(parts[1], index)
            return f"{layer}.{MXNET_PARAM[parts[2]]}" if layer else None

        return rename

    return build


_IGCV3_UNIT = re.compile(r"seq-(\d+)-block(\d+)-(exp|depthwise|linear)-(conv2d|batchnorm)")
_IGCV3_END = re.compile(r"(first-3x3-conv|last-1x1-conv)-(conv2d|batchnorm)")
_IGCV1_UNIT = re.compile(r"g([1-9]\d*)_b(\d+)_(?:(conv[12])_(conv[12]|bn)|proj_(conv|bn))")


def _igcv3_layer(name: str, index: dict) -> str | None:
    if m := _IGCV3_UNIT.fullmatch(name):
        return f"blocks.{index[int(m[1]), int(m[2])]}.{IGCV3_PARTS[m[3]]}.{SEQ[m[4]]}"
    if m := _IGCV3_END.fullmatch(name):
        return f"{'stem' if m[1] == 'first-3x3-conv' else 'head'}.{SEQ[m[2]]}"
    return "classifier.fc" if name == "fc" else None


def _igcv1_layer(name: str, index: dict) -> str | None:
    if m := _IGCV1_UNIT.fullmatch(name):
        block = f"blocks.{index[int(m[1]), int(m[2])]}"
        return f"{block}.shortcut.{SEQ[m[5]]}" if m[5] else f"{block}.igc{m[3][-1]}.{m[4]}"
    if m := re.fullmatch(r"g0_(conv|bn)", name):
        return f"stem.{SEQ[m[1]]}"
    return "classifier.fc" if name == "fc_score" else None


CONVERTERS = {
    "pytorchcv-igcv3": _pytorchcv_igcv3,
    "mxnet-igcv3": _mxnet(_IGCV3_UNIT, _igcv3_layer),
    "mxnet-igcv1": _mxnet(_IGCV1_UNIT, _igcv1_layer),
}


def _torch_load(raw: bytes, name: str) -> dict[str, torch.Tensor]:
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols > 2 before refusing them
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            obj = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise _refused(name, str(exc)) from exc
    except (RuntimeError, EOFError, ValueError) as exc:
        raise IGCVError(
            f"{name} is truncated or corrupt ({str(exc).splitlines()[0]})", "save or download it again"
        ) from exc
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise IGCVError(f"{name} is not a state dict (a mapping of names to tensors)", "save model.state_dict()")
    return obj


def _refused(name: str, message: str) -> IGCVError:
    """torch.load(weights_only=True) refused the file: a pickle that names code to run, or any other pickle
    the weights-only reader cannot read (an unsupported opcode, as in a plain pickle.dump of objects)."""
    fix = "re-save it from trusted code with torch.save(model.state_dict(), path)"
    if culprit := re.search(r"GLOBAL ([\w.]+)", message):
        return IGCVError(f"{name} was refused: it is a pickle that would run code ({culprit[1]})", fix)
    reason = re.search(r"WeightsUnpickler error:\s*(.+)", message)
    detail = f" ({reason[1].strip()})" if reason else ""
    return IGCVError(f"{name} was refused: it is not a weights-only checkpoint{detail}", fix)


def read_checkpoint(path: Path) -> tuple[str, dict[str, torch.Tensor], bytes]:
    """(format, file key -> tensor, raw bytes) of a weights file."""
    if not path.is_file():
        raise IGCVError(f"weights file {path} not found", "check the --weights path")
    raw = path.read_bytes()
    if is_mxnet_params(raw[:8]):
        arrays = parse_params(raw, path.name)
        names = {key.split(":", 1)[-1] for key in arrays}
        if any(_IGCV3_UNIT.match(n) or _IGCV3_END.match(n) for n in names):
            fmt = "mxnet-igcv3"
        elif any(_IGCV1_UNIT.match(n) or n.startswith("g0_") for n in names):
            fmt = "mxnet-igcv1"
        else:
            raise IGCVError(
                f"{path.name}: MXNet weights of an unknown network, {_listed('arrays', sorted(names))}",
                "only the official IGCV3 and IGCV1 .params files are supported",
            )
        return fmt, {key: torch.from_numpy(np.array(a, np.float32)) for key, a in arrays.items()}, raw
    if raw[:4] == b"PK\x03\x04" or raw[:1] == b"\x80":  # torch zip archive, or a legacy torch pickle
        tensors = _torch_load(raw, path.name)
        fmt = "pytorchcv-igcv3" if any(k.startswith("features.init_block.") for k in tensors) else "native"
        return fmt, tensors, raw
    raise IGCVError(
        f"{path.name}: unrecognised weights format (starts with {raw[:8].hex()})",
        "give a PyTorch state dict (.pt/.pth) or an official MXNet .params file",
    )


def _listed(label: str, items: list[str]) -> str:
    more = ", ..." if len(items) > SHOWN else ""
    return f"{len(items)} {label} ({', '.join(items[:SHOWN])}{more})"


@dataclass
class _Match:
    """A checkpoint's tensors set against a model's state dict."""

    state: dict[str, torch.Tensor]  # our key -> a tensor of the right shape
    unexpected: list[str]  # file keys the model has no place for
    mismatched: dict[str, tuple[str, tuple, tuple]]  # our key -> (file key, file shape, our shape)
    missing: list[str]  # our keys the file does not fill


def _match(expected: dict[str, torch.Tensor], fmt: str, tensors: dict[str, torch.Tensor]) -> _Match:
    rename = CONVERTERS[fmt](list(tensors)) if fmt in CONVERTERS else (lambda key: key)
    match = _Match({}, [], {}, [])
    for key, tensor in tensors.items():
        ours = rename(key)
        if ours not in expected:
            match.unexpected.append(key)
        elif tensor.shape != expected[ours].shape:
            match.mismatched[ours] = (key, tuple(tensor.shape), tuple(expected[ours].shape))
        else:
            match.state[ours] = tensor
    # BN batch counters only matter for training; MXNet and older torch files have none.
    done = match.state.keys() | match.mismatched.keys()
    match.missing = [k for k in expected if k not in done and not k.endswith("num_batches_tracked")]
    return match


def _fit(model: nn.Module, model_name: str, fmt: str, tensors: dict[str, torch.Tensor], name: str) -> dict:
    """file tensors renamed to the model's keys; one IGCVError listing every kind of misfit."""
    match = _match(model.state_dict(), fmt, tensors)
    shapes = [f"{key} {theirs} vs {ours}" for key, theirs, ours in match.mismatched.values()]
    misfits = {"missing": match.missing, "unexpected": match.unexpected, "shape mismatches": shapes}
    if any(misfits.values()):
        parts = [_listed(label, items) for label, items in misfits.items() if items]
        raise IGCVError(
            f"{name} ({FORMATS[fmt]}) does not fit model '{model_name}': " + "; ".join(parts),
            "check that --model (width, num_classes) matches the checkpoint",
        )
    return match.state


def _head_size(mismatched: dict[str, tuple[str, tuple, tuple]]) -> int | None:
    """The class count of a classifier that is the only misfit: weight and bias agree on it, in-features match."""
    if mismatched.keys() != set(HEAD):
        return None
    (_, weight, ours), (_, bias, _) = (mismatched[key] for key in HEAD)
    fits = len(weight) == 2 and weight[0] > 0 and weight[1] == ours[1] and bias == weight[:1]
    return weight[0] if fits else None


def checkpoint_num_classes(path: str | Path, model_name: str) -> int | None:
    """The class count of the checkpoint's classifier when it is all that sets the file apart from the registered
    `model_name` (a fine-tuned head), so the model can be built with that many classes. None otherwise: the head
    matches, or something else misfits too, which load_weights then refuses with the full list."""
    fmt, tensors, _ = read_checkpoint(Path(path))
    if not _takes(model_name, fmt):
        return None
    match = _match(create_model(model_name).state_dict(), fmt, tensors)
    return None if match.missing or match.unexpected else _head_size(match.mismatched)


def _takes(model_name: str, fmt: str) -> bool:
    return fmt in get_config(model_name).extra.get("weight_formats", ("native",))


def _check_accepted(model_name: str, fmt: str, name: str) -> None:
    if not _takes(model_name, fmt):
        takers = [model for model in list_models() if _takes(model, fmt)]
        raise IGCVError(
            f"{name} holds {FORMATS[fmt]}, which model '{model_name}' does not take",
            f"use --model {' or '.join(takers)}",
        )


def load_weights(model: nn.Module, model_name: str, path: str | Path) -> dict:
    """Load `path` into `model` (registered as `model_name`); returns the manifest's weights record."""
    path = Path(path)
    fmt, tensors, raw = read_checkpoint(path)
    _check_accepted(model_name, fmt, path.name)
    state = _fit(model, model_name, fmt, tensors, path.name)
    model.load_state_dict(state, strict=False)
    return {"path": str(path), "format": fmt, "sha256": hashlib.sha256(raw).hexdigest(), "n_tensors": len(state)}
