"""Device facts: the ARM CPU profiles, what each core supports, and which OpenVINO precision it gets.

Stdlib only (no torch, no runtime): the OpenVINO exporter reads it for `--device arm`, and the
emulated-ARM test harness (tests/arm/emulator.py) emulates each profile's core from it.

The flags are measured under qemu with the pinned OpenVINO 2026.4.1 (docs/arm.md):
- On cortex-a72/a53 (ARMv8.0, no dotprod) `compile_model` fails on an INT8 IR with asymmetric
  activations (NNCF mixed preset): RuntimeError "... object is not initialized". OpenVINO 2025.4.1
  compiles the same IR there, and 2026.4.1 compiles it on cortex-a76. The symmetric IR that
  igcv-export writes (performance preset + overflow fix) does compile on a72.
- On every ARM core, an INT8 IGCV IR runs its convolutions in the float inference precision
  (f32 on a72, f16 on a76; grouped convs split per group, quantize/dequantize around them):
  no int8 arithmetic, so INT8 brings no speed-up there, only quantisation noise.
Decision: FP16 is the ARM default everywhere; INT8 is not offered on ARMv8.0 (`int8: False`);
on dotprod cores it compiles and matches x86 (`int8: True`) but is not the default.
`tests/arm/test_arm_emu.py::test_int8_known_failure_armv80` asserts the failure still happens, so
a fixed OpenVINO shows up as a failing test.
"""

from __future__ import annotations

# The OpenVINO versions the known failure was observed with (the test asserts it still happens
# only for these; a different version makes the check re-measure instead of assuming).
INT8_ARMV80_BROKEN_OPENVINO = ("2026.4.1",)
INT8_ARMV80_ERROR = "object is not initialized"

_V80_FEATURES = "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid"
_V82_FEATURES = "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"

# profile name == qemu -cpu name. midr: the value qemu reports for that core (MIDR_EL1); the
# emulated-ARM harness also writes it, with `features`, to the fake CPU files onnxruntime reads.
#   dotprod / fp16: ISA features (qemu's emulated hwcaps follow the core).
#   default_precision: what OpenVINO's CPU plugin picks with no INFERENCE_PRECISION_HINT
#                      (measured: f32 on ARMv8.0, f16 on cores with FP16 arithmetic).
#   export_precision:  what `igcv-export --target openvino --device arm` should write by default.
#   int8: INT8 IRs (both NNCF presets) compile and match x86 on this core with the pinned OpenVINO.
#   int8_convs: an INT8 IGCV IR runs int8 convolutions here (measured: no, see the module doc).
ARM_PROFILES: dict[str, dict] = {
    "cortex-a53": {
        "qemu_cpu": "cortex-a53",
        "board": "Raspberry Pi 3",
        "arch": "armv8.0-a",
        "midr": 0x410FD034,
        "features": _V80_FEATURES,
        "dotprod": False,
        "fp16": False,
        "default_precision": "f32",
        "export_precision": "fp16",
        "int8": False,
        "int8_convs": False,
    },
    "cortex-a72": {
        "qemu_cpu": "cortex-a72",
        "board": "Raspberry Pi 4",
        "arch": "armv8.0-a",
        "midr": 0x410FD083,
        "features": _V80_FEATURES,
        "dotprod": False,
        "fp16": False,
        "default_precision": "f32",
        "export_precision": "fp16",
        "int8": False,
        "int8_convs": False,
    },
    "cortex-a76": {
        "qemu_cpu": "cortex-a76",
        "board": "Raspberry Pi 5; stand-in for Jetson Orin A78AE and phone big cores",
        "arch": "armv8.2-a",
        "midr": 0x414FD0B1,
        "features": _V82_FEATURES,
        "dotprod": True,
        "fp16": True,
        "default_precision": "f16",
        "export_precision": "fp16",
        "int8": True,
        "int8_convs": False,
    },
    "neoverse-n1": {
        "qemu_cpu": "neoverse-n1",
        "board": "Ampere Altra / AWS Graviton2",
        "arch": "armv8.2-a",
        "midr": 0x414FD0C1,
        "features": _V82_FEATURES + " ssbs",
        "dotprod": True,
        "fp16": True,
        "default_precision": "f16",
        "export_precision": "fp16",
        "int8": True,
        "int8_convs": False,
    },
}

# The profiles the emulated-ARM stage covers (docs/arm.md); cortex-a53 / neoverse-n1 are optional extras.
CI_PROFILES = ("cortex-a72", "cortex-a76")


def get_profile(name: str) -> dict:
    try:
        return ARM_PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown ARM profile {name!r}; known: {', '.join(sorted(ARM_PROFILES))}") from None


def arm_precision_for(profile: str, requested: str | None = None) -> str:
    """The IR precision to export for an ARM core: the request if the core supports it, else FP16.

    `requested` is one of fp32/fp16/int8 or None (None -> the profile's export default).
    INT8 on a core whose `int8` flag is False falls back to FP16 (documented in docs/arm.md).
    """
    spec = get_profile(profile)
    if requested is None:
        return spec["export_precision"]
    if requested == "int8" and not spec["int8"]:
        return "fp16"
    return requested
