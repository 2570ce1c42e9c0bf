"""Fixtures of the emulated-ARM stage (`make test-arm` = `pytest -m arm_emu tests/arm`).

Session flow:
1. `arm_sysroot`: build (or find up to date) the aarch64 sysroot with scripts/arm/build_sysroot.sh.
   Locally a sysroot that cannot be built skips the stage with the reason; under CI=true it fails.
2. `arm_models`: one small model per IGCV family present in the registry (the cheapest by MACs,
   CIFAR models at 32x32, ImageNet ones at 64x64, batch 2), exported on x86 to ONNX, an FP32 IR,
   an FP16 IR and an NNCF INT8 IR, with x86 reference outputs.
3. `arm_results(profile)`: ONE emulated process per CPU profile runs every job (imports are the
   slow part under qemu) and the tests compare its outputs with the x86 references.
A summary table of the measured errors is printed at the end and written to
artifacts/arm-emu-report.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

FAMILIES = ("igcv3", "igcv2", "igcv1")
BATCH = 1
SEED = 0
REPORT: list[dict] = []


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str):
    """Skip locally; under CI=true the ARM stage must run, so fail instead."""
    if in_ci():
        pytest.fail(f"emulated-ARM stage cannot run under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


# ------------------------------------------------------------------------------------- metrics
def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    """max|a-b| / max|b| (b is the reference)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))


def top1_agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.argmax(a, axis=-1) == np.argmax(b, axis=-1)))


def record(**row) -> dict:
    REPORT.append(row)
    return row


# ------------------------------------------------------------------------------------- sysroot
@pytest.fixture(scope="session")
def arm_sysroot():
    from .emulator import ArmEmuError, build_sysroot, find_sysroot

    if os.environ.get("ARM_EMU_NO_BUILD"):
        sysroot = find_sysroot()
        if sysroot is None:
            unavailable("no ARM sysroot and ARM_EMU_NO_BUILD is set (run scripts/arm/build_sysroot.sh)")
        return sysroot
    try:
        return build_sysroot()  # idempotent: ~0.5 s when the stamp is up to date
    except ArmEmuError as exc:
        unavailable(exc.line())


# ------------------------------------------------------------------------------------- models
# Per family, the model the stage covers: the first of these that is registered (else the first
# registered name of the family). ARM_EMU_MODELS="name,name,..." overrides the choice.
PREFERRED = {
    "igcv3": ("igcv3", "igcv3-0.25", "igcv3-cifar"),
    "igcv2": ("igcv2-1.0", "igcv2-cifar", "igcv2-0.25"),
    # IGC-L24M2 resnet_igc (depth 20) rather than plain_igc depth 38: same block, half the depth.
    # OpenVINO's ARM plugin splits every L=24 grouped conv into 24 convs (1033 for depth 38), and
    # the emulated INT8 compile of igcv1-cifar alone took ~4 min per profile.
    "igcv1": ("igcv1-resnet-cifar", "igcv1-cifar", "igcv1-l100m2"),
}


def input_size_for(name: str) -> tuple[int, int, int]:
    """CIFAR-sized models at 32x32, ImageNet ones at 64x64 (emulation is ~50x slower than native)."""
    from igcv_deploy.models import get_config

    c, h, _ = get_config(name).input_size
    return (c, 32, 32) if h <= 32 else (c, 64, 64)


def pick_models() -> dict[str, str | None]:
    """family -> model name to cover, or None when the registry has no model of that family."""
    from igcv_deploy.models import get_config, list_models

    names = list_models()
    override = [n.strip() for n in os.environ.get("ARM_EMU_MODELS", "").split(",") if n.strip()]
    picked: dict[str, str | None] = {}
    for family in FAMILIES:
        in_family = [n for n in names if get_config(n).family == family]
        chosen = [n for n in override if n in in_family]
        if override:
            picked[family] = chosen[0] if chosen else None
            continue
        preferred = [n for n in PREFERRED[family] if n in in_family]
        picked[family] = (preferred or in_family or [None])[0]
    return picked


def realistic_bn(model, size, seed: int = SEED, gamma_scale: float = 0.5):
    """Make a random-init network numerically like a trained one before comparing runtimes.

    1. Estimate the BN statistics on random inputs (eval BN with mean 0 / var 1 leaves activations
       badly scaled; INT8 scales then degenerate, e.g. FakeQuantize constants overflow f16).
    2. Halve every BN gamma: a random deep net with unit gains is chaotic (a 1e-4 input change moves
       the INT8 logits of IGCV3 to cosine 0.96, and x86 FP32 itself is 2e-5 rel from float64 on
       igcv1-cifar); at 0.5 it is in the ordered regime like trained nets (INT8 vs FP32 cosine
       0.995-0.999, FP32 vs float64 ~3e-7), so cross-platform differences mean something.
    """
    import torch

    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    gen = torch.Generator().manual_seed(seed + 1)
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(8, *size, generator=gen))
        for bn in bns:
            if bn.weight is not None:
                bn.weight.mul_(gamma_scale)
    return model.eval()


def export_artifacts(
    name: str, size, out: Path, batch: int = BATCH, int8: bool = True, int8_asym: bool = False, calib: int = 4
) -> dict:
    """x86 side: ONNX + FP32 IR + FP16 IR (+ INT8 IRs), inputs, and reference outputs.

    int8: NNCF performance preset (symmetric activations), what igcv-export writes.
    int8_asym: NNCF mixed preset (asymmetric activations): the IR that OpenVINO 2026.4.1 cannot
    compile on ARMv8.0 cores (docs/arm.md).
    """
    import openvino as ov
    import torch

    from igcv_deploy.models import create_model

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    model = realistic_bn(create_model(name), size)
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((batch, *size)).astype(np.float32)
    art = {"name": name, "size": tuple(size), "dir": out, "inputs": out / "inputs.npz"}
    np.savez(art["inputs"], input=x)
    with torch.no_grad():
        art["torch"] = model(torch.from_numpy(x)).numpy()
        art["f64"] = model.double()(torch.from_numpy(x).double()).numpy()
        model.float()

    onnx_path = out / "model.onnx"
    torch.onnx.export(
        model,
        (torch.from_numpy(x),),
        str(onnx_path),
        dynamo=False,
        opset_version=17,
        input_names=["input"],
        output_names=["logits"],
    )
    art["onnx"] = onnx_path
    art["fp32"] = out / "model_fp32.xml"
    ov.save_model(ov.convert_model(str(onnx_path)), str(art["fp32"]), compress_to_fp16=False)
    art["fp16"] = out / "model_fp16.xml"
    ov.save_model(ov.convert_model(str(onnx_path)), str(art["fp16"]), compress_to_fp16=True)
    if int8:
        import nncf

        cal = [rng.standard_normal((batch, *size)).astype(np.float32) for _ in range(calib)]
        q = nncf.quantize(ov.convert_model(str(onnx_path)), nncf.Dataset(cal), subset_size=calib)
        art["int8"] = out / "model_int8.xml"
        ov.save_model(q, str(art["int8"]), compress_to_fp16=False)
    if int8_asym:
        import nncf

        cal = [rng.standard_normal((batch, *size)).astype(np.float32) for _ in range(calib)]
        q = nncf.quantize(
            ov.convert_model(str(onnx_path)), nncf.Dataset(cal), subset_size=calib, preset=nncf.QuantizationPreset.MIXED
        )
        art["int8_asym"] = out / "model_int8_asym.xml"
        ov.save_model(q, str(art["int8_asym"]), compress_to_fp16=False)

    # x86 references, one thread, precision named explicitly (this host's default may be bf16).
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    art["x86_ort"] = sess.run(None, {"input": x})[0]
    art["cond"] = rel_err(art["x86_ort"], art["f64"])  # float32 noise of this model on x86
    core = ov.Core()
    f32 = {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": 1}
    art["x86_ov_f32"] = _ov_run(core, art["fp32"], x, f32)
    art["x86_ov_fp16ir_f32"] = _ov_run(core, art["fp16"], x, f32)
    for key in ("int8", "int8_asym"):
        if key in art:
            art[f"x86_ov_{key}"] = _ov_run(core, art[key], x, f32)
    return art


def _ov_run(core, path, x, config) -> np.ndarray:
    compiled = core.compile_model(str(path), "CPU", config)
    return np.array(compiled.create_infer_request().infer({0: x})[compiled.output(0)])


@pytest.fixture(scope="session")
def arm_models(tmp_path_factory) -> dict:
    """family -> exported artifacts dict, or a str with the reason the family is missing."""
    root = tmp_path_factory.mktemp("arm-models")
    models = {}
    for family, name in pick_models().items():
        if name is None:
            models[family] = f"no {family} model registered (list_models() has none, or ARM_EMU_MODELS excludes it)"
            continue
        # the asymmetric INT8 IR (known ARMv8.0 failure) only for IGCV3: one compile per profile
        models[family] = export_artifacts(name, input_size_for(name), root / name, int8_asym=family == "igcv3")
    return models


# ------------------------------------------------------------------------------------- ARM runs
# (case, artifact key, runtime, precision): every case runs in the profile's single process.
CASES = (
    ("ort_fp32", "onnx", "onnxruntime", "f32"),
    ("ov_fp32", "fp32", "openvino", "f32"),
    ("ov_default", "fp32", "openvino", "default"),
    ("ov_fp16ir_default", "fp16", "openvino", "default"),
    ("ov_int8", "int8", "openvino", "default"),
    ("ov_int8_asym", "int8_asym", "openvino", "default"),  # last: the known failure on ARMv8.0
)


def case_runs_on(case: str, profile: str) -> bool:
    """The FP16 IR only where the default precision is f32: on f16 cores it runs in f16 exactly like
    the FP32 IR does with no hint (measured identical), so it would only cost another compile."""
    from igcv_deploy.devices import ARM_PROFILES

    return case != "ov_fp16ir_default" or ARM_PROFILES[profile]["default_precision"] == "f32"


@pytest.fixture(scope="session")
def arm_results(arm_sysroot, arm_models, tmp_path_factory):
    """profile -> {(family, case): record}. On first use, every CI profile runs at once, one
    emulated process each (own root filesystem per profile, so they can run side by side)."""
    from concurrent.futures import ThreadPoolExecutor

    from igcv_deploy.devices import CI_PROFILES

    from .emulator import run_jobs

    cache: dict[str, dict] = {}
    timeout = float(os.environ.get("ARM_EMU_TIMEOUT", 1500))

    def run(profile: str) -> dict:
        out = tmp_path_factory.mktemp(f"arm-{profile}")
        jobs, keys = [], []
        for case, key, runtime, precision in CASES:  # case-major: the known failure runs last
            if not case_runs_on(case, profile):
                continue
            for family, art in arm_models.items():
                if isinstance(art, str) or key not in art:
                    continue
                jobs.append(
                    {
                        "runtime": runtime,
                        "model": art[key],
                        "inputs": art["inputs"],
                        "outputs": out / f"{family}-{case}.npz",
                        "precision": precision,
                    }
                )
                keys.append((family, case))
        return dict(zip(keys, run_jobs(arm_sysroot, profile, jobs, timeout=timeout))) if jobs else {}

    def get(profile: str) -> dict:
        if profile not in cache:
            todo = [p for p in dict.fromkeys([profile, *CI_PROFILES]) if p not in cache]
            workers = max(1, min(len(todo), int(os.environ.get("ARM_EMU_PARALLEL", os.cpu_count() or 1))))
            with ThreadPoolExecutor(workers) as pool:
                for p, result in zip(todo, pool.map(run, todo)):
                    cache[p] = result
        return cache[profile]

    return get


def pytest_terminal_summary(terminalreporter):
    if not REPORT:
        return
    tr = terminalreporter
    tr.section("emulated ARM vs x86 (same runtime, same inputs)")
    columns = f"{'profile':<12} {'model':<20} {'case':<18} {'exec':<5} {'rel':>9} {'cosine':>9} {'top1':>5}"
    tr.write_line(f"{columns} {'job s':>6}  note")
    for r in REPORT:
        rel = f"{r['rel']:.2e}" if r.get("rel") is not None else "-"
        cos = f"{r['cosine']:.6f}" if r.get("cosine") is not None else "-"
        top = f"{r['top1']:.2f}" if r.get("top1") is not None else "-"
        wall = f"{r['wall']:.0f}" if r.get("wall") is not None else "-"
        tr.write_line(
            f"{r['profile']:<12} {r.get('model', '-'):<20} {r['case']:<18} {str(r.get('exec', '-')):<5} "
            f"{rel:>9} {cos:>9} {top:>5} {wall:>6}  {r.get('note', '')}"
        )
    path = Path(__file__).resolve().parents[2] / "artifacts" / "arm-emu-report.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(REPORT, indent=1, default=str))
        tr.write_line(f"written to {path}")
    except OSError:
        pass
