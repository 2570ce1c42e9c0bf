"""The RESULTS.md sections that explain a class's figures rather than judge them: the roofline, the tuned plans,
per-layer time by IGCV role, executed MACs by role and the kernels the INT8 runs execute."""

from __future__ import annotations

import matrix
import timing
from matrix import SUBJECT

from igcv_deploy.profiling.comparison import markdown_table
from igcv_deploy.profiling.roles import ROLES


def roofline_section(results: dict, settings) -> str:
    peak = results["peaks"]["fp32_matmul_gflops"]
    rows = []
    for setting in settings:
        for subject in matrix.SUBJECTS:
            key, bundle = matrix.config_key(subject, setting), f"{subject.key}:{setting.target}:{setting.precision}"
            manifest = results["manifests"].get(bundle)
            if not results["timings"].get(key) or not manifest:
                continue
            added = sum(e["added_macs"] for e in manifest["lowering"])
            seconds = timing.summary(results["timings"][key])["median_ms"] / 1e3
            useful, executed = 2 * manifest["macs"] / seconds / 1e9, 2 * (manifest["macs"] + added) / seconds / 1e9
            rows.append(
                [
                    setting.label,
                    subject.label,
                    f"{manifest['macs'] / 1e6:.0f}M + {added / 1e6:.0f}M",
                    f"{useful:.1f}",
                    f"{executed:.1f}",
                    f"{100 * executed / peak:.0f}%",
                ]
            )
    header = [
        "runtime × precision",
        "model",
        "MACs (+ zeros multiplied)",
        "useful GFLOP/s",
        "executed GFLOP/s",
        f"executed / FP32 peak ({peak:.0f} GFLOP/s)",
    ]
    return markdown_table(header, rows)


def plan_section(results: dict) -> str:
    tuning = results["tuning"]
    if not tuning:
        return "_not run_"
    targets = list(tuning)
    signatures = list(tuning[targets[0]]["plan"])
    rows = [
        [
            f"`{sig}`",
            *(
                f"**{tuning[t]['plan'][sig]}** — "
                + ", ".join(f"{v} {ms:.3f}" for v, ms in tuning[t]["blocks_ms"][sig].items())
                for t in targets
            ),
        ]
        for sig in signatures
    ]
    return markdown_table(
        ["block signature (c_in-mid-c_out, groups, H×W in->out)", *(f"{t}: choice — ms per variant" for t in targets)],
        rows,
    )


def layers_section(results: dict, settings) -> str:
    parts = []
    for setting in settings:
        rows = [
            [
                SUBJECT[k.split("@")[0]].label,
                f"{v['p50_ms']:.2f}",
                f"{v['total_ms']:.2f}",
                *(f"{v['by_role'][r]:.2f}" for r in ROLES),
            ]
            for k, v in results["layers"].items()
            if k.endswith("@" + setting.key)
        ]
        header = ["model", "p50 of that run (ms)", "layers total (ms)", *ROLES]
        if rows:
            parts.append(f"**{setting.label}**\n\n" + markdown_table(header, rows))
    return "\n\n".join(parts)


def macs_section(results: dict) -> str:
    rows = [
        [SUBJECT[k].label, f"{sum(v.values()):.1f}", *(f"{v[r]:.1f}" for r in ROLES)]
        for k, v in results["macs_by_role"].items()
    ]
    return markdown_table(["model (onnxruntime-folded ONNX)", "conv MACs (M)", *ROLES], rows)


def kernels_section(results: dict) -> str:
    """OpenVINO names its kernels (jit_avx2_I8, ref_i8); onnxruntime's op types say it (QLinearConv is INT8, a Conv or
    FusedConv fed by DequantizeLinear runs in FP32)."""
    rows = [
        [k, ", ".join(f"{op} {ms:.2f}" for op, ms in list((v["exec_types"] or v["by_op_type"]).items())[:7])]
        for k, v in results["layers"].items()
        if "int8" in k
    ]
    header = ["configuration", "ms per op type [OpenVINO kernel], largest first"]
    return markdown_table(header, rows) if rows else "_none_"
