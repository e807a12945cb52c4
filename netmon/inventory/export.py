"""Export the validated inventory: JSON that loads back as an inventory, CSV for spreadsheets."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from netmon.inventory.load import SECTION_MODELS, Inventory


def to_data(inv: Inventory) -> dict[str, Any]:
    """The inventory as plain data in the YAML layout (one merged document)."""
    data: dict[str, Any] = {"province": inv.province.model_dump(mode="json", exclude_none=True)}
    for section in SECTION_MODELS:
        records = getattr(inv, section).values()
        data[section] = [
            r.model_dump(mode="json", exclude_none=True, exclude_defaults=False) for r in records
        ]
    return data


# JSON allows these raw inside strings, YAML does not: DEL, C1 controls and U+FFFE/U+FFFF are refused
# ("control characters are not allowed"); NEL, U+2028 and U+2029 are line breaks to YAML (NEL is folded
# to a space, the others eat the blanks after them). Escaped, they load back unchanged.
_NOT_YAML = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")


def to_json(inv: Inventory) -> str:
    """JSON is YAML too: ``netmon validate export.json`` loads it back unchanged."""
    text = json.dumps(to_data(inv), ensure_ascii=False, indent=1)
    return _NOT_YAML.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


SITE_COLUMNS = ("id", "name", "kind", "level", "district_code", "district", "commune_code", "commune",
                "address", "lat", "lon", "uplink", "router", "mgmt", "platform")


def to_csv(inv: Inventory) -> str:
    """One row per site with its unit names and router (UTF-8; Excel reads it with the BOM)."""
    routers = {d.site: d for d in inv.devices.values()}
    districts, communes = inv.districts, inv.communes
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SITE_COLUMNS)
    for site in inv.sites.values():
        router = routers.get(site.id)
        writer.writerow([
            site.id, site.name, site.kind.value, site.level.value,
            site.district or "", districts[site.district].name if site.district else "",
            site.commune or "", communes[site.commune][1].name if site.commune else "",
            site.address or "", site.lat, site.lon, site.uplink or "",
            router.id if router else "", str(router.mgmt) if router else "",
            router.platform if router else "",
        ])
    return "\ufeff" + buf.getvalue()
