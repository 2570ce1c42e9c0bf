"""The model zoo: registry, families, checkpoint import, complexity counting.

Importing this package registers every family (each module registers its factories on import).
"""

from . import igcv1, igcv2, igcv3, mobilenet, shipped  # noqa: F401
from .registry import ModelConfig, check_model_name, create_model, get_config, list_models, register_model

__all__ = ["ModelConfig", "check_model_name", "create_model", "get_config", "list_models", "register_model"]
