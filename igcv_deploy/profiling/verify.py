"""`igcv-profile verify BUNDLE`: rerun the bundle's reference set in its runtime and judge it by the export's limits.

Torch-free: on a device this catches a runtime, plugin or version that computes something else than the one the
export checked (an ARM FP16 plugin, another OpenVINO, a Jetson's TensorRT).
"""

from __future__ import annotations

import numpy as np

from ..bundle import REFERENCE, Bundle
from ..errors import IGCVError
from ..runtimes.parity import AGREEMENTS, PARITY_GATES, compare, outputs_exceeded
from ..runtimes.registry import load_runner, runtime_for

RUN_OPTIONS = {"openvino": {"precision": "fp32"}}  # what the export's parity check ran with


def limits_for(manifest: dict) -> tuple[dict, str]:
    """The limits the export judged parity by (manifest parity.limits), else the precision's default gate."""
    recorded = manifest.get("parity", {}).get("limits")
    if recorded:
        return recorded, "the export's limits"
    return PARITY_GATES[manifest["precision"]], f"the {manifest['precision']} gate"


def verify(path, runtime: str | None = None) -> dict:
    """{"figures", "limits", "limits_from", "exceeded"} for a hash-verified bundle's reference set."""
    bundle = Bundle.load(path)
    if REFERENCE not in bundle.manifest.get("files", {}):
        raise IGCVError(f"bundle '{bundle.path}' carries no {REFERENCE}", "re-export it with this igcv-deploy")
    with np.load(bundle.file(REFERENCE)) as data:
        inputs = data["input"]
        expected = [data[f"output_{index}"] for index in range(len(data.files) - 1)]
    parity = bundle.manifest.get("parity", {})
    runtime = runtime_for(bundle.primary, runtime or parity.get("runtime"))
    runner = load_runner(bundle.primary, runtime, **RUN_OPTIONS.get(runtime, {}))
    shape = (bundle.manifest.get("inputs") or [{"shape": [1]}])[0]["shape"]
    outputs = runner.run_batches_all(inputs, shape[0] if isinstance(shape[0], int) else 1)
    if len(outputs) < len(expected):
        raise IGCVError(f"the artifact has {len(outputs)} outputs, its reference set {len(expected)}", "re-export it")
    limits, limits_from = limits_for(bundle.manifest)
    against = "pytorch-float64" if limits.get("against") == "pytorch-float64" else parity.get("reference", "pytorch")
    each = [compare(ref, out, against) for ref, out in zip(expected, outputs)]
    figures = {**each[0], **({"per_output": each} if len(each) > 1 else {})}
    figures.update(runtime=runner.name, runtime_version=runner.version)
    return {
        "figures": figures,
        "limits": limits,
        "limits_from": limits_from,
        "exceeded": outputs_exceeded(figures, limits),
    }


def report_lines(result: dict) -> list[str]:
    f, limits = result["figures"], result["limits"]
    agreements = "".join(f", {words} {f[key]:.3f}" for key, words in AGREEMENTS.items() if key in f)
    limit = "none" if limits["max_rel_err"] is None else f"{limits['max_rel_err']:.1e}"
    outputs = f" (output 0 of {len(f['per_output'])}; every output judged)" if "per_output" in f else ""
    return [
        f"{f['runtime']} {f['runtime_version']} on {f['n_samples']} reference samples against {f['reference']}: "
        f"max rel err {f['max_rel_err']:.2e}, cosine {f['cosine']:.6f}{agreements}{outputs}",
        f"limits ({result['limits_from']}): max rel err {limit}, cosine {limits['cosine']}, "
        f"top-1 agreement {limits['top1_agreement']}",
    ]


def check(result: dict) -> None:
    if result["exceeded"]:
        f = result["figures"]
        raise IGCVError(
            f"the bundle's outputs disagree with the export's reference in {f['runtime']} "
            f"{f['runtime_version']}: {'; '.join(result['exceeded'])}",
            "check the runtime version against the manifest's, or re-export for this device",
        )
