"""The base of every folding pass: an onnx-ir in-place pass bound to the run's shared FoldContext."""

from __future__ import annotations

from typing import ClassVar

import onnx_ir as ir

from ..ir_tools import FoldContext


class FoldPass(ir.passes.InPlacePass):
    """`call(model)` rewrites the model in place and returns PassResult(model, modified): whether it changed it."""

    name: ClassVar[str]  # the pass's key in the pipeline and the "pass" of its log entries

    def __init__(self, ctx: FoldContext):
        self.ctx = ctx.for_pass(self.name)
