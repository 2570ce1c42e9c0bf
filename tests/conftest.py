"""Shared fixtures: a fast way to run the CLI in-process and a scratch artifacts folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from igcv_deploy.cli import main


@pytest.fixture
def run_cli(capsys):
    """Run igcv-export in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str):
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def read_manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text())


@pytest.fixture(scope="session", autouse=True)
def _two_threads():
    os.environ.setdefault("OMP_NUM_THREADS", "2")
