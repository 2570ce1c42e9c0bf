"""TensorRT <= 10 calibration cache (implicit INT8): lets a device build INT8 engines without the data.

Format: a header `TRT-<version>-<algorithm>`, then `<tensor>: <8 hex digits>` per tensor, the big-endian
IEEE-754 float32 bits of the scale amax / 127. TensorRT rejects a header whose version is not its own.
"""

from __future__ import annotations

import struct
from pathlib import Path

DEFAULT_VERSION = 100300  # TensorRT 10.3 (JetPack 6)
ALGORITHMS = {"entropy": "EntropyCalibration2", "minmax": "MinMaxCalibration"}


def cache_algorithm(method: str) -> str:
    """The header name for a calibration method (percentile and MSE ranges load like entropy ones)."""
    return ALGORITHMS.get(method, ALGORITHMS["entropy"])


def write_calibration_cache(
    amax: dict[str, float], path: Path, trt_version: int = DEFAULT_VERSION, algorithm: str = ALGORITHMS["entropy"]
) -> Path:
    lines = [f"TRT-{trt_version}-{algorithm}"]
    lines += [f"{name}: {struct.pack('>f', value / 127.0).hex()}" for name, value in amax.items()]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def read_calibration_cache(path: Path) -> tuple[str, dict[str, float]]:
    """(header, {tensor: scale})."""
    header, *lines = Path(path).read_text().splitlines()
    scales = {}
    for line in filter(None, lines):
        name, _, bits = line.rpartition(": ")
        scales[name] = struct.unpack(">f", bytes.fromhex(bits))[0]
    return header, scales
