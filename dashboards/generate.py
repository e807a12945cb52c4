"""The netmon Grafana dashboards, generated from code: ``python -m dashboards.generate`` writes ``dashboards/*.json``.

Why code (grafana-foundation-sdk ``1769699379!11.6.0``, Grafana's own generated builders and types) and not
hand-kept JSON: the five dashboards share a lot that must stay identical — the datasource uid the
provisioning defines, the state codes of ``deploy/prometheus/rules/dashboards.rules.yml`` and their
Vietnamese texts and colours, units, thresholds that match the alert rules (utilisation 90 %, poller lag
30 s, errors 1/s), the district/site/device variables.  Here each of those is written once; a hand-kept
5,000-line JSON would drift.  The SDK emits the current dashboard schema (``schemaVersion`` 41, Grafana
11.6/12) with each panel plugin's typed options, and its types are what the unit test loads the JSON
back with.  The JSON files are committed (Grafana provisions them as they are; no Python at deploy time);
``python -m dashboards.generate --check`` (and ``tests/unit/dashboards``) fails when they are stale.

Conventions:

* every query goes to the datasource of the dashboard's ``${datasource}`` variable (Grafana's convention: the
  dashboard imports into any Grafana, the user picks its Prometheus); it defaults to the provisioned
  ``netmon-prometheus`` (fixed uid, see ``deploy/grafana/provisioning/datasources/netmon.yml``);
* state codes: devices/sites/base stations 0 up, 1 unreachable, 2 down, 3 unknown; links 0 up,
  1 flapping, 2 down, 3 unknown (recorded in ``dashboards.rules.yml``);
* traffic in bits per second (contracts are in Mbit/s), utilisation as a 0..1 ratio (``percentunit``);
* Grafana macros only ``$__rate_interval``, ``$__interval``, ``$__range`` and ``$__range_s`` (the
  integration test replaces exactly these);
* Geomap: no tile server.  The base layer is Grafana's own ``public/maps/countries.geojson`` (served by
  the Grafana server itself), so the map works on a closed network; markers come from the lat/lon labels
  of ``netmon_site_info`` / ``netmon_base_station_info`` joined with the state.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from textwrap import dedent
from typing import Any

from grafana_foundation_sdk.builders import bargauge, geomap, piechart, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import geomap as gm
from grafana_foundation_sdk.models import piechart as pcm
from grafana_foundation_sdk.models import prometheus as pm

HERE = Path(__file__).resolve().parent
DATASOURCE_UID = "netmon-prometheus"
"""The provisioned datasource: the ``datasource`` variable's default."""
DS = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
TAGS = ["netmon", "Trà Vinh"]
OFFLINE_BASEMAP = "public/maps/countries.geojson"

# ----------------------------------------------------------------------------------------- vocabulary
GREEN, ORANGE, RED, GREY, BLUE = "green", "orange", "red", "#8e8e8e", "blue"
DEVICE_STATES = {"0": ("Hoạt động", GREEN), "1": ("Không truy cập được", ORANGE),
                 "2": ("Mất kết nối", RED), "3": ("Chưa rõ", GREY)}
LINK_STATES = {"0": ("Hoạt động", GREEN), "1": ("Chập chờn", ORANGE),
               "2": ("Mất kết nối", RED), "3": ("Chưa rõ", GREY)}
OPER_STATUS = {"1": ("Hoạt động", GREEN), "2": ("Ngắt", RED), "3": ("Đang kiểm tra", BLUE),
               "4": ("Không rõ", GREY), "5": ("Chờ (dormant)", BLUE), "6": ("Không có", GREY),
               "7": ("Lớp dưới ngắt", ORANGE)}
ADMIN_STATUS = {"1": ("Bật", GREEN), "2": ("Tắt (quản trị)", GREY), "3": ("Đang kiểm tra", BLUE)}
SEVERITY = {"critical": ("Nghiêm trọng", RED), "warning": ("Cảnh báo", ORANGE), "info": ("Thông tin", BLUE)}
INCIDENT_KIND = {"device_down": ("Thiết bị mất kết nối", RED), "link_down": ("Mất đường truyền", RED),
                 "link_flapping": ("Đường truyền chập chờn", ORANGE), "bts_down": ("Trạm BTS mất kết nối", ORANGE)}
SITE_KIND = {"party": ("Khối Đảng", "text"), "state": ("Khối chính quyền", "text")}
SITE_LEVEL = {"province": ("Cấp tỉnh", "text"), "district": ("Cấp huyện", "text"), "commune": ("Cấp xã", "text")}
OPEN = {"1": ("Đang mở", RED)}

# Label columns → Vietnamese column titles (tables).
COLUMNS = {
    "name": "Điểm", "site_name": "Điểm", "district_name": "Huyện / thành phố", "commune_name": "Xã / phường",
    "kind": "Khối", "level": "Cấp", "site": "Mã điểm", "device": "Thiết bị", "interface": "Giao diện",
    "circuit": "Mã kênh", "provider": "Nhà cung cấp", "link": "Đường truyền", "incident": "Mã sự cố",
    "severity": "Mức", "title": "Sự cố (nguyên nhân gốc)", "since": "Bắt đầu", "operator": "Nhà mạng",
    "technologies": "Công nghệ", "base_station": "Trạm BTS", "model": "Model", "platform": "Nền tảng",
    "mgmt": "Địa chỉ quản lý", "role": "Vai trò", "lat": "Vĩ độ", "lon": "Kinh độ", "class": "Lớp thu thập",
    "outcome": "Kết quả", "parent": "Thiết bị cấp trên",
}
NOISE = ("Time", "__name__", "instance", "job", "province")


# -------------------------------------------------------------------------------------------- helpers
def q(expr: str, ref: str = "A", legend: str | None = None, *, instant: bool = False,
      table_format: bool = False) -> prom.Dataquery:
    """One Prometheus query: a range query for graphs, ``instant`` for stats/tables/maps."""
    target = prom.Dataquery().expr(dedent(expr).strip()).ref_id(ref).datasource(DS)
    target = target.instant() if instant else target.range()
    if table_format:
        target = target.format(pm.PromQueryFormat.TABLE)
    if legend is not None:
        target = target.legend_format(legend)
    return target


def mappings(entries: Mapping[str, tuple[str, str]]) -> list[dm.ValueMapping]:
    return [dm.ValueMap(options={
        value: dm.ValueMappingResult(text=text, color=color, index=i)
        for i, (value, (text, color)) in enumerate(entries.items())})]


def steps(base: str, *more: tuple[float, str]) -> db.ThresholdsConfig:
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(
        [dm.Threshold(value=None, color=base), *(dm.Threshold(value=v, color=c) for v, c in more)])


STATE_STEPS = steps(GREEN, (1, ORANGE), (2, RED), (3, GREY))  # the state codes, as colours


def transform(id_: str, options: Mapping[str, Any] | None = None) -> dm.DataTransformerConfig:
    return dm.DataTransformerConfig(id_val=id_, options=dict(options or {}))


def organize(rename: Mapping[str, str] | None = None, exclude: Sequence[str] = (),
             order: Sequence[str] = ()) -> dm.DataTransformerConfig:
    """Hide the bookkeeping columns, give Vietnamese titles (``COLUMNS`` plus ``rename``), order them."""
    names = {**COLUMNS, **(rename or {})}
    return transform("organize", {
        "excludeByName": dict.fromkeys([*NOISE, *exclude], True),
        "renameByName": names,
        "indexByName": {name: i for i, name in enumerate(order)},
    })


MERGE = transform("merge")


def latlon_numbers() -> dm.DataTransformerConfig:
    return transform("convertFieldType", {"fields": {}, "conversions": [
        {"targetField": "lat", "destinationType": "number"},
        {"targetField": "lon", "destinationType": "number"},
    ]})


def prop(id_: str, value: object) -> dm.DynamicConfigValue:
    return dm.DynamicConfigValue(id_val=id_, value=value)


def cell(kind: str) -> dm.DynamicConfigValue:
    return prop("custom.cellOptions", {"type": kind})


def value_names(refs: Mapping[str, str]) -> dict[str, str]:
    """Rename the value column of each query: ``Value #A`` when a table has several queries, else ``Value``."""
    out = {f"Value #{ref}": name for ref, name in refs.items()}
    if len(refs) == 1:
        out["Value"] = next(iter(refs.values()))
    return out


def sort_by(column: str, desc: bool = True) -> list[cogbuilder.Builder[cm.TableSortByFieldState]]:
    return [cb.TableSortByFieldState().display_name(column).desc(desc)]


def legend(mode: cm.LegendDisplayMode = cm.LegendDisplayMode.LIST,
           placement: cm.LegendPlacement = cm.LegendPlacement.BOTTOM,
           calcs: Sequence[str] = ()) -> cb.VizLegendOptions:
    return (cb.VizLegendOptions().display_mode(mode).placement(placement).show_legend(True)
            .calcs(list(calcs)))


def reduce_last() -> cb.ReduceDataOptions:
    return cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def reduce_all_rows() -> cb.ReduceDataOptions:
    """Bar gauges over table rows: one bar per row."""
    return cb.ReduceDataOptions().calcs(["lastNotNull"]).values(True)


def stat_panel(title: str, expr: str, unit: str, thresholds: db.ThresholdsConfig, *,
               description: str | None = None, maps: Mapping[str, tuple[str, str]] | None = None,
               legend_format: str | None = None, color_background: bool = True) -> stat.Panel:
    p = (stat.Panel().title(title).unit(unit).thresholds(thresholds)
         .with_target(q(expr, legend=legend_format, instant=True))
         .reduce_options(reduce_last()).graph_mode(cm.BigValueGraphMode.NONE)
         .color_mode(cm.BigValueColorMode.BACKGROUND if color_background else cm.BigValueColorMode.VALUE)
         .text_mode(cm.BigValueTextMode.AUTO))
    if maps:
        p = p.mappings(mappings(maps))
    if description:
        p = p.description(description)
    return p


def graph(title: str, unit: str, targets: Sequence[prom.Dataquery], *, description: str | None = None,
          thresholds: db.ThresholdsConfig | None = None, threshold_lines: bool = False,
          minimum: float | None = None, maximum: float | None = None, fill: float = 10,
          calcs: Sequence[str] = ("mean", "max", "lastNotNull")) -> timeseries.Panel:
    p = (timeseries.Panel().title(title).unit(unit).targets(list(targets)).fill_opacity(fill).line_width(1)
         .legend(legend(cm.LegendDisplayMode.TABLE, cm.LegendPlacement.BOTTOM, calcs))
         .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING)))
    if thresholds is not None:
        p = p.thresholds(thresholds)
        if threshold_lines:
            p = p.thresholds_style(cb.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED))
    if minimum is not None:
        p = p.min(minimum)
    if maximum is not None:
        p = p.max(maximum)
    if description:
        p = p.description(description)
    return p


def bars(title: str, unit: str, targets: Sequence[prom.Dataquery], thresholds: db.ThresholdsConfig, *,
         description: str | None = None, minimum: float | None = None, maximum: float | None = None,
         rows: bool = False, transformations: Sequence[dm.DataTransformerConfig] = ()) -> bargauge.Panel:
    p = (bargauge.Panel().title(title).unit(unit).targets(list(targets)).thresholds(thresholds)
         .orientation(cm.VizOrientation.HORIZONTAL).display_mode(cm.BarGaugeDisplayMode.GRADIENT)
         .show_unfilled(True).reduce_options(reduce_all_rows() if rows else reduce_last())
         .transformations(list(transformations)))
    if minimum is not None:
        p = p.min(minimum)
    if maximum is not None:
        p = p.max(maximum)
    if description:
        p = p.description(description)
    return p


def grid(title: str, targets: Sequence[prom.Dataquery], transformations: Sequence[dm.DataTransformerConfig], *,
         unit: str = "string", description: str | None = None, no_value: str | None = None,
         sort_column: str | None = None, sort_desc: bool = True) -> table.Panel:
    p = (table.Panel().title(title).unit(unit).targets(list(targets)).transformations(list(transformations))
         .filterable(True).cell_height(cm.TableCellHeight.SM))
    if sort_column:
        p = p.sort_by(sort_by(sort_column, sort_desc))
    if no_value:
        p = p.no_value(no_value)
    if description:
        p = p.description(description)
    return p


def states_by_district(title: str, kind: str, *, unreachable_too: bool = False,
                       description: str | None = None) -> table.Panel:
    """Devices of ``kind`` (router / bts) counted per district and state, down cells in red
    (and unreachable ones in orange when ``unreachable_too``)."""
    p = grid(title, [q(
        f'sum by (district_name, state) (netmon_device_status{{kind="{kind}"}} '
        '* on (device) group_left (district_name) netmon:device:info)', instant=True, table_format=True)],
        [transform("groupingToMatrix", {"columnField": "state", "rowField": "district_name",
                                        "valueField": "Value"}),
         organize(rename={"district_name\\state": "Huyện / thành phố", "up": "Hoạt động", "down": "Mất kết nối",
                          "unreachable": "Không truy cập được", "unknown": "Chưa rõ"},
                  order=["district_name\\state", "up", "down", "unreachable", "unknown"])],
        unit="short", sort_column="Mất kết nối", description=description)
    p = p.override_by_name("Mất kết nối", [cell("color-background"),
                                            prop("thresholds", steps("transparent", (1, RED)).build())])
    if unreachable_too:
        p = p.override_by_name("Không truy cập được", [
            cell("color-background"), prop("thresholds", steps("transparent", (1, ORANGE)).build())])
    return p


def timeline(title: str, targets: Sequence[prom.Dataquery], maps: Mapping[str, tuple[str, str]],
             thresholds: db.ThresholdsConfig, *, description: str | None = None) -> statetimeline.Panel:
    p = (statetimeline.Panel().title(title).unit("none").targets(list(targets)).mappings(mappings(maps))
         .thresholds(thresholds).show_value(cm.VisibilityMode.NEVER).merge_values(True).row_height(0.8)
         .legend(legend()))
    if description:
        p = p.description(description)
    return p


def marker_layer(name: str, ref: str, symbol: str, size: float, opacity: float) -> cb.MapLayerOptions:
    """Markers at (lat, lon), coloured by the state code of query ``ref`` (colours from its thresholds)."""
    return (cb.MapLayerOptions().type("markers").name(name).tooltip(True)
            .filter_data({"id": "byRefId", "options": ref})
            .location(cb.FrameGeometrySource().mode(cm.FrameGeometrySourceMode.COORDS)
                      .latitude("lat").longitude("lon"))
            .config({
                "showLegend": True,
                "style": {
                    "color": {"field": "Trạng thái", "fixed": "dark-green"},
                    "opacity": opacity,
                    "size": {"fixed": size, "min": 2, "max": 15},
                    "symbol": {"fixed": f"img/icons/marker/{symbol}.svg", "mode": "fixed"},
                    "symbolAlign": {"horizontal": "center", "vertical": "center"},
                    "rotation": {"fixed": 0, "min": -360, "max": 360, "mode": "mod"},
                },
            }))


def offline_basemap() -> cb.MapLayerOptions:
    """No tile server: Grafana's bundled country outlines as a plain background (any layer type may be the
    basemap; a ``default``/``xyz`` basemap would fetch tiles from the Internet)."""
    return (cb.MapLayerOptions().type("geojson").name("Nền bản đồ (ngoại tuyến)")
            .config({"src": OFFLINE_BASEMAP, "rules": [],
                     "style": {"color": {"fixed": "#3d4450"}, "opacity": 0.35,
                               "lineWidth": 1}}))


def state_map(title: str, targets: Sequence[prom.Dataquery], layers: Sequence[cb.MapLayerOptions], *,
              description: str) -> geomap.Panel:
    return (geomap.Panel().title(title).description(description).unit("none").targets(list(targets))
            .mappings(mappings(DEVICE_STATES)).thresholds(STATE_STEPS)
            .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
            .basemap(offline_basemap()).layers(list(layers))
            .view(geomap.MapViewConfig().id("fit").zoom(12).all_layers(True).padding(5))
            .controls(geomap.ControlsOptions().show_zoom(True).mouse_wheel_zoom(True).show_attribution(False)
                      .show_scale(True))
            .tooltip(geomap.TooltipOptions().mode(gm.TooltipMode.DETAILS))
            .transformations([
                latlon_numbers(),
                transform("renameByRegex", {"regex": "^Value.*$", "renamePattern": "Trạng thái"}),
                organize(exclude=["district", "commune", "monitored", "has_4g", "site"],
                         rename={"lat": "lat", "lon": "lon"}),
            ]))


class Board:
    """A dashboard under construction: panel ids in order, rows, links to the other netmon dashboards."""

    def __init__(self, uid: str, title: str, description: str, time_from: str, refresh: str = "1m") -> None:
        self.uid = uid
        self.builder = (db.Dashboard(title).uid(uid).description(description).tags(TAGS)
                        .time(time_from, "now").refresh(refresh).timezone("Asia/Ho_Chi_Minh").editable()
                        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
                        .link(db.DashboardLink("Bảng netmon").type(dm.DashboardLinkType.DASHBOARDS)
                              .tags(["netmon"]).as_dropdown(True).include_vars(False).keep_time(True)))
        self.builder.with_variable(datasource_variable())
        self._id = 0

    def _next(self) -> int:
        self._id += 1
        return self._id

    def row(self, title: str) -> Board:
        self.builder.with_row(db.Row(title).id(self._next()))
        return self

    def add(self, panel: Any, w: int, h: int) -> Board:  # any panel builder (they share no base class)
        self.builder.with_panel(panel.id(self._next()).datasource(DS).span(w).height(h))
        return self

    def variable(self, variable: db.QueryVariable) -> Board:
        self.builder.with_variable(variable.datasource(DS).refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED))
        return self

    def build(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(json.dumps(self.builder.build(), cls=JSONEncoder))
        return data


def datasource_variable() -> db.DatasourceVariable:
    """``${datasource}``: any Prometheus of the Grafana the dashboard is imported into; the provisioned one first."""
    return (db.DatasourceVariable("datasource").label("Nguồn dữ liệu").type("prometheus")
            .current(dm.VariableOption(selected=True, text="Prometheus (netmon)", value=DATASOURCE_UID)))


def district_variable(all_: bool) -> db.QueryVariable:
    v = (db.QueryVariable("district").label("Huyện / thành phố")
         .query("label_values(netmon_site_info, district_name)").sort(dm.VariableSort.ALPHABETICAL_ASC))
    if all_:
        v = v.include_all(True).all_value(".*")
    return v


# ------------------------------------------------------------------------------------------ dashboards
STATE_CODE_HELP = "0 hoạt động, 1 không truy cập được (phía sau sự cố), 2 mất kết nối, 3 chưa rõ."


def noc() -> dict[str, Any]:
    b = Board("netmon-noc", "Tổng quan mạng WAN tỉnh Trà Vinh (NOC)",
              "Trạng thái 150 điểm cơ quan và 1.222 trạm BTS, sự cố đang mở, bản đồ và sức khỏe bộ thu thập netmon.",
              "now-6h", "30s")
    b.row("Tình trạng chung")
    b.add(stat_panel("Router hoạt động", 'sum(netmon_device_status{kind="router", state="up"})', "short",
                     steps(GREEN), color_background=False,
                     description="Số router điểm cơ quan đang trả lời (trên tổng 150)."), 4, 4)
    b.add(stat_panel("Router mất kết nối", 'sum(netmon_device_status{kind="router", state="down"})', "short",
                     steps(GREEN, (1, RED)), description="Nguyên nhân gốc: router không trả lời SNMP và ICMP."), 4, 4)
    b.add(stat_panel("Router không truy cập được", 'sum(netmon_device_status{kind="router", state="unreachable"})',
                     "short", steps(GREEN, (1, ORANGE)),
                     description="Phía sau một router hoặc đường truyền đã hỏng: không tạo cảnh báo riêng."), 4, 4)
    b.add(stat_panel("Trạm BTS mất quản lý",
                     'sum(netmon_device_status{kind="bts", state=~"down|unreachable"})', "short",
                     steps(GREEN, (1, ORANGE), (20, RED))), 4, 4)
    b.add(stat_panel("Sự cố đang mở", "count(netmon_incident_open) or vector(0)", "short",
                     steps(GREEN, (1, RED)), description="Mỗi nguyên nhân gốc là một sự cố."), 4, 4)
    b.add(stat_panel("Bộ thu thập netmon", 'max(up{job="netmon"}) or vector(0)', "none", steps(RED, (1, GREEN)),
                     maps={"1": ("Đang thu thập", GREEN), "0": ("Mất số liệu", RED)},
                     description="Prometheus đọc được /metrics của netmon."), 4, 4)

    b.row("Theo huyện và trên bản đồ")
    b.add(states_by_district("Router theo huyện và trạng thái", "router", unreachable_too=True,
                             description="Số router (điểm cơ quan) của mỗi huyện theo trạng thái hiện tại."), 10, 10)
    b.add(state_map("Bản đồ điểm cơ quan và trạm BTS", [
        q("netmon:site:state_code", "A", instant=True, table_format=True),
        q("netmon:base_station:state_code", "B", instant=True, table_format=True)],
        [marker_layer("Trạm BTS", "B", "triangle", 4, 0.6), marker_layer("Điểm cơ quan", "A", "circle", 8, 0.95)],
        description="Vị trí từ nhãn lat/lon của netmon_site_info và netmon_base_station_info, màu theo trạng thái: "
                    + STATE_CODE_HELP + " Nền bản đồ không cần Internet."), 14, 20)
    b.add(states_by_district("Trạm BTS theo huyện và trạng thái quản lý", "bts"), 10, 10)

    b.row("Sự cố")
    b.add(grid("Sự cố đang mở (nguyên nhân gốc)", [
        q("""
          (time() - netmon_incident_started_timestamp_seconds)
            * on (incident) group_left (kind, severity, title, device, link, site_name, district_name, since)
          netmon_incident_open
        """, "A", instant=True, table_format=True),
        q("""
          netmon_incident_affected_sites * on (incident) group_left (kind, severity, title, device, link, site_name,
          district_name, since) netmon_incident_open
        """, "B", instant=True, table_format=True)],
        [MERGE, organize(rename={**value_names({"A": "Thời gian", "B": "Số điểm bị ảnh hưởng"}),
                                 "device": "Thiết bị gốc", "link": "Đường truyền gốc", "kind": "Loại"},
                         order=["severity", "title", "kind", "device", "link", "site_name", "district_name",
                                "since", "Value #A", "Value #B"],
                         exclude=["incident"])],
        unit="string", sort_column="Thời gian", no_value="Không có sự cố nào đang mở",
        description="Một dòng cho mỗi sự cố (netmon_incident_open): nguyên nhân gốc, nơi xảy ra, thời gian kéo "
                    "dài và số điểm phía sau không truy cập được.")
        .override_by_name("Thời gian", [prop("unit", "s"), cell("color-text"),
                                        prop("thresholds", steps(ORANGE, (900, RED)).build())])
        .override_by_name("Số điểm bị ảnh hưởng", [prop("unit", "short")])
        .override_by_name("Mức", [prop("mappings", mappings(SEVERITY)), cell("color-background")])
        .override_by_name("Loại", [prop("mappings", mappings(INCIDENT_KIND))]),
        24, 8)
    b.add(grid("Điểm không truy cập được do sự cố phía trên", [q(
        "max by (site_name, district_name, device, incident) (netmon_device_unreachable)",
        instant=True, table_format=True)],
        [organize(exclude=["Value"], order=["site_name", "district_name", "device", "incident"])],
        no_value="Không có điểm nào bị ảnh hưởng", sort_column="Huyện / thành phố", sort_desc=False,
        description="Các thiết bị phía sau nguyên nhân gốc (không gửi cảnh báo riêng)."), 24, 7)

    b.row("Sức khỏe bộ thu thập (netmon)")
    b.add(stat_panel("Chu kỳ thực / chu kỳ đặt",
                     'max by (class) (netmon_poller_cycle_duration_seconds{class!="discovery"} '
                     '/ netmon_poller_interval_seconds{class!="discovery"})', "percentunit",
                     steps(GREEN, (0.8, ORANGE), (1, RED)), legend_format="{{class}}",
                     description="Trên 100 %: một vòng thu thập dài hơn chu kỳ đặt (cảnh báo PollerBehind)."), 6, 5)
    b.add(stat_panel("Độ trễ lịch thu thập", 'max by (class) (netmon_poller_lag_seconds{class!="discovery"})', "s",
                     steps(GREEN, (10, ORANGE), (30, RED)), legend_format="{{class}}"), 6, 5)
    b.add(stat_panel("Từ lô thu thập gần nhất",
                     'max by (class) (time() - netmon_poller_last_batch_timestamp_seconds{class!="discovery"})', "s",
                     steps(GREEN, (120, ORANGE), (600, RED)), legend_format="{{class}}"), 6, 5)
    b.add(stat_panel("Tỷ lệ lần thu thập lỗi",
                     "sum(rate(netmon_poll_errors_total[$__rate_interval])) "
                     "/ sum(rate(netmon_polls_total[$__rate_interval]))", "percentunit",
                     steps(GREEN, (0.02, ORANGE), (0.1, RED)),
                     description="Lần poll SNMP thất bại / tổng số lần poll (gồm cả thiết bị đang mất kết nối)."),
          6, 5)
    b.add(graph("Thời gian một vòng thu thập", "s", [
        q('netmon_poller_cycle_duration_seconds{class!="discovery"}', "A", "{{class}}: thực tế"),
        q('netmon_poller_interval_seconds{class!="discovery"}', "B", "{{class}}: chu kỳ đặt")],
        minimum=0), 8, 8)
    b.add(graph("Poll, lỗi và hết thời gian chờ (mỗi giây)", "reqps", [
        q("sum(rate(netmon_polls_total[$__rate_interval]))", "A", "poll"),
        q("sum(rate(netmon_poll_errors_total[$__rate_interval]))", "B", "lỗi"),
        q("sum(rate(netmon_poll_timeouts_total[$__rate_interval]))", "C", "hết thời gian chờ"),
        q("sum(rate(netmon_poll_retries_total[$__rate_interval]))", "D", "gửi lại")], minimum=0), 8, 8)
    b.add(graph("SNMP trap nhận được (mỗi giây)", "cps", [
        q("sum by (outcome) (rate(netmon_traps_total[$__rate_interval]))", "A", "{{outcome}}")], minimum=0), 8, 8)
    return b.build()


def district() -> dict[str, Any]:
    b = Board("netmon-district", "Chi tiết huyện: $district",
              "Các điểm, đường truyền lên (uplink), lưu lượng và mức sử dụng so với băng thông hợp đồng của một huyện.",
              "now-24h")
    b.variable(district_variable(all_=False))
    sites = 'netmon:device:info{district_name="$district", role!=""}'
    b.row("Điểm cơ quan")
    for title, state, colour in (("Điểm hoạt động", "up", GREEN), ("Điểm mất kết nối", "down", RED),
                                 ("Điểm không truy cập được", "unreachable", ORANGE)):
        thresholds = steps(GREEN) if state == "up" else steps(GREEN, (1, colour))
        b.add(stat_panel(title, f'sum(netmon_device_status{{kind="router", state="{state}"}} '
                                f'* on (device) group_left () {sites}) or vector(0)', "short", thresholds,
                         color_background=state != "up"), 4, 4)
    b.add(stat_panel("Sự cố đang mở trong huyện", 'count(netmon_incident_open{district_name="$district"}) or vector(0)',
                     "short", steps(GREEN, (1, RED))), 4, 4)
    b.add(stat_panel("Khả dụng của huyện (trong khoảng)",
                     'avg(avg_over_time(netmon:site:up{district_name="$district"}[$__range]))', "percentunit",
                     steps(RED, (0.99, ORANGE), (0.995, GREEN)),
                     description="Tỷ lệ thời gian (đã biết trạng thái) các điểm của huyện hoạt động."), 8, 4)
    site_key = "site, name, kind, level, commune_name"
    b.add(grid("Các điểm của huyện", [
        q(f"max by ({site_key}) (netmon:site:state_code{{district_name=\"$district\"}})", "A", instant=True,
          table_format=True),
        q(f"max by ({site_key}) (avg_over_time(netmon:site:up{{district_name=\"$district\"}}[$__range]))", "B",
          instant=True, table_format=True)],
        [MERGE,
         organize(rename=value_names({"A": "Trạng thái", "B": "Khả dụng"}),
                  order=["name", "level", "kind", "commune_name", "Value #A", "Value #B", "site"])],
        unit="string", sort_column="Trạng thái",
        description="Trạng thái hiện tại (" + STATE_CODE_HELP + ") và khả dụng trong khoảng thời gian đã chọn.")
        .override_by_name("Trạng thái", [prop("mappings", mappings(DEVICE_STATES)), cell("color-background"),
                                         prop("unit", "none")])
        .override_by_name("Khả dụng", [prop("unit", "percentunit"), prop("decimals", 2), cell("color-text"),
                                       prop("thresholds", steps(RED, (0.99, ORANGE), (0.995, GREEN)).build())])
        .override_by_name("Khối", [prop("mappings", mappings(SITE_KIND))])
        .override_by_name("Cấp", [prop("mappings", mappings(SITE_LEVEL))]),
        24, 12)

    uplinks = 'netmon:uplink:info{district_name="$district"}'
    b.row("Đường truyền lên (uplink) của các điểm")
    b.add(grid("Đường truyền của các điểm", [
        q(f"max by (link, site_name, circuit, provider) (netmon:link_state:code * on (link) group_left "
          f"(site_name, circuit, provider) {uplinks})", "A", instant=True, table_format=True),
        q(f"max by (link, site_name, circuit, provider) (8 * netmon_interface_contracted_bandwidth_bytes "
          f"* on (device, interface) group_left (link, site_name) {uplinks})", "B", instant=True, table_format=True),
        q(f"max by (link, site_name, circuit, provider) (netmon:interface_utilization:ratio_rate5m "
          f"* on (device, interface) group_left (link, site_name) {uplinks})", "C", instant=True, table_format=True)],
        [MERGE, organize(rename=value_names({"A": "Trạng thái", "B": "Băng thông hợp đồng",
                                             "C": "Sử dụng (cao nhất vào/ra, 5 phút)"}),
                         order=["site_name", "circuit", "provider", "Value #A", "Value #B", "Value #C", "link"])],
        unit="string", sort_column="Sử dụng (cao nhất vào/ra, 5 phút)",
        description="Kênh truyền từ mỗi điểm lên cấp trên (netmon_link_info, đầu a), đo tại đầu của điểm.")
        .override_by_name("Trạng thái", [prop("mappings", mappings(LINK_STATES)), cell("color-background"),
                                         prop("unit", "none")])
        .override_by_name("Băng thông hợp đồng", [prop("unit", "bps")])
        .override_by_name("Sử dụng (cao nhất vào/ra, 5 phút)", [
            prop("unit", "percentunit"), cell("gauge"), prop("min", 0), prop("max", 1),
            prop("thresholds", steps(GREEN, (0.7, ORANGE), (0.9, RED)).build())]),
        24, 10)
    b.add(graph("Mức sử dụng so với băng thông hợp đồng", "percentunit", [
        q(f"max by (site_name, circuit) (netmon:interface_utilization:ratio_rate5m "
          f"* on (device, interface) group_left (site_name) {uplinks})", "A", "{{site_name}} ({{circuit}})")],
        thresholds=steps(GREEN, (0.7, ORANGE), (0.9, RED)), threshold_lines=True, minimum=0, fill=0,
        description="Lưu lượng / băng thông hợp đồng (cao nhất của hai chiều, trung bình 5 phút). Trên 90 % "
                    "quá 10 phút: cảnh báo HighUtilization."), 24, 9)
    b.add(graph("Lưu lượng vào các điểm (từ cấp trên)", "bps", [
        q(f"sum by (site_name) (8 * rate(netmon_interface_in_octets_total[$__rate_interval]) "
          f"* on (device, interface) group_left (site_name) {uplinks})", "A", "{{site_name}}")],
        minimum=0, calcs=("mean", "max")), 12, 9)
    b.add(graph("Lưu lượng ra từ các điểm (lên cấp trên)", "bps", [
        q(f"sum by (site_name) (8 * rate(netmon_interface_out_octets_total[$__rate_interval]) "
          f"* on (device, interface) group_left (site_name) {uplinks})", "A", "{{site_name}}")],
        minimum=0, calcs=("mean", "max")), 12, 9)
    b.add(bars("Sử dụng hiện tại theo điểm", "percentunit", [
        q(f"max by (site_name) (netmon:interface_utilization:ratio_rate5m "
          f"* on (device, interface) group_left (site_name) {uplinks})", "A", "{{site_name}}", instant=True)],
        steps(GREEN, (0.7, ORANGE), (0.9, RED)), minimum=0, maximum=1), 12, 10)
    b.add(graph("Lỗi giao diện trên đường truyền (mỗi giây)", "pps", [
        q(f"sum by (site_name, direction) (netmon:interface_errors:rate5m "
          f"* on (device, interface) group_left (site_name) {uplinks})", "A", "{{site_name}} ({{direction}})")],
        thresholds=steps(GREEN, (1, RED)), threshold_lines=True, minimum=0, fill=0,
        description="Trên 1 lỗi/giây quá 10 phút: cảnh báo InterfaceErrors."), 12, 10)
    return b.build()


def site() -> dict[str, Any]:
    b = Board("netmon-site", "Chi tiết điểm / thiết bị",
              "Giao diện, lưu lượng, lỗi, ICMP (RTT, mất gói), khởi động lại và trạng thái theo thời gian của một "
              "router điểm cơ quan.", "now-6h", "30s")
    b.variable(district_variable(all_=True))
    b.variable(db.QueryVariable("site").label("Điểm")
               .query('query_result(netmon_site_info{district_name=~"$district"})')
               .regex('/name="(?<text>[^"]+)".*site="(?<value>[^"]+)"/').sort(dm.VariableSort.ALPHABETICAL_ASC))
    b.variable(db.QueryVariable("device").label("Thiết bị")
               .query('label_values(netmon_device_info{site="$site"}, device)').sort(dm.VariableSort.ALPHABETICAL_ASC))
    dev = 'device="$device"'
    b.row("Thiết bị")
    b.add(stat_panel("Trạng thái", f'netmon:device_state:code{{{dev}}}', "none", STATE_STEPS, maps=DEVICE_STATES,
                     description=STATE_CODE_HELP), 4, 4)
    b.add(stat_panel("Thời gian hoạt động", f"netmon_device_uptime_seconds{{{dev}}}", "dtdurations",
                     steps(ORANGE, (3600, GREEN)), color_background=False,
                     description="sysUpTime: dưới 1 giờ là vừa khởi động lại."), 4, 4)
    b.add(stat_panel("Khởi động lại (trong khoảng)", f"increase(netmon_device_reboots_total{{{dev}}}[$__range])",
                     "short", steps(GREEN, (1, ORANGE)), description="Số lần sysUpTime bị đặt lại."), 4, 4)
    b.add(stat_panel("RTT ICMP trung bình", f'netmon_icmp_rtt_seconds{{{dev}, stat="avg"}}', "s",
                     steps(GREEN, (0.05, ORANGE), (0.15, RED)), color_background=False), 4, 4)
    b.add(stat_panel("Mất gói ICMP", f"netmon_icmp_loss_ratio{{{dev}}}", "percentunit",
                     steps(GREEN, (0.01, ORANGE), (0.05, RED))), 4, 4)
    b.add(stat_panel("Thời gian poll SNMP", f"netmon_poll_duration_seconds{{{dev}}}", "s",
                     steps(GREEN, (2, ORANGE), (5, RED)), color_background=False), 4, 4)
    b.add(grid("Thông tin điểm và thiết bị", [
        q(f'netmon_site_info{{site="$site"}} * on (site) group_left (device, model, platform, role, mgmt) '
          f"netmon_device_info{{{dev}}}", "A", instant=True, table_format=True)],
        [organize(exclude=["Value", "district", "commune"],
                  order=["name", "kind", "level", "district_name", "commune_name", "device", "model", "platform",
                         "role", "mgmt", "lat", "lon", "site"])],
        description="Từ kho dữ liệu (inventory) qua netmon_site_info và netmon_device_info.")
        .override_by_name("Khối", [prop("mappings", mappings(SITE_KIND))])
        .override_by_name("Cấp", [prop("mappings", mappings(SITE_LEVEL))]),
        24, 4)

    b.row("Giao diện")
    itf = f"max by (interface) ({{metric}}{{{{{dev}}}}})"
    b.add(grid("Giao diện", [
        q(itf.format(metric="netmon_interface_oper_status"), "A", instant=True, table_format=True),
        q(itf.format(metric="netmon_interface_admin_status"), "B", instant=True, table_format=True),
        q(f"8 * {itf.format(metric='netmon_interface_speed_bytes')}", "C", instant=True, table_format=True),
        q(f"8 * max by (interface) (rate(netmon_interface_in_octets_total{{{dev}}}[$__rate_interval]))", "D",
          instant=True, table_format=True),
        q(f"8 * max by (interface) (rate(netmon_interface_out_octets_total{{{dev}}}[$__rate_interval]))", "E",
          instant=True, table_format=True),
        q(f"max by (interface) (rate(netmon_interface_in_errors_total{{{dev}}}[$__rate_interval]) "
          f"+ rate(netmon_interface_out_errors_total{{{dev}}}[$__rate_interval]))", "F",
          instant=True, table_format=True)],
        [MERGE, organize(rename=value_names({"A": "Vận hành", "B": "Quản trị", "C": "Tốc độ", "D": "Vào",
                                             "E": "Ra", "F": "Lỗi"}),
                         order=["interface", "Value #A", "Value #B", "Value #C", "Value #D", "Value #E",
                                "Value #F"])],
        unit="string", sort_column="Giao diện", sort_desc=False,
        description="ifOperStatus, ifAdminStatus, tốc độ và lưu lượng hiện tại của mọi giao diện.")
        .override_by_name("Vận hành", [prop("mappings", mappings(OPER_STATUS)), cell("color-text"),
                                       prop("unit", "none")])
        .override_by_name("Quản trị", [prop("mappings", mappings(ADMIN_STATUS)), prop("unit", "none")])
        .override_by_name("Tốc độ", [prop("unit", "bps")])
        .override_by_name("Vào", [prop("unit", "bps")])
        .override_by_name("Ra", [prop("unit", "bps")])
        .override_by_name("Lỗi", [prop("unit", "pps"), cell("color-text"),
                                  prop("thresholds", steps(GREEN, (1, RED)).build())]),
        24, 10)
    b.add(graph("Lưu lượng theo giao diện (vào dương, ra âm)", "bps", [
        q(f"8 * rate(netmon_interface_in_octets_total{{{dev}}}[$__rate_interval]) > 0", "A", "{{interface}} vào"),
        q(f"8 * rate(netmon_interface_out_octets_total{{{dev}}}[$__rate_interval]) > 0", "B", "{{interface}} ra")],
        calcs=("mean", "max"))
        .override_by_regexp(".* ra$", [prop("custom.transform", "negative-Y")]), 24, 10)
    b.add(graph("Lỗi và gói bị loại (mỗi giây)", "pps", [
        q(f"sum by (interface) (rate(netmon_interface_in_errors_total{{{dev}}}[$__rate_interval]))", "A",
          "{{interface}} lỗi vào"),
        q(f"sum by (interface) (rate(netmon_interface_out_errors_total{{{dev}}}[$__rate_interval]))", "B",
          "{{interface}} lỗi ra"),
        q(f"sum(rate(netmon_interface_in_discards_total{{{dev}}}[$__rate_interval]))", "C", "loại bỏ vào (tổng)"),
        q(f"sum(rate(netmon_interface_out_discards_total{{{dev}}}[$__rate_interval]))", "D", "loại bỏ ra (tổng)")],
        thresholds=steps(GREEN, (1, RED)), threshold_lines=True, minimum=0, fill=0), 24, 8)

    b.row("ICMP và khởi động lại")
    b.add(graph("Thời gian phản hồi ICMP (RTT)", "s", [
        q(f"netmon_icmp_rtt_seconds{{{dev}}}", "A", "{{stat}}"),
        q(f"netmon_icmp_jitter_seconds{{{dev}}}", "B", "jitter")],
        thresholds=steps(GREEN, (0.05, ORANGE), (0.15, RED)), threshold_lines=True, minimum=0, fill=0), 12, 8)
    b.add(graph("Mất gói ICMP", "percentunit", [q(f"netmon_icmp_loss_ratio{{{dev}}}", "A", "mất gói")],
                thresholds=steps(GREEN, (0.01, ORANGE), (0.05, RED)), threshold_lines=True, minimum=0,
                maximum=1), 12, 8)
    b.add(graph("Thời gian hoạt động (sysUpTime)", "dtdurations", [
        q(f"netmon_device_uptime_seconds{{{dev}}}", "A", "sysUpTime")], minimum=0,
        description="Mỗi lần tụt về 0 là một lần khởi động lại."), 12, 8)
    b.add(graph("Khởi động lại", "short", [
        q(f"increase(netmon_device_reboots_total{{{dev}}}[$__rate_interval])", "A", "khởi động lại")],
        thresholds=steps(GREEN, (1, ORANGE)), minimum=0, calcs=("sum",))
        .draw_style(cm.GraphDrawStyle.BARS), 12, 8)

    b.row("Thu thập SNMP")
    b.add(stat_panel("Độ đầy đủ thu thập SNMP", f"netmon_device_collection_completeness{{{dev}}}", "percentunit",
                     steps(RED, (0.5, ORANGE), (1, GREEN)),
                     description="Tỷ lệ đối tượng (biến đơn, cột bảng) của lần poll gần nhất đọc được đầy đủ. 100 %: "
                                 "sạch. Thấp hơn: agent vi phạm giao thức (OID không tăng, noSuchObject…) — thiết bị "
                                 "vẫn được coi là truy cập được, phần dữ liệu nhận được vẫn dùng. 0 %: không đọc được "
                                 "gì."), 6, 6)
    b.add(stat_panel("Giám sát SNMP", f"netmon_device_blind{{{dev}}}", "none", steps(GREEN, (1, RED)),
                     maps={"0": ("Đang giám sát", GREEN), "1": ("Mất giám sát: ping được, SNMP không", RED)},
                     description="Mất giám sát (cảnh báo DeviceBlind): thiết bị trả lời ping nhưng SNMP không trả lời "
                                 "(hoặc không cho đọc dữ liệu) quá thời gian NETMON_BLIND_AFTER_S; kiểm tra SNMP agent, "
                                 "community / người dùng SNMPv3, ACL."), 6, 6)
    b.add(graph("Lỗi giao thức SNMP theo loại", "short", [
        q(f"sum by (reason) (increase(netmon_poll_faults_total{{{dev}}}[$__rate_interval])) or on () vector(0)",
          "A", "{{reason}}")], minimum=0, calcs=("sum",),
        description="Số lần poll có lỗi giao thức, theo loại (non_increasing_oid, duplicate_varbind, no_such_object, "
                    "no_such_instance, unpadded_unsigned, agent_error, timeout…); 0 khi agent đúng chuẩn.")
          .draw_style(cm.GraphDrawStyle.BARS), 12, 6)

    b.row("Trạng thái theo thời gian")
    b.add(timeline("Trạng thái thiết bị và đường truyền", [
        q(f"netmon:device_state:code{{{dev}}}", "A", "Thiết bị $device"),
        q('max by (link) (netmon:link_state:code * on (link) group_left () '
          'netmon_link_info{a_device="$device"})', "B", "Uplink {{link}}")],
        DEVICE_STATES, STATE_STEPS, description="Thiết bị: " + STATE_CODE_HELP)
        .override_by_query("B", [prop("mappings", mappings(LINK_STATES))]), 24, 5)
    b.add(timeline("Giao diện được giám sát (có băng thông hợp đồng)", [
        q(f"max by (interface) (netmon_interface_oper_status{{{dev}}} "
          f"and on (device, interface) netmon_interface_contracted_bandwidth_bytes)", "A", "{{interface}}")],
        OPER_STATUS, steps(GREEN, (2, RED), (3, BLUE), (4, GREY), (7, ORANGE))), 24, 5)
    return b.build()


def base_stations() -> dict[str, Any]:
    b = Board("netmon-bts", "Trạm BTS di động",
              "1.222 trạm BTS của 6 nhà mạng: theo nhà mạng, công nghệ và xã; xã chưa có 4G; trạng thái đường quản lý.",
              "now-24h")
    b.variable(db.QueryVariable("operator").label("Nhà mạng")
               .query("label_values(netmon_base_station_info, operator)").multi(True).include_all(True)
               .all_value(".*").sort(dm.VariableSort.ALPHABETICAL_ASC))
    b.variable(district_variable(all_=True))
    sel = 'operator=~"$operator", district_name=~"$district"'
    info = f"netmon_base_station_info{{{sel}}}"
    b.row("Tổng quan")
    b.add(stat_panel("Số trạm", f"count({info}) or vector(0)", "short", steps(BLUE), color_background=False), 4, 4)
    b.add(stat_panel("Trạm có 4G", f'count(netmon_base_station_info{{{sel}, has_4g="true"}}) or vector(0)',
                     "short", steps(BLUE), color_background=False), 4, 4)
    b.add(stat_panel("Trạm có đường quản lý (SNMP)",
                     f'count(netmon_base_station_info{{{sel}, monitored="true"}}) or vector(0)', "short", steps(BLUE),
                     color_background=False), 4, 4)
    b.add(stat_panel("Truy cập được (quản lý)", f"avg(netmon:base_station:state_code{{{sel}}} == bool 0)",
                     "percentunit", steps(RED, (0.95, ORANGE), (0.99, GREEN)),
                     description="Tỷ lệ trạm đang trả lời trên đường quản lý."), 4, 4)
    b.add(stat_panel("Trạm mất quản lý", f"count(netmon:base_station:state_code{{{sel}}} > 0) or vector(0)", "short",
                     steps(GREEN, (1, ORANGE), (20, RED))), 4, 4)
    b.add(stat_panel("Xã chưa có 4G", """
        count(
          (count by (commune) (netmon_site_info{level="commune", district_name=~"$district"})
           or count by (commune) (netmon_base_station_info{district_name=~"$district"}))
          unless on (commune) count by (commune) (netmon_base_station_info{has_4g="true"})
        ) or vector(0)""", "short", steps(GREEN, (1, ORANGE)),
        description="Theo kho dữ liệu: xã/phường không có trạm nào của bất kỳ nhà mạng nào hỗ trợ 4G."), 4, 4)

    b.row("Theo nhà mạng, công nghệ và xã")
    b.add(grid("Theo nhà mạng", [
        q(f"count by (operator) ({info})", "A", instant=True, table_format=True),
        q(f'count by (operator) (netmon_base_station_info{{{sel}, has_4g="true"}})', "B", instant=True,
          table_format=True),
        q(f'count by (operator) (netmon_base_station_info{{{sel}, monitored="true"}})', "C", instant=True,
          table_format=True),
        q(f"sum by (operator) (netmon:base_station:state_code{{{sel}}} == bool 0)", "D", instant=True,
          table_format=True),
        q(f"avg by (operator) (netmon:base_station:state_code{{{sel}}} == bool 0)", "E", instant=True,
          table_format=True)],
        [MERGE, organize(rename=value_names({"A": "Số trạm", "B": "Có 4G", "C": "Có đường quản lý",
                                             "D": "Đang truy cập được", "E": "Tỷ lệ truy cập được"}),
                         order=["operator", "Value #A", "Value #B", "Value #C", "Value #D", "Value #E"])],
        unit="short", sort_column="Số trạm")
        .override_by_name("Tỷ lệ truy cập được", [prop("unit", "percentunit"), cell("color-text"),
                                                  prop("thresholds",
                                                       steps(RED, (0.95, ORANGE), (0.99, GREEN)).build())])
        .override_by_name("Nhà mạng", [prop("unit", "string")]), 12, 8)
    tech = [q(f'count(netmon_base_station_info{{{sel}, technologies=~"(.*,)?{t}(,.*)?"}}) or vector(0)', ref, t,
              instant=True) for ref, t in zip("ABCD", ("2G", "3G", "4G", "5G"), strict=True)]
    b.add(bars("Theo công nghệ (một trạm có thể nhiều công nghệ)", "short", tech, steps(BLUE), minimum=0), 12, 8)
    b.add(piechart.Panel().title("Tỷ lệ trạm theo nhà mạng").unit("short")
          .with_target(q(f"count by (operator) ({info})", legend="{{operator}}", instant=True))
          .pie_type(pcm.PieChartType.DONUT).reduce_options(reduce_last())
          .legend(piechart.PieChartLegendOptions().display_mode(cm.LegendDisplayMode.TABLE)
                  .placement(cm.LegendPlacement.RIGHT)
                  .show_legend(True).values([pcm.PieChartLegendValues.VALUE, pcm.PieChartLegendValues.PERCENT])), 8, 10)
    b.add(grid("Theo xã / phường và nhà mạng", [q(
        f'count by (commune_label, operator) (label_join({info}, "commune_label", " — ", "commune_name", '
        f'"district_name"))', instant=True, table_format=True)],
        [transform("groupingToMatrix", {"columnField": "operator", "rowField": "commune_label",
                                        "valueField": "Value"}),
         organize(rename={"commune_label\\operator": "Xã / phường — huyện"})],
        unit="short", sort_column="Xã / phường — huyện", sort_desc=False)
        .override_by_name("Xã / phường — huyện", [prop("unit", "string")]), 16, 10)

    b.row("Vùng phủ 4G và đường quản lý")
    b.add(grid("Xã / phường chưa có phủ sóng 4G (theo kho dữ liệu)", [
        q("""
          (
            count by (district_name, commune, commune_name) (netmon_base_station_info{district_name=~"$district"})
            or
            0 * count by (district_name, commune, commune_name) (
              netmon_site_info{level="commune", district_name=~"$district"})
          )
          unless on (commune) count by (commune) (netmon_base_station_info{has_4g="true"})
        """, "A", instant=True, table_format=True)],
        [organize(rename=value_names({"A": "Số trạm (chỉ 2G/3G)"}), exclude=["commune"],
                  order=["district_name", "commune_name", "Value"])],
        unit="short", sort_column="Huyện / thành phố", sort_desc=False,
        no_value="Mọi xã / phường đều có ít nhất một trạm 4G",
        description="Xã/phường (từ các điểm cấp xã và vị trí trạm) mà không trạm nào có 4G (nhãn has_4g, "
                    "technologies của netmon_base_station_info), mọi nhà mạng.")
        .override_by_name("Huyện / thành phố", [prop("unit", "string")])
        .override_by_name("Xã / phường", [prop("unit", "string")]), 12, 10)
    b.add(grid("Trạm BTS mất đường quản lý", [q(f"netmon:base_station:state_code{{{sel}}} > 0", instant=True,
                                                table_format=True)],
               [organize(rename=value_names({"A": "Trạng thái"}),
                         exclude=["district", "commune", "lat", "lon", "has_4g", "monitored"],
                         order=["base_station", "operator", "technologies", "commune_name", "district_name", "Value"])],
               unit="string", no_value="Mọi trạm BTS đều truy cập được", sort_column="Huyện / thành phố",
               sort_desc=False)
          .override_by_name("Trạng thái", [prop("mappings", mappings(DEVICE_STATES)), cell("color-background"),
                                           prop("unit", "none")]), 12, 10)
    b.add(bars("Tỷ lệ trạm truy cập được theo nhà mạng", "percentunit", [
        q(f"avg by (operator) (netmon:base_station:state_code{{{sel}}} == bool 0)", "A", "{{operator}}",
          instant=True)], steps(RED, (0.95, ORANGE), (0.99, GREEN)), minimum=0, maximum=1), 12, 8)
    b.add(graph("Trạm mất quản lý theo thời gian", "short", [
        q(f"count by (operator) (netmon:base_station:state_code{{{sel}}} > 0) "
          f"or 0 * count by (operator) (netmon:base_station:state_code{{{sel}}})", "A", "{{operator}}")],
        minimum=0, calcs=("max", "lastNotNull"),
        description="Số trạm không truy cập được trên đường quản lý, theo nhà mạng (0 khi mọi trạm đều tốt)."),
          12, 8)
    b.add(state_map("Bản đồ trạm BTS", [
        q(f"netmon:base_station:state_code{{{sel}}}", "B", instant=True, table_format=True)],
        [marker_layer("Trạm BTS", "B", "triangle", 6, 0.8)],
        description="Trạm BTS theo nhà mạng/huyện đã chọn, màu theo trạng thái đường quản lý: "
                    + STATE_CODE_HELP), 24, 14)
    return b.build()


def availability() -> dict[str, Any]:
    b = Board("netmon-availability", "Khả dụng và lịch sử sự cố",
              "Khả dụng theo huyện, khối và cấp trong khoảng thời gian đã chọn (avg_over_time của trạng thái hoạt "
              "động, chỉ tính thời gian đã biết trạng thái) và danh sách sự cố.", "now-7d", "5m")
    avail = steps(RED, (0.99, ORANGE), (0.995, GREEN))
    up = "avg_over_time(netmon:site:up{sel}[$__range])"
    by_group = [(ref, legend_, up.format(sel="{" + sel + "}")) for ref, legend_, sel in (
        ("A", "Khối Đảng", 'kind="party"'), ("B", "Khối chính quyền", 'kind="state"'),
        ("C", "Cấp tỉnh", 'level="province"'), ("D", "Cấp huyện", 'level="district"'),
        ("E", "Cấp xã", 'level="commune"'))]
    b.row("Khả dụng")
    b.add(stat_panel("Khả dụng các điểm cơ quan", f"avg({up.format(sel='')})", "percentunit", avail,
                     description="Trung bình của các điểm: tỷ lệ thời gian router của điểm hoạt động."), 6, 5)
    b.add(stat_panel("Khả dụng đường quản lý BTS", "avg(avg_over_time(netmon:base_station:up[$__range]))",
                     "percentunit", steps(RED, (0.95, ORANGE), (0.99, GREEN))), 6, 5)
    b.add(stat_panel("Số sự cố trong khoảng",
                     "count(max by (incident) (max_over_time(netmon_incident_open[$__range]))) or vector(0)", "short",
                     steps(GREEN, (1, ORANGE), (10, RED)), color_background=False), 6, 5)
    b.add(stat_panel("Tổng thời gian gián đoạn (các điểm)",
                     f"sum((1 - {up.format(sel='')}) * $__range_s)", "s", steps(GREEN, (3600, ORANGE), (86400, RED)),
                     color_background=False,
                     description="Cộng của mọi điểm: (1 − khả dụng) × độ dài khoảng thời gian."), 6, 5)
    b.add(bars("Khả dụng theo huyện", "percentunit", [
        q(f"avg by (district_name) ({up.format(sel='')})", "A", "{{district_name}}", instant=True)],
        avail, minimum=0.9, maximum=1), 12, 10)
    b.add(bars("Khả dụng theo khối và cấp", "percentunit",
               [q(f"avg({expr})", ref, legend_, instant=True) for ref, legend_, expr in by_group],
               avail, minimum=0.9, maximum=1), 12, 10)
    b.add(graph("Khả dụng theo huyện theo thời gian", "percentunit", [
        q("avg by (district_name) (avg_over_time(netmon:site:up[$__interval]))", "A", "{{district_name}}")],
        thresholds=avail, threshold_lines=True, maximum=1, fill=0, calcs=("mean", "min")), 24, 9)
    b.add(grid("20 điểm khả dụng thấp nhất", [
        q(up.format(sel=""), "A", instant=True, table_format=True),
        q(f"(1 - {up.format(sel='')}) * $__range_s", "B", instant=True, table_format=True)],
        [MERGE,
         transform("sortBy", {"fields": {}, "sort": [{"field": "Value #A", "desc": False}]}),
         transform("limit", {"limitField": 20}),
         organize(rename=value_names({"A": "Khả dụng", "B": "Thời gian gián đoạn"}),
                         exclude=["district", "commune", "site"],
                         order=["name", "district_name", "commune_name", "kind", "level", "Value #A", "Value #B"])],
        unit="string", sort_column="Khả dụng", sort_desc=False)
        .override_by_name("Khả dụng", [prop("unit", "percentunit"), prop("decimals", 3), cell("color-background"),
                                       prop("thresholds", avail.build())])
        .override_by_name("Thời gian gián đoạn", [prop("unit", "s")])
        .override_by_name("Khối", [prop("mappings", mappings(SITE_KIND))])
        .override_by_name("Cấp", [prop("mappings", mappings(SITE_LEVEL))]), 24, 10)
    b.add(bars("Khả dụng đường quản lý BTS theo nhà mạng", "percentunit", [
        q("avg by (operator) (avg_over_time(netmon:base_station:up[$__range]))", "A", "{{operator}}", instant=True)],
        steps(RED, (0.95, ORANGE), (0.99, GREEN)), minimum=0.8, maximum=1), 24, 7)

    b.row("Sự cố")
    key = "incident, kind, severity, device, link, site_name, district_name"
    b.add(grid("Danh sách sự cố trong khoảng", [
        q(f"max by ({key}) (max_over_time(netmon_incident_open[$__range]))", "A", instant=True, table_format=True),
        q(f"max by ({key}) (max_over_time(netmon_incident_started_timestamp_seconds[$__range]) "
          f"* on (incident) group_left (kind, severity, device, link, site_name, district_name) "
          f"max by ({key}) (max_over_time(netmon_incident_open[$__range]))) * 1000",
          "B", instant=True, table_format=True),
        q(f"max by ({key}) ("
          f"(max_over_time(timestamp(netmon_incident_started_timestamp_seconds)[$__range:$__interval]) "
          f"- max_over_time(netmon_incident_started_timestamp_seconds[$__range])) "
          f"* on (incident) group_left (kind, severity, device, link, site_name, district_name) "
          f"max by ({key}) (max_over_time(netmon_incident_open[$__range])))", "C", instant=True, table_format=True),
        q(f"max by ({key}) (max_over_time(netmon_incident_affected_sites[$__range]) "
          f"* on (incident) group_left (kind, severity, device, link, site_name, district_name) "
          f"max by ({key}) (max_over_time(netmon_incident_open[$__range])))", "D", instant=True, table_format=True)],
        [MERGE, organize(rename={**value_names({"B": "Bắt đầu", "C": "Thời gian (đến lần thấy cuối)",
                                                "D": "Số điểm bị ảnh hưởng (tối đa)"}),
                                 "device": "Thiết bị gốc", "link": "Đường truyền gốc", "kind": "Loại"},
                         exclude=["Value #A"],
                         order=["Value #B", "severity", "kind", "device", "link", "site_name", "district_name",
                                "Value #C", "Value #D", "incident"])],
        unit="string", sort_column="Bắt đầu", no_value="Không có sự cố nào trong khoảng thời gian này",
        description="Từ netmon_incident_open lưu trong Prometheus (thời gian chính xác đến chu kỳ lấy mẫu). "
                    "Lịch sử đầy đủ nằm trong bảng outage của cơ sở dữ liệu netmon.")
        .override_by_name("Bắt đầu", [prop("unit", "dateTimeAsLocal")])
        .override_by_name("Thời gian (đến lần thấy cuối)", [prop("unit", "s")])
        .override_by_name("Số điểm bị ảnh hưởng (tối đa)", [prop("unit", "short")])
        .override_by_name("Mức", [prop("mappings", mappings(SEVERITY)), cell("color-background")])
        .override_by_name("Loại", [prop("mappings", mappings(INCIDENT_KIND))]), 24, 10)
    b.add(timeline("Sự cố theo thời gian", [
        q("max by (incident) (netmon_incident_open)", "A", "{{incident}}")], OPEN, steps(RED),
        description="Mỗi hàng là một sự cố, tô đỏ khi đang mở."), 24, 8)
    return b.build()


DASHBOARDS = {
    "noc-overview.json": noc,
    "district.json": district,
    "site-device.json": site,
    "base-stations.json": base_stations,
    "availability.json": availability,
}


def build_all() -> dict[str, dict[str, Any]]:
    return {name: make() for name, make in DASHBOARDS.items()}


def render(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if a committed JSON file differs")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the JSON files")
    args = parser.parse_args(argv)
    stale = []
    for name, data in build_all().items():
        path = args.out / name
        text = render(data)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale: {', '.join(stale)}; run: python -m dashboards.generate", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
