"""RESULTS.md (and results.json, PNG plots) from one benchmark run: every figure computed, none typed in."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import matrix
import timing
from goals import GOAL_EXPORT_S, GOAL_INT8, GOAL_PERM, GOAL_RATIO, RATIO_COLUMNS, ratio
from matrix import SUBJECT
from plots import write_plots

from igcv_deploy.profiling.comparison import markdown_table
from igcv_deploy.profiling.roles import ROLES


def fmt_ms(t: dict) -> str:
    return f"{t['median_ms']:.2f} ({t['min_ms']:.2f}–{t['max_ms']:.2f})"


def fmt_ratio(r: dict | None) -> str:
    return "n/a" if r is None else f"{r['median']:.2f}× ({r['min']:.2f}–{r['max']:.2f})"


def latency_section(results: dict, settings) -> str:
    rows = []
    for setting in settings:
        cells = [
            timing.summary(results["timings"][k])
            if results["timings"].get(k := matrix.config_key(s, setting))
            else None
            for s in matrix.SUBJECTS
        ]
        rows.append([setting.label, *(fmt_ms(c) if c else "n/a" for c in cells)])
    return markdown_table(["runtime × precision", *(s.label for s in matrix.SUBJECTS)], rows)


def ratio_rows(results: dict, settings) -> list[list[str]]:
    rows = []
    for s in settings:
        cells = {name: ratio(results, a, b, s) for name, (a, b) in RATIO_COLUMNS.items()}
        pair, perm = cells["IGCV3-D default / MNv2"], cells["perm. overhead: default / no-perm"]
        met = [pair is not None and pair["median"] <= GOAL_RATIO, perm is not None and perm["median"] <= GOAL_PERM]
        rows.append([s.label, *(fmt_ratio(c) for c in cells.values()), *("yes" if m else "no" for m in met)])
    return rows


def goals_section(results: dict, settings) -> str:
    by_key = {s.key: s for s in settings}
    fp32, int8 = by_key.get("openvino-fp32-fp32"), by_key.get("openvino-int8-default")
    rows = []
    for subject in ("igcv3", "igcv3-native", "mobilenetv2"):
        r = ratio(results, subject, subject, fp32, int8) if fp32 and int8 else None
        goal = f"≥ {GOAL_INT8}×" if subject != "mobilenetv2" else "(context)"
        rows.append(
            [
                f"INT8 speed-up over FP32, OpenVINO, {SUBJECT[subject].label}",
                goal,
                fmt_ratio(r),
                "-" if subject == "mobilenetv2" else "yes" if r and r["median"] >= GOAL_INT8 else "no",
            ]
        )
    e2e = results["exports"].get("igcv3:openvino:int8", {})
    seconds = e2e.get("seconds")
    note = (
        " (smoke: --calib-size 1, small input, beside other exports: not the goal's measurement)"
        if results["smoke"]
        else ""
    )
    rows.append(
        [
            "`igcv-export --model igcv3 --target openvino --precision int8`, end to end",
            f"≤ {GOAL_EXPORT_S:.0f} s",
            f"{seconds:.1f} s{note}" if seconds else "missing",
            "yes" if seconds and seconds <= GOAL_EXPORT_S else "no",
        ]
    )
    return markdown_table(["goal", "target", "measured (median, min–max over rounds)", "met"], rows)


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


def study_section(results: dict, settings) -> str:
    variants = [s.key for s in matrix.VARIANT_STUDY]
    subjects = ["igcv3-native", *variants, "igcv3", "igcv3-tuned", "igcv3-noperm"]
    study = [s for s in settings if any(matrix.config_key(SUBJECT[v], s) in results["timings"] for v in variants)]
    rows = [[SUBJECT[k].label, *(fmt_ratio(ratio(results, k, "mobilenetv2", s)) for s in study)] for k in subjects]
    return (
        markdown_table(["IGCV3-D lowering (latency / MobileNetV2)", *(s.label for s in study)], rows)
        if study
        else "_not run_"
    )


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


def write_results(results: dict, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    settings = matrix.settings()
    text = "\n\n".join(
        [
            f"# IGCV3-D vs MobileNetV2: benchmark results\n\n{generated_by(results)} on "
            f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC in {results['duration_s'] / 60:.1f} min. Batch 1, "
            f"{results['imgsz']}², {results['threads']} threads, {plural(results['rounds'], 'rotated round')} × "
            f"{results['seconds']} s (at least {results['iterations']} calls) per configuration, one `igcv-profile` "
            "process per run. Each cell: median of the round medians (min–max over rounds); each ratio is computed "
            "per round, side by side, then median (min–max). " + quiet_note(results),
            "## Machine\n\n" + machine_section(results),
            "## Ratios (the headline)\n\n"
            + markdown_table(
                ["runtime × precision", *RATIO_COLUMNS, f"≤ {GOAL_RATIO}× met", f"overhead ≤ {GOAL_PERM}× met"],
                ratio_rows(results, settings),
            ),
            "## Other goals\n\n" + goals_section(results, settings),
            "## Latency (ms)\n\n" + latency_section(results, settings),
            "## Roofline\n\n" + roofline_section(results, settings),
            "## Lowering variants, whole network\n\n" + study_section(results, settings),
            "## Tuned per-block plans (`igcv-profile tune`: block micro-benchmarks, ms)\n\n" + plan_section(results),
            "## Per-layer profiles (ms per inference by IGCV role; one run each, profiler overhead included)\n\n"
            + layers_section(results, settings),
            "## Executed conv MACs by IGCV role (millions)\n\n" + macs_section(results),
            "## What the INT8 runs execute\n\n" + kernels_section(results),
            "## Missing\n\n" + missing_section(results),
            "## Plots\n\n" + write_plots(results, settings, out),
        ]
    )
    path = out / "RESULTS.md"
    path.write_text(text + "\n")
    return path


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def generated_by(results: dict) -> str:
    if results["smoke"]:
        return (
            "**Smoke run** (`benchmarks/run.py --smoke`): it checks that every step works; its figures are no "
            "measurements. Generated"
        )
    return "Generated by `make bench` (`benchmarks/run.py`)"


def quiet_note(results: dict) -> str:
    runs = [r for records in results["timings"].values() for r in records]
    busy = sum(not r.get("quiet", True) for r in runs)
    waited = sum(r.get("waited_s", 0.0) for r in runs)
    return (
        f"The machine is shared: each run first waited for other tasks to stop ({waited:.0f} s in all, budget "
        f"{results['quiet_budget_s']:.0f} s); {busy} of {len(runs)} runs still started with other tasks runnable."
    )


def missing_section(results: dict) -> str:
    lines = [f"- {k}: {v}" for k, v in results["missing"].items()]
    lines += [f"- export {k} failed: {v['reason']}" for k, v in results["exports"].items() if v["status"] == "failed"]
    return "\n".join(lines) or "_nothing_"


def machine_section(results: dict) -> str:
    m, p = results["machine"], results["peaks"]
    flags = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in m["flags"].items())
    defaults = {v["default_precision"] for v in results["manifests"].values() if v.get("default_precision")}
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    return "\n".join(
        [
            f"- CPU: {m['cpu_model']}, {m['usable_cores']} usable cores; {m['platform']}",
            f"- ISA flags: {flags}",
            f"- OpenVINO default execution precision on this CPU: {', '.join(sorted(defaults)) or 'unknown'}",
            f"- Measured peaks ({p['threads']} threads): FP32 matmul {p['fp32_matmul_gflops']:.0f} GFLOP/s, "
            f"memory copy {p['memory_copy_gbs']:.0f} GB/s ({p['method']})",
            f"- Load average (1/5/15 min): {m['load_avg']} at the start, {results['load_end']} at the end",
            f"- Versions: {versions}",
        ]
    )
