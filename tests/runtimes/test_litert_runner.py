"""The LiteRT runner on small .tflite files converted here by litert-torch: NCHW and NHWC inputs, operator counts,
the timing contract (bind, config) and the refusal of a file that is not a model."""

from __future__ import annotations

import numpy as np
import pytest

SIZE = 8


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(module, {layout: .tflite path}) for a 1x1 conv -> ReLU -> global pool -> linear net."""
    import litert_torch
    import torch

    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 5),
    ).eval()
    folder = tmp_path_factory.mktemp("tflite")
    example = torch.randn(1, 3, SIZE, SIZE)
    litert_torch.convert(module, (example,)).export(str(folder / "nchw.tflite"))
    nhwc = litert_torch.to_channel_last_io(module, args=[0])
    litert_torch.convert(nhwc, (example.permute(0, 2, 3, 1).contiguous(),)).export(str(folder / "nhwc.tflite"))
    return module, {"nchw": folder / "nchw.tflite", "nhwc": folder / "nhwc.tflite"}


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_runner_takes_nchw_batches_whatever_the_file_takes(tiny, layout):
    import torch

    from igcv_deploy.runtimes import load_runner

    module, paths = tiny
    runner = load_runner(paths[layout], threads=1)
    assert runner.name == "litert" and runner.input_shape() == [1, 3, SIZE, SIZE]
    assert runner.config()["input_layout"] == layout.upper() and runner.config()["input_dtype"] == "float32"
    images = np.random.default_rng(0).standard_normal((3, 3, SIZE, SIZE), dtype=np.float32)
    with torch.no_grad():
        reference = module(torch.from_numpy(images)).numpy()
    np.testing.assert_allclose(runner.run_batches(images), reference, rtol=1e-5, atol=1e-5)
    call = runner.bind(images[:1])
    call()
    np.testing.assert_allclose(runner._fetch(), reference[:1], rtol=1e-5, atol=1e-5)


def test_operator_counts_read_the_flatbuffer(tiny):
    from igcv_deploy.runtimes.litert import operator_counts

    _, paths = tiny
    nchw, nhwc = operator_counts(paths["nchw"]), operator_counts(paths["nhwc"])
    assert nchw["CONV_2D"] == 1 and nchw["FULLY_CONNECTED"] == 1 and nchw["TRANSPOSE"] == 1  # the input's
    assert nhwc["CONV_2D"] == 1 and "TRANSPOSE" not in nhwc


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    from igcv_deploy.errors import IGCVError
    from igcv_deploy.runtimes import load_runner

    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"not a flatbuffer")
    with pytest.raises(IGCVError, match="LiteRT cannot load"):
        load_runner(bad)
