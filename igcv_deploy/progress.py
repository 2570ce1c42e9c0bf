"""Progress for long export steps: a spinner while a step runs, one line with its time when it ends."""

from __future__ import annotations

import contextlib
import sys
import time

_timings: dict[str, float] = {}


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


@contextlib.contextmanager
def step(label: str):
    """`with step("export to ONNX"):` shows a spinner on a terminal and logs the step's duration."""
    console = _console()
    start = time.perf_counter()
    try:
        with console.status(f"{label}...") if console.is_terminal else contextlib.nullcontext():
            yield
    except Exception as exc:
        if not hasattr(exc, "igcv_step"):  # the innermost step names where an unexpected failure happened
            with contextlib.suppress(AttributeError):  # an exception type with __slots__ keeps no attribute
                exc.igcv_step = label
        raise
    elapsed = time.perf_counter() - start
    _timings[label] = round(_timings.get(label, 0.0) + elapsed, 2)
    console.print(f"[green]✓[/green] {label} ({elapsed:.1f} s)")


def collect_timings() -> dict[str, float]:
    """Durations of the steps run since the last call, in order (for the manifest)."""
    timings = dict(_timings)
    _timings.clear()
    return timings


def progress_bar(iterable, label: str, enabled: bool = True):
    """A tqdm bar over `iterable` on a terminal; none when stderr is a file or pipe (CI logs stay readable)."""
    from tqdm import tqdm

    return tqdm(iterable, label, disable=not (enabled and sys.stderr.isatty()))
