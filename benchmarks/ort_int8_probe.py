"""Which convolutions onnxruntime really runs in INT8, for two Q/DQ placements (per-layer profiles).

  .venv/bin/python benchmarks/ort_int8_probe.py BUNDLE_DIR [BUNDLE_DIR ...] [--out probe.json]

For each FP32 ONNX bundle: Q/DQ written (a) by the project's calibration writer
(igcv_deploy.calibration.qdq: Q/DQ on conv inputs, TensorRT's placement) and (b) by onnxruntime's
quantize_static (QDQ format: every conv output quantized too), both on the same calibration
images; then one per-layer igcv-profile run each, summed by (ORT kernel, IGCV role). QLinearConv
is an INT8 kernel; Conv/FusedConv fed by DequantizeLinear run in FP32 on dequantized tensors.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import timing

CALIB_SIZE = 32


def project_qdq(source: Path, output: Path, calib) -> None:
    from igcv_deploy.calibration.qdq import quantize_model

    quantize_model(source, calib, output, method="minmax", progress=False)


def ort_qdq(source: Path, output: Path, calib) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"input": image[None]} for image in calib.images])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(source), str(output), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)  # fmt: skip


def kernels_by_role(document: dict) -> dict:
    totals: dict[str, dict] = {}
    for layer in document["layers"]["layers"]:
        if "Conv" in layer["op_type"]:
            entry = totals.setdefault(f"{layer['op_type']} / {layer['role']}", {"count": 0, "ms": 0.0})
            entry["count"] += 1
            entry["ms"] += layer["ms"]
    return dict(sorted(totals.items()))


def probe(bundle: Path, calib, folder: Path) -> dict:
    source = bundle / "model.onnx"
    out = {}
    for name, write in (("project (TensorRT placement)", project_qdq), ("onnxruntime quantize_static", ort_qdq)):
        path = folder / f"{bundle.name}_{write.__name__}.onnx"
        write(source, path, calib)
        document = timing.profile_once(path, "onnxruntime", None, 1.0, per_layer=True)
        out[name] = {"p50_ms": document["runs"][0]["latency_ms"]["p50"], "convs": kernels_by_role(document)}
    fp32 = timing.profile_once(source, "onnxruntime", None, 1.0)
    out["fp32"] = {"p50_ms": fp32["runs"][0]["latency_ms"]["p50"]}
    return out


def main(argv: list[str]) -> int:
    from igcv_deploy.calibration.data import load_calibration_set
    from igcv_deploy.models import get_config

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundles", nargs="+", type=Path, help="onnx fp32 bundle folders")
    parser.add_argument("--out", type=Path, help="write the JSON here too")
    args = parser.parse_args(argv)
    calib = load_calibration_set(None, get_config("igcv3"), CALIB_SIZE, progress=False)
    with tempfile.TemporaryDirectory(prefix="igcv-probe-") as tmp:
        result = {bundle.name: probe(bundle, calib, Path(tmp)) for bundle in args.bundles}
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
