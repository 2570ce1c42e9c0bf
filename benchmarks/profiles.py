"""Per-layer profiles of the headline configurations, and what the report keeps of each bundle's manifest."""

from __future__ import annotations

import json
from pathlib import Path

import timing


def layer_profiles(jobs: dict, folder: Path, effort: timing.Effort, say) -> tuple[dict, dict]:
    """One `igcv-profile --per-layer` run per job {key: (artifact, runtime, hint)}; full documents kept in `folder`.
    Returns ({key: summary}, {key: why its run failed})."""
    folder.mkdir(parents=True, exist_ok=True)
    out, failed = {}, {}
    for key, (artifact, runtime, hint) in jobs.items():
        try:
            document = timing.profile_once(artifact, runtime, hint, effort, per_layer=True)
        except RuntimeError as exc:
            failed[key] = str(exc)
            say(f"per-layer profile {key}: FAILED ({exc})")
            continue
        (folder / f"{key.replace('@', '__')}.json").write_text(json.dumps(document, indent=1) + "\n")
        layers = document["layers"]
        out[key] = {
            "p50_ms": document["runs"][0]["latency_ms"]["p50"],
            "total_ms": layers["total_ms"],
            "by_role": layers["by_role"],
            "by_op_type": layers["by_op_type"],
            "exec_types": exec_types(layers["layers"]),
        }
        say(f"per-layer profile {key}")
    return out, failed


def exec_types(layers: list[dict]) -> dict:
    """ms per (op type, kernel) where the runtime names its kernels (OpenVINO: jit_avx2_I8, ref, ...)."""
    totals: dict[str, float] = {}
    for layer in layers:
        if layer.get("exec_type"):
            key = f"{layer['op_type']} [{layer['exec_type']}]"
            totals[key] = totals.get(key, 0.0) + layer["ms"]
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def manifest_summary(bundle: Path) -> dict:
    """What the report needs of a bundle's manifest: MACs, parity, accuracy, OpenVINO's default precision, the
    lowering choices (the grouped_conv_lowering entries of the folding log)."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    default = manifest.get("openvino", {}).get("default_precision_parity", {})
    return {
        "macs": manifest["model"]["macs"],
        "params": manifest["model"]["params"],
        "parity": manifest.get("parity"),
        "accuracy": manifest.get("accuracy"),
        "default_precision": default.get("execution_precision"),
        "lowering": [e for e in manifest.get("folding", {}).get("log", []) if e["pass"] == "grouped_conv_lowering"],
    }


def macs_by_role(model_path: Path) -> dict[str, float]:
    """Executed conv MACs (millions) of an ONNX model by IGCV role (the zeros of a densified conv included)."""
    import math

    import onnx

    from igcv_deploy.profiling.graph_view import read_graph
    from igcv_deploy.profiling.roles import ROLES, classify

    model = onnx.shape_inference.infer_shapes(onnx.load(str(model_path)))
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.value_info}
    shapes |= {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.output}
    weights = {init.name: list(init.dims) for init in model.graph.initializer}
    roles = classify(read_graph(model_path))
    out = dict.fromkeys(ROLES, 0.0)
    for node in model.graph.node:
        if node.op_type == "Conv":
            macs = math.prod(weights[node.input[1]]) * math.prod(shapes[node.output[0]][2:])
            out[roles.get(node.name, "other")] += macs / 1e6
    return out
