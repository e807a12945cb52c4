"""Run ``netmon simulate`` as a real process, for every test that needs the simulated province."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIM_ENV = {
    "NETMON_SNMP_COMMUNITY": "agency-test",
    "NETMON_BTS_COMMUNITY": "bts-test",
    "NETMON_SNMPV3_AUTH_KEY": "auth-key-for-tests",
    "NETMON_SNMPV3_PRIV_KEY": "priv-key-for-tests",
    "NETMON_SSH_PASSWORD": "ssh-password-for-tests",  # the sample's ssh-noc: `netmon run` wants every secret in use
}


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def inventory_on_port(tmp: Path, port: int) -> Path:
    """A copy of the sample inventory whose agents listen on ``port`` (so tests never need 161)."""
    inv = tmp / "inventory"
    shutil.copytree(ROOT / "inventory", inv, ignore=shutil.ignore_patterns("scenarios"))
    profiles = inv / "profiles.yaml"
    text = profiles.read_text(encoding="utf-8")
    text = re.sub(r"(\n- name: snmp-[^\n]+\n)", rf"\1  port: {port}\n", text)
    profiles.write_text(text, encoding="utf-8")
    return inv


@dataclass
class SimProcess:
    proc: subprocess.Popen[str]
    port: int
    control: int
    inventory: Path
    ready_line: str
    prefix: list[str]

    def send(self, **step: object) -> dict[str, object]:
        """One control step; through ``prefix`` (e.g. ``ip netns exec NS``) when the simulator runs there."""
        line = json.dumps(step) + "\n"
        if self.prefix:
            client = ("import socket,sys; c=socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5);"
                      "c.sendall(sys.stdin.buffer.read()); print(c.makefile().readline())")
            reply = subprocess.run([*self.prefix, sys.executable, "-c", client, str(self.control)], input=line,
                                   capture_output=True, text=True, check=True, timeout=30).stdout
        else:
            with socket.create_connection(("127.0.0.1", self.control), timeout=5) as conn:
                conn.sendall(line.encode())
                reply = conn.makefile().readline()
        result: dict[str, object] = json.loads(reply)
        return result

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_simulator(tmp: Path, *extra: str, prefix: list[str] | None = None,
                    inventory: Path | None = None, port: int | None = None) -> SimProcess:
    port = port or free_port()
    inventory = inventory or inventory_on_port(tmp, port)
    control = free_port(socket.SOCK_STREAM)
    env = {**os.environ, **SIM_ENV}
    cmd = [*(prefix or []), sys.executable, "-m", "netmon", "simulate", "--inventory", str(inventory),
           "--control", f"127.0.0.1:{control}", *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("ready"):
            return SimProcess(proc, port, control, inventory, line, prefix or [])
        if not line and proc.poll() is not None:
            break
    proc.kill()
    _, err = proc.communicate(timeout=5)
    raise AssertionError(f"simulator did not start: {err[-2000:]}")


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    if shutil.which("snmpbulkwalk") is None:
        pytest.skip("net-snmp tools (Debian package snmp) are not installed")
    sim = start_simulator(tmp_path_factory.mktemp("sim"))
    yield sim
    sim.stop()
