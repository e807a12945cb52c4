"""The mini inventory (``tests/fixtures/inventory/mini``: 3 districts, 5 sites, 5 routers, 2 base stations) and
the values of the ``env:`` secrets its profiles reference (for tests only)."""

from __future__ import annotations

from pathlib import Path

MINI = Path(__file__).parent / "fixtures" / "inventory" / "mini"
MINI_SECRETS = {
    "NETMON_SNMP_COMMUNITY": "mini-community", "NETMON_SNMP_AUTH_KEY": "mini-auth-key",
    "NETMON_SSH_PASSWORD": "mini-ssh-password", "NETMON_SSH_ENABLE": "mini-ssh-enable",
}
