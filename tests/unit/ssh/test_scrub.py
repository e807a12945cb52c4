"""Secret scrubbing, one test per supported platform on a real-looking configuration.

The rule: no secret written into a fixture may appear anywhere in the scrubbed
text, while the lines around it survive (the stored config must stay useful and
diff-able, with the same placeholder every time).
"""

from __future__ import annotations

import difflib
import re

import pytest
from sshfake import KEPT, SECRETS, fixture

from netmon.ssh import scrub
from netmon.ssh.scrub import DIALECTS, PLACEHOLDER


def test_every_supported_platform_has_a_fixture() -> None:
    assert set(SECRETS) == set(DIALECTS)


@pytest.mark.parametrize("platform", sorted(SECRETS))
def test_no_secret_survives(platform: str) -> None:
    path, secrets = SECRETS[platform]
    raw = fixture(path)
    assert all(s in raw for s in secrets), "the fixture must really contain every listed secret"
    scrubbed = scrub.scrub(platform, raw)
    leaked = [s for s in secrets if s in scrubbed]
    assert not leaked, f"{platform}: secrets left in the scrubbed config: {leaked}"
    assert scrubbed.count(PLACEHOLDER) >= len(secrets) // 2
    for kept in KEPT[platform]:
        assert kept in scrubbed, f"{platform}: non-secret text was lost: {kept!r}"


@pytest.mark.parametrize("platform", sorted(SECRETS))
def test_scrubbing_is_stable_and_idempotent(platform: str) -> None:
    raw = fixture(SECRETS[platform][0])
    once = scrub.scrub(platform, raw)
    assert scrub.scrub(platform, raw) == once
    assert scrub.scrub(platform, once) == once  # a stored version scrubs to itself
    assert scrub.scrub(platform, raw.replace("\n", "\r\n")) == once  # CRLF from the SSH channel


@pytest.mark.parametrize("platform", sorted(SECRETS))
def test_scrubbed_config_diffs_like_the_original(platform: str) -> None:
    """A real edit shows as exactly that edit; the placeholders never cause noise."""
    raw = fixture(SECRETS[platform][0])
    lines = raw.splitlines()
    marker = "netmon-diff-marker-line"
    edited = "\n".join([*lines[:-1], marker, lines[-1]]) + "\n"
    diff = [line for line in difflib.unified_diff(scrub.scrub(platform, raw).splitlines(),
                                                  scrub.scrub(platform, edited).splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert diff == [f"+{marker}"]


def test_a_changed_secret_alone_is_not_a_new_version() -> None:
    """The price of never storing secrets: rotating one does not change the stored text."""
    raw = fixture("cisco_ios/running_config.txt")
    rotated = raw.replace("Tr4V1nh-R0", "N3w-C0mmunity")
    assert scrub.scrub("cisco_ios", raw) == scrub.scrub("cisco_ios", rotated)


@pytest.mark.parametrize(("platform", "line"), [
    ("cisco_ios", "Building configuration..."),
    ("cisco_ios", "! Last configuration change at 09:12:33 ICT Mon May 6 2024 by netops"),
    ("cisco_ios", "Current configuration : 6214 bytes"),
    ("arista_eos", "! Command: show running-config"),
    ("juniper_junos", "## Last commit: 2024-05-06 09:20:11 ICT by netops"),
    ("huawei", "!Last configuration was updated at 2024-05-06 09:30:12+07:00 by netops"),
    ("mikrotik_routeros", "# 2024-05-06 09:40:00 by RouterOS 7.14.3"),
    ("cisco_nxos", "!Time: Mon May  6 09:50:01 2024"),
    ("cisco_xr", "Mon May  6 09:52:10.123 ICT"),
    ("fortinet", "#conf_file_ver=3402118792461125"),
])
def test_volatile_lines_are_dropped(platform: str, line: str) -> None:
    raw = fixture(SECRETS[platform][0])
    assert line in raw
    assert line not in scrub.scrub(platform, raw)


def test_quoted_secret_with_spaces_is_removed_whole() -> None:
    out = scrub.scrub("cisco_nxos", 'tacacs-server key 7 "two words here"\n')
    assert out == f"tacacs-server key 7 {PLACEHOLDER}\n"


def test_pem_private_key_block_is_removed_on_any_platform() -> None:
    raw = "hostname r1\n-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\nsecretline\n-----END RSA PRIVATE KEY-----\nend\n"
    out = scrub.scrub("cisco_ios", raw)
    assert "secretline" not in out and "MIIEabc" not in out
    assert out == f"hostname r1\n{PLACEHOLDER}\nend\n"


def test_key_chain_ids_and_trusted_keys_are_not_secrets() -> None:
    raw = "key chain K\n key 1\n  key-string 7 0822455D0A16\nntp trusted-key 1\n"
    assert scrub.scrub("cisco_ios", raw) == f"key chain K\n key 1\n  key-string 7 {PLACEHOLDER}\nntp trusted-key 1\n"


def test_rules_are_sections_aware() -> None:
    """' key 7 X' is a secret under 'tacacs server', not under 'key chain'; MikroTik name= only for SNMP."""
    raw = "tacacs server ISE\n key 7 0822455D0A16\nkey chain K\n key 7\n"
    assert scrub.scrub("cisco_ios", raw) == f"tacacs server ISE\n key 7 {PLACEHOLDER}\nkey chain K\n key 7\n"
    mt = "/interface bridge\nadd name=bridge-lan\n/snmp community\nadd name=public\n"
    assert scrub.scrub("mikrotik_routeros", mt) == f"/interface bridge\nadd name=bridge-lan\n/snmp community\n" \
                                                    f"add name={PLACEHOLDER}\n"


def test_unsupported_platform_is_refused() -> None:
    with pytest.raises(scrub.UnsupportedPlatform, match="linux"):
        scrub.scrub("linux", "root:x:0:0\n")


def test_every_rule_compiles_and_names_its_secret() -> None:
    for dialect in set(DIALECTS.values()):
        for rule in dialect.rules:
            pattern = re.compile(rule.pattern.replace("{T}", scrub.TOKEN))
            assert pattern.groupindex, rule.pattern
