"""The README's examples run, and its target table is the one generated from the target table."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from igcv_deploy.targets import markdown_table

README = Path(__file__).parents[1] / "README.md"
COMMANDS = ("igcv-export", "igcv-profile", "python")
EXAMPLES = README.parent / "examples"


def usage_commands() -> list[str]:
    usage = README.read_text().split("## Usage", 1)[1].split("### Targets", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", usage, re.S)
    return [line for block in blocks for line in block.splitlines() if line.split(" ", 1)[0] in COMMANDS]


def test_target_table_is_generated():
    assert markdown_table() in README.read_text()


def test_readme_examples_run(tmp_path):
    commands = usage_commands()
    assert len(commands) >= 4
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    (tmp_path / "examples").symlink_to(EXAMPLES)  # the README's paths are relative to the repository root
    for command in commands:
        result = subprocess.run(shlex.split(command), cwd=tmp_path, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"{command}\n{result.stderr[-2000:]}"
    assert (tmp_path / "artifacts" / "readme-onnx.json").is_file()


@pytest.mark.parametrize("command", ["make demo", "make test"])
def test_two_commands_at_the_top(command):
    assert command in README.read_text().split("## Usage")[0]
