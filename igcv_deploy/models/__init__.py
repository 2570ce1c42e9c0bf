"""The model zoo: registry, families, checkpoint import, complexity counting."""

from .registry import ModelConfig, check_model_name, create_model, get_config, list_models, register_model

__all__ = ["ModelConfig", "check_model_name", "create_model", "get_config", "list_models", "register_model"]
