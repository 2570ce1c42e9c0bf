"""Runners that execute exported artifacts. Imports no torch: this subpackage runs on devices.

Every backend lives in its own module behind the small `Runner` base class and imports its
runtime lazily, so a missing backend never breaks the others.
"""

from .base import Runner, load_runner

__all__ = ["Runner", "load_runner"]
