"""Write MXNet NDArray-list files from numpy, following MXNet's NDArray::Save (src/ndarray/ndarray.cc).

An independent writer for the reader in igcv_deploy/models/mxnet_params.py, with the three array
layouts MXNet has used: "v2" (magic 0xF993FAC9 + storage type, MXNet >= 0.11), "v1" (magic
0xF993FAC8, int64 shape) and "legacy" (no magic: uint32 ndim + uint32 dims).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

TYPE_FLAGS = {
    np.dtype("float32"): 0,
    np.dtype("float64"): 1,
    np.dtype("float16"): 2,
    np.dtype("uint8"): 3,
    np.dtype("int32"): 4,
    np.dtype("int8"): 5,
    np.dtype("int64"): 6,
}
CPU = (1, 0)  # Context: dev_type kCPU = 1, dev_id 0


def _array(a: np.ndarray, layout: str) -> bytes:
    a = np.ascontiguousarray(a)
    if layout == "legacy":
        header = struct.pack(f"<I{a.ndim}I", a.ndim, *a.shape)
    else:
        magic = struct.pack("<Ii", 0xF993FAC9, 0) if layout == "v2" else struct.pack("<I", 0xF993FAC8)
        header = magic + struct.pack(f"<I{a.ndim}q", a.ndim, *a.shape)
    context_and_type = struct.pack("<iii", *CPU, TYPE_FLAGS[a.dtype])
    return header + context_and_type + a.astype(a.dtype.newbyteorder("<")).tobytes()


def write_params(path: Path, arrays: dict[str, np.ndarray], layout: str = "v2") -> Path:
    chunks = [struct.pack("<QQQ", 0x112, 0, len(arrays))]
    chunks += [_array(a, layout) for a in arrays.values()]
    chunks.append(struct.pack("<Q", len(arrays)))
    chunks += [struct.pack("<Q", len(name.encode())) + name.encode() for name in arrays]
    path.write_bytes(b"".join(chunks))
    return path
