"""The zoo as a table (`igcv-export --list-models`): name, family, size, input and where weights come from."""

from __future__ import annotations

import warnings

import torch

from .complexity import count_macs, count_params
from .registry import ModelConfig, create_model, get_config, list_models

COLUMNS = ("name", "family", "params", "MACs", "input", "weights")


def weights_source(config: ModelConfig) -> str:
    """shipped (trained weights inside the package), importable (--weights formats besides ours) or random-init."""
    if isinstance(config.extra.get("weights"), dict):
        return "shipped"
    foreign = [fmt for fmt in config.extra.get("weight_formats", ()) if fmt != "native"]
    return f"importable ({', '.join(foreign)})" if foreign else "random-init"


def complexity(name: str, config: ModelConfig) -> tuple[int, int]:
    """Parameters and MACs, counted on the meta device: shapes only, no weights allocated or loaded."""
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")  # shipped weights do not load into meta tensors; only sizes are needed
        model = create_model(name, num_classes=config.num_classes)
        return count_params(model), count_macs(model, config.input_size)


def model_rows() -> list[dict]:
    rows = []
    for name in list_models():
        config = get_config(name)
        params, macs = complexity(name, config)
        rows.append(
            {
                "name": name,
                "family": config.family,
                "params": params,
                "MACs": macs,
                "input": "x".join(map(str, config.input_size)),
                "weights": weights_source(config),
            }
        )
    return rows
