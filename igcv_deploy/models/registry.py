"""timm-style model registry: factories register themselves with their default config.

Imports no family: `igcv_deploy.models` imports them all, and each registers itself here.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

from ..errors import UsageError


@dataclass(frozen=True)
class ModelConfig:
    """Everything a deployment needs to know about a model besides its weights."""

    name: str
    input_size: tuple[int, int, int] = (3, 224, 224)
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    crop_pct: float = 0.875
    channel_order: str = "RGB"
    pixel_range: float = 1.0  # 1.0: pixels scaled to 0..1 before mean/std; 255.0: raw 0..255
    num_classes: int = 1000
    family: str = ""
    dataset: str = "imagenet"
    labels: tuple[str, ...] = ()
    notes: str = ""
    extra: dict = field(default_factory=dict)

    def with_overrides(self, **kw) -> ModelConfig:
        return replace(self, **kw)

    def preprocessing(self) -> dict:
        return {
            "mean": list(self.mean),
            "std": list(self.std),
            "input_size": list(self.input_size),
            "crop": self.crop_pct,
            "channel_order": self.channel_order,
            "pixel_range": self.pixel_range,
            "layout": "NCHW",
        }

    def as_dict(self) -> dict:
        return asdict(self)


_FACTORIES: dict[str, Callable] = {}
_CONFIGS: dict[str, ModelConfig] = {}


def register_model(config: ModelConfig):
    """Decorator: register `fn(**kw) -> nn.Module` under config.name."""

    def wrap(fn: Callable) -> Callable:
        if config.name in _FACTORIES:
            raise ValueError(f"model {config.name!r} registered twice")
        _FACTORIES[config.name] = fn
        _CONFIGS[config.name] = config
        return fn

    return wrap


def list_models() -> list[str]:
    return sorted(_FACTORIES)


def check_model_name(name: str) -> str:
    names = list_models()
    if name in names:
        return name
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else "see igcv-export --list-models"
    raise UsageError(f"unknown model '{name}'", hint)


def get_config(name: str) -> ModelConfig:
    return _CONFIGS[check_model_name(name)]


def create_model(name: str, **kw):
    """Build a registered model in eval mode."""
    model = _FACTORIES[check_model_name(name)](**kw)
    return model.eval()
