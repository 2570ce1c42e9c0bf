"""The calibration part of a bundle: a Markdown report, the sensitivity plot and ranking, manifest sections."""

from __future__ import annotations

from pathlib import Path

from .sensitivity import plot_ranking, save_ranking

REPORT, PLOT, RANKING = "calibration_report.md", "sensitivity.png", "sensitivity.json"


def write_report(result, folder: Path, shipped: dict | None = None) -> dict:
    """Write the report files into `folder`; return the manifest's `calibration` (and `accuracy`) sections.

    `shipped` describes the Q/DQ form the bundle ships when it is not the TensorRT form analysed here.
    """
    folder = Path(folder)
    save_ranking(result.sensitivity, folder / RANKING)
    plot_ranking(result.sensitivity, folder / PLOT, result.float_layers)
    (folder / REPORT).write_text(_markdown(result) + (_shipped_lines(shipped) if shipped else ""))
    sections = {
        "calibration": {
            "method": result.method,
            "n_samples": result.n_samples,
            "data_sha256": result.data_sha256,
            "data": result.data_description,
            "float_layers": list(result.float_layers),
            "method_errors": result.method_errors,
            "max_accuracy_drop": result.max_accuracy_drop,
            "weight_bits": result.weight_bits,
            "files": [REPORT, PLOT, RANKING],
        }
    }
    if result.accuracy and "reference_top1" in result.accuracy:
        keys = ("dataset", "n_samples", "reference_top1", "quantized_top1", "drop_points", "runtimes")
        sections["accuracy"] = {key: result.accuracy[key] for key in keys}
    return sections


def _markdown(result) -> str:
    lines = [
        "# INT8 calibration",
        "",
        f"- Q/DQ model: `{result.path.name}`: symmetric int8, per-tensor activations, per-channel weights in "
        f"{result.weight_bits} bits (±{2 ** (result.weight_bits - 1) - 1})",
        f"- Data: {result.data_description}, sha256 `{result.data_sha256[:16]}…`",
        f"- Method: **{result.method}** (smallest output error vs FP32 on the calibration set)",
        _budget_note(result),
        f"- Layers kept in float: {len(result.float_layers)}" + "".join(f"\n  - `{n}`" for n in result.float_layers),
        _signed_note(result.signed),
        "",
        "## Output error per method",
        "",
        "| method | error (sum sq. error / sum sq. FP32 output) |",
        "|---|---|",
        *(f"| {m} | {e:.3g} |" for m, e in result.method_errors.items()),
        "",
    ]
    lines += _accuracy_lines(result.accuracy)
    lines += ["## Most sensitive layers", "", f"![sensitivity]({PLOT})", ""]
    lines += ["| rank | layer | error |", "|---|---|---|"]
    lines += [f"| {e['rank']} | `{e['layer']}` | {e['error']:.3g} |" for e in result.sensitivity[:15]]
    return "\n".join(lines) + f"\n\nFull ranking: `{RANKING}`.\n"


def _budget_note(result) -> str:
    if result.max_accuracy_drop is None:
        return "- Accuracy budget: none (all quantisable layers in INT8 unless listed below)"
    steps = ", ".join(f"{t['float_units']} in float: {t['drop_points']:.2f}" for t in result.budget_trace)
    return f"- Accuracy budget: at most {result.max_accuracy_drop} points in every runtime; measured drops: {steps}"


def _signed_note(signed: dict[str, bool]) -> str:
    unsigned = sum(not value for value in signed.values())
    return (
        f"- Activations: {len(signed) - unsigned} signed tensors use the full int8 range; {unsigned} non-negative "
        "tensors (after ReLU6) use only 0..127 of it with symmetric scales"
    )


def _accuracy_lines(accuracy: dict | None) -> list[str]:
    if not accuracy:
        return []
    labelled = "reference_top1" in accuracy
    columns = ["FP32 top-1", "INT8 top-1"] if labelled else ["top-1 agreement with FP32"]
    title = f"{'Accuracy' if labelled else 'Agreement'} on {accuracy['dataset']} ({accuracy['n_samples']} images)"
    lines = [
        f"## {title}",
        "",
        "| " + " | ".join(["runtime", *columns, "drop (points)"]) + " |",
        "|---" * (len(columns) + 2) + "|",
    ]
    for runtime, f in accuracy["runtimes"].items():
        values = (f["reference_top1"], f["quantized_top1"]) if labelled else (f["top1_agreement"],)
        lines.append(f"| {runtime} | " + " | ".join(f"{100 * v:.2f}%" for v in values) + f" | {f['drop_points']:.2f} |")
    return lines + [""]


def _shipped_lines(shipped: dict) -> str:
    kernels = shipped["int8_kernels"]
    return "\n".join(
        [
            "",
            f"## Shipped form: {shipped['flavour']}",
            "",
            "The analysis above used the TensorRT-rules Q/DQ graph; the shipped file is placed for onnxruntime's INT8 "
            f"kernels by {shipped['quantizer']}: activations {shipped['activations']}, weights {shipped['weights']}, "
            f"{shipped['bias']} biases, {shipped['method']} calibration on the same data, the same layers in float.",
            "",
            f"- Convolutions onnxruntime runs in INT8 (QLinearConv): {kernels['QLinearConv']}; in float: "
            f"{kernels['float_conv']}",
            "",
        ]
    )
