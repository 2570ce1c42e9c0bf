"""The benchmark matrix: subjects (what was exported, and how) x runtime settings (from TARGETS)."""

from __future__ import annotations

from dataclasses import dataclass

from igcv_deploy.runtimes import get_runtime
from igcv_deploy.targets import TARGETS, Target, get_target

PRECISIONS = ("fp32", "int8")
# OpenVINO INFERENCE_PRECISION_HINT (igcv-profile --precision) per bundle precision: fp32 = FP32 numbers,
# default = what the plugin picks on this CPU (bf16 where the CPU has it; the results record what it picked).
OPENVINO_HINTS = {"fp32": ("fp32", "default"), "int8": ("default",)}
RUNTIME_LABELS = {"onnxruntime": "onnxruntime", "openvino": "OpenVINO"}  # display names
HINT_LABELS = {"fp32": " (fp32 hint)", "default": " (default precision)"}


def cpu_targets() -> tuple[Target, ...]:
    """The targets benchmarked here: for each runtime that runs on a CPU, the first target in TARGETS that it runs
    and that needs no GPU (onnx for onnxruntime, not its ort-mobile form; openvino for openvino)."""
    chosen: dict[str, Target] = {}
    for target in TARGETS:
        if not target.needs_gpu and not get_runtime(target.runtime).needs_gpu:
            chosen.setdefault(target.runtime, target)
    return tuple(chosen.values())


@dataclass(frozen=True)
class Setting:
    target: str
    precision: str
    runtime: str
    hint: str | None = None  # OpenVINO only

    @property
    def key(self) -> str:
        return f"{self.runtime}-{self.precision}" + (f"-{self.hint}" if self.hint else "")

    @property
    def label(self) -> str:
        name = RUNTIME_LABELS.get(self.runtime, self.runtime)
        return f"{name} {self.precision.upper()}{HINT_LABELS.get(self.hint or '', '')}"


@dataclass(frozen=True)
class Subject:
    key: str
    model: str  # registered model name
    label: str
    options: tuple[str, ...] = ()  # extra igcv-export options
    tuned: bool = False  # exported with the lowering plan `igcv-profile tune` measured on this machine
    fp32_only: bool = False  # timed at FP32 only (a tuned plan is measured on float blocks)


SUBJECTS = (
    Subject("mobilenetv2", "mobilenetv2", "MobileNetV2-1.0"),
    Subject("igcv3", "igcv3", "IGCV3-D 1.0 (igcv-export default)"),
    Subject("igcv3-tuned", "igcv3", "IGCV3-D 1.0, plan tuned here (--lowering-plan)", tuned=True, fp32_only=True),
    Subject("igcv3-native", "igcv3", "IGCV3-D 1.0, folding only (--lowering native)", ("--lowering", "native")),
    Subject("igcv3-noperm", "igcv3-noperm", "IGCV3-D 1.0, permutations deleted (control)"),
)
VARIANT_STUDY = tuple(
    Subject(f"igcv3-{v}", "igcv3", f"IGCV3-D 1.0, every block {v}", ("--lowering", v))
    for v in ("dense_projection", "dense_expansion", "split")
)
SUBJECT = {s.key: s for s in (*SUBJECTS, *VARIANT_STUDY)}


def settings() -> list[Setting]:
    """Every (target, precision, runtime, hint) this CPU benchmarks, in the order of TARGETS."""
    out = []
    for target in cpu_targets():
        for precision in (p for p in PRECISIONS if p in target.precisions):
            hints = OPENVINO_HINTS[precision] if target.runtime == "openvino" else (None,)
            out += [Setting(target.name, precision, target.runtime, hint) for hint in hints]
    return out


def wanted(subject: Subject, target_name: str, precision: str, left_out: frozenset = frozenset()) -> bool:
    """Whether the matrix exports and times this subject at this target and precision. Lowering options go to the
    targets that take them (ONNX-built ones and executorch); tuned plans are timed on float ONNX blocks, so only FP32
    targets built from the base ONNX take those; `left_out` holds the (target, precision) pairs a run leaves out of
    the variant study."""
    target = get_target(target_name)
    takes_options = target.accepts("lowering", precision) or not subject.options
    takes_plan = not subject.tuned or target.from_onnx
    in_run = subject not in VARIANT_STUDY or (target_name, precision) not in left_out
    return takes_options and takes_plan and in_run and not (subject.fp32_only and precision != "fp32")


def configs(left_out: frozenset = frozenset()) -> list[tuple[Subject, Setting]]:
    """Headline subjects on every setting, plus the variant study (not OpenVINO FP32 at the plugin's default
    precision, which the fp32-hint row already covers where the CPU has no bf16, nor the pairs in `left_out`)."""
    pairs = [(s, t) for s in SUBJECTS for t in settings()]
    study = [(s, t) for s in VARIANT_STUDY for t in settings() if t.key != "openvino-fp32-default"]
    return [(s, t) for s, t in pairs + study if wanted(s, t.target, t.precision, left_out)]


def config_key(subject: Subject, setting: Setting) -> str:
    return f"{subject.key}@{setting.key}"
