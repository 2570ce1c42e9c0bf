"""The Python API, mirroring the CLI: export -> Bundle, profile -> result document."""

from __future__ import annotations

from .bundle import Bundle


def export(
    model,
    target: str = "onnx",
    precision: str | None = None,
    calib_data: str | None = None,
    output: str | None = None,
    **options,
) -> Bundle:
    """Export a model; same options as `igcv-export` (underscored), returns the verified Bundle.

    `model`: a registered name, "FILE.py:CALLABLE", "MODULE:CALLABLE", a .pt2 or .onnx path, or a torch.nn.Module.

    >>> bundle = export("igcv3-0.25", target="onnx", imgsz=64, output="artifacts/small", force=True)
    """
    from .exporters.context import ExportRequest
    from .exporters.pipeline import run_export

    given = {"precision": precision, "calib_data": calib_data, "output": output, **options}
    request = ExportRequest(model=model, target=target, **{k: v for k, v in given.items() if v is not None})
    explicit = {k for k, v in options.items() if v is not None} | {k for k in ("calib_data", "output") if given[k]}
    path, _ = run_export(request, explicit)
    return Bundle.load(path)


def profile(artifact, **options) -> dict:
    """Time a bundle or model file; options are `igcv-profile`'s flags, underscored (threads=2, per_layer=True)."""
    from .profiling.cli import build_request, profile_parser
    from .profiling.harness import profile as run_profile

    argv = [str(artifact)]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif isinstance(value, (list, tuple)):
            argv += [flag, *map(str, value)]
        elif value not in (None, False):
            argv += [flag, str(value)]
    return run_profile(build_request(profile_parser().parse_args(argv)))
