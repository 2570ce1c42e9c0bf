"""Graph passes on exported ONNX models: channel-permutation folding (issue 4)."""

from .pipeline import PASSES, count_permutations, fold_permutations

__all__ = ["PASSES", "count_permutations", "fold_permutations"]
