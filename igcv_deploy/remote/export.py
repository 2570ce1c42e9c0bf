"""`igcv-export ... --lowering tune --on DEVICE`: tune the grouped-conv lowering on the device, export with it.

A natively lowered FP32 ONNX bundle of the model is exported here and tuned there by the device's
`igcv-profile tune` (in the target's runtime); the plan comes back and the export proper uses it as
`--lowering-plan`, for the device's CPU class. The manifest's folding record names the device and its CPU.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

from ..errors import UsageError
from .bundles import local_bundle, sync_bundle
from .commands import remote_json
from .device import parse_device
from .environment import locate, read_info
from .fleet import run_fleet
from .transport import Connection


def tuning_request(request, folder: Path):
    """The same model as an FP32 ONNX bundle with every block left native (what `igcv-profile tune` cuts up)."""
    return dataclasses.replace(
        request, target="onnx", precision="fp32", lowering="native", lowering_plan=None, output=str(folder), force=True
    )


def export_tuned_on(request, explicit: set[str], spec: str, ssh_config: str | None, timeout: float):
    from ..exporters import lowering
    from ..exporters.pipeline import run_export, validate
    from ..isa import resolve_device
    from ..runtimes.registry import runtimes_listing

    if request.lowering != lowering.TUNE:
        raise UsageError("igcv-export --on measures the lowering on the device", "add --lowering tune")
    if request.device:
        raise UsageError("--on chooses the CPU class (the device's)", "drop --device")
    device = parse_device(spec)
    target = validate(request, explicit)[0]
    if target.runtime not in runtimes_listing(".onnx"):
        raise UsageError(f"--lowering tune --on times ONNX blocks, {target.runtime} does not run them", "use auto")
    with tempfile.TemporaryDirectory(prefix="igcv-tune-on-") as scratch:

        def job(conn: Connection, say) -> dict:
            cache = locate(conn, timeout)  # the device is ready before anything is exported
            info = read_info(conn, cache, timeout)
            precision = request.precision or target.default_precision(resolve_device(info["isa_class"]).arch)
            blocks_precision = "fp32" if precision == "int8" else precision  # as --lowering tune does here
            say("exporting the natively lowered model to tune")
            bundle = local_bundle(str(run_export(tuning_request(request, Path(scratch) / "tuning"))[0]))
            sent = sync_bundle(conn, cache, bundle, timeout)
            say(f"tuning the lowering in {target.runtime} ({blocks_precision}) on {info['cpu_model']}")
            tune = ["tune", sent.remote_path, "--runtime", target.runtime, "--precision", blocks_precision]
            document = remote_json(conn, cache, [*tune, "--budget", str(lowering.TUNE_BUDGET_S)], timeout)
            document["tuned_on"]["device"] = device.spec
            return document

        (outcome,) = run_fleet([device], job, ssh_config, 1)
        if outcome.error:
            raise outcome.error
        plan_file = Path(scratch) / "lowering_plan.json"
        plan_file.write_text(json.dumps(outcome.result, indent=1) + "\n")
        isa_class = outcome.result["tuned_on"]["isa_class"]
        final = dataclasses.replace(request, lowering="auto", lowering_plan=str(plan_file), device=isa_class)
        return run_export(final, (explicit - {"lowering"}) | {"lowering_plan", "device"})
