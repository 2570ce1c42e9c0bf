"""The one base class every runtime's runner implements: parity runs and timing on the same engine."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import IGCVError


class Runner(ABC):
    """Loads one artifact with one thread setting and runs it on numpy inputs.

    Parity (export checks): `run`, `run_batches`. Timing (igcv-profile): `input_shape`, `bind`, `config`,
    `run_extras`, `layer_times`.
    """

    name: str = ""  # the runtime's name in igcv_deploy.runtimes.registry
    precision: str | None = None  # what runs; None: the artifact's own precision (the runtime runs it as stored)

    def __init__(self, path: str | Path, threads: int | None = None):
        self.path = Path(path)
        self.threads = threads

    @property
    @abstractmethod
    def version(self) -> str:
        """Version of the runtime library."""

    @abstractmethod
    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Run the model on one NCHW batch and return its first output."""

    @abstractmethod
    def input_shape(self) -> list[int | None]:
        """Shape of the first input; dynamic dimensions are None."""

    @abstractmethod
    def bind(self, inputs: np.ndarray) -> Callable[[], object]:
        """Bind pre-allocated inputs; return the zero-argument call the timing loop repeats."""

    def run_all(self, inputs: np.ndarray) -> list[np.ndarray]:
        """Every output of the model, in order (runners of multi-output runtimes override this)."""
        return [self.run(inputs)]

    def run_batches(self, images: np.ndarray, batch: int = 1) -> np.ndarray:
        """Run a stack of images through a static-batch model, `batch` at a time; its first output."""
        return self.run_batches_all(images, batch)[0]

    def run_batches_all(self, images: np.ndarray, batch: int = 1) -> list[np.ndarray]:
        """Every output for a stack of images run `batch` at a time."""
        if len(images) % batch:
            raise ValueError(f"{len(images)} images cannot be split into batches of {batch}")
        runs = [self.run_all(images[i : i + batch]) for i in range(0, len(images), batch)]
        return [np.concatenate(parts) for parts in zip(*runs)]

    def config(self) -> dict:
        """The settings actually in effect (read back from the runtime where it tells)."""
        return {}

    def run_extras(self, inputs: np.ndarray, timed: int, seconds: float) -> dict:
        """Extra fields for a run that just timed `timed` calls (CUDA phase times, asynchronous throughput)."""
        return {}

    def layer_times(self, inputs: np.ndarray, runs: int) -> dict:
        """{source, runs, layers: [{name, op_type, ms}], ...}: mean per-layer times over `runs` inferences."""
        raise IGCVError(f"per-layer profiling is not available for {self.name}")
