"""The end-of-run summary: what was written, its parity, and what to run next."""

from __future__ import annotations

import sys
from pathlib import Path


def _size(path: Path) -> str:
    size = path.stat().st_size
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def agreement(parity: dict) -> tuple[str, str]:
    """(kind, value): top-1 agreement of class scores, per-pixel agreement of dense maps; none for other outputs."""
    if "top1_agreement" in parity:
        return "top-1", f"{parity['top1_agreement']:.3f}"
    if "pixel_agreement" in parity:
        return "per-pixel", f"{parity['pixel_agreement']:.3f}"
    return "no", "-"


def print_export_summary(output: Path, manifest: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 120)
    table = Table(title=f"{manifest['model']['name']} -> {manifest['target']} ({manifest['precision']})")
    for column in ("file", "size", "runtime", "max abs err", "max rel err", "cosine", "agreement"):
        table.add_column(column)
    artifacts = manifest.get("artifacts", {})
    for relative in manifest["files"]:
        parity = artifacts.get(relative, {}).get("parity")
        cells = (
            [
                parity["runtime"],
                f"{parity['max_abs_err']:.2e}",
                f"{parity['max_rel_err']:.2e}",
                f"{parity['cosine']:.6f}",
                " ".join(agreement(parity)),
            ]
            if parity
            else ["-"] * 5
        )
        table.add_row(relative, _size(output / relative), *cells)
    console.print(table)
    parity = manifest.get("parity", {})
    if parity:
        console.print(
            f"parity vs {parity['reference']} on {parity['n_samples']} real inputs: max rel err "
            f"{parity['max_rel_err']:.2e}, {' agreement '.join(agreement(parity))}"
        )
    if parity.get("limits", {}).get("against") == "pytorch-float64":
        exact = parity["float64"]
        console.print(
            f"judged against PyTorch in float64: PyTorch's own FP32 error is {exact['pytorch_fp32_max_rel_err']:.2e} "
            f"on this model, the artifact's {exact['artifact']['max_rel_err']:.2e} "
            f"(limit {parity['limits']['max_rel_err']:.2e})"
        )
    for line in manifest.get("next_steps_notes", []):
        console.print(line)
    console.print(f"bundle: [bold]{output}[/bold]")
    console.print(f"next: igcv-profile {output}")
