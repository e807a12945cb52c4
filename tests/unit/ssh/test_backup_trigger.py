"""Config-change signals (traps, polled indicators) become one backup per device after the burst."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from netmon.ssh import backup


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []

    async def fake_job(inventory: Any, engine: Any, device_ids: Any = None) -> backup.RunReport:
        calls.append(list(device_ids))
        await asyncio.sleep(0.05)
        return backup.RunReport([], 0.0)

    monkeypatch.setattr(backup, "backup_job", fake_job)
    return calls


def _inventory() -> Any:
    devices = {"rt-core": SimpleNamespace(ssh_profile="ssh-ops"), "rt-cau-ngang": SimpleNamespace(ssh_profile="x"),
               "no-ssh": SimpleNamespace(ssh_profile=None)}
    return SimpleNamespace(devices=devices)


def test_a_burst_of_traps_gives_one_backup_after_the_delay(runs: list[list[str]]) -> None:
    async def scenario() -> None:
        trigger = backup.BackupTrigger(_inventory(), engine=None, delay_s=0.2)  # type: ignore[arg-type]
        for _ in range(5):  # an operator typing five commands
            assert trigger.on_trap("rt-core", "1.3.6.1.4.1.9.9.43.2.0.1")
            await asyncio.sleep(0.05)
        assert runs == []  # still within the delay of the last signal
        assert not trigger.on_trap("rt-core", "1.3.6.1.6.3.1.1.5.3")  # linkDown: not a config change
        assert trigger.on_trap("rt-cau-ngang", ".1.3.6.1.4.1.2636.4.5.0.1")  # jnxCmCfgChange
        assert trigger.on_trap("rt-cau-ngang", "1.3.6.1.6.3.1.1.5.1")  # coldStart: same countdown, one backup
        await asyncio.sleep(0.4)
        await trigger.close()
        assert sorted(map(tuple, runs)) == [("rt-cau-ngang",), ("rt-core",)]

    asyncio.run(scenario())


def test_polled_indicator_changes_and_reboots(runs: list[list[str]]) -> None:
    async def scenario() -> None:
        trigger = backup.BackupTrigger(_inventory(), engine=None, delay_s=0.05)  # type: ignore[arg-type]
        indicator = "ccmHistoryRunningLastChanged"
        assert not trigger.observe("rt-core", indicator, 1000)  # first sight: baseline only
        assert not trigger.observe("rt-core", indicator, 1000)
        assert trigger.observe("rt-core", indicator, 5000)
        assert not trigger.observe("rt-cau-ngang", "sysUpTime", 100)
        assert not trigger.observe("rt-cau-ngang", "sysUpTime", 200)  # time passing is not a change
        assert trigger.observe("rt-cau-ngang", "sysUpTime", 5)  # went down: rebooted
        await asyncio.sleep(0.2)
        await trigger.close()
        assert sorted(map(tuple, runs)) == [("rt-cau-ngang",), ("rt-core",)]

    asyncio.run(scenario())


def test_devices_without_ssh_are_ignored_and_close_cancels(runs: list[list[str]]) -> None:
    async def scenario() -> None:
        trigger = backup.BackupTrigger(_inventory(), engine=None, delay_s=5)  # type: ignore[arg-type]
        trigger.notify("no-ssh")
        trigger.notify("unknown-device")
        trigger.notify("rt-core")
        await trigger.close()
        await asyncio.sleep(0.05)
        assert runs == [] and trigger.fired == 0

    asyncio.run(scenario())


def test_daily_job_is_jittered_in_local_time() -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from netmon.ssh.session import SshSettings

    scheduler = AsyncIOScheduler(timezone="UTC")
    job = backup.add_daily_job(scheduler, _inventory(), engine=None,  # type: ignore[arg-type]
                               settings=SshSettings(backup_at="02:30", backup_jitter_s=900))
    assert job.id == "config-backup" and job.max_instances == 1
    assert job.trigger.jitter == 900
    assert str(job.trigger.timezone) == "Asia/Ho_Chi_Minh"
    assert "hour='2'" in str(job.trigger) and "minute='30'" in str(job.trigger)
