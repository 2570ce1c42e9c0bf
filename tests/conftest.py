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


@pytest.fixture(scope="session", autouse=True)
def _private_tuning_store(tmp_path_factory):
    """Tests never read or write the user's ~/.cache, and exports do not measure this CPU unless a test asks
    (tests/test_tuning_store.py, tests/exporters/test_lowering.py clear IGCV_NO_TUNE): one quick tuning per
    export would cost the suite minutes."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    os.environ["IGCV_NO_TUNE"] = "1"
