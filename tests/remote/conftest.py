"""A real OpenSSH server on 127.0.0.1 (throwaway keys in a temporary folder, stopped by its PID), the device
environment made once by `igcv-profile device setup`, and a small bundle to send to it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
ALIAS = "testdev"


@dataclass(frozen=True)
class Sshd:
    folder: Path
    port: int
    config: Path  # client ssh config: alias testdev, our key, our known_hosts (strict)
    cache: Path  # the device user's XDG_CACHE_HOME

    def args(self, *devices: str) -> list[str]:
        on = [a for device in devices or (ALIAS,) for a in ("--on", device)]
        return [*on, "--ssh-config", str(self.config)]

    def client_config(self, name: str, identity: str, known_hosts: str) -> Path:
        """Another client config for the same server (a wrong key, an empty known_hosts)."""
        path = self.folder / name
        path.write_text(
            f"Host {ALIAS}\n  HostName 127.0.0.1\n  Port {self.port}\n  User root\n"
            f"Host *\n  IdentityFile {identity}\n  IdentitiesOnly yes\n  UserKnownHostsFile {known_hosts}\n"
            "  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  User root\n"
        )
        return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def install_sshd() -> None:
    if SSHD.exists():
        return
    if os.geteuid() != 0:
        pytest.skip("openssh-server is not installed and installing it needs root: apt-get install openssh-server")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "openssh-server"], check=True, env=env, capture_output=True)


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def wait_listening(port: int, process: subprocess.Popen, log: Path) -> None:
    for _ in range(100):
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {log.read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("sshd did not start listening")


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    install_sshd()
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder (made by the service normally)
    folder = tmp_path_factory.mktemp("sshd")
    host_key, user_key = keygen(folder / "host_key"), keygen(folder / "user_key")
    keygen(folder / "wrong_key")
    shutil.copy(folder / "user_key.pub", folder / "authorized_keys")
    cache, port = folder / "device-cache", free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nStrictModes no\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        f"SetEnv XDG_CACHE_HOME={cache}\n"
    )
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {(folder / 'host_key.pub').read_text()}")
    log = folder / "sshd.log"
    process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stderr=log.open("w"))
    try:
        wait_listening(port, process, log)
        server = Sshd(folder, port, folder / "ssh_config", cache)
        server.client_config("ssh_config", str(user_key), str(folder / "known_hosts"))
        yield server
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(10)


@pytest.fixture(scope="session")
def device(sshd):
    """The device environment, made once per session by `igcv-profile device setup` (onnxruntime only)."""
    from igcv_deploy.profiling.cli import main

    started = time.perf_counter()
    assert main(["device", "setup", "--runtime", "onnxruntime", *sshd.args()]) == 0
    return {"setup_s": time.perf_counter() - started}


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory) -> Path:
    """igcv3-0.25 at 64x64 as an ONNX bundle, natively lowered so `tune` has blocks to time."""
    from igcv_deploy.cli import main

    out = tmp_path_factory.mktemp("remote") / "igcv3_small"
    assert main(["--model", "igcv3-0.25", "--imgsz", "64", "--lowering", "native", "--output", str(out)]) == 0
    return out


def remote_processes(sshd: Sshd) -> list[str]:
    """Command lines of the processes the 'device' runs with its igcv-deploy Python (not the ssh clients here)."""
    python = str(sshd.cache / "igcv-deploy" / "venv" / "bin" / "python")
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].decode(errors="replace") == python:
            found.append(b" ".join(argv).decode(errors="replace"))
    return found


class Watcher(threading.Thread):
    """Notes whether the device ever ran an igcv-deploy process while the block ran."""

    def __init__(self, sshd: Sshd):
        super().__init__(daemon=True)
        self.sshd, self.seen, self.done = sshd, False, threading.Event()

    def run(self):
        while not self.done.wait(0.1):
            self.seen = self.seen or bool(remote_processes(self.sshd))

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.join()
