"""Importing this module registers every model family."""

from . import igcv3  # noqa: F401
