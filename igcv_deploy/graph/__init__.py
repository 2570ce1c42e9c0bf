"""Graph passes on exported ONNX models: channel-permutation folding (docs/architecture.md)."""

from .pipeline import RUNTIMES, count_permutations, fold_passes, fold_permutations

__all__ = ["RUNTIMES", "count_permutations", "fold_passes", "fold_permutations"]
