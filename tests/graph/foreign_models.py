"""Models this project did not write, as users export them: torchvision-style ShuffleNet V2, index_select and
advanced-indexing shuffle nets, pytorchcv's ShuffleNet, ShuffleNetV2 and IGCV3 (their classes, fewer units, random
weights), and an opset-9 graph written the way pre-opset-10 exporters wrote it. count_shuffles counts the shuffles
of a source module by running it; export() writes the ONNX a user would get."""

from __future__ import annotations

import io
import warnings

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from igcv_deploy.graph.perm_algebra import shuffle
from igcv_deploy.models.init import init_random_weights

SIZE = 64  # input side: every fixture is exported at 1x3xSIZExSIZE


class Counted(nn.Module):
    """A shuffle of the source model: count_shuffles counts the forward calls of these."""

    def forward(self, x):
        return self.shuffle(x)


def channel_shuffle(x, groups: int):
    """torchvision.models.shufflenetv2.channel_shuffle."""
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    return torch.transpose(x, 1, 2).contiguous().view(b, -1, h, w)


class TorchvisionShuffle(Counted):
    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def shuffle(self, x):
        return channel_shuffle(x, self.groups)


class InvertedResidual(nn.Module):
    """torchvision's ShuffleNet V2 unit: chunk + cat, then channel_shuffle(out, 2)."""

    def __init__(self, inp: int, oup: int, stride: int):
        super().__init__()
        self.stride, features = stride, oup // 2

        def dw(c, s):
            return [nn.Conv2d(c, c, 3, s, 1, groups=c, bias=False), nn.BatchNorm2d(c)]

        def pw(c_in, c):
            return [nn.Conv2d(c_in, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]

        self.branch1 = nn.Sequential(*dw(inp, stride), *pw(inp, features)) if stride > 1 else nn.Sequential()
        self.branch2 = nn.Sequential(
            *pw(inp if stride > 1 else features, features), *dw(features, stride), *pw(features, features)
        )
        self.shuffle = TorchvisionShuffle(2)

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return self.shuffle(out)


def torchvision_shufflenet_v2(stages=((48, 2), (96, 2)), stem: int = 24, last: int = 128) -> nn.Module:
    """torchvision's ShuffleNetV2 layout, small: conv/BN/ReLU/max-pool stem, stages of one stride-2 unit then
    stride-1 units, a 1x1 conv, global pooling and a linear classifier."""
    layers = [nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU(inplace=True)]
    layers.append(nn.MaxPool2d(3, 2, 1))
    channels = stem
    for width, repeats in stages:
        layers += [
            InvertedResidual(channels, width, 2),
            *(InvertedResidual(width, width, 1) for _ in range(repeats - 1)),
        ]
        channels = width
    layers += [nn.Conv2d(channels, last, 1, bias=False), nn.BatchNorm2d(last), nn.ReLU(inplace=True)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(last, 10)]
    return nn.Sequential(*layers)


class IndexShuffle(Counted):
    """x.index_select(1, perm) (or x[:, perm]) with a constant permutation: ONNX Gather on axis 1."""

    def __init__(self, perm, advanced: bool = False):
        super().__init__()
        self.register_buffer("perm", torch.as_tensor(np.asarray(perm), dtype=torch.int64))
        self.advanced = advanced

    def shuffle(self, x):
        return x[:, self.perm] if self.advanced else torch.index_select(x, 1, self.perm)


def index_select_net(advanced: bool = False) -> nn.Module:
    """Shuffles by index_select (or x[:, perm]) between grouped convs and before a dense conv:
    g=2 1x1 -> shuffle(24, 2) -> depthwise -> g=2 1x1 -> a swap of channels 0 and 12 (no Reshape/Transpose form)
    -> depthwise -> g=2 1x1 -> shuffle(32, 4) -> dense 3x3 -> dense 1x1 -> pool -> linear."""
    swap = np.r_[[12], 1:12, [0], 13:24]

    def bn_relu(c):
        return [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]

    return nn.Sequential(
        nn.Conv2d(3, 12, 3, 2, 1),
        *bn_relu(12),
        nn.Conv2d(12, 24, 1, groups=2),
        *bn_relu(24),
        IndexShuffle(shuffle(24, 2), advanced),
        nn.Conv2d(24, 24, 3, 1, 1, groups=24),
        *bn_relu(24),
        nn.Conv2d(24, 24, 1, groups=2),
        IndexShuffle(swap, advanced),
        nn.Conv2d(24, 24, 3, 1, 1, groups=24),
        *bn_relu(24),
        nn.Conv2d(24, 32, 1, groups=2),
        *bn_relu(32),
        IndexShuffle(shuffle(32, 4), advanced),
        nn.Conv2d(32, 32, 3, 2, 1),
        *bn_relu(32),
        nn.Conv2d(32, 48, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(48, 10),
    )


def _with_global_pool(model: nn.Module) -> nn.Module:
    model.features.final_pool = nn.AdaptiveAvgPool2d(1)  # the ImageNet 7x7 pool needs 224x224 inputs
    return model


def pytorchcv_shufflenet() -> nn.Module:
    """pytorchcv's ShuffleNet with g=3 and the widths of `shufflenet_g3_wd4`, two stages of 2 units (g=1, as in
    `shufflenet_g1_wd4`, makes every shuffle the identity)."""
    from pytorchcv.models.shufflenet import ShuffleNet

    return _with_global_pool(ShuffleNet([[60, 60], [120, 120]], 24, groups=3, in_size=(SIZE, SIZE), num_classes=10))


def pytorchcv_shufflenet_v2() -> nn.Module:
    """pytorchcv's ShuffleNetV2 with the widths of `shufflenetv2_wd2`: two stages of 2 units, a small head."""
    from pytorchcv.models.shufflenetv2 import ShuffleNetV2

    return _with_global_pool(ShuffleNetV2([[48, 48], [96, 96]], 24, 128, in_size=(SIZE, SIZE), num_classes=10))


def pytorchcv_igcv3() -> nn.Module:
    """pytorchcv's IGCV3 with the widths of `igcv3_wd4`: 6 units in three stages, a small head."""
    from pytorchcv.models.igcv3 import IGCV3

    return _with_global_pool(IGCV3([[4], [6, 6], [8, 8, 8]], 8, 128, in_size=(SIZE, SIZE), num_classes=10))


TORCH_MODELS = {
    "torchvision_shufflenet_v2": torchvision_shufflenet_v2,
    "index_select": index_select_net,
    "advanced_indexing": lambda: index_select_net(advanced=True),
    "pytorchcv_shufflenet": pytorchcv_shufflenet,
    "pytorchcv_shufflenet_v2": pytorchcv_shufflenet_v2,
    "pytorchcv_igcv3": pytorchcv_igcv3,
}


def randomize(model: nn.Module) -> nn.Module:
    """Non-trivial BN statistics and variance-preserving weights, so a misplaced permutation shows."""
    return init_random_weights(model).eval()


def count_shuffles(model: nn.Module) -> int:
    """Shuffle calls in one forward pass: our Counted modules, and pytorchcv's ChannelShuffle modules."""
    from pytorchcv.models.common.tutti import ChannelShuffle

    calls = []
    hooks = [
        m.register_forward_hook(lambda *_: calls.append(1))
        for m in model.modules()
        if isinstance(m, (Counted, ChannelShuffle))
    ]
    with torch.no_grad():
        model(torch.zeros(1, 3, SIZE, SIZE))
    for hook in hooks:
        hook.remove()
    return len(calls)


def export(
    model: nn.Module, exporter: str, dynamic_batch: bool = False, opset: int | None = None, simplify: bool = True
) -> onnx.ModelProto:
    """torch.onnx.export to memory: "torchscript" (opset 17 unless given) or "dynamo" (opset 18), then onnxslim."""
    import onnxslim

    x = torch.randn(2 if dynamic_batch else 1, 3, SIZE, SIZE)
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            dynamic = ({0: torch.export.Dim("batch", min=1, max=64)},) if dynamic_batch else None
            program = torch.onnx.export(
                model, (x,), dynamo=True, opset_version=opset or 18, dynamic_shapes=dynamic, verbose=False
            )
            proto = program.model_proto
        else:
            axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dynamic_batch else None
            torch.onnx.export(
                model,
                (x,),
                buffer,
                dynamo=False,
                opset_version=opset or 17,
                input_names=["x"],
                output_names=["y"],
                dynamic_axes=axes,
            )
            proto = onnx.load_from_string(buffer.getvalue())
    return onnxslim.slim(proto) if simplify else proto


def opset9_shuffle_net(channels: int = 12, size: int = 8, seed: int = 0) -> onnx.ModelProto:
    """Three units written the way pre-opset-10 exporters wrote them, dynamic batch "N", the weights also listed
    as graph inputs (keep_initializers_as_inputs); shuffles: 4.

    1. grouped 1x1 -> BN -> ReLU -> shuffle(C, 3): Reshape with its target from a Constant node, Transpose;
    2. Slice-1 halves (attributes) -> branch on one -> Concat -> shuffle(C, 2), the Reshape targets computed from
       Shape -> Gather -> Unsqueeze(axes attribute) -> Concat;
    3. Slice-1 pieces + Concat that swap the halves (a permutation), then Gather(axis=1) with indices from a
       Constant node (a 3-cycle of channels) feeding a dense conv.
    """
    rng = np.random.default_rng(seed)
    nodes, inits, counter = [], [], iter(range(10**6))

    def node(op, inputs, **attrs):
        out = f"{op.lower()}_{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], name=f"{op}_{next(counter)}", **attrs))
        return out

    def constant(array):
        return node("Constant", [], value=numpy_helper.from_array(np.asarray(array), "value"))

    def weight(array, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), f"w_{next(counter)}"))
        return inits[-1].name

    def conv(x, c_in, c_out, groups=1, kernel=1):
        w = rng.standard_normal((c_out, c_in // groups, kernel, kernel)) * (c_in // groups * kernel**2) ** -0.5
        bias = weight(rng.standard_normal(c_out) * 0.1)
        return node("Conv", [x, weight(w), bias], group=groups, kernel_shape=[kernel] * 2, pads=[kernel // 2] * 4)

    def bn(x, c):
        params = [rng.uniform(0.5, 1.5, c), rng.standard_normal(c) * 0.1, rng.standard_normal(c) * 0.1]
        return node("BatchNormalization", [x, *map(weight, params), weight(rng.uniform(0.5, 1.5, c))], epsilon=1e-5)

    def dim(x, axis):
        gathered = node("Gather", [node("Shape", [x]), constant(np.array(axis))], axis=0)
        return node("Unsqueeze", [gathered], axes=[0])

    def target(x, dims, dynamic):
        """A constant target, or the batch read from x's Shape beside constants (b = x.size(0))."""
        if not dynamic:
            return constant(np.array(dims))
        return node("Concat", [dim(x, 0), *(constant(np.array([d])) for d in dims[1:])], axis=0)

    def channel_shuffle(x, groups, dynamic):
        y = node("Reshape", [x, target(x, [0, groups, channels // groups, size, size], dynamic)])
        y = node("Transpose", [y], perm=[0, 2, 1, 3, 4])
        return node("Reshape", [y, target(x, [0, -1, size, size], dynamic)])

    def half(x, which):
        return node("Slice", [x], axes=[1], starts=[which * channels // 2], ends=[(which + 1) * channels // 2])

    x = node("Relu", [bn(conv("x", channels, channels, 3), channels)])
    x = channel_shuffle(x, 3, dynamic=False)
    x = bn(conv(bn(conv(x, channels, channels, channels, 3), channels), channels, channels, 3), channels)
    branch = node("Relu", [bn(conv(half(x, 1), channels // 2, channels // 2), channels // 2)])
    x = channel_shuffle(node("Concat", [half(x, 0), branch], axis=1), 2, dynamic=True)
    x = node("Concat", [half(x, 1), half(x, 0)], axis=1)
    cycle = np.r_[[1, 2, 0], 3:channels]
    x = node("Relu", [conv(node("Gather", [x, constant(cycle)], axis=1), channels, channels, kernel=3)])
    pooled = node("Flatten", [node("GlobalAveragePool", [x])], axis=1)
    y = node("Gemm", [pooled, weight(rng.standard_normal((10, channels)) * 0.3), weight(np.zeros(10))], transB=1)
    weights = [helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in inits]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", channels, size, size]), *weights]
    output = helper.make_tensor_value_info(y, TensorProto.FLOAT, ["N", 10])
    graph = helper.make_graph(nodes, "opset9_shufflenet", inputs, [output], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], producer_name="legacy")
    model.ir_version = 4
    onnx.checker.check_model(model, full_check=True)
    return model
