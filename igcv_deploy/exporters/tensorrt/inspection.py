"""Per-layer information about a built engine, saved as engine_layers.json in the bundle.

IEngineInspector needs the engine deserialised, which needs a CUDA device; without one we keep
the parsed network's layers (name, type, output types: the precisions of a strongly typed network)
and record what was unavailable.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...runtimes.tensorrt import cuda_compute_capabilities

LAYERS_FILE = "engine_layers.json"


def inspect_engine(library, serialized, network, folder: Path) -> dict:
    """Write engine_layers.json; returns its summary for the manifest."""
    report = {"library": library.label, "network_layers": network_layers(network)}
    engine_info, unavailable = _engine_information(library, serialized)
    if engine_info is None:
        report["unavailable"] = {"engine_layers": unavailable}
        summary = {"source": "network definition", "layers": len(report["network_layers"]), "unavailable": unavailable}
    else:
        report["engine_layers"] = engine_info.get("Layers", [])
        summary = {"source": "engine inspector", "layers": len(report["engine_layers"])}
    (folder / LAYERS_FILE).write_text(json.dumps(report, indent=1) + "\n")
    return {"file": LAYERS_FILE, **summary}


def network_layers(network) -> list[dict]:
    return [_layer(network.get_layer(i)) for i in range(network.num_layers)]


def _layer(layer) -> dict:
    outputs = [layer.get_output(i) for i in range(layer.num_outputs)]
    return {"name": layer.name, "type": layer.type.name, "outputs": [t.dtype.name for t in outputs]}


def _engine_information(library, serialized) -> tuple[dict | None, str]:
    if not cuda_compute_capabilities():
        return None, "IEngineInspector needs the engine deserialised, which needs a CUDA device"
    engine = library.trt.Runtime(library.logger).deserialize_cuda_engine(serialized)
    if engine is None:
        return None, f"this GPU cannot deserialise the engine: {library.logger.last_error()}"
    inspector = engine.create_engine_inspector()
    return json.loads(inspector.get_engine_information(library.trt.LayerInformationFormat.JSON)), ""
