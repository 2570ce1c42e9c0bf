"""The target table and the runtime table agree, and every row resolves to real code: a new row is tested here."""

from __future__ import annotations

import importlib

import pytest

from igcv_deploy.runtimes import RUNTIMES, Runner, get_runtime, runtime_names
from igcv_deploy.targets import TARGETS


def resolve(package: str, reference: str):
    module, name = reference.split(":")
    return getattr(importlib.import_module(f"{package}.{module}"), name)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_target_row_resolves(target):
    assert target.runtime in runtime_names()
    assert callable(resolve("igcv_deploy.exporters", target.exporter))
    assert any(get_runtime(target.runtime).loads(suffix) for suffix in target.suffixes), (
        f"{target.runtime} loads none of {target.suffixes}"
    )


@pytest.mark.parametrize("spec", RUNTIMES, ids=lambda s: s.name)
def test_runtime_row_resolves(spec):
    runner = resolve("igcv_deploy.runtimes", spec.runner)
    assert issubclass(runner, Runner) and runner.name == spec.name


def test_every_cpu_runtime_has_a_target():
    """torch is the eager baseline (timing only); every other runtime runs some target's artifact."""
    assert {t.runtime for t in TARGETS} == set(runtime_names()) - {"torch"}


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_onnx_options_only_for_targets_built_from_the_base_onnx(target):
    """The base-ONNX step's own options go to the targets built from it; the lowering options also to the targets
    that lower the PyTorch module (executorch, litert)."""
    from igcv_deploy.targets import LOWERING_OPTIONS, ONNX_OPTIONS

    assert all(target.accepts(option, "fp32") == target.from_onnx for option in ONNX_OPTIONS - LOWERING_OPTIONS)
    assert all(
        target.accepts(option, "fp32") == (target.from_onnx or target.name in ("executorch", "litert"))
        for option in LOWERING_OPTIONS
    )
