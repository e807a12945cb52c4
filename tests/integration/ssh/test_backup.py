"""Facts and config backups over real SSH: fakenos devices (IOS, EOS, JunOS) in a subprocess on loopback.

Every device has realistic ``show version`` / config outputs full of secrets
(``tests/fixtures/ssh``). Around them: a TCP port that accepts and never speaks,
an SSH server that logs in and then never shows a prompt, a device that refuses
our password, and known_hosts files that do and do not know the keys.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import paramiko
import pytest
from sqlalchemy import Engine, select
from sshfake import PASSWORD, SECRETS, FakeHost, FakeNos, free_ports, write_netmon_inventory
from typer.testing import CliRunner

from netmon.inventory.load import Inventory, load_inventory
from netmon.ssh import backup
from netmon.ssh.backup import backup_job, run_backups
from netmon.ssh.session import SshSettings, ssh_targets
from netmon.store import backups
from netmon.store import models as m
from netmon.store import sync as syncer
from netmon.store.db import make_engine, upgrade

pytestmark = pytest.mark.integration
pytest.importorskip("fakenos", reason="fakenos (the simulated SSH devices) is not installed")

PASSWORD_ENV = "NETMON_TEST_SSH_PASSWORD"
GOOD = [("rt-ios", "cisco_ios", "127.84.0.1"), ("sw-eos", "arista_eos", "127.84.0.2"),
        ("fw-junos", "juniper_junos", "127.84.0.3")]
BAD_PASSWORD = "Not-The-Pass-42"
ROUTE = "ip route 10.84.99.0 255.255.255.0 10.84.1.2"


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def host_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, paramiko.RSAKey]:
    path = tmp_path_factory.mktemp("hostkey") / "ssh_host_rsa_key"
    key = paramiko.RSAKey.generate(2048)
    key.write_private_key_file(str(path))
    return path, key


@pytest.fixture(scope="module")
def fake(host_key: tuple[Path, paramiko.RSAKey], tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeNos]:
    """rt-ios / sw-eos / fw-junos, plus rt-badpw whose password is not the one in our profile."""
    ports = free_ports(len(GOOD) + 1)
    hosts = [FakeHost.realistic(name, platform, port, address)
             for (name, platform, address), port in zip(GOOD, ports, strict=False)]
    bad = FakeHost.realistic("rt-badpw", "cisco_ios", ports[-1], "127.84.0.9")
    bad.password = BAD_PASSWORD
    with FakeNos([*hosts, bad], host_key=host_key[0], workdir=tmp_path_factory.mktemp("fakenos")) as running:
        yield running


def known_hosts(path: Path, key: paramiko.PKey, endpoints: list[tuple[str, int]]) -> Path:
    path.write_text("".join(f"[{h}]:{p} {key.get_name()} {key.get_base64()}\n" for h, p in endpoints))
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeNos,
        host_key: tuple[Path, paramiko.RSAKey]) -> Path:
    """Credentials in the environment (as a profile's env: reference reads them); a known_hosts that knows all."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv("NETMON_TEST_COMMUNITY", "unused")
    path = known_hosts(tmp_path / "known_hosts", host_key[1], [(h.address, h.port) for h in fake.hosts])
    monkeypatch.setenv("NETMON_SSH_KNOWN_HOSTS", str(path))
    monkeypatch.setenv("NETMON_SSH_AUTO_ADD_HOST_KEYS", "false")
    return path


def inventory(tmp_path: Path, hosts: list[FakeHost], extra: Sequence[tuple[str, str, str, int]] = (),
              timeout_s: float = 5.0) -> Inventory:
    devices = [(h.name, h.platform, h.address, h.port) for h in hosts]
    return load_inventory(write_netmon_inventory(tmp_path / "inv", [*devices, *extra], password_env=PASSWORD_ENV,
                                                 timeout_s=timeout_s))


def synced_engine(url: str, inv: Inventory) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    syncer.apply(engine, syncer.plan(engine, inv))
    return engine


def fresh_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'netmon.db'}")
    upgrade(engine)
    return engine


def good_hosts(fake: FakeNos) -> list[FakeHost]:
    return [h for h in fake.hosts if h.name != "rt-badpw"]


# ------------------------------------------------------------------------------------- the happy path
def test_facts_backup_unchanged_changed_and_diff(db_url: str, tmp_path: Path, host_key: tuple[Path, paramiko.RSAKey],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Own fakenos (its configs get edited): facts stored, versions only on change, a correct diff."""
    ports = free_ports(len(GOOD))
    hosts = [FakeHost.realistic(name, platform, port, address)
             for (name, platform, address), port in zip(GOOD, ports, strict=True)]
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv("NETMON_SSH_KNOWN_HOSTS", str(known_hosts(tmp_path / "kh", host_key[1],
                                                                 [(h.address, h.port) for h in hosts])))
    inv = inventory(tmp_path, hosts)
    engine = synced_engine(db_url, inv)
    with FakeNos(hosts, host_key=host_key[0], workdir=tmp_path / "fakenos") as fake:
        first = asyncio.run(backup_job(inv, engine))
        assert {r.device_id: r.status for r in first.results} == {"rt-ios": "new", "sw-eos": "new",
                                                                  "fw-junos": "new"}, first.failed
        with engine.connect() as conn:
            rows = {r.id: r for r in conn.execute(select(m.Device.__table__))}  # type: ignore[attr-defined]
        assert (rows["rt-ios"].hardware, rows["rt-ios"].serial, rows["rt-ios"].os_version) == (
            "CISCO2911/K9", "FGL1931X1AB", "15.7(3)M8")
        assert (rows["sw-eos"].hardware, rows["sw-eos"].serial, rows["sw-eos"].os_version) == (
            "DCS-7050SX3-48YC8-R", "JPE21102345", "4.28.3M")
        assert (rows["fw-junos"].hardware, rows["fw-junos"].serial, rows["fw-junos"].os_version) == (
            "srx345", "CX3019AF0456", "21.4R3-S5.4")
        assert all(rows[d].facts_at is not None for d in ("rt-ios", "sw-eos", "fw-junos"))
        for device_id, platform, _ in GOOD:
            stored = backups.version_at(engine, device_id)
            assert stored is not None
            leaked = [s for s in SECRETS[platform][1] if s in stored.content]
            assert not leaked, f"{device_id}: {leaked}"
            assert "<removed>" in stored.content

        second = asyncio.run(backup_job(inv, engine))
        assert [r.status for r in second.results] == ["unchanged"] * 3
        assert len(backups.versions(engine, "rt-ios")) == 1

        # Someone edits rt-ios: a description and a new static route (and the volatile header moves on).
        ios = hosts[0]
        config = ios.outputs["show running-config"]
        ios.outputs["show running-config"] = (
            config.replace(" description LAN UBND Huyen Cau Ngang", " description LAN UBND Huyen Cau Ngang (moi)")
            .replace("ip forward-protocol nd\n", f"ip forward-protocol nd\n{ROUTE}\n")
            .replace("Current configuration : 6214 bytes", "Current configuration : 6288 bytes")
            .replace("09:12:33 ICT Mon May 6 2024", "10:01:02 ICT Tue May 7 2024"))
        fake.restart()
        third = asyncio.run(backup_job(inv, engine))
    assert {r.device_id: r.status for r in third.results} == {"rt-ios": "changed", "sw-eos": "unchanged",
                                                              "fw-junos": "unchanged"}
    old, new = backups.versions(engine, "rt-ios")
    new_v = backups.version_at(engine, "rt-ios")
    old_v = backups.version_before(engine, new_v)  # type: ignore[arg-type]
    assert old_v is not None and new_v is not None and (old_v.sha256, new_v.sha256) == (old.sha256, new.sha256)
    changes = [line for line in backup.unified_diff(old_v, new_v).splitlines()[2:] if line[:1] in "+-"]
    # Only the real edits: the moved "Current configuration"/"Last configuration change" headers are not.
    assert changes == ["- description LAN UBND Huyen Cau Ngang", "+ description LAN UBND Huyen Cau Ngang (moi)",
                       f"+{ROUTE}"]
    with engine.connect() as conn:
        kinds = [(e.object_id, e.kind) for e in conn.execute(select(m.Event.__table__))]  # type: ignore[attr-defined]
    assert kinds == [("rt-ios", "config_change")]


# ------------------------------------------------------------------------- one device never blocks others
class _SilentListener:
    """Accepts TCP connections and never says a word (a wedged SSH daemon, a middlebox)."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket()
        self.sock.bind((address, 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


class _MuteShell(paramiko.ServerInterface):  # type: ignore[misc]
    def check_auth_password(self, username: str, password: str) -> int:
        return paramiko.AUTH_SUCCESSFUL  # type: ignore[no-any-return]

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED  # type: ignore[no-any-return]

    def check_channel_pty_request(self, *args: Any) -> bool:
        return True

    def check_channel_shell_request(self, channel: Any) -> bool:
        return True


class _HangAfterLogin(_SilentListener):
    """A real SSH server that logs you in, opens a shell, and then never shows a prompt."""

    def __init__(self, address: str, key: paramiko.PKey) -> None:
        self.key = key
        self.transports: list[paramiko.Transport] = []
        super().__init__(address)

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(self.key)
            transport.start_server(server=_MuteShell())
            self.transports.append(transport)

    def close(self) -> None:
        super().close()
        for t in self.transports:
            t.close()


def test_hung_devices_time_out_without_blocking_the_others(
    env: Path, fake: FakeNos, tmp_path: Path, host_key: tuple[Path, paramiko.RSAKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    silent = _SilentListener("127.84.0.20")
    hang = _HangAfterLogin("127.84.0.21", host_key[1])
    with env.open("a") as fh:
        fh.write(f"[127.84.0.21]:{hang.port} {host_key[1].get_name()} {host_key[1].get_base64()}\n")
    monkeypatch.setenv("NETMON_SSH_DEADLINE_S", "4")
    try:
        inv = inventory(tmp_path, good_hosts(fake), extra=[("rt-silent", "cisco_ios", "127.84.0.20", silent.port),
                                                           ("rt-hang", "cisco_ios", "127.84.0.21", hang.port)],
                        timeout_s=2.0)
        engine = fresh_engine(tmp_path)
        started = time.monotonic()
        report = asyncio.run(backup_job(inv, engine))
        wall = time.monotonic() - started
    finally:
        silent.close()
        hang.close()
    by_id = {r.device_id: r for r in report.results}
    for device_id, _, _ in GOOD:
        assert by_id[device_id].status == "new", by_id[device_id].error
        assert by_id[device_id].elapsed_s < 3.5
    silent_error = by_id["rt-silent"].error
    assert silent_error is not None and silent_error.kind == "timeout"
    assert str(silent_error).startswith(f"rt-silent (127.84.0.20:{silent.port}): no SSH banner within 2 s")
    hang_error = by_id["rt-hang"].error
    assert hang_error is not None and hang_error.kind in ("deadline", "timeout"), hang_error
    assert "rt-hang" in str(hang_error)
    assert 1.5 < by_id["rt-silent"].elapsed_s < 3.5
    assert by_id["rt-hang"].elapsed_s < 4.5
    assert wall < 6.0, f"devices were waited for one after another ({wall:.1f} s)"
    # The deadline closed the session: the blocked netmiko thread ends instead of polling for minutes.
    give_up = time.monotonic() + 3
    while any(t.name == "ssh-rt-hang" for t in threading.enumerate()) and time.monotonic() < give_up:
        time.sleep(0.05)
    assert not any(t.name == "ssh-rt-hang" for t in threading.enumerate())


# --------------------------------------------------------------------------------- wrong credentials
def test_wrong_credentials_name_the_device_and_never_the_password(
    env: Path, fake: FakeNos, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = next(h for h in fake.hosts if h.name == "rt-badpw")
    inv = inventory(tmp_path, [fake.hosts[0], bad])
    caplog.set_level(logging.DEBUG)  # netmiko and paramiko at their most talkative
    report = asyncio.run(run_backups(fresh_engine(tmp_path), *ssh_targets(inv), config=False))
    by_id = {r.device_id: r for r in report.results}
    assert by_id["rt-ios"].error is None
    error = by_id["rt-badpw"].error
    assert error is not None and error.kind == "auth"
    assert str(error) == (f"rt-badpw (127.84.0.9:{bad.port}): authentication failed for user 'netops' "
                          f"(ssh profile ssh-rt-badpw); check the profile's credentials")
    assert PASSWORD not in caplog.text and BAD_PASSWORD not in caplog.text
    assert PASSWORD not in repr(report)


def test_unresolvable_secret_fails_only_that_device(env: Path, fake: FakeNos, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    inv = inventory(tmp_path, good_hosts(fake))
    monkeypatch.delenv(PASSWORD_ENV)
    targets, errors = ssh_targets(inv, ["rt-ios", "nope"])
    assert targets == []
    assert [(e.device_id, e.kind) for e in errors] == [("nope", "unknown"), ("rt-ios", "credentials")]
    assert f"environment variable {PASSWORD_ENV} is not set" in str(errors[1])


# ------------------------------------------------------------------------------------------ host keys
def _facts_only(inv: Inventory, tmp_path: Path, **settings: Any) -> backup.RunReport:
    return asyncio.run(run_backups(fresh_engine(tmp_path), *ssh_targets(inv, ["rt-ios"]), config=False,
                                   settings=SshSettings(**settings)))


def test_host_keys_are_checked(fake: FakeNos, tmp_path: Path, host_key: tuple[Path, paramiko.RSAKey],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    ios = fake.hosts[0]
    inv = inventory(tmp_path, [ios])
    path = tmp_path / "known_hosts"

    refused = _facts_only(inv, tmp_path, known_hosts=path, auto_add_host_keys=False).results[0]
    assert refused.error is not None and refused.error.kind == "host_key"
    assert "unknown SSH host key ssh-rsa SHA256:" in str(refused.error)
    assert f"for [{ios.address}]:{ios.port}: not in {path}" in str(refused.error)
    assert "NETMON_SSH_AUTO_ADD_HOST_KEYS=true" in str(refused.error)
    assert not path.exists()

    trusted = _facts_only(inv, tmp_path, known_hosts=path, auto_add_host_keys=True).results[0]
    assert trusted.error is None and trusted.facts is not None and trusted.facts.serial == "FGL1931X1AB"
    assert path.read_text() == f"[{ios.address}]:{ios.port} ssh-rsa {host_key[1].get_base64()}\n"

    known = _facts_only(inv, tmp_path, known_hosts=path, auto_add_host_keys=False).results[0]
    assert known.error is None  # a key in known_hosts is accepted without auto-add

    impostor = paramiko.RSAKey.generate(2048)
    known_hosts(path, impostor, [(ios.address, ios.port)])
    changed = _facts_only(inv, tmp_path, known_hosts=path, auto_add_host_keys=True).results[0]
    assert changed.error is not None and changed.error.kind == "host_key"
    assert "SSH host key CHANGED" in str(changed.error) and "refusing" in str(changed.error)
    assert path.read_text().count("\n") == 1  # auto-add never overwrites a known key


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_backup_show_diff_and_inventory_show(env: Path, fake: FakeNos, tmp_path: Path) -> None:
    from netmon.cli import app
    from netmon.cli.backup import register

    register(app)
    runner = CliRunner()
    inv_dir = tmp_path / "inv"
    inventory(tmp_path, good_hosts(fake))
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert runner.invoke(app, ["sync", str(inv_dir), "--database", db]).exit_code == 0

    result = runner.invoke(app, ["backup", str(inv_dir), "--database", db, "--device", "rt-ios",
                                 "--device", "sw-eos"])
    assert result.exit_code == 0, result.output
    assert "rt-ios" in result.output and "new" in result.output and "fw-junos" not in result.output

    shown = runner.invoke(app, ["backup", "show", "rt-ios", "--database", db])
    assert shown.exit_code == 0
    assert "hostname TVH-RT-CAUNGANG" in shown.stdout and "enable secret 9 <removed>" in shown.stdout
    assert not [s for s in SECRETS["cisco_ios"][1] if s in shown.stdout]

    diff = runner.invoke(app, ["backup", "diff", "rt-ios", "--database", db])
    assert diff.exit_code == 1 and "only one version stored" in diff.output

    # A second version (as a later run would store it): diff by default, by --from/--to, and show --at.
    engine = make_engine(db)
    first = backups.version_at(engine, "rt-ios")
    assert first is not None
    later = first.taken_at + timedelta(hours=1)
    backups.store_config(engine, "rt-ios", first.content.replace("ip forward-protocol nd\n",
                                                                f"ip forward-protocol nd\n{ROUTE}\n"), later)
    diff = runner.invoke(app, ["backup", "diff", "rt-ios", "--database", db])
    assert diff.exit_code == 0
    assert [line for line in diff.stdout.splitlines() if line[:1] in "+-"][2:] == [f"+{ROUTE}"]
    # the README's example: --from a day before the first backup compares the first with the latest
    day_before = (first.taken_at - timedelta(days=1)).date().isoformat()
    since = runner.invoke(app, ["backup", "diff", "rt-ios", "--from", day_before, "--database", db])
    assert since.exit_code == 0, since.output
    assert [line for line in since.stdout.splitlines() if line[:1] in "+-"][2:] == [f"+{ROUTE}"]
    at_first = first.taken_at.isoformat()
    same = runner.invoke(app, ["backup", "diff", "rt-ios", "--from", at_first, "--to", at_first, "--database", db])
    assert same.exit_code == 0 and same.stdout == "" and "identical" in same.output
    old = runner.invoke(app, ["backup", "show", "rt-ios", "--at", (later - timedelta(minutes=1)).isoformat(),
                              "--database", db])
    assert old.exit_code == 0 and ROUTE not in old.stdout and "hostname TVH-RT-CAUNGANG" in old.stdout
    assert runner.invoke(app, ["backup", "show", "rt-ios", "--at", "yesterday", "--database", db]).exit_code == 2

    facts = runner.invoke(app, ["backup", "facts", str(inv_dir), "--database", db, "--device", "fw-junos"],
                          env={"COLUMNS": "200"})
    assert facts.exit_code == 0 and "CX3019AF0456" in facts.output

    record = runner.invoke(app, ["inventory", "show", "rt-ios", str(inv_dir), "--database", db],
                           env={"COLUMNS": "200"})
    assert record.exit_code == 0, record.output
    for text in ("CISCO2911/K9", "FGL1931X1AB", "15.7(3)M8", "cisco_ios", "ssh-rt-ios", "last backup"):
        assert text in record.output
    as_json = runner.invoke(app, ["inventory", "show", "rt-ios", str(inv_dir), "--database", db, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    shown = json.loads(as_json.stdout)
    assert (shown["platform"], shown["ssh_profile"], shown["facts"]["hardware"], shown["facts"]["serial"]) == (
        "cisco_ios", "ssh-rt-ios", "CISCO2911/K9", "FGL1931X1AB")
    assert shown["config_versions"] >= 2 and len(shown["last_backup"]["sha256"]) == 64
    assert shown["last_backup"]["taken_at"].endswith("+07:00")  # the province's clock, with its offset
    assert runner.invoke(app, ["inventory", "show", "rt-ioss", str(inv_dir), "--database", db]).exit_code == 2

    unknown = runner.invoke(app, ["backup", str(inv_dir), "--database", db, "--device", "rt-nope"])
    assert unknown.exit_code == 2
