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


def print_export_summary(output: Path, manifest: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 120)
    table = Table(title=f"{manifest['model']['name']} -> {manifest['target']} ({manifest['precision']})")
    for column in ("file", "size", "runtime", "max abs err", "max rel err", "cosine", "top-1 agree"):
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
                f"{parity['top1_agreement']:.3f}",
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
            f"{parity['max_rel_err']:.2e}, top-1 agreement {parity['top1_agreement']:.3f}"
        )
    for line in manifest.get("next_steps_notes", []):
        console.print(line)
    console.print(f"bundle: [bold]{output}[/bold]")
    console.print(f"next: igcv-profile {output}")
