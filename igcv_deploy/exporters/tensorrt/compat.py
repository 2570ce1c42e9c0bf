"""Does TensorRT's ONNX parser accept a graph? Unsupported nodes are reported by name and op."""

from __future__ import annotations

from pathlib import Path

from ...errors import IGCVError
from .library import Library, load_library


class ParsedNetwork:
    """A network definition parsed from an ONNX file (keeps builder, network and parser alive together)."""

    def __init__(self, library: Library, path: Path):
        self.builder = library.trt.Builder(library.logger)
        self.network = self.builder.create_network(0)  # explicit batch; strongly typed on TRT 11 and RTX
        self.parser = library.trt.OnnxParser(self.network, library.logger)
        if not self.parser.parse_from_file(str(path)):
            raise IGCVError(
                f"{library.label} cannot parse {path.name}: {self._problems(path)}",
                "replace or remove these nodes, or export with a different --opset",
            )

    def _problems(self, path: Path) -> str:
        import onnx

        unsupported = [
            f"{node.name} ({node.op_type}): unsupported operator"
            for node in onnx.load(str(path), load_external_data=False).graph.node
            if not self.parser.supports_operator(node.op_type)
        ]
        errors = [self.parser.get_error(i) for i in range(self.parser.num_errors)]
        failed = [f"{e.node_name() or 'model'} ({e.node_operator() or '-'}): {e.desc()}" for e in errors]
        return "; ".join(dict.fromkeys(unsupported + failed))


def parser_library() -> Library:
    """TensorRT-RTX's parser runs without a GPU; a standard TensorRT install serves where RTX is missing."""
    try:
        return load_library("tensorrt_rtx")
    except IGCVError as missing:
        try:
            return load_library("tensorrt")
        except IGCVError:
            raise missing from None


def check_compatibility(folder: Path, files: list[str]) -> dict:
    """Parse each ONNX file with TensorRT's parser; returns the manifest section."""
    library = parser_library()
    for name in files:
        ParsedNetwork(library, folder / name)
    return {"parser": library.label, "accepted": files}
