"""The static Q/DQ rule checker on hand-made models: what TensorRT rejects, and what it silently accepts."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from igcv_deploy.calibration.qdq_rules import assert_qdq_rules, check_qdq_rules
from igcv_deploy.errors import IGCVError

INT8_ZERO = np.int8(0)


def qdq_conv(
    act_zero_point=INT8_ZERO, weight_axis=0, int32_bias=False, act_scale=0.05, act_per_channel=False, opset=17
) -> onnx.ModelProto:
    """x -> Q/DQ -> Conv(DQ(int8 weights), bias) -> y, valid for TensorRT with the defaults."""
    rng = np.random.default_rng(0)
    weights = rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    act_scales = np.full(3, act_scale, np.float32) if act_per_channel else np.float32(act_scale)
    zero_points = np.full(3, act_zero_point) if act_per_channel else act_zero_point
    initializers = {
        "act_scale": act_scales,
        "act_zp": zero_points,
        "w_q": weights,
        "w_scale": np.full(weights.shape[weight_axis], 0.01, np.float32),
        "w_zp": np.zeros(weights.shape[weight_axis], np.int8),
    }
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "act_scale", "act_zp"], ["xq"], name="act_q", axis=1),
        helper.make_node("DequantizeLinear", ["xq", "act_scale", "act_zp"], ["xdq"], name="act_dq", axis=1),
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zp"], ["w"], name="weight_dq", axis=weight_axis),
    ]
    if int32_bias:
        initializers.update(b_q=np.arange(4, dtype=np.int32), b_scale=np.float32(0.0005))
        nodes.append(helper.make_node("DequantizeLinear", ["b_q", "b_scale"], ["b"], name="bias_dq"))
    else:
        initializers["b"] = np.zeros(4, np.float32)
    nodes.append(helper.make_node("Conv", ["xdq", "w", "b"], ["y"], name="conv", pads=[1, 1, 1, 1]))
    graph = helper.make_graph(
        nodes,
        "qdq_conv",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4, 8, 8])],
        [numpy_helper.from_array(np.asarray(value), name) for name, value in initializers.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_valid_model_passes():
    assert check_qdq_rules(qdq_conv()) == []
    assert_qdq_rules(qdq_conv())


@pytest.mark.parametrize(
    "options, node, fragment",
    [
        ({"act_zero_point": np.int8(3)}, "act_q (QuantizeLinear)", "zero-point is not 0"),
        ({"int32_bias": True}, "bias_dq (DequantizeLinear)", "int32 DequantizeLinear"),
        ({"weight_axis": 1}, "weight_dq (DequantizeLinear)", "per-channel weights of conv (Conv) on axis 1"),
        ({"act_zero_point": np.uint8(0)}, "act_q (QuantizeLinear)", "uint8 quantization"),
        ({"act_scale": -0.05}, "act_q (QuantizeLinear)", "scale has non-positive values"),
        ({"act_per_channel": True}, "act_q (QuantizeLinear)", "activations must be quantized per-tensor"),
        ({"opset": 12}, "model", "opset 12 is below 13"),
    ],
)
def test_bad_models_are_rejected_by_node(options, node, fragment):
    violations = check_qdq_rules(qdq_conv(**options))
    assert any(v.startswith(node) and fragment in v for v in violations), violations
    with pytest.raises(IGCVError, match="breaks a TensorRT rule") as raised:
        assert_qdq_rules(qdq_conv(**options))
    assert node.split()[0] in raised.value.line()


def test_int8_weights_must_avoid_minus_128():
    model = qdq_conv()
    weights = next(init for init in model.graph.initializer if init.name == "w_q")
    array = numpy_helper.to_array(weights).copy()
    array.flat[0] = -128
    weights.CopyFrom(numpy_helper.from_array(array, "w_q"))
    assert any("-128" in v for v in check_qdq_rules(model))


def test_float_model_has_nothing_to_check():
    model = qdq_conv()
    del model.graph.node[:3]
    assert check_qdq_rules(model) == []


@pytest.mark.parametrize(
    "options, parser_accepts",
    [({}, True), ({"act_zero_point": np.int8(3)}, False), ({"int32_bias": True}, False), ({"weight_axis": 1}, True)],
)
def test_checker_is_stricter_than_the_parser(tmp_path, options, parser_accepts):
    """TensorRT-RTX rejects some violations at parse time but accepts wrong-axis weights silently."""
    from igcv_deploy.exporters.tensorrt.compat import ParsedNetwork
    from igcv_deploy.exporters.tensorrt.library import load_library

    onnx.save(qdq_conv(**options), tmp_path / "m.onnx")
    try:
        ParsedNetwork(load_library("tensorrt_rtx"), tmp_path / "m.onnx")
        accepted = True
    except IGCVError:
        accepted = False
    assert accepted == parser_accepts
    assert (check_qdq_rules(qdq_conv(**options)) == []) == (options == {})
