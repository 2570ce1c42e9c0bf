"""One multiplexed SSH connection to a device (the system's OpenSSH client) and the commands run through it.

The master connection (`ssh -f -N`, ControlMaster in a private temporary folder) authenticates once; every
command after it reuses it. BatchMode: nothing prompts, an unknown or changed host key fails as the user's ssh
config says. Remote commands are argv lists joined with shlex.quote; each records its PID on the device so a
timeout or Ctrl-C stops it there too.
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import tempfile
import uuid
from pathlib import Path

from ..errors import IGCVError
from .device import Device

CONNECT_TIMEOUT_S = 15
# ssh's own last words -> what the user should do
SSH_FIXES = (
    ("Permission denied", "authentication failed: add your public key to the device's authorized_keys"),
    ("Host key verification failed", "unknown or changed host key: check it, then add it to known_hosts"),
    ("REMOTE HOST IDENTIFICATION HAS CHANGED", "the device's host key changed: check it, then update known_hosts"),
    ("Could not resolve hostname", "unknown host or alias: check the name and your ssh config"),
    ("Connection refused", "nothing listens there: check the address and port, and that sshd runs"),
    ("timed out", "the device does not answer: check the address and the network"),
    ("No route to host", "the device does not answer: check the address and the network"),
)


class RemoteError(IGCVError):
    """A failure on or on the way to a device; `reason` is the line recorded for it in a fleet's results."""

    def __init__(self, device: Device, problem: str, fix: str | None = None, exit_code: int = 1):
        self.exit_code = exit_code
        super().__init__(f"{device.spec}: {problem}", fix)


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def ssh_failure(device: Device, stderr: str) -> RemoteError:
    line = last_line(stderr) or "ssh failed"
    fix = next((fix for needle, fix in SSH_FIXES if needle in stderr), "run `ssh` to the device by hand to see why")
    return RemoteError(device, f"cannot connect: {line}", fix)


class Connection:
    """`with Connection(device, ssh_config) as conn:` opens the master; `conn.run([...])` runs an argv there."""

    def __init__(self, device: Device, ssh_config: str | None = None):
        self.device = device
        self.ssh_config = ssh_config
        self._folder = None
        self._running: set[str] = set()  # PID files of commands in flight

    def __enter__(self) -> Connection:
        self._folder = tempfile.TemporaryDirectory(prefix="igcv-ssh-")
        with tempfile.TemporaryFile("w+") as errors:  # not a pipe: the master keeps its stderr open
            try:
                done = subprocess.run(
                    [*self.ssh("-o", "ControlMaster=yes", "-f", "-N")],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    timeout=CONNECT_TIMEOUT_S + 5,
                )
            except subprocess.TimeoutExpired:
                self._folder.cleanup()
                raise RemoteError(self.device, "cannot connect: no answer", SSH_FIXES[-1][1]) from None
            errors.seek(0)
            if done.returncode != 0:
                self._folder.cleanup()
                raise ssh_failure(self.device, errors.read())
        return self

    def __exit__(self, *exc) -> None:
        self.interrupt()
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run([*self.ssh("-O", "exit")], capture_output=True, timeout=CONNECT_TIMEOUT_S)
        self._folder.cleanup()

    def ssh(self, *options: str) -> list[str]:
        """The ssh argv up to and including the destination."""
        config = ["-F", self.ssh_config] if self.ssh_config else []
        return [
            "ssh",
            *config,
            "-o",
            "BatchMode=yes",
            "-o",
            f"ConnectTimeout={CONNECT_TIMEOUT_S}",
            "-o",
            "ServerAliveInterval=10",
            "-o",
            f"ControlPath={self._folder.name}/%C",
            *options,
            *self.device.ssh_args(),
            "--",
            self.device.host,
        ]

    def popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        return subprocess.Popen([*self.ssh("-o", "ControlMaster=no"), shlex.join(argv)], **kwargs)

    def run(self, argv: list[str], timeout: float | None = None, stdin=subprocess.DEVNULL) -> str:
        """Run argv on the device; its stdout. A non-zero exit raises a RemoteError with its last stderr line;
        a timeout or Ctrl-C stops the remote process before raising."""
        pid_file = f"/tmp/igcv-deploy-{uuid.uuid4().hex}.pid"
        wrapped = ["sh", "-c", 'echo "$$" > "$0"; exec "$@"', pid_file, *argv]
        process = self.popen(wrapped, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._running.add(pid_file)
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(pid_file)
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):  # the master holds the pipes until the remote ends
                process.communicate(timeout=CONNECT_TIMEOUT_S)
            raise RemoteError(self.device, f"timed out after {timeout:g} s", "raise --timeout") from None
        except BaseException:
            self.stop(pid_file)
            process.kill()
            raise
        self._running.discard(pid_file)
        self.remove(pid_file)
        if process.returncode == 255:
            raise ssh_failure(self.device, err.decode(errors="replace"))
        if process.returncode != 0:
            line = last_line(err.decode(errors="replace")).removeprefix("error: ")
            code = 2 if process.returncode == 2 else 1  # a usage error there is one here
            raise RemoteError(self.device, line or f"{argv[0]} exited with {process.returncode}", exit_code=code)
        return out.decode(errors="replace")

    def interrupt(self) -> None:
        """Stop every command this connection has running on the device."""
        for pid_file in list(self._running):
            self.stop(pid_file)

    def stop(self, pid_file: str) -> None:
        """Terminate the remote process that wrote pid_file."""
        self._running.discard(pid_file)
        self._best_effort(["sh", "-c", 'test -f "$0" && kill -TERM "$(cat "$0")" 2>/dev/null; rm -f "$0"', pid_file])

    def remove(self, path: str) -> None:
        """Delete a file on the device."""
        self._best_effort(["rm", "-f", path])

    def _best_effort(self, argv: list[str]) -> None:
        """Run argv on the device, ignoring failure (the device may be gone)."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
            self.popen(argv, **quiet).wait(CONNECT_TIMEOUT_S)

    def send_tree(self, local: Path, remote_script: list[str], timeout: float | None) -> None:
        """Stream `local`'s contents as a tar archive into remote_script's stdin (which unpacks it)."""
        tar = subprocess.Popen(["tar", "-C", str(local), "-cf", "-", "."], stdout=subprocess.PIPE)
        try:
            self.run(remote_script, timeout, stdin=tar.stdout)
        finally:
            tar.stdout.close()
            tar.wait()

    def read(self, path: str, timeout: float | None = None) -> str:
        return self.run(["cat", path], timeout)
