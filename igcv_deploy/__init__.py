"""igcv-deploy: export, fold, quantise and profile IGCV networks for edge runtimes.

    import igcv_deploy
    bundle = igcv_deploy.export("igcv3", target="openvino", precision="int8")
    result = igcv_deploy.profile(bundle.path, threads=2)

Importing the package imports no torch; `export` loads it on first use.
"""

__version__ = "0.1.0"
__all__ = ["Bundle", "export", "profile", "__version__"]


def __getattr__(name: str):
    if name in ("export", "profile"):
        from . import api

        return getattr(api, name)
    if name == "Bundle":
        from .bundle import Bundle

        return Bundle
    raise AttributeError(f"module 'igcv_deploy' has no attribute {name!r}")
