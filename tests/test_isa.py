"""CPU instruction-set classes: classification from CPU flags, --device spellings, the host's class."""

from __future__ import annotations

import platform

import pytest

from igcv_deploy.errors import UsageError
from igcv_deploy.isa import CLASS, classify, cpu_flags, host_class, resolve_device

X86_BASE = {"sse4_2", "avx", "avx2", "fma"}


@pytest.mark.parametrize(
    "flags, machine, expected",
    [
        (X86_BASE, "x86_64", "x86-avx2"),
        (X86_BASE | {"avx512f", "avx512bw"}, "x86_64", "x86-avx512"),
        (X86_BASE | {"avx512f", "avx512_vnni"}, "x86_64", "x86-vnni"),
        (X86_BASE | {"avx_vnni"}, "x86_64", "x86-vnni"),  # Alder Lake: VNNI without AVX-512
        (X86_BASE | {"avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16"}, "x86_64", "x86-avx512-bf16"),  # Zen 5
        (X86_BASE | {"avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16"}, "x86_64", "x86-avx512-bf16"),  # EMR, VM
        (X86_BASE | {"avx_vnni", "avx512_bf16"}, "x86_64", "x86-vnni"),  # bf16 without AVX-512 VNNI: not the class
        (X86_BASE | {"avx512f", "avx512_vnni", "amx_tile", "amx_int8"}, "x86_64", "x86-amx"),
        ({"fp", "asimd", "crc32"}, "aarch64", "arm"),
        ({"fp", "asimd", "asimddp", "fphp"}, "aarch64", "arm-dotprod"),
    ],
)
def test_classify(flags, machine, expected):
    assert classify(flags, machine) == expected


def test_int8_dot_classes_take_eight_bit_weights():
    assert {c.name for c in CLASS.values() if c.weight_bits == 8} == {
        "x86-vnni",
        "x86-avx512-bf16",
        "x86-amx",
        "arm-dotprod",
    }
    assert all("saturat" in c.weight_bits_reason for c in CLASS.values())


def test_cpu_flags_reads_x86_and_arm_cpuinfo():
    assert cpu_flags("processor\t: 0\nflags\t\t: fpu avx2 fma\n") == {"fpu", "avx2", "fma"}
    assert cpu_flags("processor\t: 0\nFeatures\t: fp asimd asimddp\n") == {"fp", "asimd", "asimddp"}


def test_host_class_matches_this_cpu():
    flags = cpu_flags()
    assert host_class().name == classify(flags, platform.machine())
    assert resolve_device(None) == resolve_device("host") == host_class()


def test_device_spellings():
    assert resolve_device("x86") == CLASS["x86-avx2"]
    assert resolve_device("arm-dotprod").arch == "arm"
    with pytest.raises(UsageError, match="unknown --device 'sparc'"):
        resolve_device("sparc")
