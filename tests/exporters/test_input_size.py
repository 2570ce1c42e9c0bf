"""Input size and preprocessing flags: parsing, the lower bound, and the activation-memory estimate."""

from __future__ import annotations

from types import SimpleNamespace

import psutil
import pytest

from igcv_deploy.errors import UsageError
from igcv_deploy.exporters import input_size
from igcv_deploy.exporters.input_size import check_input_size, parse_floats, parse_input_size

GIB = 1 << 30


def test_parse_input_size():
    assert parse_input_size("3,96,96") == (3, 96, 96)
    assert parse_input_size(" 1, 28 ,28") == (1, 28, 28)


@pytest.mark.parametrize("text", ["", "96", "3,96", "3,96,96,1", "3,96,x", "3.0,96,96", "3;96;96"])
def test_parse_input_size_refuses_bad_text(text):
    with pytest.raises(UsageError, match="--input-size must be C,H,W") as caught:
        parse_input_size(text)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("size", [(3, 0, 0), (3, -5, -5), (0, 224, 224), (3, 224, 0)])
def test_dimensions_below_one_are_refused(size):
    with pytest.raises(UsageError, match="has a dimension below 1"):
        check_input_size(size, 1)


def test_ordinary_sizes_pass():
    check_input_size((3, 224, 224), 13)
    check_input_size((1, 1, 1), 1)


def test_a_size_whose_activations_cannot_fit_is_refused():
    """--imgsz 100000: the input alone is 120 GB; the export used to end in an allocator error."""
    refusal = r"input size 3x100000x100000 needs about \d+\.\d GiB for the activations of 1 image"
    with pytest.raises(UsageError, match=refusal) as caught:
        check_input_size((3, 100000, 100000), 1)
    assert "GiB of memory is available" in str(caught.value)


def test_memory_estimate_is_input_bytes_times_the_factor(monkeypatch):
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(available=GIB))
    per_image = 3 * 224 * 224 * 4 * input_size.ACTIVATION_FACTOR
    fitting = GIB // per_image
    check_input_size((3, 224, 224), fitting)
    with pytest.raises(UsageError, match=rf"of {fitting + 1} image\(s\) at once, 1\.0 GiB of memory is available"):
        check_input_size((3, 224, 224), fitting + 1)


def test_parse_floats():
    assert parse_floats("0.5,0.5,0.5", "--mean", 3) == (0.5, 0.5, 0.5)
    assert parse_floats("0.229, 0.224, 0.225", "--std", 3) == (0.229, 0.224, 0.225)
    assert parse_floats("0,1", "--mean", 2) == (0.0, 1.0)
    assert parse_floats("2.5", "--std", 1) == (2.5,)


@pytest.mark.parametrize(
    "text, name, count, message",
    [
        ("0.5,a,0.5", "--mean", 3, "--mean must be comma-separated numbers"),
        ("", "--std", 3, "--std must be comma-separated numbers"),
        ("0.5,0.5", "--mean", 3, "--mean has 2 values for 3 channels"),
        ("0.5,0.5,0.5", "--std", 1, "--std has 3 values for 1 channels"),
        ("0.5,123.68,0.5", "--mean", 3, "--mean value 123.68 is out of range"),
        ("-0.1,0.5,0.5", "--mean", 3, "--mean value -0.1 is out of range"),
        ("nan,0.5,0.5", "--mean", 3, "--mean value nan is out of range"),
        ("0.2,0,0.2", "--std", 3, "--std value 0 is out of range"),
        ("0.2,-0.2,0.2", "--std", 3, "--std value -0.2 is out of range"),
        ("0.2,inf,0.2", "--std", 3, "--std value inf is out of range"),
    ],
)
def test_parse_floats_refuses(text, name, count, message):
    with pytest.raises(UsageError, match=message) as caught:
        parse_floats(text, name, count)
    assert caught.value.exit_code == 2
