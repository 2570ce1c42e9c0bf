"""TensorRT <= 10 calibration cache: header, hex float32 scales, exact round trip."""

from __future__ import annotations

import struct

import numpy as np

from igcv_deploy.calibration.trt_cache import cache_algorithm, read_calibration_cache, write_calibration_cache


def test_round_trip_is_exact(tmp_path):
    amax = {"input": 2.64, "/blocks/blocks.0/shuffle/Reshape_1_output_0": 1e-3, "x:0": 127.0}
    path = write_calibration_cache(amax, tmp_path / "calibration.cache")
    header, scales = read_calibration_cache(path)
    assert header == "TRT-100300-EntropyCalibration2"
    assert scales == {name: float(np.float32(value / 127)) for name, value in amax.items()}
    assert scales["x:0"] == 1.0


def test_lines_are_big_endian_float32_hex(tmp_path):
    path = write_calibration_cache(
        {"t": 127.0 * 0.5}, tmp_path / "c", trt_version=100700, algorithm=cache_algorithm("minmax")
    )
    assert path.read_text().splitlines() == ["TRT-100700-MinMaxCalibration", "t: 3f000000"]
    assert struct.unpack(">f", bytes.fromhex("3f000000"))[0] == 0.5
    assert cache_algorithm("mse") == "EntropyCalibration2"
