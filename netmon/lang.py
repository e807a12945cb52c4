"""The words netmon says to people, in one catalog: Vietnamese by default, English with ``NETMON_LANG=en``.

The policy (README "Language and time"):

* **translated** — what the command line writes for a person to read: messages and one-line errors, prompts,
  table titles and headers, summaries, the labels of reports and of ``netmon status``;
* **never translated** — what a script or another program reads: JSON keys, CSV column names, ids and enum
  values (``party``, ``device_down``), metric names and labels, the service's log lines; and the inventory
  checks (``file:line:column: field: message``), which speak the YAML's own field names.

Every string lives here as ``key: (Vietnamese, English)`` with ``str.format`` fields, so a translation is
reviewed in one place and a test checks both sides carry the same fields. The language is read from the
environment each time (not cached): ``NETMON_LANG`` is validated as a setting (``vi`` or ``en``); here anything
starting with ``en`` is English and everything else Vietnamese, so an error about the setting itself can still
be printed.
"""

from __future__ import annotations

import os

__all__ = ["MESSAGES", "lang", "t"]


def lang() -> str:
    """``vi`` or ``en``: the language of the command line's words now."""
    return "en" if os.environ.get("NETMON_LANG", "vi").strip().lower().startswith("en") else "vi"


def t(key: str, /, **values: object) -> str:
    """The message ``key`` in the current language, its ``{fields}`` filled from ``values``; with a count ``n``,
    ``{s}`` is English's plural ending (``1 problem``, ``2 problems``; Vietnamese has none)."""
    vi, en = MESSAGES[key]
    if "n" in values:
        values.setdefault("s", "" if values["n"] == 1 else "s")
    return (en if lang() == "en" else vi).format(**values)


MESSAGES: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------------ the error path, usage errors
    "usage_error": ("{message} (xem '{command} --help')", "{message} (see '{command} --help')"),
    "aborted": ("đã hủy", "aborted"),
    "unknown_zone": ("múi giờ không tồn tại {name!r}: dùng tên IANA, ví dụ Asia/Ho_Chi_Minh",
                     "unknown time zone {name!r}: use an IANA name such as Asia/Ho_Chi_Minh"),
    "bad_setting": ("thiết lập sai {details}", "bad setting {details}"),
    "cluster_needs_postgresql": (
        "NETMON_CLUSTER cần cơ sở dữ liệu PostgreSQL dùng chung (NETMON_DATABASE_URL=postgresql+psycopg://…); "
        "trên SQLite netmon chạy một poller duy nhất: bỏ NETMON_CLUSTER",
        "NETMON_CLUSTER needs the shared PostgreSQL database (NETMON_DATABASE_URL=postgresql+psycopg://…); "
        "on SQLite netmon runs as a single poller: unset NETMON_CLUSTER"),
    "file_problem": ("{where}{what}", "{where}{what}"),
    "database_missing": (
        "không có cơ sở dữ liệu tại {path}: kiểm tra --database hoặc NETMON_DATABASE_URL ('netmon sync' hoặc "
        "'netmon run' sẽ tạo nó)",
        "no database at {path}: check --database or NETMON_DATABASE_URL ('netmon sync' or 'netmon run' creates it)"),
    "database_url_bad": (
        "không dùng được URL cơ sở dữ liệu này ({detail}); viết sqlite:///đường/dẫn/netmon.db hoặc "
        "postgresql+psycopg://user@host/database",
        "cannot use that database URL ({detail}); write sqlite:///path/to/netmon.db or "
        "postgresql+psycopg://user@host/database"),
    "database_unavailable": (
        "không kết nối được cơ sở dữ liệu ({detail}); kiểm tra NETMON_DATABASE_URL hoặc --database, máy chủ có "
        "chạy không và ổ đĩa còn chỗ không",
        "database unavailable ({detail}); check NETMON_DATABASE_URL or --database, that the server runs and "
        "that its disk has room"),
    "database_migrate_failed": ("không nâng cấp được lược đồ cơ sở dữ liệu ({detail})",
                                "cannot migrate the database schema ({detail})"),
    "database_no_schema": ("cơ sở dữ liệu chưa có bảng của netmon: 'netmon sync' sẽ tạo",
                           "the database has no netmon tables: 'netmon sync' creates them"),
    "database_old_schema": ("cơ sở dữ liệu có lược đồ cũ: 'netmon sync' sẽ nâng cấp",
                            "the database has an older schema: 'netmon sync' migrates it"),
    # ------------------------------------------------------------------ common arguments
    "problems": ("{n} lỗi; không thay đổi gì.", "{n} problem{s}; nothing was changed."),
    "warnings": ("{n} cảnh báo (không chặn đồng bộ).", "{n} warning{s} (they do not stop a sync)."),
    "warning": ("cảnh báo: {text}", "warning: {text}"),
    "no_district": ("không có huyện nào khớp {text!r}", "no district matches {text!r}"),
    "ambiguous_district": ("{text!r} khớp {n} huyện: {names}; ghi rõ hơn (tên đầy đủ hoặc mã GSO)",
                           "{text!r} matches {n} districts: {names}; be more specific (the full name or the GSO "
                           "code)"),
    "bad_when": ("{option}: không phải ngày hoặc ngày giờ ISO: {text!r} (ví dụ 2026-05-06 hoặc 2026-05-06T09:30; "
                 "không ghi múi giờ thì là giờ {zone})",
                 "{option}: not an ISO date or date-time: {text!r} (e.g. 2026-05-06 or 2026-05-06T09:30; without "
                 "an offset it is {zone} time)"),
    "bad_hostport": ("{what} phải là HOST:PORT, nhận được {text!r}", "{what} must be HOST:PORT, got {text!r}"),
    "bad_part": ("--part phải là K/N với 1 ≤ K ≤ N (ví dụ 1/2), nhận được {text!r}",
                 "--part must be K/N with 1 ≤ K ≤ N (e.g. 1/2), got {text!r}"),
    "unknown_device": ("không có thiết bị {device!r} trong kiểm kê{hint}", "unknown device {device!r}{hint}"),
    "did_you_mean": ("; có phải {names}?", "; did you mean {names}?"),
    "open": ("(đang mở)", "(open)"),
    # ------------------------------------------------------------------ validate, sync
    "validate_ok": ("OK: {summary} ({seconds:.2f} s)", "OK: {summary} ({seconds:.2f} s)"),
    "summary": ("{sites} điểm, {devices} thiết bị, {links} liên kết, {base_stations} trạm BTS, {districts} huyện, "
                "{communes} xã",
                "{sites} sites, {devices} devices, {links} links, {base_stations} base stations, {districts} "
                "districts, {communes} communes"),
    "sync_no_changes": ("Không có thay đổi: cơ sở dữ liệu đã khớp với kiểm kê.",
                        "No changes: the database already matches the inventory."),
    "plan": ("Kế hoạch", "Plan"),
    "applied": ("Đã áp dụng", "Applied"),
    "plan_more": ("  … và {n:,} thay đổi {table} nữa (--all để liệt kê hết)",
                  "  … and {n:,} more {table} change{s} (--all lists every one)"),
    "plan_will_ask": ("cảnh báo: {what}; 'netmon sync' sẽ đòi --allow-deletions",
                      "warning: {what}; 'netmon sync' will ask for --allow-deletions"),
    "plan_old_schema": ("cơ sở dữ liệu có lược đồ cũ: 'netmon sync' nâng cấp nó trước; chưa lập được kế hoạch",
                        "the database has an older schema: 'netmon sync' migrates it first; no plan without that"),
    "mass_deletion": ("{table}: sẽ xóa {remove:,} trên {existing:,} dòng ({what})",
                      "{table}: {remove:,} of {existing:,} would be removed ({what})"),
    "every_row": ("toàn bộ", "every row"),
    "share_of_rows": ("{share:.0%} số dòng", "{share:.0%} of its rows"),
    "type_yes": ("Gõ yes để xóa", "Type yes to delete them"),
    "format_needs_plan": ("--format json|csv đi với --plan (sync áp dụng in bảng tóm tắt)",
                          "--format json|csv goes with --plan (an applied sync prints its summary table)"),
    "plan_op": ("Thao tác", "Operation"),
    "plan_key": ("Khóa", "Key"),
    "plan_field": ("Trường", "Field"),
    "plan_old": ("Cũ", "Old"),
    "plan_new": ("Mới", "New"),
    # ------------------------------------------------------------------ netmon cluster
    "cluster_title": ("Các poller của cụm", "The cluster's pollers"),
    "cluster_none": ("chưa có poller nào đăng ký: netmon chạy một poller (NETMON_CLUSTER=true trên PostgreSQL để "
                     "chạy nhiều poller)",
                     "no poller has registered: netmon runs as a single poller (NETMON_CLUSTER=true on PostgreSQL "
                     "runs several)"),
    "col_poller": ("Poller", "Poller"),
    "col_state": ("Trạng thái", "State"),
    "col_silent": ("Im lặng (s)", "Silent (s)"),
    "col_leader": ("Phân công", "Assigns"),
    "col_units": ("Số khối", "Units"),
    "col_url": ("/metrics", "/metrics"),
    "cluster_unknown_poller": ("không có poller {poller!r} trong cụm{hint}",
                               "no poller {poller!r} in the cluster{hint}"),
    "cluster_already_stopped": ("poller {poller} đã dừng: không còn gì để quên",
                                "poller {poller} is stopped already: nothing to forget"),
    "cluster_poller_alive": (
        "từ chối: poller {poller} vẫn gửi nhịp (lần cuối {silent:.0f} s trước, ngưỡng {failover:.0f} s): dừng nó "
        "bằng SIGTERM — nó tự chào và các thiết bị chuyển đi ngay",
        "refused: poller {poller} still beats (last {silent:.0f} s ago, failover {failover:.0f} s): stop it with "
        "SIGTERM — it says goodbye and its devices move at once"),
    "cluster_type_yes": ("Gõ yes để quên poller {poller}", "Type yes to forget poller {poller}"),
    "cluster_forget_refused": ("từ chối: không thay đổi gì (chạy lại với --yes nếu đúng là poller {poller} đã bỏ hẳn)",
                               "refused: nothing was changed (re-run with --yes if poller {poller} is gone for good)"),
    "cluster_forgotten": ("đã quên poller {poller}: không còn cảnh báo PollerDown cho nó; nếu nó chạy lại, nó tự "
                          "đăng ký lại",
                          "forgot poller {poller}: no more PollerDown for it; if it runs again it registers again"),
    "deletion_refused": (
        "từ chối: không thay đổi gì (chạy lại với --allow-deletions nếu đúng là muốn xóa; 'netmon sync --plan' "
        "liệt kê các dòng)",
        "refused: nothing was changed (re-run with --allow-deletions if this is what you want; 'netmon sync "
        "--plan' lists the rows)"),
    "secrets_unset": ("{n} biến môi trường chưa đặt cho hồ sơ đang dùng; không thay đổi gì (đặt chúng, hoặc "
                      "đổi tham chiếu env:)",
                      "{n} environment variable{s} not set for profiles in use; nothing was changed (set them, or "
                      "change the env: reference)"),
    # ------------------------------------------------------------------ inventory list/stats/show/export/generate
    "sites_shown": ("{n} điểm", "{n} site{s}"),
    "what": ("mục", "what"),
    "count": ("số lượng", "count"),
    "table": ("bảng", "table"),
    "add": ("thêm", "add"),
    "change": ("sửa", "change"),
    "remove": ("xóa", "remove"),
    "site": ("điểm", "site"),
    "name": ("tên", "name"),
    "kind": ("loại", "kind"),
    "level": ("cấp", "level"),
    "district": ("huyện", "district"),
    "router": ("router", "router"),
    "mgmt": ("địa chỉ quản lý", "mgmt"),
    "uplink": ("tuyến lên", "uplink"),
    "management": ("địa chỉ quản lý", "management"),
    "role": ("vai trò", "role"),
    "platform": ("nền tảng", "platform"),
    "model_inventory": ("model (kiểm kê)", "model (inventory)"),
    "snmp_profile": ("hồ sơ SNMP", "snmp profile"),
    "ssh_profile": ("hồ sơ SSH", "ssh profile"),
    "watched": ("giám sát {role}", "watched {role}"),
    "facts": ("thông tin thiết bị", "facts"),
    "facts_missing": ("chưa có trong cơ sở dữ liệu (chạy 'netmon sync')", "not in the database (run 'netmon sync')"),
    "hardware": ("phần cứng", "hardware"),
    "serial": ("số serial", "serial"),
    "os_version": ("phiên bản OS", "os version"),
    "facts_at": ("thu thập lúc", "facts at"),
    "note": ("ghi chú", "note"),
    "model_differs": ("kiểm kê ghi model {model}, thiết bị báo {hardware}",
                      "inventory says model {model}, the device reports {hardware}"),
    "config_versions": ("số phiên bản cấu hình", "config versions"),
    "last_backup": ("sao lưu gần nhất", "last backup"),
    "export_written": ("đã ghi {path}", "wrote {path}"),
    "generate_refused": (
        "{path} đã có tệp kiểm kê (của bạn?): không ghi gì; chọn --out khác, hoặc --force để ghi đè bằng mẫu",
        "{path} already holds inventory files (your inventory?): nothing was written; choose another --out, or "
        "--force to overwrite them with the sample"),
    "generate_wrote": ("đã ghi {path}: {counts}", "wrote {path}: {counts}"),
    # ------------------------------------------------------------------ outages, availability
    "outages": ("Sự cố", "Outages"),
    "outages_summary": ("{n} sự cố, {open} đang mở", "{n} outage{s}, {open} open"),
    "availability_title": ("Khả dụng {month} theo {by}", "Availability {month} by {by}"),
    "availability_footer": (
        "thời gian mất giám sát trong kỳ: {gap} phút (không tính là lên hay xuống); riêng = nguyên nhân tại điểm, "
        "không tới được = sau một điểm cha hỏng; giờ {zone}",
        "monitoring gaps in the period: {gap} min (counted neither up nor down); own = root at the site, "
        "unreachable = behind a failed parent; {zone} time"),
    "by_site": ("điểm", "site"),
    "by_district": ("huyện", "district"),
    "by_kind": ("loại", "kind"),
    "by_level": ("cấp", "level"),
    "col_id": ("mã", "id"),
    "col_started": ("bắt đầu", "started"),
    "col_ended": ("kết thúc", "ended"),
    "col_duration": ("thời lượng", "duration"),
    "col_kind": ("loại", "kind"),
    "col_object": ("đối tượng", "object"),
    "col_affected": ("ảnh hưởng", "affected"),
    "col_detected_by": ("phát hiện qua", "detected by"),
    "col_root_cause": ("nguyên nhân", "root cause"),
    "col_group": ("nhóm", "group"),
    "col_sites": ("số điểm", "sites"),
    "col_availability_pct": ("khả dụng %", "availability %"),
    "col_observed_h": ("giám sát (giờ)", "observed h"),
    "col_own_down_min": ("mất riêng (phút)", "own down min"),
    "col_unreachable_min": ("không tới được (phút)", "unreachable min"),
    "col_outages": ("số sự cố", "outages"),
    "col_unreachable_outages": ("sự cố phía trên", "unreachable outages"),
    "col_mttr_min": ("MTTR (phút)", "MTTR min"),
    "col_maintenance_min": ("bảo trì (phút)", "maintenance min"),
    "col_gap_min": ("mất giám sát (phút)", "gap min"),
    "month_bad": ("--month phải là YYYY-MM, nhận được {text!r}", "--month must be YYYY-MM, got {text!r}"),
    "since_bad": ("--since phải là YYYY-MM-DD hoặc ngày giờ ISO, nhận được {text!r}",
                  "--since must be YYYY-MM-DD or an ISO date-time, got {text!r}"),
    # ------------------------------------------------------------------ backup
    "col_device": ("thiết bị", "device"),
    "col_result": ("kết quả", "result"),
    "col_sha256": ("sha256", "sha256"),
    "col_seconds": ("giây", "seconds"),
    "col_error": ("lỗi", "error"),
    "col_collection": ("thu thập", "collection"),
    "col_uptime_ticks": ("sysUpTime", "sysUpTime"),
    "col_uptime": ("thời gian chạy", "uptime"),
    "col_stored": ("đã lưu", "stored"),
    "col_n": ("#", "#"),
    "col_reachable": ("trả lời", "reachable"),
    "col_interfaces_up": ("cổng (lên/tổng)", "interfaces (up/total)"),
    "backup_summary": ("{n} thiết bị trong {seconds:.1f} s: {counts}", "{n} device{s} in {seconds:.1f} s: {counts}"),
    "nothing_to_do": ("không có gì để làm", "nothing to do"),
    "col_taken_at": ("lấy lúc", "taken at"),
    "yes": ("có", "yes"),
    "no": ("không", "no"),
    "no_ssh_device": ("không có thiết bị nào có ssh_profile để làm", "no device with an ssh_profile to work on"),
    "facts_not_stored": ("một số thiết bị chưa có trong cơ sở dữ liệu: chạy 'netmon sync' trước để lưu thông tin",
                         "some devices are not in the database: run 'netmon sync' first to store their facts"),
    "no_config": ("{device}: không có cấu hình nào được lưu{at}", "{device}: no configuration stored{at}"),
    "at_time": (" lúc {when}", " at {when}"),
    "since_time": (" từ {when}", " since {when}"),
    "one_version": ("{device}: chỉ có một phiên bản được lưu{span} ({when}); không có gì để so sánh",
                    "{device}: only one version stored{span} ({when}); nothing to compare"),
    "identical": ("{device}: hai phiên bản giống nhau (sha256 {sha})",
                  "{device}: the two versions are identical (sha256 {sha})"),
    "version_of": ("{device}: phiên bản lúc {when}, sha256 {sha}", "{device}: version of {when}, sha256 {sha}"),
    # ------------------------------------------------------------------ poll
    "poll_unknown": ("không có thiết bị hoặc trạm BTS nào tên {ids} trong kiểm kê{hint}",
                     "unknown device(s): {ids}{hint}"),
    "poll_no_address": ("{ids}: không có địa chỉ quản lý (mgmt) hoặc hồ sơ SNMP để hỏi",
                        "{ids}: no management address (mgmt) or SNMP profile to poll"),
    # ------------------------------------------------------------------ run, demo, simulate
    "stopped": ("đã dừng", "stopped"),
    "unknown_scenario": ("--scenario: không có tệp hay kịch bản nào tên {text!r} (kịch bản có sẵn: {names})",
                         "--scenario: no file or shipped scenario named {text!r} (shipped: {names})"),
    "no_such_path": ("không có tệp hay thư mục này", "no such file or folder"),
    # ------------------------------------------------------------------ status
    "status_title": ("netmon — tình trạng", "netmon — status"),
    "status_inventory": ("kiểm kê", "inventory"),
    "status_inventory_bad": ("{n} lỗi ('netmon validate' liệt kê)", "{n} problem{s} ('netmon validate' lists them)"),
    "status_database": ("cơ sở dữ liệu", "database"),
    "status_db_ok": ("kết nối được ({url})", "reachable ({url})"),
    "status_db_down": ("KHÔNG kết nối được: {detail}", "NOT reachable: {detail}"),
    "status_last_run": ("netmon ghi nhận lần cuối", "netmon last seen"),
    "status_never_ran": ("chưa chạy lần nào trên cơ sở dữ liệu này", "never ran on this database"),
    "status_run_running": ("{when} (đang chạy)", "{when} (running)"),
    "status_run_stopped": ("{when} (đã dừng)", "{when} (stopped)"),
    "status_run_silent": ("{when} (không còn nhịp: dừng đột ngột?)", "{when} (no heartbeat since: stopped hard?)"),
    "status_open_incidents": ("sự cố đang mở", "open incidents"),
    "status_service": ("dịch vụ netmon (/metrics)", "netmon service (/metrics)"),
    "status_service_up": ("đang chạy tại {url}{ready}", "running at {url}{ready}"),
    "status_not_ready": (", chưa xong lượt hỏi đầu tiên", ", first poll not finished"),
    "status_service_down": ("KHÔNG chạy: không có gì trả lời tại {url} ({detail})",
                            "NOT running: nothing answers at {url} ({detail})"),
    "status_poll_class": ("lượt hỏi {cls}", "poll {cls}"),
    "status_poll_line": ("lần cuối cách đây {age}, trễ {lag:.1f} s, chu kỳ {interval:.0f} s",
                         "last {age} ago, lag {lag:.1f} s, interval {interval:.0f} s"),
    "status_poll_never": ("chưa có lượt theo lịch nào (lượt đầu đã xong)",
                          "no scheduled batch yet (after the first poll)"),
    "status_traps": ("bộ nhận trap", "trap receiver"),
    "status_traps_on": ("đang nghe ({accepted} trap đã nhận, {dropped} bị bỏ)",
                        "listening ({accepted} traps accepted, {dropped} dropped)"),
    "status_traps_off": ("tắt (NETMON_TRAP_LISTEN rỗng)", "off (NETMON_TRAP_LISTEN is empty)"),
    "status_unknown": ("không rõ: netmon không chạy", "unknown: netmon is not running"),
    "status_db_writes": ("ghi lịch sử sự cố", "outage-history writes"),
    "status_db_writes_ok": ("bình thường", "normal"),
    "status_db_writes_pending": ("cơ sở dữ liệu không nhận ghi; {n} thay đổi đang chờ trên đĩa",
                                 "the database takes no writes; {n} change{s} waiting on disk"),
    # ------------------------------------------------------------------ the Alertmanager webhook
    "version": ("netmon {version}", "netmon {version}"),
}
