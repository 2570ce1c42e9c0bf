"""Channel permutations spelled by code this project did not write (tests/graph/foreign_models.py): torchvision's
channel_shuffle, ShuffleNet V2's chunk + cat, index_select and advanced indexing, pytorchcv's ShuffleNet,
ShuffleNetV2 and IGCV3, opset-9/11 exports and a hand-written opset-9 graph, from both torch exporters.

For each export: every shuffle of the source is recognised; folding for every runtime keeps the outputs
(onnxruntime, and OpenVINO for its graph) within 1e-5; no Gather reaches OpenVINO; the log names each
permutation recognised and each one left (lowered)."""

from __future__ import annotations

import copy
import functools

import onnx
import onnxslim
import pytest

from igcv_deploy.graph import RUNTIMES, count_permutations, fold_permutations

from . import foreign_models as fm
from .conftest import rel_error, run_ort, run_ov, sample_input

# case: (model, exporter, dynamic batch, opset, simplified with onnxslim)
EXPORTS = {
    "torchvision_v2-torchscript": ("torchvision_shufflenet_v2", "torchscript", False, 17, True),
    "torchvision_v2-torchscript-dynamic": ("torchvision_shufflenet_v2", "torchscript", True, 17, True),
    "torchvision_v2-torchscript-dynamic-raw": ("torchvision_shufflenet_v2", "torchscript", True, 17, False),
    "torchvision_v2-torchscript-opset9": ("torchvision_shufflenet_v2", "torchscript", False, 9, True),
    "torchvision_v2-torchscript-opset11": ("torchvision_shufflenet_v2", "torchscript", False, 11, True),
    "torchvision_v2-dynamo": ("torchvision_shufflenet_v2", "dynamo", False, 18, True),
    "torchvision_v2-dynamo-dynamic": ("torchvision_shufflenet_v2", "dynamo", True, 18, True),
    "index_select-torchscript": ("index_select", "torchscript", False, 17, True),
    "index_select-dynamo": ("index_select", "dynamo", False, 18, True),
    "advanced_indexing-torchscript": ("advanced_indexing", "torchscript", False, 17, True),
    "advanced_indexing-dynamo": ("advanced_indexing", "dynamo", False, 18, True),
    "pytorchcv_shufflenet-torchscript": ("pytorchcv_shufflenet", "torchscript", False, 17, True),
    "pytorchcv_shufflenet_v2-torchscript": ("pytorchcv_shufflenet_v2", "torchscript", False, 17, True),
    "pytorchcv_shufflenet_v2-dynamo": ("pytorchcv_shufflenet_v2", "dynamo", False, 18, True),
    "pytorchcv_igcv3-torchscript": ("pytorchcv_igcv3", "torchscript", False, 17, True),
}
LEGACY = {"opset9_graph-raw": False, "opset9_graph": True}  # written with onnx.helper; simplified or not
SLOW = {case for case, (_, exporter, *_) in EXPORTS.items() if exporter == "dynamo"}  # > 5 s per export here
# permutations left after folding, the same for every runtime: what no neighbour can absorb
LEFT = {
    "torchvision_shufflenet_v2": 2,  # the shuffles feeding a stride-1 unit's chunk()
    "index_select": 2,  # shuffle(24, 2) and the swap, each between g=2 convs
    "advanced_indexing": 2,
    "pytorchcv_shufflenet": 3,  # between g=3 convs (the first unit's 1x1 conv is dense and absorbs its own)
    "pytorchcv_shufflenet_v2": 2,
    "pytorchcv_igcv3": 6,  # between g=2 convs
    "opset9_graph": 1,
}


@functools.cache
def exported(case: str) -> tuple[onnx.ModelProto, int]:
    """The ONNX model of a case and the number of shuffles in its source."""
    if case in LEGACY:
        model = fm.opset9_shuffle_net()
        return (onnxslim.slim(model) if LEGACY[case] else model), 4
    name, exporter, dynamic, opset, simplify = EXPORTS[case]
    module = fm.randomize(fm.TORCH_MODELS[name]())
    return fm.export(module, exporter, dynamic, opset, simplify), fm.count_shuffles(module)


def gathers_feeding_convs(model: onnx.ModelProto) -> list[str]:
    gathers = {out for node in model.graph.node if node.op_type == "Gather" for out in node.output}
    return [node.name for node in model.graph.node if node.op_type == "Conv" and node.input[0] in gathers]


def params(cases):
    return [pytest.param(case, marks=[pytest.mark.slow] if case in SLOW else []) for case in cases]


@pytest.mark.parametrize("case", params([*EXPORTS, *LEGACY]))
def test_foreign_permutations_are_recognised_and_folded_exactly(case):
    model, shuffles = exported(case)
    before = count_permutations(model)
    assert before["total"] >= shuffles, before
    dynamic = case in EXPORTS and EXPORTS[case][2] or case in LEGACY
    data = sample_input(model, batch=2 if dynamic else 1)
    reference = run_ort(model, data)
    left = LEFT[EXPORTS[case][0] if case in EXPORTS else "opset9_graph"]
    for runtime in RUNTIMES:
        folded, log = fold_permutations(copy.deepcopy(model), runtime)
        after = count_permutations(folded)
        recognised = [e for e in log if e["pass"].startswith("canonicalize") and "spelling" in e]
        lowered = [e for e in log if e["pass"] == "lower"]
        assert len(recognised) == before["total"] and len(lowered) == after["total"] == left, (runtime, after)
        assert rel_error(reference, run_ort(folded, data)) <= 1e-5, runtime
        if runtime == "openvino":
            assert after["gather"] == 0 and not gathers_feeding_convs(folded)
            assert rel_error(reference, run_ov(folded, data)) <= 1e-5
