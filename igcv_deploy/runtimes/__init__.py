"""Runners that execute exported artifacts. Imports no torch: this subpackage runs on devices.

One `Runner` per runtime serves both jobs: parity runs during export and igcv-profile's timing. Every
runner lives in its own module and imports its runtime lazily, so a missing runtime never breaks the
others; `registry` names them and picks one for a file.
"""

from .base import Runner
from .registry import (
    RUNTIMES,
    RuntimeSpec,
    default_runtime,
    get_runtime,
    known_suffixes,
    load_runner,
    runtime_for,
    runtime_names,
    runtimes_listing,
)

__all__ = [
    "RUNTIMES",
    "Runner",
    "RuntimeSpec",
    "default_runtime",
    "get_runtime",
    "known_suffixes",
    "load_runner",
    "runtime_for",
    "runtime_names",
    "runtimes_listing",
]
