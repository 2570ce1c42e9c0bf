"""The declarative table of export targets: drives CLI validation, --help, docs and benchmarks."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .errors import UsageError

# Options every target accepts; the rest must be listed by the target that uses them.
COMMON_OPTIONS = frozenset(
    {
        "weights",
        "output",
        "force",
        "batch",
        "imgsz",
        "dynamic_batch",
        "num_classes",
        "input_size",
        "mean",
        "std",
        "channel_order",
        "parity_tol",
        "allow_parity_failure",
    }
)
# The permutation folding and grouped-conv lowering: on the base ONNX, or on the PyTorch module (executorch, litert).
LOWERING_OPTIONS = frozenset({"no_fold", "lowering", "lowering_plan", "tuning"})
# Options of the shared base-ONNX step (export, simplify, fold, lower): targets built from that ONNX accept them.
ONNX_OPTIONS = frozenset({"opset", "exporter", "simplifier"}) | LOWERING_OPTIONS
INT8_OPTIONS = frozenset({"calib_data", "calib_size", "calib_method", "max_accuracy_drop"})
QDQ_INT8_OPTIONS = INT8_OPTIONS | {"weight_bits"}  # targets whose INT8 file is a Q/DQ ONNX we write
CPU_OPTIONS = frozenset({"device"})  # targets run on a CPU whose instruction-set class (igcv_deploy.isa) picks defaults


@dataclass(frozen=True)
class Target:
    name: str
    exporter: str  # "module:function" inside igcv_deploy.exporters, imported lazily
    runtime: str  # the runtime (igcv_deploy.runtimes) that runs the artifact; folding and lowering are chosen for it
    suffixes: tuple[str, ...]
    precisions: tuple[str, ...]
    description: str
    aliases: tuple[str, ...] = ()
    needs_gpu: bool = False
    options: frozenset = frozenset()
    install_extra: str = "export"
    arch_defaults: tuple[tuple[str, str], ...] = ()  # (CPU architecture of --device, precision) where it differs
    int8_options: frozenset = QDQ_INT8_OPTIONS
    from_onnx: bool = True  # built from the shared base ONNX (so folded and lowered there)

    def default_precision(self, arch: str = "x86") -> str:
        return dict(self.arch_defaults).get(arch, self.precisions[0])

    def accepts(self, option: str, precision: str) -> bool:
        if option in COMMON_OPTIONS or option in self.options or (self.from_onnx and option in ONNX_OPTIONS):
            return True
        return option in self.int8_options and precision == "int8"


TARGETS: tuple[Target, ...] = (
    Target(
        "onnx",
        "onnx:export",
        "onnxruntime",
        (".onnx",),
        ("fp32", "fp16", "int8"),
        "Folded, simplified ONNX (Q/DQ for int8): the file every other target consumes",
        options=CPU_OPTIONS,
    ),
    Target(
        "ort-mobile",
        "ort_mobile:export",
        "onnxruntime",
        (".ort",),
        ("fp32", "int8"),
        "ONNX Runtime Mobile .ort file plus the required-operators config",
        aliases=("ort",),
        options=CPU_OPTIONS,
    ),
    Target(
        "openvino",
        "openvino:export",
        "openvino",
        (".xml", ".bin"),
        ("fp32", "fp16", "int8"),
        "OpenVINO IR for x86 and ARM CPUs (--device arm* defaults to fp16)",
        aliases=("ov",),
        options=CPU_OPTIONS,
        install_extra="openvino",
        arch_defaults=(("arm", "fp16"),),
        int8_options=INT8_OPTIONS - {"max_accuracy_drop", "calib_method"},  # NNCF PTQ: its own range estimators
    ),
    Target(
        "tensorrt",
        "tensorrt.target_tensorrt:export",
        "tensorrt",
        (".onnx", ".engine"),
        ("fp32", "fp16", "int8"),
        "TensorRT 10/11 bundle; the engine is built on the device (igcv-export build-engine)",
        aliases=("trt", "engine"),
        needs_gpu=True,
        options=frozenset({"timing_cache"}),
    ),
    Target(
        "tensorrt-rtx",
        "tensorrt.target_rtx:export",
        "tensorrt",
        (".engine",),
        ("fp32", "fp16", "int8"),
        "TensorRT-RTX engine, built ahead of time without a GPU",
        aliases=("trt-rtx", "rtx"),
        options=frozenset({"compute_capability"}),
        install_extra="tensorrt-rtx",
    ),
    Target(
        "executorch",
        "executorch:export",
        "executorch",
        (".pte",),
        ("fp32", "int8"),
        "ExecuTorch .pte delegated to XNNPACK, for Android and iOS apps",
        options=CPU_OPTIONS | LOWERING_OPTIONS,
        install_extra="executorch",
        from_onnx=False,
        int8_options=INT8_OPTIONS - {"calib_method"},  # PT2E with XNNPACK's histogram observers: no method choice
    ),
    Target(
        "litert",
        "litert:export",
        "litert",
        (".tflite",),
        ("fp32", "int8"),
        "LiteRT (TensorFlow Lite) .tflite for Android apps; int8 full integer; --input-layout nhwc",
        aliases=("tflite",),
        options=CPU_OPTIONS | LOWERING_OPTIONS | {"input_layout"},
        install_extra="litert",
        from_onnx=False,
        int8_options=INT8_OPTIONS - {"calib_method"},  # PT2E with litert-torch's histogram observers
    ),
)

_BY_NAME = {alias: target for target in TARGETS for alias in (target.name, *target.aliases)}


def get_target(name: str) -> Target:
    if name in _BY_NAME:
        return _BY_NAME[name]
    close = difflib.get_close_matches(name, list(_BY_NAME), n=1, cutoff=0.5)
    hint = (
        f"did you mean '{_BY_NAME[close[0]].name}'?" if close else f"choose one of {', '.join(t.name for t in TARGETS)}"
    )
    raise UsageError(f"unknown target '{name}'", hint)


def check_precision(target: Target, precision: str) -> None:
    if precision not in target.precisions:
        raise UsageError(
            f"target '{target.name}' does not support precision '{precision}'",
            f"choose one of {', '.join(target.precisions)}",
        )


def markdown_table() -> str:
    """The README's target table, generated from TARGETS."""
    rows = ["| target | aliases | files | precisions | needs GPU | description |", "|---|---|---|---|---|---|"]
    for t in TARGETS:
        rows.append(
            f"| `{t.name}` | {', '.join(t.aliases) or '-'} | {' '.join(t.suffixes)} | {', '.join(t.precisions)} "
            f"| {'to build the engine' if t.needs_gpu else 'no'} | {t.description} |"
        )
    return "\n".join(rows)
