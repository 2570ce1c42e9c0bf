"""Importing this module registers every model family."""

from . import igcv1, igcv2, igcv3, mobilenet, shipped  # noqa: F401
