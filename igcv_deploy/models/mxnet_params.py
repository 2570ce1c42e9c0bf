"""Read MXNet NDArray-list files (the `.params` of `save_checkpoint` / `nd.save`) with numpy alone.

Byte layout, little-endian, as MXNet's NDArray::Save/Load write and read it (src/ndarray/ndarray.cc):

    file    := uint64 0x112 | uint64 0 (reserved) | uint64 n | array * n | uint64 m | name * m   (m = n, or 0)
    name    := uint64 length | UTF-8 bytes
    array   := uint32 magic | body
      magic 0xF993FAC9 (V2, MXNet 1.x):    int32 storage type (0 = dense) | shape64 | tail
      magic 0xF993FAC8 (V1, int64 shapes):                                   shape64 | tail
      any other magic (legacy, pre-V1) is ndim:          uint32 dims * ndim          | tail
    shape64 := uint32 ndim | int64 dims * ndim
    tail    := nothing if ndim == 0 (empty array), else
               int32 dev_type | int32 dev_id | int32 type flag | prod(dims) * itemsize bytes, C order
    type flag: 0 float32, 1 float64, 2 float16, 3 uint8, 4 int32, 5 int8, 6 int64

Sparse arrays (storage type != 0) never occur in model checkpoints and are refused.
"""

from __future__ import annotations

import struct
from math import prod

import numpy as np

from ..errors import IGCVError

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8
V2_MAGIC = 0xF993FAC9
MAX_LEGACY_NDIM = 32  # a legacy header's first word is ndim; anything larger is not a plausible array
DTYPES = {0: "<f4", 1: "<f8", 2: "<f2", 3: "u1", 4: "<i4", 5: "i1", 6: "<i8"}


def is_mxnet_params(head: bytes) -> bool:
    return len(head) >= 8 and struct.unpack_from("<Q", head)[0] == LIST_MAGIC


class _Reader:
    def __init__(self, data: bytes, name: str):
        self.data, self.name, self.pos = data, name, 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            problem = f"needs {size} bytes at offset {self.pos}, the file has {len(self.data)}"
            raise IGCVError(f"{self.name} is truncated or corrupt: {problem}", "download the .params file again")
        self.pos += size
        return self.data[self.pos - size : self.pos]

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def corrupt(self, what: str) -> IGCVError:
        return IGCVError(f"{self.name} is corrupt: {what} at offset {self.pos}", "download the .params file again")


def _read_array(reader: _Reader) -> np.ndarray:
    (magic,) = reader.unpack("I")
    if magic == V2_MAGIC:
        (storage,) = reader.unpack("i")
        if storage != 0:
            raise IGCVError(f"{reader.name} holds a sparse array (storage type {storage})", "save dense weights")
    if magic in (V1_MAGIC, V2_MAGIC):
        (ndim,) = reader.unpack("I")
        shape = reader.unpack(f"{ndim}q")
    elif magic <= MAX_LEGACY_NDIM:
        shape = reader.unpack(f"{magic}I")
    else:
        raise reader.corrupt(f"unknown array header 0x{magic:08x}")
    if not shape:
        return np.empty(0, np.float32)
    if min(shape) < 0:
        raise reader.corrupt(f"negative shape {shape}")
    _dev_type, _dev_id, flag = reader.unpack("iii")
    if flag not in DTYPES:
        raise reader.corrupt(f"unknown dtype flag {flag}")
    dtype = np.dtype(DTYPES[flag])
    return np.frombuffer(reader.take(prod(shape) * dtype.itemsize), dtype).reshape(shape)


def parse_params(data: bytes, name: str) -> dict[str, np.ndarray]:
    """name -> array for every entry of an MXNet NDArray-list file (names keep their arg:/aux: prefix)."""
    reader = _Reader(data, name)
    magic, _reserved = reader.unpack("QQ")
    if magic != LIST_MAGIC:
        raise IGCVError(f"{name} is not an MXNet NDArray file (magic 0x{magic:x})", "give a .params file")
    (count,) = reader.unpack("Q")
    arrays = [_read_array(reader) for _ in range(count)]
    (name_count,) = reader.unpack("Q")
    names = [reader.take(reader.unpack("Q")[0]).decode("utf-8", "replace") for _ in range(name_count)]
    if len(names) != len(arrays):
        raise reader.corrupt(f"{len(arrays)} arrays but {len(names)} names")
    if reader.pos != len(reader.data):
        raise reader.corrupt(f"{len(reader.data) - reader.pos} trailing bytes")
    return dict(zip(names, arrays))
