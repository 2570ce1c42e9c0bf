"""Errors the CLI turns into one clear line and an exit code (no traceback)."""

import signal
import threading

_interrupted = threading.Event()


def _on_interrupt(signum, frame):
    _interrupted.set()
    raise KeyboardInterrupt


def check_interrupted() -> None:
    """Raise KeyboardInterrupt if Ctrl-C arrived during a guarded command, even if a library swallowed it (seen
    once under load: an export interrupted with SIGINT still completed and exited 0)."""
    if _interrupted.is_set():
        raise KeyboardInterrupt


class IGCVError(Exception):
    """An expected failure: bad input, missing backend, failed check. Exit code 1."""

    exit_code = 1

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(self.line())

    def line(self) -> str:
        return f"{self.problem} ({self.fix})" if self.fix else self.problem


class UsageError(IGCVError):
    """Unknown model/target, bad or inapplicable flag. Exit code 2."""

    exit_code = 2


class MissingBackendError(IGCVError):
    """An optional dependency is not installed; says what to install."""

    def __init__(self, module: str, extra: str):
        super().__init__(
            f"the optional backend '{module}' is not installed",
            f"install it with: pip install 'igcv-deploy[{extra}]'",
        )


def require(module: str, extra: str):
    """Import an optional dependency lazily, or raise a MissingBackendError."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingBackendError(module, extra) from exc


def unexpected_failure(exc: Exception) -> str:
    """One line for an exception nobody expected: its type, its message (or that it has none) and the step."""
    message = " ".join(str(exc).split()) or "(no message)"
    step = getattr(exc, "igcv_step", None)
    return f"{type(exc).__name__}: {message}" + (f" during '{step}'" if step else "")


def run_guarded(command, argv: list[str], interrupted: str = "interrupted") -> int:
    """Run a CLI command: expected errors and crashes become one stderr line and an exit code."""
    import os
    import sys

    _interrupted.clear()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _on_interrupt) if in_main_thread else None
    try:
        code = command(argv)
        check_interrupted()
        return code
    except IGCVError as exc:
        print(f"error: {exc.line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"error: {interrupted}", file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected failure still gets one line; the traceback on request
        if os.environ.get("IGCV_DEBUG"):
            raise
        hint = "rerun with IGCV_DEBUG=1 for a traceback and report it"
        print(f"error: {unexpected_failure(exc)} ({hint})", file=sys.stderr)
        return 1
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)
