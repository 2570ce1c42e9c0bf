"""The tuning store: grouped-conv plans measured on a CPU, kept for the next export (in the spirit of FFTW's wisdom).

An entry is the plan `igcv-profile tune` or an export's tuning chose, with every block timing, keyed by what the
measurement depends on: the CPU (model name and the ISA flags the runtimes pick kernels by), the runtime and its
version, the precision the blocks ran in and the thread count. It lives in one JSON file,
`$XDG_CACHE_HOME/igcv-deploy/tuning.json` (`~/.cache/igcv-deploy/` when XDG_CACHE_HOME is unset), written
atomically (a temporary file renamed over it), so a crashed or concurrent writer never leaves half a file.

`record()` puts a plan measured anywhere into the store (a remote device's included: pass that CPU's model and
flags); `export_entries()` / `read_entries()` carry entries between machines (`igcv-profile tune --export FILE`,
`igcv-export --tuning FILE`). Stdlib only, like isa.py: devices without torch read and write it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from .errors import UsageError
from .isa import classify, cpu_flags

SCHEMA = 1
FILENAME = "tuning.json"
# What onnxruntime (MLAS), OpenVINO (oneDNN) and XNNPACK dispatch their kernels on; other flags (hypervisor, ...)
# do not change a plan and would split one CPU's entries.
KERNEL_FLAGS = frozenset(
    {"avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx_vnni"}
    | {"avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16", "amx_fp16", "avx_vnni_int8"}
    | {"asimd", "asimddp", "asimdhp", "i8mm", "bf16", "sve", "sve2", "sme"}
)
RUNTIME_PACKAGES = {"onnxruntime": "onnxruntime", "openvino": "openvino", "executorch": "executorch"}


@dataclass(frozen=True)
class Key:
    cpu_model: str
    isa_flags: tuple[str, ...]  # the KERNEL_FLAGS the CPU has, sorted
    runtime: str
    version: str
    precision: str  # the precision the blocks were timed in (INT8 exports tune FP32 blocks)
    threads: int

    def text(self) -> str:
        flags = " ".join(self.isa_flags)
        return f"{self.cpu_model} [{flags}] {self.runtime} {self.version} {self.precision} x{self.threads}"

    @property
    def isa_class(self) -> str:
        machine = "aarch64" if {"asimd", "asimddp"} & set(self.isa_flags) else "x86_64"
        return classify(set(self.isa_flags), machine)


def store_path() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "igcv-deploy" / FILENAME


def runtime_version(runtime: str) -> str:
    try:
        return metadata.version(RUNTIME_PACKAGES.get(runtime, runtime))
    except metadata.PackageNotFoundError:
        return "unknown"


def make_key(cpu_model: str, isa_flags, runtime: str, version: str, precision: str, threads: int) -> Key:
    return Key(cpu_model, tuple(sorted(set(isa_flags) & KERNEL_FLAGS)), runtime, version, precision, int(threads))


def host_key(runtime: str, precision: str, threads: int) -> Key:
    from .profiling.environment import cpu_model

    return make_key(cpu_model() or "unknown", cpu_flags(), runtime, runtime_version(runtime), precision, threads)


def read_entries(path: Path | None = None) -> list[dict]:
    """The entries of a store or exported file ([] when the store does not exist yet)."""
    path = path or store_path()
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text())
        entries = document["entries"]
        for entry in entries:
            Key(**{**entry["key"], "isa_flags": tuple(entry["key"]["isa_flags"])})
            if not isinstance(entry["plan"], dict):
                raise TypeError("plan is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UsageError(
            f"{path} is not a tuning store: {error}", "pass a file written by `igcv-profile tune --export`"
        ) from error
    return entries


def _write(entries: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = sorted(entries, key=lambda e: Key(**{**e["key"], "isa_flags": tuple(e["key"]["isa_flags"])}).text())
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
        json.dump({"schema": SCHEMA, "entries": entries}, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.replace(handle.name, path)


def record(
    plan: dict,
    cpu_model: str,
    isa_flags,
    runtime: str,
    version: str,
    precision: str,
    threads: int,
    blocks_ms: dict | None = None,
    how: str = "",
    path: Path | None = None,
) -> dict:
    """Store a plan measured on that CPU (replacing the entry with the same key); returns the stored entry."""
    key = make_key(cpu_model, isa_flags, runtime, version, precision, threads)
    entry = {"key": asdict(key) | {"isa_flags": list(key.isa_flags)}, "plan": dict(plan), "blocks_ms": blocks_ms or {}}
    entry["how"] = how
    path = path or store_path()
    others = [e for e in read_entries(path) if e["key"] != entry["key"]]
    _write([*others, entry], path)
    return entry


def record_host(tuned: dict, how: str, path: Path | None = None) -> dict:
    """Add a plan tuned on this host (`profiling.tune`'s result: runtime, precision, threads, plan, blocks_ms) to
    its entry: the block shapes it measured replace the stored ones, the others stay."""
    from .profiling.environment import cpu_model

    key = host_key(tuned["runtime"], tuned["precision"], tuned["threads"])
    entry = lookup(key, read_entries(path)) or {"plan": {}, "blocks_ms": {}}
    arguments = (cpu_model() or "unknown", key.isa_flags, key.runtime, key.version, key.precision, key.threads)
    blocks_ms = {**entry["blocks_ms"], **tuned["blocks_ms"]}
    return record({**entry["plan"], **tuned["plan"]}, *arguments, blocks_ms=blocks_ms, how=how, path=path)


def merge(entries: list[dict], path: Path | None = None) -> int:
    """Add entries carried from another machine (theirs replace ours where the keys are equal); how many."""
    for entry in entries:
        how = entry.get("how", "")
        record(entry["plan"], **_key_arguments(entry), blocks_ms=entry.get("blocks_ms"), how=how, path=path)
    return len(entries)


def _key_arguments(entry: dict) -> dict:
    return {k: entry["key"][k] for k in ("cpu_model", "isa_flags", "runtime", "version", "precision", "threads")}


def export_entries(destination: Path, path: Path | None = None) -> int:
    """Copy the whole store to `destination` (for `igcv-export --tuning` on another machine); how many entries."""
    entries = read_entries(path)
    _write(entries, destination)
    return len(entries)


def lookup(key: Key, entries: list[dict] | None = None) -> dict | None:
    """The entry stored under exactly this key (from the store unless `entries` is given)."""
    wanted = asdict(key) | {"isa_flags": list(key.isa_flags)}
    entries = read_entries() if entries is None else entries
    return next((e for e in entries if e["key"] == wanted), None)


def lookup_for_class(entries: list[dict], isa_class: str, runtime: str, precision: str, threads: int) -> dict | None:
    """An entry for a CPU of that class (a plan carried from the device an export is for): one, or an error."""
    found = [
        e
        for e in entries
        if (e["key"]["runtime"], e["key"]["precision"], e["key"]["threads"]) == (runtime, precision, threads)
        and make_key(**_key_arguments(e)).isa_class == isa_class
    ]
    if len({make_key(**_key_arguments(e)).cpu_model for e in found}) > 1:
        raise UsageError(
            f"the tuning file holds {isa_class} plans from several CPUs for {runtime} {precision}",
            "export the device's own entries: igcv-profile tune --export FILE on that device",
        )
    return found[-1] if found else None
