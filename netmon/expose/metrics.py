"""``/metrics``: a custom prometheus-client Collector over the monitor's in-memory state.

One collector builds every family at scrape time from the latest state, instead
of thousands of long-lived child gauges (prometheus_client's own advice for
exporters).  Names follow Prometheus conventions (``_total``, ``_seconds``,
``_bytes``, base units).  Descriptive labels — Vietnamese names, district,
coordinates — live on ``*_info`` series only, so the per-interface series stay
small; join on ``device``/``site``.  No secret is ever a label: targets carry
only references.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from netmon.health.states import State

if TYPE_CHECKING:
    from netmon.monitor import Monitor

DEVICE_STATES = (State.UP, State.DOWN, State.UNREACHABLE, State.UNKNOWN)
LINK_STATES = (State.UP, State.DOWN, State.FLAPPING, State.UNKNOWN)
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
SEVERITY_CRITICAL_ROLES = ("core", "district")


def _since(at: datetime) -> str:
    local = at.astimezone(LOCAL)
    return local.strftime("%Y-%m-%d %H:%M (%z)").replace("(+0700)", "(+07)")


class MonitorCollector(Collector):
    """Everything netmon knows, as Prometheus families, built per scrape."""

    def __init__(self, monitor: Monitor) -> None:
        self.m = monitor
        self._info = self._static_info()

    # Static families: built once (the inventory does not change while running).
    def _static_info(self) -> list[Metric]:
        inv = self.m.inventory
        districts = inv.districts
        communes = inv.communes
        site = InfoMetricFamily("netmon_site", "Agency sites (static, for joins).",
                                labels=["site"])
        for s in inv.sites.values():
            site.add_metric([s.id], {
                "name": s.name, "kind": s.kind.value, "level": s.level.value, "district": s.district or "",
                "district_name": districts[s.district].name if s.district else "",
                "commune": s.commune or "",
                "commune_name": communes[s.commune][1].name if s.commune in communes else "",
                "lat": f"{s.lat:.6f}", "lon": f"{s.lon:.6f}"})
        device = InfoMetricFamily("netmon_device", "Monitored routers (static, for joins).", labels=["device"])
        for d in inv.devices.values():
            device.add_metric([d.id], {"site": d.site, "role": d.role.value, "platform": d.platform,
                                       "model": d.model or "", "mgmt": d.mgmt.host})
        bts = InfoMetricFamily("netmon_base_station", "Mobile base stations (static, for joins).",
                               labels=["base_station"])
        for b in inv.base_stations.values():
            techs = sorted(t.value for t in b.technologies)
            bts.add_metric([b.id], {
                "operator": b.operator.value, "technologies": ",".join(techs), "has_4g": str("4G" in techs).lower(),
                "district": b.district, "district_name": districts[b.district].name if b.district in districts else "",
                "commune": b.commune,
                "commune_name": communes[b.commune][1].name if b.commune in communes else "",
                "lat": f"{b.lat:.6f}", "lon": f"{b.lon:.6f}", "monitored": str(b.mgmt is not None).lower()})
        link = InfoMetricFamily("netmon_link", "Watched links (static, for joins).", labels=["link"])
        for ln in inv.links.values():
            link.add_metric([ln.id], {"a_device": ln.a.device, "a_interface": ln.a.interface,
                                      "b_device": ln.b.device, "b_interface": ln.b.interface,
                                      "circuit": ln.circuit or "", "provider": ln.provider or ""})
        contracted = GaugeMetricFamily(
            "netmon_interface_contracted_bandwidth_bytes",
            "Contracted bandwidth of a watched interface, bytes per second.",
            labels=["device", "interface", "circuit", "provider"])
        for d in inv.devices.values():
            for w in d.interfaces:
                if w.bandwidth_mbps:
                    contracted.add_metric([d.id, w.name, w.circuit or "", w.provider or ""],
                                          w.bandwidth_mbps * 1_000_000 / 8)
        return [site, device, bts, link, contracted]

    def collect(self) -> Iterator[Metric]:
        m = self.m
        yield from self._info
        yield from self._health(m)
        yield from self._interfaces(m)
        yield from self._devices(m)
        yield from self._poller(m)

    def _health(self, m: Monitor) -> Iterator[Metric]:
        status = GaugeMetricFamily("netmon_device_status", "1 for the device's current state.",
                                   labels=["device", "kind", "state"])
        up = GaugeMetricFamily("netmon_device_up", "1 when SNMP answered at the last poll.", labels=["device", "kind"])
        health = m.health
        for kind, table in (("router", health.devices), ("bts", health.base_stations)):
            for dev, h in list(table.items()):
                for s in DEVICE_STATES:
                    status.add_metric([dev, kind, s.value], 1.0 if h.state is s else 0.0)
                if h.last_check is not None:
                    up.add_metric([dev, kind], 1.0 if h.last_check.snmp_ok else 0.0)
        yield status
        yield up
        links = GaugeMetricFamily("netmon_link_status", "1 for the link's current state.", labels=["link", "state"])
        for link_id, lh in list(health.links.items()):
            for s in LINK_STATES:
                links.add_metric([link_id, s.value], 1.0 if lh.state is s else 0.0)
        yield links

        incidents = list(m.incidents.values())
        open_ = GaugeMetricFamily(
            "netmon_incident_open", "1 per open incident (one per root cause).",
            labels=["incident", "kind", "severity", "device", "link", "site", "site_name", "district",
                    "district_name", "title", "summary", "since"])
        affected = GaugeMetricFamily("netmon_incident_affected_sites", "Sites unreachable behind the incident.",
                                     labels=["incident"])
        started = GaugeMetricFamily("netmon_incident_started_timestamp_seconds", "When the incident began.",
                                    labels=["incident"])
        unreachable = GaugeMetricFamily(
            "netmon_device_unreachable", "1 for a device unreachable behind an incident's root cause.",
            labels=["device", "site", "site_name", "district", "district_name", "incident"])
        inv = m.inventory
        districts = inv.districts
        for inc in incidents:
            kind, _, root = inc.key.partition(":")
            node = m.topology.nodes.get(root) if kind == "device" else None
            if kind == "link":
                child = m.topology.links[root].child if root in m.topology.links else None
                node = m.topology.nodes.get(child) if child else None
            critical = node is not None and node.role in SEVERITY_CRITICAL_ROLES and inc.kind.value != "link_flapping"
            site = inv.sites.get(inc.site_id or "")
            open_.add_metric([
                inc.key, inc.kind.value, "critical" if critical else "warning",
                root if kind in ("device", "bts") else "", root if kind == "link" else "",
                inc.site_id or "", inc.site_name or "", site.district or "" if site else "",
                inc.district or "", inc.title, inc.summary, _since(inc.started_at)], 1.0)
            affected.add_metric([inc.key], float(len(inc.affected)))
            started.add_metric([inc.key], inc.started_at.timestamp())
            for a in inc.affected:
                where = inv.sites.get(a.site_id)
                code = where.district if where is not None and where.district else ""
                dname = districts[code].name if code in districts else ""
                unreachable.add_metric([a.device_id, a.site_id, a.name, code, dname, inc.key], 1.0)
        yield open_
        yield affected
        yield started
        yield unreachable

    def _interfaces(self, m: Monitor) -> Iterator[Metric]:
        labels = ["device", "interface"]
        oper = GaugeMetricFamily("netmon_interface_oper_status", "ifOperStatus (1 up, 2 down, …).", labels=labels)
        admin = GaugeMetricFamily("netmon_interface_admin_status", "ifAdminStatus (1 up, 2 down).", labels=labels)
        speed = GaugeMetricFamily("netmon_interface_speed_bytes", "Interface speed, bytes per second.", labels=labels)
        counters = {
            name: CounterMetricFamily(f"netmon_interface_{name}", help_, labels=labels)
            for name, help_ in (
                ("in_octets", "Octets received (wraps, resets and reboots removed: never spikes)."),
                ("out_octets", "Octets sent (wraps, resets and reboots removed: never spikes)."),
                ("in_errors", "Inbound errors."), ("out_errors", "Outbound errors."),
                ("in_discards", "Inbound discards."), ("out_discards", "Outbound discards."),
            )
        }
        routers = m.inventory.devices
        for dev, obs in list(m.observations.items()):
            router = dev in routers
            totals = m.tracker.totals(dev)
            for itf in obs.interfaces.values():
                # Base stations: only the backhaul port (their radio ports would add 10k series for nothing).
                if not router and itf.if_index != 1:
                    continue
                lv = [dev, itf.label]
                if itf.oper_status is not None:
                    oper.add_metric(lv, itf.oper_status)
                if itf.admin_status is not None:
                    admin.add_metric(lv, itf.admin_status)
                if itf.speed_bps:
                    speed.add_metric(lv, itf.speed_bps / 8)
                t = totals.get(itf.if_index)
                if t:
                    for name, fam in counters.items():
                        value = t.get(name)  # type: ignore[call-overload]
                        if value is not None:
                            fam.add_metric(lv, value)
        yield oper
        yield admin
        yield speed
        yield from counters.values()

    def _devices(self, m: Monitor) -> Iterator[Metric]:
        uptime = GaugeMetricFamily("netmon_device_uptime_seconds", "sysUpTime.", labels=["device"])
        reboots = CounterMetricFamily("netmon_device_reboots", "Reboots seen (sysUpTime reset).", labels=["device"])
        rtt = GaugeMetricFamily("netmon_icmp_rtt_seconds", "ICMP round-trip time of the last round.",
                                labels=["device", "stat"])
        loss = GaugeMetricFamily("netmon_icmp_loss_ratio", "Share of echo requests lost in the last round.",
                                 labels=["device"])
        jitter = GaugeMetricFamily("netmon_icmp_jitter_seconds", "ICMP jitter of the last round.", labels=["device"])
        discont = CounterMetricFamily("netmon_counter_discontinuities", "Counter intervals dropped, by reason.",
                                      labels=["device", "reason"])
        for dev, obs in list(m.observations.items()):
            if obs.uptime_ticks is not None:
                uptime.add_metric([dev], obs.uptime_ticks / 100)
            for reason, n in m.tracker.discontinuity_counts(dev).items():
                discont.add_metric([dev, reason.value], n)
        for dev, n in list(m.reboots.items()):
            reboots.add_metric([dev], n)
        for dev, r in list(m.icmp_results.items()):
            loss.add_metric([dev], r.loss)
            if r.rtt_avg_ms is not None:
                for stat, v in (("min", r.rtt_min_ms), ("avg", r.rtt_avg_ms), ("max", r.rtt_max_ms)):
                    rtt.add_metric([dev, stat], (v or 0.0) / 1000)
                jitter.add_metric([dev], (r.jitter_ms or 0.0) / 1000)
        yield from (uptime, reboots, rtt, loss, jitter, discont)

    def _poller(self, m: Monitor) -> Iterator[Metric]:
        lv = ["device"]
        fams = {
            "polls": CounterMetricFamily("netmon_polls", "SNMP polls made.", labels=lv),
            "errors": CounterMetricFamily("netmon_poll_errors", "Polls that failed (any reason).", labels=lv),
            "timeouts": CounterMetricFamily("netmon_poll_timeouts", "Requests that timed out.", labels=lv),
            "retries": CounterMetricFamily("netmon_poll_retries", "Requests sent again.", labels=lv),
            "requests": CounterMetricFamily("netmon_poll_requests", "SNMP requests sent.", labels=lv),
            "varbinds": CounterMetricFamily("netmon_poll_varbinds", "Values received.", labels=lv),
        }
        duration = GaugeMetricFamily("netmon_poll_duration_seconds", "Wall time of the device's last poll.",
                                     labels=lv)
        for dev, s in list(m.stats.items()):
            for name, fam in fams.items():
                fam.add_metric([dev], getattr(s, name))
            duration.add_metric([dev], s.last_duration_s)
        yield from fams.values()
        yield duration
        cyc = GaugeMetricFamily("netmon_poller_cycle_duration_seconds",
                                "Wall time of the last full pass over the class.", labels=["class"])
        lag = GaugeMetricFamily("netmon_poller_lag_seconds", "How late the last batch started.", labels=["class"])
        interval = GaugeMetricFamily("netmon_poller_interval_seconds", "Configured poll interval.", labels=["class"])
        last = GaugeMetricFamily("netmon_poller_last_batch_timestamp_seconds", "When the last batch started.",
                                 labels=["class"])
        for cls, c in list(m.classes.items()):
            cyc.add_metric([cls], c.last_full_cycle_s)
            lag.add_metric([cls], c.lag_s)
            interval.add_metric([cls], c.interval_s)
            last.add_metric([cls], c.last_start)
        yield from (cyc, lag, interval, last)
        ready = GaugeMetricFamily("netmon_ready", "1 once the first full poll is done.")
        ready.add_metric([], 1.0 if m.ready else 0.0)
        yield ready
        extra = getattr(m, "trap_stats", None)
        if extra is not None:
            traps = CounterMetricFamily("netmon_traps", "SNMP traps by outcome.", labels=["outcome"])
            for outcome, n in extra().items():
                traps.add_metric([outcome], n)
            yield traps
