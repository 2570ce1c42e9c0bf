"""`igcv-profile verify BUNDLE`: rerun the bundle's reference set in its runtime and judge it by the export's limits.

Torch-free: on a device this catches a runtime, plugin or version that computes something else than the one the
export checked (an ARM FP16 plugin, another OpenVINO, a Jetson's TensorRT).
"""

from __future__ import annotations

import numpy as np

from ..bundle import REFERENCE, Bundle
from ..errors import IGCVError
from ..runtimes.parity import PARITY_GATES, compare, exceeded
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
        inputs, expected = data["input"], data["output_0"]
    runtime = runtime_for(bundle.primary, runtime or bundle.manifest.get("parity", {}).get("runtime"))
    runner = load_runner(bundle.primary, runtime, **RUN_OPTIONS.get(runtime, {}))
    shape = (bundle.manifest.get("inputs") or [{"shape": [1]}])[0]["shape"]
    outputs = runner.run_batches(inputs, shape[0] if isinstance(shape[0], int) else 1)
    figures = {**compare(expected, outputs, bundle.manifest.get("parity", {}).get("reference", "pytorch"))}
    figures.update(runtime=runner.name, runtime_version=runner.version)
    limits, limits_from = limits_for(bundle.manifest)
    return {"figures": figures, "limits": limits, "limits_from": limits_from, "exceeded": exceeded(figures, limits)}


def report_lines(result: dict) -> list[str]:
    f = result["figures"]
    return [
        f"{f['runtime']} {f['runtime_version']} on {f['n_samples']} reference samples: "
        f"max rel err {f['max_rel_err']:.2e}, cosine {f['cosine']:.6f}, top-1 agreement {f['top1_agreement']:.2f}",
        f"limits ({result['limits_from']}): max rel err {result['limits']['max_rel_err']:.0e}, "
        f"cosine {result['limits']['cosine']}, top-1 agreement {result['limits']['top1_agreement']}",
    ]


def check(result: dict) -> None:
    if result["exceeded"]:
        f = result["figures"]
        raise IGCVError(
            f"the bundle's outputs disagree with the export's reference in {f['runtime']} "
            f"{f['runtime_version']}: {'; '.join(result['exceeded'])}",
            "check the runtime version against the manifest's, or re-export for this device",
        )
