"""/metrics: the families (the contract alert rules and dashboards are written against), the fast renderer's
identity with prometheus-client's ``generate_latest``, UTF-8, secrets, counters across a reboot, promtool.

The state is the sample province after three polls through the real Monitor (``tests/simulated_monitor.py``,
which ``bench/exposition.py`` measures too): the simulated agents answer in-process, a district router is off,
a watched link down, a router rebooted.
"""

from __future__ import annotations

import gzip
import math
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString
from simulated_monitor import ENV, KNOWN_LINT, ROUND_S, State, build_state

from netmon.expose.http import make_metrics_app
from netmon.expose.metrics import CONTENT_TYPE, MonitorCollector, go_float, go_floats
from netmon.health.incidents import IncidentKind

ROOT = Path(__file__).resolve().parents[3]

D, DI = ("device",), ("device", "interface")
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    # exposed name (as the parser names it: counters without _total) → (type, label names)
    "netmon_site_info": ("gauge", ("site", "name", "kind", "level", "district", "district_name", "commune",
                                   "commune_name", "lat", "lon")),
    "netmon_device_info": ("gauge", ("device", "site", "role", "platform", "model", "mgmt")),
    "netmon_base_station_info": ("gauge", ("base_station", "operator", "technologies", "has_4g", "district",
                                           "district_name", "commune", "commune_name", "lat", "lon", "monitored")),
    "netmon_link_info": ("gauge", ("link", "a_device", "a_interface", "b_device", "b_interface", "circuit",
                                   "provider")),
    "netmon_interface_contracted_bandwidth_bytes": ("gauge", ("device", "interface", "circuit", "provider")),
    "netmon_device_status": ("gauge", ("device", "kind", "state")),
    "netmon_device_up": ("gauge", ("device", "kind")),
    "netmon_device_blind": ("gauge", ("device", "kind")),
    "netmon_link_status": ("gauge", ("link", "state")),
    "netmon_incident_open": ("gauge", ("incident", "kind", "severity", "device", "link", "site", "site_name",
                                       "district", "district_name", "title", "summary", "since")),
    "netmon_incident_affected_sites": ("gauge", ("incident",)),
    "netmon_incident_started_timestamp_seconds": ("gauge", ("incident",)),
    "netmon_device_unreachable": ("gauge", ("device", "site", "site_name", "district", "district_name",
                                            "incident")),
    "netmon_interface_oper_status": ("gauge", DI),
    "netmon_interface_admin_status": ("gauge", DI),
    "netmon_interface_speed_bytes": ("gauge", DI),
    "netmon_interface_in_octets": ("counter", DI),
    "netmon_interface_out_octets": ("counter", DI),
    "netmon_interface_in_errors": ("counter", DI),
    "netmon_interface_out_errors": ("counter", DI),
    "netmon_interface_in_discards": ("counter", DI),
    "netmon_interface_out_discards": ("counter", DI),
    "netmon_device_uptime_seconds": ("gauge", D),
    "netmon_device_reboots": ("counter", D),
    "netmon_icmp_rtt_seconds": ("gauge", ("device", "stat")),
    "netmon_icmp_loss_ratio": ("gauge", D),
    "netmon_icmp_jitter_seconds": ("gauge", D),
    "netmon_counter_discontinuities": ("counter", ("device", "reason")),
    "netmon_device_collection_completeness": ("gauge", D),
    "netmon_polls": ("counter", D),
    "netmon_poll_errors": ("counter", D),
    "netmon_poll_timeouts": ("counter", D),
    "netmon_poll_retries": ("counter", D),
    "netmon_poll_requests": ("counter", D),
    "netmon_poll_varbinds": ("counter", D),
    "netmon_poll_faults": ("counter", ("device", "reason")),
    "netmon_poll_duration_seconds": ("gauge", D),
    "netmon_poller_cycle_duration_seconds": ("gauge", ("class",)),
    "netmon_poller_lag_seconds": ("gauge", ("class",)),
    "netmon_poller_skipped_batches": ("counter", ("class",)),
    "netmon_poller_interval_seconds": ("gauge", ("class",)),
    "netmon_poller_last_batch_timestamp_seconds": ("gauge", ("class",)),
    "netmon_ready": ("gauge", ()),
    "netmon_traps": ("counter", ("outcome",)),
}


@pytest.fixture(scope="module")
def state() -> Iterator[State]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in ENV.items():
            mp.setenv(name, value)
        yield build_state(ROOT / "inventory")


def parse(body: bytes) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(body.decode("utf-8"))}


def request(app: Any, method: str = "GET", **environ: str) -> tuple[str, dict[str, str], bytes]:
    got: list[Any] = []
    body = b"".join(app({"PATH_INFO": "/metrics", "REQUEST_METHOD": method, **environ},
                        lambda status, headers: got.extend((status, dict(headers)))))
    return got[0], got[1], body


def everyone(state: State) -> list[str]:
    return [t.device_id for t in state.monitor.targets]


# ------------------------------------------------------------------------------------------- families
def test_every_family_with_its_type_and_labels(state: State) -> None:
    families = parse(state.collector.render())
    assert set(families) == set(FAMILIES)
    for name, (kind, labels) in FAMILIES.items():
        fam = families[name]
        assert fam.type == kind, name
        assert fam.samples, f"{name} has no series"
        for sample in fam.samples:
            assert set(sample.labels) == set(labels), (name, sample)
    # registry.collect() users see the OpenMetrics types, *_info as info.
    kinds = {m.name: m.type for m in state.registry.collect()}
    assert kinds["netmon_site"] == kinds["netmon_base_station"] == "info"
    assert kinds["netmon_interface_in_octets"] == kinds["netmon_polls"] == "counter"
    assert kinds["netmon_device_status"] == "gauge"


def test_series_cover_the_state(state: State) -> None:
    m, inv = state.monitor, state.inventory
    families = parse(state.collector.render())
    status = families["netmon_device_status"].samples
    assert len(status) == 4 * (len(m.health.devices) + len(m.health.base_stations))
    for s in status:  # exactly one state is 1 per device
        assert s.value in (0.0, 1.0)
    assert sum(s.value for s in status) == len(m.health.devices) + len(m.health.base_stations)
    # routers: every interface; base stations: the backhaul port (ifIndex 1) only
    per_device: dict[str, set[str]] = {}
    for s in families["netmon_interface_oper_status"].samples:
        per_device.setdefault(s.labels["device"], set()).add(s.labels["interface"])
    for dev, obs in m.observations.items():  # (a device not answering has no interfaces)
        if dev in inv.devices:
            assert per_device.get(dev, set()) == {i.label for i in obs.interfaces.values()}
        else:
            assert per_device.get(dev, set()) == ({obs.interfaces[1].label} if obs.interfaces else set())
    assert len(per_device) > 0.9 * len(m.observations)
    incidents = families["netmon_incident_open"].samples
    assert {s.labels["incident"] for s in incidents} == set(m.incidents) and len(m.incidents) >= 3
    assert {s.labels["severity"] for s in incidents} <= {"critical", "warning"}
    assert families["netmon_device_unreachable"].samples  # the sites behind the powered-off district router


def test_collection_state_faults_and_blindness(state: State) -> None:
    """The router whose agent repeats a varbind answers: complete, one fault per poll; the powered-off one 0."""
    families = parse(state.collector.render())
    faults = {(s.labels["device"], s.labels["reason"]): s.value for s in families["netmon_poll_faults"].samples}
    assert faults == {(state.faults["repeats"], "duplicate_varbind"): 3.0}
    complete = {s.labels["device"]: s.value for s in families["netmon_device_collection_completeness"].samples}
    assert complete[state.faults["repeats"]] == 1.0 and complete[state.faults["power_off"]] == 0.0
    assert set(complete) == set(state.monitor.observations) and sum(complete.values()) > 0.9 * len(complete)
    blind = families["netmon_device_blind"].samples
    assert len(blind) == len(state.monitor.health.devices) + len(state.monitor.health.base_stations)
    assert not any(s.value for s in blind)  # a dead router is down, not blind


# ----------------------------------------------------------------------------------- fast = generic
def test_render_is_generate_latest_byte_for_byte(state: State) -> None:
    assert state.collector.render() == generate_latest(state.registry)


def test_render_stays_identical_across_polls_and_faults(state: State) -> None:
    collector, registry = state.collector, state.registry
    collector.render()
    state.poll_scrape_interval()  # a scrape interval's polls: half of the routers, a tenth of the stations
    assert collector.render() == generate_latest(registry)
    assert collector.render() == generate_latest(registry)  # nothing polled since: all text reused
    faults = state.faults
    state.world.set_link(faults["link_device"], faults["link_interface"], True, state.sim_now[0] + 1)
    state.world.set_alive(faults["power_off"], True, state.sim_now[0] + 1)
    state.poll(everyone(state), ROUND_S)
    assert collector.render() == generate_latest(registry)
    # a fresh collector (first scrape) agrees with the one that reused its text
    assert MonitorCollector(state.monitor).render() == collector.render()


def test_render_escapes_like_prometheus_client(state: State) -> None:
    m = state.monitor
    key = next(iter(m.incidents))
    original = m.incidents
    odd = 'Huyện "Cầu Ngang": back\\slash\nnew line — điểm cấp xã'
    m.incidents = {**original, key: replace(original[key], title=odd, summary=odd)}
    try:
        body = state.collector.render()
        assert body == generate_latest(state.registry)
        titles = {s.labels["title"] for s in parse(body)["netmon_incident_open"].samples}
        assert odd in titles
    finally:
        m.incidents = original


def test_an_incident_keeps_its_severity_flapping_or_not_and_netmon_cut_off_is_critical(state: State) -> None:
    """The severity is part of the alert's identity: a district uplink that starts flapping stays critical (its
    outage's), a commune's stays warning; netmon's own cut-off is critical."""
    m = state.monitor
    topo = m.topology
    original = m.incidents
    base = next(iter(original.values()))
    by_role = {topo.nodes[e.child].role: ln for ln, e in topo.links.items() if e.child is not None}
    made = [replace(base, key=f"link:{by_role[role]}", root=by_role[role], kind=kind)
            for role in ("district", "access") for kind in (IncidentKind.LINK_DOWN, IncidentKind.LINK_FLAPPING)]
    made.append(replace(base, key="netmon:path", root="netmon", kind=IncidentKind.MONITOR_CUT_OFF, site_id=None,
                        site_name=None, district=None))
    m.incidents = {i.key + "/" + i.kind.value: i for i in made}
    try:
        samples = parse(state.collector.render())["netmon_incident_open"].samples
    finally:
        m.incidents = original
    severity = {(s.labels["incident"], s.labels["kind"]): s.labels["severity"] for s in samples}
    district, commune = f"link:{by_role['district']}", f"link:{by_role['access']}"
    assert severity == {(district, "link_down"): "critical", (district, "link_flapping"): "critical",
                        (commune, "link_down"): "warning", (commune, "link_flapping"): "warning",
                        ("netmon:path", "monitor_cut_off"): "critical"}


def test_negative_zero_is_written_as_zero(state: State) -> None:
    classes = state.monitor.classes
    before = classes["routers"].lag_s
    classes["routers"].lag_s = -0.0
    try:
        body = state.collector.render()
        assert body == generate_latest(state.registry)
        assert b'netmon_poller_lag_seconds{class="routers"} 0.0\n' in body
    finally:
        classes["routers"].lag_s = before


@given(st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True)))
@example(10**6)
@example(1_200_000)
@example(1_010_000)
@example(10**15)
@example(2**53 - 1)
@example(2**53)
def test_go_float_is_float_to_go_string(v: float) -> None:
    assert go_float(v) == floatToGoString(v)  # type: ignore[no-untyped-call]


@given(st.lists(st.one_of(st.integers(min_value=0, max_value=2**64), st.floats(allow_nan=False)), max_size=50))
def test_go_floats_through_a_memo(values: list[float]) -> None:
    values = [0.0 if v == 0 else v for v in values]  # builders never hand out -0.0
    memo: dict[float, str] = {}
    expected = [floatToGoString(v) for v in values]  # type: ignore[no-untyped-call]
    assert go_floats(values, memo) == expected
    assert go_floats(values, memo) == expected


# ------------------------------------------------------------------------------------ text content
def test_vietnamese_labels_survive(state: State) -> None:
    inv = state.inventory
    families = parse(state.collector.render())
    sites = {s.labels["site"]: s.labels for s in families["netmon_site_info"].samples}
    vietnamese = [s for s in inv.sites.values() if not s.name.isascii()]
    assert vietnamese
    for site in vietnamese:
        assert sites[site.id]["name"] == site.name
    titles = {s.labels["incident"]: s.labels["title"] for s in families["netmon_incident_open"].samples}
    assert titles == {k: inc.title for k, inc in state.monitor.incidents.items()}
    assert any("mất kết nối" in t for t in titles.values())


def test_no_secret_in_the_output(state: State) -> None:
    targets = state.monitor.targets
    revealed = {s.reveal() for t in targets for s in (t.community, t.auth_key, t.priv_key) if s is not None}
    assert revealed and revealed <= set(ENV.values())  # the targets do hold the secrets …
    served = gzip.decompress(request(make_metrics_app(state.collector), HTTP_ACCEPT_ENCODING="gzip")[2])
    for body in (state.collector.render(), generate_latest(state.registry), served):
        for secret in ENV.values():  # … and no output shows any of them
            assert secret.encode() not in body


def test_counters_never_decrease_across_a_reboot(state: State) -> None:
    def counters() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for f in parse(state.collector.render()).values() if f.type == "counter" for s in f.samples}

    dev = state.faults["reboot"]
    reboots = state.monitor.reboots[dev]
    before = counters()
    state.world.reboot(dev, state.sim_now[0] + 5)  # sysUpTime and every counter of the router back to 0
    state.poll(everyone(state), ROUND_S)
    after_reboot = counters()
    state.poll(everyone(state), ROUND_S)
    after = counters()
    for series, value in before.items():
        assert after_reboot.get(series, value) >= value, series
        assert after.get(series, value) >= after_reboot.get(series, value), series
    assert state.monitor.reboots[dev] == reboots + 1
    octets = [k for k in before if k[0] == "netmon_interface_in_octets_total" and ("device", dev) in k[1]]
    assert octets and any(after[k] > before[k] for k in octets)  # and it counts on from where it was
    reasons = {dict(k[1])["reason"] for k in after if k[0] == "netmon_counter_discontinuities_total"
               and dict(k[1])["device"] == dev}
    assert "reboot" in reasons


# -------------------------------------------------------------------------------------------- serving
def test_http_app(state: State) -> None:
    app = make_metrics_app(state.collector)
    status, headers, body = request(app, HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert status == "200 OK" and headers["Content-Type"] == CONTENT_TYPE
    assert headers["Content-Encoding"] == "gzip" and headers["Content-Length"] == str(len(body))
    assert gzip.decompress(body) == generate_latest(state.registry)
    _, headers, plain = request(app, HTTP_ACCEPT_ENCODING="gzip;q=0")
    assert "Content-Encoding" not in headers and plain.startswith(b"# HELP netmon_site_info")
    assert plain == generate_latest(state.registry) and headers["Content-Length"] == str(len(plain))
    assert request(app, "HEAD")[2] == b""
    assert request(app, "POST")[0].startswith("405")
    _, _, some = request(app, QUERY_STRING="name[]=netmon_ready&name[]=netmon_polls_total")
    assert set(parse(some)) == {"netmon_ready", "netmon_polls"}


def test_pieces_are_made_later_from_their_own_render(state: State) -> None:
    """/metrics joins each family's text as it sends it, after the render's lock is released: what it sends
    is the text of its own render, whatever renders and polls came in between."""
    pieces = state.collector.render_pieces()
    text = state.collector.render()
    state.poll_scrape_interval()
    later = state.collector.render()
    assert later != text
    assert b"".join(pieces) == text and pieces.size == len(text)
    assert b"".join(pieces) == text  # iterable again


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian 'prometheus') not installed")
def test_promtool_check_metrics(state: State) -> None:
    proc = subprocess.run(["promtool", "check", "metrics"], input=state.collector.render(), capture_output=True,
                          timeout=120, check=False)
    lines = {ln.strip() for ln in (proc.stdout + proc.stderr).decode().splitlines() if ln.strip()}
    # exit 3: lint problems only; the one known is a contract name (see tests/simulated_monitor.py)
    assert proc.returncode == 0 or (proc.returncode == 3 and lines <= KNOWN_LINT), lines


def test_render_is_fast_enough_to_matter(state: State) -> None:
    """Not the bench (python bench/exposition.py), a tripwire: reusing text must stay much faster."""
    import time

    collector = state.collector
    collector.render()
    start = time.perf_counter()
    collector.render()
    reused = time.perf_counter() - start
    start = time.perf_counter()
    generate_latest(state.registry)
    generic = time.perf_counter() - start
    assert reused < generic / 5 and not math.isnan(reused)
