"""TensorRT-RTX only: the GPU architectures an ahead-of-time engine carries kernels for."""

from __future__ import annotations

from ...errors import UsageError

# What TensorRT-RTX 1.7 targets when none is set (measured; see docs/tensorrt.md).
DEFAULT_COMPUTE_CAPABILITIES = ("8.0", "8.6", "8.9", "12.0")


def compute_capabilities(trt) -> dict:
    """ "8.6" -> ComputeCapability.SM86, for every architecture this TensorRT-RTX knows."""
    return {
        f"{name[2:-1]}.{name[-1]}": member
        for name, member in trt.ComputeCapability.__members__.items()
        if name.startswith("SM")
    }


def resolve(trt, values: list[str]) -> list:
    """The ComputeCapability members for "8.6"-style values, or a UsageError naming the unknown ones."""
    known = compute_capabilities(trt)
    unknown = [value for value in values if value not in known]
    if unknown:
        raise UsageError(f"unknown --compute-capability {', '.join(unknown)}", f"choose from {', '.join(known)}")
    return [known[value] for value in values]


def set_compute_capabilities(trt, config, values: list[str]) -> list[str]:
    """Target the given architectures (none: the library default); returns what the engine targets."""
    members = resolve(trt, values)
    config.num_compute_capabilities = len(members)
    for index, member in enumerate(members):
        config.set_compute_capability(member, index)
    return list(values or DEFAULT_COMPUTE_CAPABILITIES)
