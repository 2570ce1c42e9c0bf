"""RESULTS.md (and PNG plots) from the benchmark runs kept per ISA class (store.py): every figure computed, none
typed in. The headline ratios of every class side by side, then each class's run in full under its CPU and class."""

from __future__ import annotations

from pathlib import Path

import matrix
import store
import timing
from diagnostics import kernels_section, layers_section, macs_section, plan_section, roofline_section
from goals import (
    GOAL_EXPORT_S,
    GOAL_INT8,
    GOAL_PERM,
    GOAL_RATIO,
    GOAL_RATIO_RUNTIMES,
    GOAL_TUNED,
    RATIO_COLUMNS,
    int8_speedup,
    int8_target,
    ratio,
    ratio_goal_applies,
    tuned_gap,
)
from matrix import SUBJECT
from plots import write_plots

from igcv_deploy.profiling.comparison import markdown_table

INT8_SUBJECTS = ("igcv3", "igcv3-native")  # the subjects the OpenVINO INT8 speed-up goal judges


def fmt_ms(t: dict) -> str:
    return f"{t['median_ms']:.2f} ({t['min_ms']:.2f}–{t['max_ms']:.2f})"


def fmt_ratio(r: dict | None) -> str:
    return "n/a" if r is None else f"{r['median']:.2f}× ({r['iqr'][0]:.2f}–{r['iqr'][1]:.2f})"


def by_setting_table(settings, cell) -> str:
    """One row per setting, one column per headline subject, cell(subject, setting) in each."""
    rows = [[setting.label, *(cell(subject, setting) for subject in matrix.SUBJECTS)] for setting in settings]
    return markdown_table(["runtime × precision", *(s.label for s in matrix.SUBJECTS)], rows)


def latency_section(results: dict, settings) -> str:
    def cell(subject, setting) -> str:
        records = results["timings"].get(matrix.config_key(subject, setting))
        return fmt_ms(timing.summary(records)) if records else "n/a"

    return by_setting_table(settings, cell)


def paired_section(results: dict, settings) -> str:
    """The paired stage's latencies: median of its round p50s (min–max), the timings the headline ratios come from."""
    stage = results.get("paired", {})
    samples = {key: p50 for group in stage.get("samples", {}).values() for key, p50 in group.items()}
    if not samples:
        return "_none: this run has no paired stage (its ratios come from the process rounds)_"

    def cell(subject, setting) -> str:
        p50 = samples.get(matrix.config_key(subject, setting))
        return fmt_ms(timing.summary_ms(p50)) if p50 else "n/a"

    intro = (
        f"Each runtime's configurations loaded into one process and timed in turn, {plural(stage['rounds'], 'round')}"
        f" × {stage['seconds']} s each (`benchmarks/paired.py`); the headline ratios are taken within each round."
    )
    return f"{intro}\n\n{by_setting_table(settings, cell)}"


def ratio_rows(results: dict, settings) -> list[list[str]]:
    rows = []
    for s in settings:
        cells = {name: ratio(results, a, b, s) for name, (a, b) in RATIO_COLUMNS.items()}
        pair, perm = cells["IGCV3-D default / MNv2"], cells["perm. overhead: default / no-perm"]
        pair_met = yes_no(pair is not None and pair["median"] <= GOAL_RATIO) if ratio_goal_applies(s) else "-"
        perm_met = yes_no(perm is not None and perm["median"] <= GOAL_PERM)
        rows.append([s.label, *(fmt_ratio(c) for c in cells.values()), pair_met, perm_met])
    return rows


def ratio_target(setting) -> str:
    return f"≤ {GOAL_RATIO}×" if ratio_goal_applies(setting) else "-"


def yes_no(met: bool) -> str:
    return "yes" if met else "no"


def int8_rows(results: dict) -> list[list[str]]:
    """The OpenVINO INT8 speed-up goal, against the target of the run's ISA class; MobileNetV2's for context."""
    target = int8_target(results)
    threshold = "not measured" if target.threshold is None else f"{target.threshold:.2f}×"
    rows = []
    for subject in (*INT8_SUBJECTS, "mobilenetv2"):
        r, judged = int8_speedup(results, subject), subject in INT8_SUBJECTS
        met = r is not None and target.threshold is not None and r["median"] >= target.threshold
        rows.append(
            [
                f"INT8 speed-up over FP32, OpenVINO, {SUBJECT[subject].label}",
                f"≥ {threshold} ({target.reason})" if judged else "(context)",
                fmt_ratio(r),
                yes_no(met) if judged else "-",
            ]
        )
    return rows


def tuned_gaps(results: dict, settings) -> dict[str, dict]:
    """{quantity: ratio} of the default export over the plan tuned on the same CPU, wherever both were timed."""
    gaps = {f"IGCV3-D default / plan tuned on the same CPU, {s.label}": tuned_gap(results, s) for s in settings}
    return {quantity: gap for quantity, gap in gaps.items() if gap is not None}


def tuned_rows(results: dict, settings) -> list[list[str]]:
    return [
        [quantity, f"≤ {GOAL_TUNED}×", fmt_ratio(gap), yes_no(gap["median"] <= GOAL_TUNED)]
        for quantity, gap in tuned_gaps(results, settings).items()
    ]


def export_row(results: dict) -> list[str]:
    seconds = results["exports"].get("igcv3:openvino:int8", {}).get("seconds")
    note = (
        " (smoke: --calib-size 1, small input, beside other exports: not the goal's measurement)"
        if results["smoke"]
        else ""
    )
    return [
        "`igcv-export --model igcv3 --target openvino --precision int8`, end to end",
        f"≤ {GOAL_EXPORT_S:.0f} s",
        f"{seconds:.1f} s{note}" if seconds else "missing",
        yes_no(bool(seconds) and seconds <= GOAL_EXPORT_S),
    ]


def goals_section(results: dict, settings) -> str:
    rows = [*int8_rows(results), *tuned_rows(results, settings), export_row(results)]
    return markdown_table(["goal", "target", "measured (median, interquartile range over rounds)", "met"], rows)


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


def settings_of(results: dict) -> list:
    """The settings of the matrix this run timed or tried to (a run of an older matrix has fewer)."""
    tried = {key.rsplit("@", 1)[1] for key in (*results["timings"], *results["missing"]) if "@" in key}
    return [s for s in matrix.settings() if s.key in tried]


def class_title(results: dict) -> str:
    m = results["machine"]
    return f"{m['isa_label']} (`{m['isa_class']}`): {m['cpu_model']}" + (" — smoke run" if results["smoke"] else "")


def headline(results: dict) -> dict[str, tuple[str, dict | None]]:
    """{quantity: (target, ratio)}: the ratios the classes are compared by."""
    settings = settings_of(results)
    rows = {
        f"IGCV3-D default / MNv2, {s.label}": (ratio_target(s), ratio(results, "igcv3", "mobilenetv2", s))
        for s in settings
    }
    rows |= {quantity: (f"≤ {GOAL_TUNED}×", gap) for quantity, gap in tuned_gaps(results, settings).items()}
    int8_goal = f"≥ {GOAL_INT8}× with int8 dot products, else ≥ MNv2's"
    for subject, target in (("igcv3", int8_goal), ("mobilenetv2", "(reference without int8 dot products)")):
        rows[f"OpenVINO INT8 speed-up over FP32, {SUBJECT[subject].label}"] = (target, int8_speedup(results, subject))
    return rows


def side_by_side(runs: dict[str, dict]) -> str:
    """One row per headline quantity, one column per ISA class; n/a where a class's run lacks it."""
    by_class = {name: headline(results) for name, results in runs.items()}
    targets = {quantity: target for rows in by_class.values() for quantity, (target, _) in rows.items()}
    body = [
        [quantity, target, *(fmt_ratio(rows.get(quantity, ("", None))[1]) for rows in by_class.values())]
        for quantity, target in targets.items()
    ]
    return markdown_table(["ratio", "target", *(class_title(r) for r in runs.values())], body)


def runs_table(runs: dict[str, dict]) -> str:
    rows = [
        [
            f"{r['machine']['isa_label']} (`{name}`)",
            f"{r['machine']['cpu_model']}, {r['machine']['usable_cores']} usable cores",
            f"{run_kind(r)}, {r['finished_utc']} UTC, {plural(r['rounds'], 'round')} × {r['seconds']} s",
            f"`{store.FOLDER}/{name}.json`",
        ]
        for name, r in runs.items()
    ]
    return markdown_table(["ISA class", "CPU", "run", "results"], rows)


def class_report(results: dict, out: Path) -> str:
    """One run in full, every section under the heading that names its CPU and ISA class."""
    settings = settings_of(results)
    sections = {
        "Machine": machine_section(results),
        "Ratios (the headline)": markdown_table(
            [
                "runtime × precision",
                *RATIO_COLUMNS,
                f"≤ {GOAL_RATIO}× met ({' and '.join(matrix.RUNTIME_LABELS.get(r, r) for r in GOAL_RATIO_RUNTIMES)})",
                f"overhead ≤ {GOAL_PERM}× met",
            ],
            ratio_rows(results, settings),
        ),
        "Other goals": goals_section(results, settings),
        "Latency (ms), one process per round": latency_section(results, settings),
        "Latency (ms), paired in one process": paired_section(results, settings),
        "Roofline": roofline_section(results, settings),
        "Lowering variants, whole network": study_section(results, settings),
        "Tuned per-block plans (`igcv-profile tune`: block micro-benchmarks, ms)": plan_section(results),
        "Per-layer profiles (ms per inference by IGCV role; one run each, profiler overhead included)": layers_section(
            results, settings
        ),
        "Executed conv MACs by IGCV role (millions)": macs_section(results),
        "What the INT8 runs execute": kernels_section(results),
        "Missing": missing_section(results),
        "Plots": write_plots(results, settings, out),
    }
    body = "\n\n".join(f"### {title}\n\n{text}" for title, text in sections.items())
    return f"## {class_title(results)}\n\n{run_summary(results)}\n\n{body}"


def write_report(out: Path) -> Path:
    """OUT/RESULTS.md and the plots from every run in OUT/results/."""
    runs = store.load_all(out)
    text = "\n\n".join(
        [
            "# IGCV3-D vs MobileNetV2: benchmark results\n\n"
            "One run per CPU instruction-set class (`igcv_deploy/isa.py`), kept in "
            f"`{store.FOLDER}/<class>.json` beside this file: a run replaces its own class's file and leaves the "
            "others, and this page is rendered from all of them (`benchmarks/run.py --render-only` renders it "
            "again without measuring). A latency cell: median of the round medians (min–max over rounds). A ratio: "
            "computed per round, side by side, then median (interquartile range over rounds); each runtime's headline "
            "configurations are timed for their ratios in one process, in interleaved rounds (`benchmarks/paired.py`), "
            "the others in one `igcv-profile` process per round.",
            runs_table(runs),
            "## Headline ratios side by side (one column per ISA class)\n\n" + side_by_side(runs),
            *(class_report(results, out) for results in runs.values()),
        ]
    )
    path = out / "RESULTS.md"
    path.write_text(text + "\n")
    return path


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def run_kind(results: dict) -> str:
    return "smoke (`benchmarks/run.py --smoke`)" if results["smoke"] else "`make bench` (`benchmarks/run.py`)"


def run_summary(results: dict) -> str:
    smoke = " It checks that every step works; its figures are no measurements." if results["smoke"] else ""
    return (
        f"Measured by {run_kind(results)} on {results['finished_utc']} UTC in {results['duration_s'] / 60:.1f} min."
        f"{smoke} Batch 1, {results['imgsz']}², {results['threads']} threads, "
        f"{plural(results['rounds'], 'rotated round')} × {results['seconds']} s (at least {results['iterations']} "
        "calls) per configuration, one `igcv-profile` process per run. " + quiet_note(results)
    )


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
            f"- ISA class: {m['isa_label']} (`{m['isa_class']}`)",
            f"- ISA flags: {flags}",
            f"- OpenVINO default execution precision on this CPU: {', '.join(sorted(defaults)) or 'unknown'}",
            f"- Measured peaks ({p['threads']} threads): FP32 matmul {p['fp32_matmul_gflops']:.0f} GFLOP/s, "
            f"memory copy {p['memory_copy_gbs']:.0f} GB/s ({p['method']})",
            f"- Load average (1/5/15 min): {m['load_avg']} at the start, {results['load_end']} at the end",
            f"- Versions: {versions}",
        ]
    )
