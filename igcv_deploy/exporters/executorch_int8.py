"""INT8 for the executorch target: PT2E (pt2e_int8.py) with ExecuTorch's XNNPACK quantizer."""

from __future__ import annotations

from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
    XNNPACKQuantizer,
    get_symmetric_quantization_config,
)
from torchao.quantization.pt2e.quantizer.utils import get_module_name_filter

from .pt2e_int8 import Pt2eScheme


def xnnpack_quantizer(float_layers=()) -> XNNPACKQuantizer:
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    if float_layers:
        # this quantizer refuses set_module_name(name, None): skip the float layers' nodes with a filter instead
        in_float = [get_module_name_filter(name) for name in float_layers]
        quantizer.set_filter_function(lambda node: not any(is_in(node) for is_in in in_float))
    return quantizer


XNNPACK = Pt2eScheme("pt2e xnnpack per-channel symmetric", xnnpack_quantizer)
