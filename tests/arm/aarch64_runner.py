"""Run exported models inside the emulated aarch64 Python (qemu user mode), driven from the host.

Run BY PATH under the aarch64 interpreter of the ARM sysroot (scripts/arm/build_sysroot.sh):

    QEMU_CPU=cortex-a72 PYTHONPATH=SITE qemu-aarch64-static -L ROOTFS ROOTFS/usr/bin/python3.11 \
        tests/arm/aarch64_runner.py --runtime openvino --model m.xml \
        --inputs in.npz --outputs out.npz [--precision f32|default|f16]

or several jobs in one process (imports onnxruntime/openvino once; emulated imports are slow):

    ... aarch64_runner.py --jobs jobs.json --report report.json

This file must stay standalone: it imports only the standard library and numpy, and
onnxruntime / openvino lazily; never torch and never igcv_deploy (the ARM sysroot has only
numpy, onnxruntime and openvino). Its runtime names are those of igcv_deploy's runtime registry;
the host side (tests/arm/emulator.py) checks them there. The ARM-side Python cannot start child
processes under qemu (Exec format error), so the host runs one process per CPU profile and
exchanges .npz files.

Inputs .npz: one array per model input, keyed by input name (a single array under any key is
fed to the only input). Outputs .npz: one array per model output, keyed by output name.
Exit status: 0 all jobs ran; 3 a job failed (details in the report / on stderr as one line
`ARM_RUNNER_ERROR {json}`); 2 usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
import traceback

ERROR_TAG = "ARM_RUNNER_ERROR"
PRECISIONS = ("f32", "default", "f16", "bf16")


class StageError(Exception):
    def __init__(self, stage: str, exc: BaseException):
        self.stage = stage
        self.exc = exc
        super().__init__(f"{stage}: {type(exc).__name__}: {exc}")

    def as_dict(self) -> dict:
        return {"stage": self.stage, "type": type(self.exc).__name__, "message": str(self.exc)}


def _stage(name, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001  (every failure becomes a per-job record)
        raise StageError(name, exc) from exc


def versions() -> dict:
    out = {"python": platform.python_version(), "machine": platform.machine()}
    import numpy

    out["numpy"] = numpy.__version__
    from importlib import metadata

    for name in ("onnxruntime", "openvino"):
        try:
            mod = __import__(name)  # importable, not just installed
            try:
                out[name] = metadata.version(name)  # the wheel version, e.g. 2026.4.1
            except metadata.PackageNotFoundError:
                out[name] = getattr(mod, "__version__", "?")
            if name == "openvino":
                out["openvino_build"] = mod.get_version()
        except Exception as exc:  # noqa: BLE001
            out[name] = f"unavailable: {type(exc).__name__}: {exc}"
    return out


def _feed(names, arrays: dict) -> dict:
    if set(names) <= set(arrays):
        return {n: arrays[n] for n in names}
    if len(names) == 1 and len(arrays) == 1:
        return {names[0]: next(iter(arrays.values()))}
    raise ValueError(f"inputs {sorted(arrays)} do not match the model inputs {list(names)}")


def run_onnxruntime(model: str, arrays: dict, threads: int, precision: str) -> tuple[dict, dict]:
    import onnxruntime as ort

    if precision not in ("f32", "default"):
        raise ValueError(f"onnxruntime runs the graph's own precision; got --precision {precision}")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = _stage("load", ort.InferenceSession, model, so, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    out_names = [o.name for o in sess.get_outputs()]
    t0 = time.perf_counter()
    results = _stage("infer", sess.run, out_names, _feed(names, arrays))
    info = {
        "runtime": "onnxruntime",
        "version": ort.__version__,
        "infer_s": time.perf_counter() - t0,
        "execution_precision": "graph",
    }
    return dict(zip(out_names, results)), info


_OV_CORE = None


def _type_name(t) -> str:
    """ov.Type -> 'f32' / 'f16' / 'bf16'."""
    try:
        return t.get_type_name()
    except AttributeError:
        return str(t)


def run_openvino(model: str, arrays: dict, threads: int, precision: str) -> tuple[dict, dict]:
    import openvino as ov

    global _OV_CORE
    if _OV_CORE is None:
        _OV_CORE = ov.Core()
    core = _OV_CORE
    config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    if precision != "default":
        config["INFERENCE_PRECISION_HINT"] = precision
    ov_model = _stage("read", core.read_model, model)
    t0 = time.perf_counter()
    compiled = _stage("compile", core.compile_model, ov_model, "CPU", config)
    compile_s = time.perf_counter() - t0
    names = [p.get_any_name() for p in compiled.inputs]
    feed = _feed(names, arrays)
    request = compiled.create_infer_request()
    t0 = time.perf_counter()
    result = _stage("infer", request.infer, {n: feed[n] for n in names})
    import numpy as np

    outputs = {}
    for i, port in enumerate(compiled.outputs):
        try:
            name = port.get_any_name()
        except RuntimeError:
            name = f"output{i}"
        outputs[name] = np.array(result[port])
    info = {
        "runtime": "openvino",
        "version": ov.get_version(),
        "compile_s": compile_s,
        "infer_s": time.perf_counter() - t0,
        "execution_precision": _type_name(compiled.get_property("INFERENCE_PRECISION_HINT")),
    }
    info["conv_precisions"] = _conv_precisions(compiled)
    for prop in ("FULL_DEVICE_NAME", "OPTIMIZATION_CAPABILITIES"):
        with contextlib.suppress(Exception):  # not every OpenVINO CPU plugin reports these
            info[prop.lower()] = str(core.get_property("CPU", prop))
    return outputs, info


def _conv_precisions(compiled) -> dict:
    """Runtime precision of the executed convolutions, e.g. {"f16": 160}: shows whether an INT8 IR
    really runs int8 convolutions on this CPU (on ARM with OpenVINO 2026.4.1 it does not)."""
    counts: dict = {}
    try:
        for op in compiled.get_runtime_model().get_ordered_ops():
            rt = op.get_rt_info()
            kind = rt["layerType"].astype(str) if "layerType" in rt else op.get_type_name()
            if kind in ("Convolution", "GroupConvolution", "FullyConnected"):
                prec = rt["runtimePrecision"].astype(str) if "runtimePrecision" in rt else "?"
                counts[prec] = counts.get(prec, 0) + 1
    except Exception as exc:  # noqa: BLE001  (diagnostics only)
        counts["error"] = f"{type(exc).__name__}: {exc}"
    return counts


# Keyed by the names of igcv_deploy's runtime registry (igcv_deploy/runtimes/registry.py).
RUNTIMES = {"onnxruntime": run_onnxruntime, "openvino": run_openvino}


def run_job(job: dict, threads: int) -> dict:
    """Run one job dict {runtime, model, inputs, outputs, precision}; return its report record."""
    import numpy as np

    record = {"job": job, "ok": False}
    t0 = time.perf_counter()
    try:
        runtime = RUNTIMES.get(job["runtime"])
        if runtime is None:
            raise StageError("usage", ValueError(f"unknown runtime {job['runtime']!r}"))
        with np.load(job["inputs"]) as data:
            arrays = {k: np.ascontiguousarray(data[k]) for k in data.files}
        outputs, info = runtime(job["model"], arrays, threads, job.get("precision", "f32"))
        _stage("save", np.savez, job["outputs"], **outputs)
        record.update(ok=True, info=info, outputs=sorted(outputs))
    except StageError as err:
        record["error"] = err.as_dict()
    except Exception as exc:  # noqa: BLE001
        record["error"] = StageError("runner", exc).as_dict()
        record["error"]["traceback"] = traceback.format_exc(limit=5)
    record["wall_s"] = time.perf_counter() - t0
    return record


def run_all(jobs: list[dict], threads: int, report_path: str | None) -> int:
    """Run the jobs in order; one ERROR_TAG line on stderr per failed job. Exit status 3 if any failed."""
    report = {"versions": versions(), "records": []}
    failed = 0
    for job in jobs:
        record = run_job(job, threads)
        report["records"].append(record)
        if not record["ok"]:
            failed += 1
            err = dict(record["error"], model=job.get("model"), runtime=job.get("runtime"))
            print(f"{ERROR_TAG} {json.dumps(err)}", file=sys.stderr, flush=True)
        if report_path:  # rewrite after every job: a crash still leaves the finished ones
            with open(report_path, "w") as f:
                json.dump(report, f, indent=1)
    return 3 if failed else 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runtime", choices=sorted(RUNTIMES))
    p.add_argument("--model")
    p.add_argument("--inputs")
    p.add_argument("--outputs")
    p.add_argument(
        "--precision",
        default="f32",
        choices=PRECISIONS,
        help="OpenVINO INFERENCE_PRECISION_HINT; 'default' sets none (the plugin picks)",
    )
    p.add_argument("--jobs", help="JSON list of {runtime, model, inputs, outputs, precision}")
    p.add_argument("--report", help="write a JSON report (versions + one record per job)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--versions", action="store_true", help="print runtime versions as JSON and exit")
    return p


def _jobs(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[dict]:
    if args.jobs:
        with open(args.jobs) as f:
            return json.load(f)
    job = {k: getattr(args, k) for k in ("runtime", "model", "inputs", "outputs", "precision")}
    if not all(job.values()):
        parser.error("give --jobs FILE, or --runtime --model --inputs --outputs")
    return [job]


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if args.versions:
        print(json.dumps(versions()))
        return 0
    return run_all(_jobs(args, parser), args.threads, args.report)


if __name__ == "__main__":
    sys.exit(main())
