"""`--lowering auto`: the grouped-conv lowering measured fastest per CPU instruction-set class, runtime and precision.

Each row says on which CPU it was measured and what was measured (whole IGCV3-D 1.0 at 224x224, batch 1,
2 threads, `make bench`, medians of rotated rounds, ratios to MobileNetV2 taken side by side). `plan` maps
the block signatures of IGCV3-D 1.0 at 224 to the form `igcv-profile tune` picked for them on that CPU;
any other block takes `variant`. A (class, runtime, precision) measured nowhere inherits the variant of
the rows measured on other classes of the same architecture when every one of them was faster than
native there, and native otherwise: lowering is exact, so a default only ever costs speed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Measured:
    variant: str  # every block whose signature `plan` does not name
    vs_native: float  # whole-network latency of this default / --lowering native, same run (< 1: faster)
    cpu: str  # the CPU it was measured on
    evidence: str
    plan: dict[str, str] = field(default_factory=dict)  # IGCV3-D 1.0 @ 224 block signature -> variant

    def as_plan(self) -> dict[str, str]:
        return {**self.plan, "*": self.variant}


EPYC_AVX2 = "AMD EPYC, 2 cores (AVX2, FMA; no AVX-512)"
XEON_VNNI = "Intel Xeon, 2 cores (AVX-512 VNNI), measured by the maintainers"
ZEN5 = "AMD EPYC Zen 5, 2 cores (AVX-512 VNNI + AVX512_BF16, no AMX), measured by the maintainers"
ZEN5_EVIDENCE = "x86-avx512-bf16-zen5.json (2026-12-07; whole IGCV3-D, 15 rotated rounds in one process, 2 threads): "

# `igcv-profile tune` on the EPYC AVX2 machine (2 threads, 3 rounds; benchmarks/results/x86-avx2.json "tuning").
AVX2_ONNXRUNTIME_FP32_PLAN = {
    "32-32-16 g2/2 112x112->112x112": "dense_projection",
    "16-96-24 g2/2 112x112->56x56": "dense_projection",
    "24-144-24 g2/2 56x56->56x56": "dense_expansion",
    "24-144-32 g2/2 56x56->28x28": "dense_expansion",
    "32-192-32 g2/2 28x28->28x28": "dense_expansion",
    "32-192-64 g2/2 28x28->14x14": "dense_projection",
    "64-384-64 g2/2 14x14->14x14": "split",
    "64-384-96 g2/2 14x14->14x14": "split",
    "96-576-96 g2/2 14x14->14x14": "split",
    "96-576-160 g2/2 14x14->7x7": "native",
    "160-960-160 g2/2 7x7->7x7": "native",
    "160-960-320 g2/2 7x7->7x7": "native",
}

# `igcv-profile tune` on the EPYC AVX2 machine in OpenVINO 2026.4 (FP32 hint, 2 threads, 3 rounds x 0.2 s, 2026-12-01).
AVX2_OPENVINO_FP32_PLAN = {
    "32-32-16 g2/2 112x112->112x112": "dense_projection",
    "16-96-24 g2/2 112x112->56x56": "dense_projection",
    "24-144-24 g2/2 56x56->56x56": "dense_projection",
    "24-144-32 g2/2 56x56->28x28": "dense_projection",
    "32-192-32 g2/2 28x28->28x28": "split",
    "32-192-64 g2/2 28x28->14x14": "dense_projection",
    "64-384-64 g2/2 14x14->14x14": "dense_projection",
    "64-384-96 g2/2 14x14->14x14": "split",
    "96-576-96 g2/2 14x14->14x14": "split",
    "96-576-160 g2/2 14x14->7x7": "split",
    "160-960-160 g2/2 7x7->7x7": "split",
    "160-960-320 g2/2 7x7->7x7": "split",
}

# `--lowering tune` on the ExecuTorch path on the EPYC AVX2 machine (each block shape's four forms as .pte files, timed
# in ExecuTorch 1.5.1 / XNNPACK, 2 threads, 3 rounds x 0.3 s; native was the slowest form of every shape).
AVX2_EXECUTORCH_FP32_PLAN = {
    "32-32-16 g2/2 112x112->112x112": "dense_expansion",
    "16-96-24 g2/2 112x112->56x56": "dense_expansion",
    "24-144-24 g2/2 56x56->56x56": "dense_expansion",
    "24-144-32 g2/2 56x56->28x28": "dense_projection",
    "32-192-32 g2/2 28x28->28x28": "dense_projection",
    "32-192-64 g2/2 28x28->14x14": "dense_projection",
    "64-384-64 g2/2 14x14->14x14": "split",
    "64-384-96 g2/2 14x14->14x14": "split",
    "96-576-96 g2/2 14x14->14x14": "split",
    "96-576-160 g2/2 14x14->7x7": "dense_expansion",
    "160-960-160 g2/2 7x7->7x7": "split",
    "160-960-320 g2/2 7x7->7x7": "split",
}

IGCV3_SIGNATURES = tuple(AVX2_ONNXRUNTIME_FP32_PLAN)  # IGCV3-D 1.0 @ 224's block shapes, input to output


def in_block_order(forms: str) -> dict[str, str]:
    """{signature: form} from the forms of IGCV3_SIGNATURES in order, space-separated."""
    return dict(zip(IGCV3_SIGNATURES, forms.split(), strict=True))


# `igcv-export --lowering tune` on an AMD EPYC Zen 5 (AVX-512 VNNI + AVX512_BF16, no AMX, 2 cores), 3 rounds x 0.3 s,
# 2 threads, onnxruntime 1.32.0 / OpenVINO 2026.4.1 (f32 hint) / ExecuTorch 1.5.1, 2026-12-07: the maintainers'
# measurement file x86-avx512-bf16-zen5.json ("plans"), cited here as the evidence; not read at run time.
ZEN5_ONNXRUNTIME_FP32_PLAN = in_block_order(
    "dense_projection dense_expansion dense_projection split split split split split split split split split"
)

ZEN5_OPENVINO_FP32_PLAN = in_block_order(
    "dense_projection dense_expansion dense_expansion dense_expansion dense_expansion dense_projection "
    "split split split split split split"
)

ZEN5_EXECUTORCH_FP32_PLAN = in_block_order(
    "dense_projection dense_expansion dense_projection dense_projection dense_expansion dense_projection "
    "split split split split native dense_expansion"
)

MEASURED: dict[tuple[str, str, str], Measured] = {
    ("x86-avx2", "onnxruntime", "fp32"): Measured(
        "native",
        0.83,
        EPYC_AVX2,
        "tuned plan 1.10x MobileNetV2, native 1.32x, split 1.57x, dense_projection 1.55x, dense_expansion 1.62x",
        AVX2_ONNXRUNTIME_FP32_PLAN,
    ),
    ("x86-avx2", "onnxruntime", "int8"): Measured(
        "dense_expansion",
        0.73,
        EPYC_AVX2,
        "dense_expansion 1.88x MobileNetV2, dense_projection 1.70x, split 2.32x, native 2.58x",
    ),
    ("x86-avx2", "openvino", "fp32"): Measured(
        "dense_projection",
        0.70,
        EPYC_AVX2,
        "bundles loaded in one process, short timings interleaved (benchmarks/paired.py and its one-off forerunner, "
        "4 runs of 30-40 rounds x 0.3 s, f32 hint, 2026-12-01): every block dense_projection / this plan 1.087x, "
        "1.056x, 0.997x, 1.048x; native / this plan 1.38-1.43x; MobileNetV2 / this plan 0.69x",
        AVX2_OPENVINO_FP32_PLAN,
    ),
    ("x86-avx2", "openvino", "int8"): Measured(
        "dense_expansion",
        0.64,
        EPYC_AVX2,
        "dense_expansion 1.90x MobileNetV2, dense_projection 1.90x, split 2.35x, native 2.98x",
    ),
    ("x86-avx2", "executorch", "fp32"): Measured(
        "split",
        0.72,
        EPYC_AVX2,
        "tuned plan 1.50x MobileNetV2, split 1.63x, dense_expansion 1.70x, dense_projection 1.79x, native 2.09x "
        "(7 rotated rounds, 2026-12-01)",
        AVX2_EXECUTORCH_FP32_PLAN,
    ),
    ("x86-avx2", "executorch", "int8"): Measured(
        "dense_projection",
        0.92,
        EPYC_AVX2,
        "dense_projection 1.80x MobileNetV2, split 1.94x, native 1.96x, dense_expansion 1.98x "
        "(5 rotated rounds, spreads 1.26-2.37x, 2026-12-01)",
    ),
    ("x86-vnni", "onnxruntime", "fp32"): Measured(
        "split", 0.91, XEON_VNNI, "split 6.11 ms, native 6.70 ms, MobileNetV2 3.41 ms (a tuned plan 5.06 ms)"
    ),
    # vs_native of the Zen 5 rows: the tuned plan's block timings summed / native's (native was not timed whole).
    ("x86-avx512-bf16", "onnxruntime", "fp32"): Measured(
        "split",
        0.79,
        ZEN5,
        ZEN5_EVIDENCE
        + "this plan 2.78 ms (1.46x MobileNetV2), the x86-vnni default 2.99 ms, permutations deleted 2.69 ms",
        ZEN5_ONNXRUNTIME_FP32_PLAN,
    ),
    ("x86-avx512-bf16", "openvino", "fp32"): Measured(
        "split",
        0.62,
        ZEN5,
        ZEN5_EVIDENCE + "f32 hint: this plan 4.08 ms (1.69x MobileNetV2), the default then 4.31 ms, permutations "
        "deleted 3.69 ms",
        ZEN5_OPENVINO_FP32_PLAN,
    ),
    ("x86-avx512-bf16", "executorch", "fp32"): Measured(
        "split",
        0.63,
        ZEN5,
        ZEN5_EVIDENCE + "this plan 2.57 ms (1.58x MobileNetV2), the default then 2.86 ms, permutations deleted 2.37 ms",
        ZEN5_EXECUTORCH_FP32_PLAN,
    ),
}
# Runtimes measured on no CPU class yet whose converter turns every native shuffle into layout operators at full
# activation size: until a class is measured they take the exact form that leaves none (a structural choice).
UNMEASURED_RUNTIME_DEFAULTS = {
    "litert": (
        "dense_projection",
        "litert-torch writes each native shuffle as 3 TRANSPOSE + 2 RESHAPE at full size (IGCV3-D: 97 TRANSPOSE, "
        "64 RESHAPE; 1.22-1.40x FP32 against the no-permutation control in the maintainers' notes); "
        "dense_projection leaves the one input TRANSPOSE",
    ),
}
# FP16 blocks run the FP32 forms' arithmetic pattern: they take the FP32 row of their class.
PRECISION_ROW = {"fp16": "fp32"}


def default_lowering(isa_class: str, arch: str, runtime: str, precision: str) -> tuple[dict[str, str], dict]:
    """(plan, the manifest's account of where it came from) for `--lowering auto`."""
    from ..isa import CLASS

    row_precision = PRECISION_ROW.get(precision, precision)
    row = MEASURED.get((isa_class, runtime, row_precision))
    if row:
        return row.as_plan(), {
            "source": f"measured default for {isa_class} {runtime} {row_precision}",
            "variant": row.variant,
            "plan_signatures": len(row.plan),
            "measured_on": row.cpu,
            "evidence": row.evidence,
        }
    relatives = [
        r for (c, rt, p), r in MEASURED.items() if rt == runtime and p == row_precision and CLASS[c].arch == arch
    ]
    if not relatives and runtime in UNMEASURED_RUNTIME_DEFAULTS:
        variant, why = UNMEASURED_RUNTIME_DEFAULTS[runtime]
        return {"*": variant}, {
            "source": f"{runtime} not measured on any CPU class: {why}",
            "variant": variant,
            "measured_on": None,
        }
    inherited = {r.variant for r in relatives}
    variant = inherited.pop() if len(inherited) == 1 and all(r.vs_native < 1 for r in relatives) else "native"
    return {"*": variant}, {
        "source": f"not measured on {isa_class} for {runtime} {row_precision}: "
        + (f"{variant}, faster than native on every measured {arch} class" if variant != "native" else "native"),
        "variant": variant,
        "measured_on": None,
    }
