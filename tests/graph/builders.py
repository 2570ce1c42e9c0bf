"""Small ONNX graphs built in code: convs, channel-wise ops and every channel-permutation spelling."""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from igcv_deploy.graph.perm_algebra import digit_transpose, shuffle, source_runs

DIGIT_SPELLINGS = ("rtr5d", "rtr4d", "rtr_infer", "rtr_noise")
ANY_SPELLINGS = ("gather", "gather_nd", "transposed_gather", "slice_concat", "split_concat")


def spellings_for(perm) -> tuple[str, ...]:
    """The spellings that can express a permutation."""
    perm = np.asarray(perm)
    extra = ("strided_slices",) if _stride_groups(perm) else ()
    return ANY_SPELLINGS + (DIGIT_SPELLINGS if digit_transpose(perm) else ()) + extra


def _stride_groups(perm) -> int | None:
    """g when perm == concat(x[:, j::g] for j < g), 1 < g < C."""
    size = len(perm)
    for groups in range(2, size):
        if size % groups == 0 and np.array_equal(
            perm, np.concatenate([np.arange(j, size, groups) for j in range(groups)])
        ):
            return groups
    return None


class Net:
    """A graph under construction with tracked static shapes (batch may be symbolic 'N')."""

    def __init__(self, channels: int = 8, size: int = 6, seed: int = 0, dynamic_batch: bool = False, opset: int = 17):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.batch = "N" if dynamic_batch else 1
        self.opset = opset
        self.shapes = {"x": [self.batch, channels, size, size]}
        self._count = 0

    def _name(self, base: str) -> str:
        self._count += 1
        return f"{base}_{self._count}"

    def const(self, array, base: str = "c") -> str:
        name = self._name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], shape: list | None, outputs: int = 1, **attrs) -> str | list[str]:
        names = [self._name(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=self._name(op_type), **attrs))
        for name in names:
            self.shapes[name] = shape
        return names[0] if outputs == 1 else names

    def channels(self, x: str) -> int:
        return self.shapes[x][1]

    def randn(self, *shape, scale: float = 1.0) -> np.ndarray:
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    # layers ---------------------------------------------------------------------------------
    def conv(self, x: str, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1, bias: bool = True) -> str:
        n, c_in, h, w = self.shapes[x]
        weight = self.randn(c_out, c_in // groups, kernel, kernel, scale=(c_in // groups * kernel * kernel) ** -0.5)
        inputs = [x, self.const(weight, "w")] + ([self.const(self.randn(c_out), "b")] if bias else [])
        pad = kernel // 2
        size = [(d + 2 * pad - kernel) // stride + 1 for d in (h, w)]
        return self.op(
            "Conv",
            inputs,
            [n, c_out, *size],
            group=groups,
            kernel_shape=[kernel] * 2,
            pads=[pad] * 4,
            strides=[stride] * 2,
        )

    def depthwise(self, x: str, stride: int = 1) -> str:
        return self.conv(x, self.channels(x), 3, stride, groups=self.channels(x))

    def bn(self, x: str) -> str:
        c = self.channels(x)
        params = [
            self.rng.uniform(0.5, 1.5, c),
            self.rng.standard_normal(c),
            self.rng.standard_normal(c) * 0.1,
            self.rng.uniform(0.5, 1.5, c),
        ]
        return self.op(
            "BatchNormalization", [x] + [self.const(p.astype(np.float32), "bn") for p in params], self.shapes[x]
        )

    def act(self, x: str, kind: str = "Relu") -> str:
        if kind == "Clip":
            return self.op("Clip", [x, self.const(np.float32(0)), self.const(np.float32(6))], self.shapes[x])
        return self.op(kind, [x], self.shapes[x])

    def channel_const(self, x: str, op_type: str = "Add", rank: int = 3) -> str:
        shape = ([1] * (rank - 3)) + [self.channels(x), 1, 1]
        return self.op(op_type, [x, self.const(self.randn(*shape).reshape(shape), "k")], self.shapes[x])

    def pool(self, x: str, kind: str = "AveragePool") -> str:
        n, c, h, w = self.shapes[x]
        if kind == "MaxPool":
            return self.op("MaxPool", [x], [n, c, h, w], kernel_shape=[3, 3], pads=[1] * 4)
        return self.op("AveragePool", [x], [n, c, h // 2, w // 2], kernel_shape=[2, 2], strides=[2, 2])

    def add(self, a: str, b: str) -> str:
        return self.op("Add", [a, b], self.shapes[a])

    def head(self, x: str, classes: int = 5) -> str:
        n, c = self.shapes[x][:2]
        pooled = self.op("GlobalAveragePool", [x], [n, c, 1, 1])
        flat = self.op("Flatten", [pooled], [n, c], axis=1)
        fc = [self.const(self.randn(classes, c, scale=c**-0.5), "fc"), self.const(self.randn(classes), "fcb")]
        return self.op("Gemm", [flat, *fc], [n, classes], transB=1)

    # permutation spellings --------------------------------------------------------------------
    def permute(self, x: str, perm, spelling: str) -> str:
        perm = np.asarray(perm, dtype=np.int64)
        shape = self.shapes[x]
        if spelling in DIGIT_SPELLINGS:
            return self._reshape_transpose(x, perm, spelling)
        if spelling == "rtr_shape_ops":
            return self._torch_channel_shuffle(x, perm)
        if spelling == "gather":
            return self.op("Gather", [x, self.const(perm, "idx")], shape, axis=1)
        if spelling == "gather_nd":  # torch's x[:, perm] from the dynamo exporter
            swap = [1, 0, *range(2, len(shape))]
            y = self.op("Transpose", [x], None, perm=swap)
            y = self.op("GatherND", [y, self.const(perm[:, None], "idx")], None)
            return self.op("Transpose", [y], shape, perm=swap)
        if spelling == "transposed_gather":  # channels last, Gather on the last axis, channels back
            last = len(shape) - 1
            y = self.op("Transpose", [x], None, perm=[0, *range(2, len(shape)), 1])
            y = self.op("Gather", [y, self.const(perm - len(perm), "idx")], None, axis=last)
            return self.op("Transpose", [y], shape, perm=[0, last, *range(1, last)])
        if spelling == "slice1_concat":  # opset < 10: Slice bounds are attributes
            pieces = [
                self.op("Slice", [x], None, axes=[1], starts=[start], ends=[start + n])
                for start, n in source_runs(perm)
            ]
            return self.op("Concat", pieces, shape, axis=1)
        if spelling == "split_concat":
            runs = source_runs(perm)
            ordered = sorted(runs)
            parts = self.op(
                "Split", [x, self.const(np.array([n for _, n in ordered]), "split")], None, len(runs), axis=1
            )
            parts = [parts] if isinstance(parts, str) else parts
            return self.op("Concat", [parts[ordered.index(run)] for run in runs], shape, axis=1)
        if spelling == "slice_concat":
            return self.op(
                "Concat", [self._slice(x, start, start + n, 1) for start, n in source_runs(perm)], shape, axis=1
            )
        if spelling == "strided_slices":
            groups = _stride_groups(perm)
            return self.op("Concat", [self._slice(x, j, len(perm), groups) for j in range(groups)], shape, axis=1)
        raise ValueError(spelling)

    def _slice(self, x: str, start: int, end: int, step: int) -> str:
        consts = [self.const(np.array([v]), "s") for v in (start, end, 1, step)]
        return self.op("Slice", [x, *consts], None)

    def _reshape_transpose(self, x: str, perm, spelling: str) -> str:
        radices, axes = digit_transpose(perm)
        n, c, *spatial = self.shapes[x]
        batch = n if isinstance(n, int) else -1
        k = len(radices)
        if spelling == "rtr4d":
            split, back = [batch, *radices, math.prod(spatial)], [batch, c, *spatial]
            order = [0, *(1 + a for a in axes), k + 1]
        else:
            split, back = [batch, *radices, *spatial], [batch, c, *spatial]
            order = [0, *(1 + a for a in axes), *range(k + 1, k + 1 + len(spatial))]
        if spelling == "rtr_infer":
            split, back = [0, *radices[:-1], -1, *spatial], [0, -1, *spatial]
        if spelling == "rtr_noise":
            split_shape, back_shape = self._with_runtime_batch(x, split[1:]), self._with_runtime_batch(x, back[1:])
        else:
            split_shape, back_shape = self.const(np.array(split), "shape"), self.const(np.array(back), "shape")
        a = self.op("Reshape", [x, split_shape], None)
        b = self.op("Transpose", [a], None, perm=order)
        return self.op("Reshape", [b, back_shape], self.shapes[x])

    def _torch_channel_shuffle(self, x: str, perm) -> str:
        """torchvision's channel_shuffle as TorchScript exports it with a dynamic batch: b, c, h, w read from
        Shape(x), view(b, g, c // g, h, w) (a Div), transpose(1, 2), view(b, -1, h, w)."""
        (groups, _), axes = digit_transpose(perm)
        assert axes == (1, 0) and len(self.shapes[x]) == 4, "a 2-digit shuffle of a 4-D tensor"

        def dim(i):  # Unsqueeze(Gather(Shape(x), i)): one dim as a 1-D vector
            read = self.op("Gather", [self.op("Shape", [x], None), self.const(np.array(i), "i")], None, axis=0)
            return read if i == 1 else self.op("Unsqueeze", [read, self.const(np.array([0]), "axes")], None)

        b, c, h, w = (dim(i) for i in range(4))
        per_group = self.op("Div", [c, self.const(np.array(groups), "g")], None)
        per_group = self.op("Unsqueeze", [per_group, self.const(np.array([0]), "axes")], None)
        g, rest = self.const(np.array([groups]), "g"), self.const(np.array([-1]), "rest")
        y = self.op("Reshape", [x, self.op("Concat", [b, g, per_group, h, w], None, axis=0)], None)
        y = self.op("Transpose", [y], None, perm=[0, 2, 1, 3, 4])
        return self.op("Reshape", [y, self.op("Concat", [b, rest, h, w], None, axis=0)], self.shapes[x])

    def _with_runtime_batch(self, x: str, rest: list[int]) -> str:
        """Shape(x)[0] concatenated with constants: the exporter noise of a dynamic-batch reshape."""
        shape = self.op("Shape", [x], None)
        batch = self.op("Gather", [shape, self.const(np.array(0), "zero")], None, axis=0)
        batch = self.op("Unsqueeze", [batch, self.const(np.array([0]), "axes")], None)
        return self.op("Concat", [batch, self.const(np.array(rest), "rest")], None, axis=0)

    # the model --------------------------------------------------------------------------------
    def model(self, *outputs: str) -> onnx.ModelProto:
        def info(name):
            return helper.make_tensor_value_info(name, TensorProto.FLOAT, self.shapes[name])

        graph = helper.make_graph(self.nodes, "net", [info("x")], [info(o) for o in outputs], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        return model


def igc_block(net: Net, x: str, c_out: int, expansion: int = 6, groups: int = 2, stride: int = 1) -> str:
    """IGCV3's block: grouped 1x1 -> BN -> shuffle -> depthwise -> BN -> ReLU6 -> grouped 1x1 -> BN [+ x]."""
    mid = net.channels(x) * expansion
    y = net.permute(net.bn(net.conv(x, mid, groups=groups, bias=False)), shuffle(mid, groups), "rtr5d")
    y = net.bn(net.conv(net.act(net.bn(net.depthwise(y, stride)), "Clip"), c_out, groups=groups, bias=False))
    return net.add(x, y) if stride == 1 and c_out == net.channels(x) else y
