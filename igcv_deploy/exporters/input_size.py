"""Input size and preprocessing flags: parsed from text and checked before any export work starts.

The memory check refuses an input whose activations cannot fit in the memory available, instead of letting the
export end in an allocator error. Its estimate is the input tensor's bytes times ACTIVATION_FACTOR.
"""

from __future__ import annotations

import math

from ..errors import UsageError

# Peak memory of a no-grad PyTorch forward pass / bytes of its float32 input. Measured on the zoo as the growth of
# peak RSS over one forward in a fresh process (torch 2.13 CPU, 2 threads) at 224x224, batch 8; 448x448, batch 2
# gives the same ratios within 10%, so they do not depend on the size. ImageNet nets: mobilenetv1 25, igcv3-mxnet
# 26, mobilenetv2 29, igcv3 29, igcv2-1.0 30, igcv1-l100m2 47. CIFAR nets, whose stem does not downsample:
# igcv1-cifar 84, igcv1-resnet-cifar 100, igcv2-cifar 109, igcv3-cifar 177. Whole exports stay within it (peak RSS
# over that of a tiny input, per byte of the 13-image parity batch: igcv3-cifar --imgsz 128 110, mobilenetv2
# --imgsz 448 15). 200 is the worst zoo net with a margin: a user's own model is not known in advance.
ACTIVATION_FACTOR = 200
FLOAT32_BYTES = 4
GIB = 1 << 30
# per flag: whether a value is acceptable, and the rule as told to the user (0-1 pixel scale, like timm)
FLOAT_RULES = {
    "--mean": (lambda value: 0.0 <= value <= 1.0, "between 0 and 1 (pixels scaled to 0-1)"),
    "--std": (lambda value: value > 0.0, "greater than 0"),
}


def parse_input_size(text: str) -> tuple[int, int, int]:
    """'3,96,96' -> (3, 96, 96), the text of --input-size C,H,W."""
    try:
        channels, height, width = (int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(
            f"--input-size must be C,H,W (three integers), got '{text}'", "e.g. --input-size 3,224,224"
        ) from None
    return channels, height, width


def parse_floats(text: str, name: str, count: int) -> tuple[float, ...]:
    """'0.5,0.5,0.5' -> (0.5, 0.5, 0.5) for the flag `name` (--mean or --std): one value per channel."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"{name} must be comma-separated numbers, got '{text}'", f"e.g. {name} 0.5,0.5,0.5") from None
    if len(values) != count:
        raise UsageError(f"{name} has {len(values)} values for {count} channels", f"give {count} values")
    accept, rule = FLOAT_RULES[name]
    bad = [value for value in values if not (math.isfinite(value) and accept(value))]
    if bad:
        raise UsageError(f"{name} value {bad[0]:g} is out of range", f"every value must be {rule}")
    return values


def fixed_input_size(
    name: str, shape: list[int | None], requested: tuple[int, int, int] | None, fix: str
) -> tuple[int, int, int]:
    """(C, H, W) of a model whose file states its NCHW input `shape` (None: dynamic): the requested size where the
    file leaves it open, the file's own where it is fixed; a request that contradicts the file is a usage error."""
    fixed = shape[1:]
    if requested:
        if any(dim is not None and dim != want for dim, want in zip(fixed, requested)):
            shown = "x".join("?" if dim is None else str(dim) for dim in fixed)
            raise UsageError(
                f"{name} takes {shown} inputs, not {_shown(requested)}",
                f"drop --imgsz/--input-size to use the file's own size, {fix}",
            )
        return requested
    if None in fixed:
        raise UsageError(f"{name} has a dynamic input size {shape}", "pass --imgsz N or --input-size C,H,W")
    return tuple(fixed)


def check_single_input(name: str, count: int, names: str = "") -> None:
    """Refuse a model that takes other than one image tensor, in one sentence."""
    if count != 1:
        listed = f" ({names})" if names else ""
        raise UsageError(
            f"{name} takes {count} inputs{listed}; igcv-export exports single-image models",
            "wrap it in a module whose forward takes one NCHW image tensor",
        )


def check_input_size(input_size: tuple[int, int, int], batch: int) -> None:
    """Refuse a dimension below 1, and an input whose activations would not fit in the available memory.

    `batch`: the most images one forward pass of the export runs (the parity reference runs all its samples at once).
    """
    if min(input_size) < 1:
        shown = _shown(input_size)
        raise UsageError(f"input size {shown} has a dimension below 1", "give a positive channels, height and width")
    _check_memory(input_size, batch)


def _check_memory(input_size: tuple[int, int, int], batch: int) -> None:
    import psutil

    need = math.prod(input_size) * batch * FLOAT32_BYTES * ACTIVATION_FACTOR
    available = psutil.virtual_memory().available
    if need > available:
        raise UsageError(
            f"input size {_shown(input_size)} needs about {need / GIB:.1f} GiB for the activations of {batch} "
            f"image(s) at once, {available / GIB:.1f} GiB of memory is available",
            "use a smaller --imgsz / --input-size or --batch",
        )


def _shown(input_size: tuple[int, int, int]) -> str:
    return "x".join(map(str, input_size))
