"""What must not happen over SSH: a hostile name running a command, a wrong key or unknown host key getting in,
a remote process outliving Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from igcv_deploy.profiling.cli import main
from tests.profiling.conftest import QUICK
from tests.remote.conftest import remote_processes

HOSTILE_DEVICES = [
    "testdev;touch {marker}",
    "testdev' && touch '{marker}",
    "$(touch {marker})",
    "-oProxyCommand=touch {marker}",
    "testdev\ntouch {marker}",
    "ssh://root@127.0.0.1:22/;touch {marker}",
    "ssh://root;touch {marker}@127.0.0.1",
    "ssh://`touch {marker}`",
]


@pytest.mark.parametrize("template", HOSTILE_DEVICES)
def test_hostile_device_names_are_refused(sshd, small_bundle, tmp_path, capsys, template):
    marker = tmp_path / "marker"
    code = main([str(small_bundle), *QUICK, "--on", template.format(marker=marker), "--ssh-config", str(sshd.config)])
    assert code == 2 and capsys.readouterr().err.startswith("error: --on ")
    assert not marker.exists()


def test_a_hostile_bundle_path_runs_nothing(sshd, device, small_bundle, tmp_path, capsys):
    marker = tmp_path / "marker"
    hostile = shutil.copytree(small_bundle, tmp_path / f"b u'n\"d;le $(touch {marker}) `touch {marker}`")
    assert main([str(hostile), *QUICK, *sshd.args()]) == 0, capsys.readouterr().err
    assert not marker.exists()


def test_a_wrong_key_is_refused(sshd, capsys):
    config = sshd.client_config("wrong_key_config", str(sshd.folder / "wrong_key"), str(sshd.folder / "known_hosts"))
    assert main(["device", "info", "--on", "testdev", "--ssh-config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "error: testdev: cannot connect: root@127.0.0.1: Permission denied (publickey)." in err
    assert "authorized_keys" in err


def test_an_unknown_host_key_is_never_accepted(sshd, capsys):
    known_hosts = sshd.folder / "empty_known_hosts"
    known_hosts.write_text("")
    config = sshd.client_config("unknown_host_config", str(sshd.folder / "user_key"), str(known_hosts))
    assert main(["device", "info", "--on", "testdev", "--ssh-config", str(config)]) == 1
    assert "Host key verification failed" in capsys.readouterr().err
    assert known_hosts.read_text() == ""


def test_ctrl_c_stops_the_remote_process(sshd, device, small_bundle):
    slow = ["--warmup-time", "0", "--iterations", "5", "--duration", "120", "--quiet"]
    command = [sys.executable, "-m", "igcv_deploy.profiling.cli", str(small_bundle), *slow, *sshd.args()]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while not remote_processes(sshd) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert remote_processes(sshd), "the profile never started on the device"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130 and "error: interrupted" in err
    deadline = time.monotonic() + 5
    while remote_processes(sshd) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert remote_processes(sshd) == []


OLD_PYTHON = Path("/root/.pyenv/versions/3.8.18/bin/python3")


def test_setup_names_a_missing_python(sshd, capsys):
    assert main(["device", "setup", "--python", "python2.1", *sshd.args()]) == 1
    assert (
        "error: testdev: no python2.1 on the device (install Python 3.10+ or pass --python)" in capsys.readouterr().err
    )


@pytest.mark.skipif(not OLD_PYTHON.exists(), reason="needs a Python older than 3.10 on this machine (pyenv 3.8.18)")
def test_setup_refuses_an_old_python(sshd, capsys):
    assert main(["device", "setup", "--python", str(OLD_PYTHON), *sshd.args()]) == 1
    assert "error: testdev: Python 3.8.18 is too old (igcv-deploy needs 3.10 or newer)" in capsys.readouterr().err
