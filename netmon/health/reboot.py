"""Did a device boot again between two sysUpTime readings? One rule, used by the counter rates
(:mod:`netmon.health.rates`: a reboot drops the interval) and by the state machine (:mod:`netmon.health.states`:
a reboot is an event, ``netmon_device_reboots_total``), so the two never disagree. Pure.

sysUpTime counts hundredths of a second since the agent (re)started and wraps at 2**32 (~497 days). Between
a reading ``(t0, u0)`` and a later one ``(t1, u1)`` (t: when the poll started, seconds):

* sysUpTime went **backwards** by more than :data:`REORDER_S` — and not by a wrap of the 32-bit counter
  (an advance, taken modulo 2**32, that matches the elapsed time within the slack) → rebooted. However
  short the polling interval: a fall from ~30 s to ~0 polled 10 s apart is a reboot;
* otherwise the implied boot time (t − uptime) moved **later** by more than the slack (``slack_s``, or
  0.1 % of the elapsed time for agent clock drift, whichever is more), other than by whole wraps → rebooted:
  a reboot hidden by a polling gap, after which the uptime already climbed past the old value.

Readings a few seconds apart may come back in either order (when a poll starts is not when the agent reads
its clock), so a fall of less than :data:`REORDER_S` is jitter, not a reboot.
"""

from __future__ import annotations

from typing import Final

__all__ = ["REORDER_S", "TICKS_WRAP", "UPTIME_SLACK_S", "rebooted"]

TICKS_WRAP: Final = 2**32
"""sysUpTime is a 32-bit TimeTicks counter (1/100 s): it wraps after ~497 days."""
UPTIME_SLACK_S: Final = 60.0
"""Clock jitter tolerated before a later boot time counts as a reboot (the state machine's ``uptime_slack_s``)."""
REORDER_S: Final = 5.0
"""A fall of sysUpTime smaller than this is two readings taken out of order, not a reboot."""
_PERIOD_S: Final = TICKS_WRAP / 100


def rebooted(before_at: float, before_ticks: int, after_at: float, after_ticks: int,
             slack_s: float = UPTIME_SLACK_S) -> bool:
    """Did the device boot between the reading ``before_ticks`` at ``before_at`` (seconds) and the later one?"""
    elapsed = after_at - before_at
    slack = max(slack_s, 0.001 * abs(elapsed))  # agent clocks drift ~100 ppm
    if after_ticks < before_ticks:  # backwards: a reboot, unless the counter wrapped (or jitter)
        advance = ((after_ticks - before_ticks) % TICKS_WRAP) / 100
        wrapped = abs(advance - elapsed) <= slack
        return not wrapped and (before_ticks - after_ticks) / 100 > REORDER_S
    shift = elapsed - (after_ticks - before_ticks) / 100  # how much later the device booted
    wraps = round(shift / _PERIOD_S)
    if wraps >= 1 and abs(shift - wraps * _PERIOD_S) <= slack:
        return False
    return shift > slack
