"""Where a model comes from: a registered name, the user's Python code, a torch.export program or an ONNX file.

`resolve_source(spec)` turns what `--model` (or `igcv_deploy.export(model)`) was given into a `ModelSource`;
each kind fails with one line naming the problem and the fix. The registry keeps its own path (zoo configs
and checkpoint import); the other kinds describe themselves through `foreign_config`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import IGCVError, UsageError
from ..exporters.input_size import check_single_input
from .registry import ModelConfig, check_model_name

KINDS = ("registry", "python", "exported_program", "onnx")
FOREIGN_INPUT_SIZE = (3, 224, 224)  # what timm and torchvision classifiers take when nothing says otherwise


@dataclass
class ModelSource:
    kind: str  # one of KINDS
    name: str  # the bundle's model name
    module: object = None  # torch.nn.Module in eval mode; None for an ONNX file
    path: Path | None = None  # the file it came from
    sha256: str | None = None
    input_shape: list[int | None] | None = None  # what a torch.export program states (None: a dynamic dimension)

    def describe(self) -> dict:
        """The manifest's `model.source` / `model.sha256` fields."""
        return {"source": self.kind, "sha256": self.sha256, **({"file": self.path.name} if self.path else {})}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def resolve_source(spec, num_classes: int | None = None) -> ModelSource:
    """The model behind `spec`: an nn.Module, a registered name, FILE.py:CALLABLE, MODULE:CALLABLE, .pt2 or .onnx."""
    if not isinstance(spec, str):
        return _module_object(spec)
    if spec.endswith(".onnx"):
        path = _existing(spec)
        return ModelSource("onnx", path.stem, path=path, sha256=file_sha256(path))
    if spec.endswith(".pt2"):
        return _exported_program(_existing(spec))
    if ":" in spec:
        return _python_callable(spec, num_classes)
    return ModelSource("registry", check_model_name(spec))  # an unknown name fails with the closest one


def _existing(spec: str) -> Path:
    path = Path(spec)
    if not path.is_file():
        raise UsageError(f"model file '{spec}' does not exist", "check the path (or see igcv-export --list-models)")
    return path


def _module_object(module) -> ModelSource:
    if not isinstance(module, nn.Module):
        raise UsageError(
            f"model must be a registered name, a spec string or an nn.Module, not {type(module).__name__}",
            "pass e.g. 'igcv3', 'net.py:build', 'model.pt2', 'model.onnx' or a torch.nn.Module",
        )
    name = type(module).__name__.lower()
    check_single_input(name, max(_required_inputs(module), 1))
    return ModelSource("python", name, module=module.eval())


def _exported_program(path: Path) -> ModelSource:
    try:
        program = torch.export.load(str(path))
    except Exception as exc:  # torch raises several types for files of other versions or formats
        raise IGCVError(
            f"cannot load the torch.export program '{path.name}': {str(exc).splitlines()[0] if str(exc) else exc!r}",
            f"save it with torch.export.save under torch {torch.__version__} (the version here)",
        ) from exc
    shapes = _program_input_shapes(program)
    check_single_input(path.name, len(shapes))
    module = EvalOnly(program.module())
    return ModelSource(
        "exported_program", path.stem, module=module, path=path, sha256=file_sha256(path), input_shape=shapes[0]
    )


def _program_input_shapes(program) -> list[list[int | None]]:
    """The shape of each tensor input of a torch.export program; symbolic dimensions are None."""
    user_inputs = set(program.graph_signature.user_inputs)
    return [
        [dim if isinstance(dim, int) else None for dim in node.meta["val"].shape]
        for node in program.graph.nodes
        if node.op == "placeholder" and node.name in user_inputs and hasattr(node.meta.get("val"), "shape")
    ]


def _required_inputs(module: nn.Module) -> int:
    """Positional arguments of forward() without a default (what one image tensor must fill)."""
    try:
        parameters = inspect.signature(module.forward).parameters.values()
    except (TypeError, ValueError):
        return 1
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in positional and p.default is inspect.Parameter.empty for p in parameters)


class EvalOnly(nn.Module):
    """A torch.export program's module: fixed in eval mode, it refuses train(), which the ONNX exporter calls."""

    def __init__(self, program_module: nn.Module):
        super().__init__()
        self.program = program_module

    def forward(self, *args):
        return self.program(*args)

    def train(self, mode: bool = True):
        return self


def _python_callable(spec: str, num_classes: int | None) -> ModelSource:
    location, _, attribute = spec.rpartition(":")
    module, path = _import_location(location)
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise UsageError(f"'{location}' has no callable '{attribute}'", f"define {attribute}() returning an nn.Module")
    model = _call_factory(spec, factory, num_classes)
    name = path.stem if path else attribute
    check_single_input(spec, max(_required_inputs(model), 1))
    return ModelSource("python", name, module=model.eval(), path=path, sha256=file_sha256(path) if path else None)


def _import_location(location: str):
    """(module, file) for 'path/to/file.py' or 'package.module'; ImportErrors become one line."""
    path = Path(location) if location.endswith(".py") else None
    if path and not path.is_file():
        raise UsageError(f"model file '{location}' does not exist", "check the path before ':'")
    try:
        if path is None:
            module = _import_module(location)
            return module, Path(module.__file__) if getattr(module, "__file__", None) else None
        return _import_file(path), path
    except ImportError as exc:
        raise IGCVError(f"cannot import '{location}': {exc}", "install what it needs or fix the import") from exc


def _import_module(name: str):
    """Like `python -m`: the current folder first, so a project's own package imports without installing it."""
    sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(os.getcwd())


def _import_file(path: Path):
    name = f"igcv_user_model_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    sys.path.insert(0, str(path.resolve().parent))  # its own sibling imports
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.resolve().parent))
    return module


def _call_factory(spec: str, factory, num_classes: int | None):
    kwargs = {"num_classes": num_classes} if num_classes and _accepts(factory, "num_classes") else {}
    if num_classes and not kwargs:
        raise UsageError(f"{spec} takes no num_classes argument", "remove --num-classes or add it to the callable")
    try:
        model = factory(**kwargs)
    except Exception as exc:
        raise IGCVError(f"{spec} raised {type(exc).__name__}: {exc}", "fix the model code and run again") from exc
    if not isinstance(model, nn.Module):
        raise UsageError(f"{spec} returned {type(model).__name__}, not an nn.Module", "return the model instance")
    return model


def _accepts(factory, parameter: str) -> bool:
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return parameter in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def foreign_config(name: str, input_size: tuple[int, int, int], num_classes: int) -> ModelConfig:
    """The config of a model that carries none: ImageNet preprocessing unless the flags say otherwise."""
    return ModelConfig(name=name, input_size=input_size, num_classes=num_classes, family="user", dataset="unknown")
