"""Remove secrets and volatile lines from a device configuration before it is stored.

Pure text in, text out; no I/O.  Each platform has a :class:`Dialect`: a table of
rules, so a gap found in the field is fixed by adding one line of data, not code.

* A rule is a regular expression; the text of *every named group* it matches is a
  secret and becomes :data:`PLACEHOLDER`.  Everything else on the line is kept, so a
  scrubbed config still reads, diffs and hashes like the original: the same config
  always scrubs to the same text (a *changed* secret is therefore invisible to the
  diff — the price of never storing it).
* ``section`` limits a rule to lines inside a block whose header matches it (Cisco
  ``tacacs server X`` → `` key 7 …``; MikroTik ``/snmp community`` → ``name=…``);
  ``when`` limits it to lines that also match another pattern (JunOS marks secret
  lines with ``## SECRET-DATA``).
* ``volatile`` lines (timestamps, byte counts, ``ntp clock-period``) are dropped,
  otherwise every fetch would look like a change.

``{T}`` in a pattern stands for one token: a double-quoted string or a run of
non-blanks, so a quoted secret with spaces is removed whole, never half.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

PLACEHOLDER = "<removed>"
TOKEN = r'(?:"[^"\n]*"|\S+)'
# PEM private keys can appear in any dialect (certificates, FortiOS, RouterOS scripts): removed as a block.
_PEM_PRIVATE = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.DOTALL
)


@dataclass(frozen=True)
class Rule:
    pattern: str
    section: str | None = None
    when: str | None = None


@dataclass(frozen=True)
class Dialect:
    name: str
    rules: tuple[Rule, ...]
    volatile: tuple[str, ...] = ()
    section_start: str = r"^\S"
    """A line matching this opens a new section (its text is the section header)."""


def _r(*patterns: str, section: str | None = None, when: str | None = None) -> tuple[Rule, ...]:
    return tuple(Rule(p, section, when) for p in patterns)


# ------------------------------------------------------------------ Cisco IOS / IOS-XE / NX-OS / IOS-XR
# Type digits (0 5 7 8 9 10, sha512 …) are kept: they say which algorithm was used and are not secret.
_CISCO_TYPE = r"(?: (?:\d{1,2}|sha512|encrypted|hashed)(?= ))?"
CISCO_RULES = (
    *_r(
        # enable/username/line/ppp/bgp neighbor/ip ftp …: every "password X" or "secret X".
        rf"(?:^|\s)(?:password|secret)(?! encryption aes){_CISCO_TYPE} (?P<s>{{T}})",
        r"^snmp-server community (?P<s>{T})",
        r"^snmp(?:-server)? mib community-map (?P<s>{T})",
        # snmp-server host ADDR [vrf V] [informs|traps] [version 1|2c|3 auth|noauth|priv] [vrf V] COMMUNITY
        r"^snmp-server host \S+(?: vrf \S+)?(?: (?:informs|traps))?(?: version (?:1|2c|3 (?:auth|noauth|priv)))?"
        r"(?: vrf \S+)? (?!version\b)(?P<s>{T})",
        r"^snmp-server user .*?\bauth (?:md5|sha\S*) (?P<s>{T})",
        r"^snmp-server user .*?\bpriv (?:(?:des|3des|aes(?: ?\d+)?) )?(?P<s>{T})",
        rf"^(?:tacacs-server|radius-server)\b.*?\bkey{_CISCO_TYPE} (?P<s>{{T}})",
        rf"\bserver-private \S+ .*?\bkey{_CISCO_TYPE} (?P<s>{{T}})",
        rf"\bserver-key{_CISCO_TYPE} (?P<s>{{T}})",
        rf"^crypto isakmp key{_CISCO_TYPE} (?P<s>{{T}})",
        rf"\bpre-shared-key address .*?\bkey{_CISCO_TYPE} (?P<s>{{T}})",
        rf"\bpre-shared-key(?: (?:local|remote))?{_CISCO_TYPE} (?!address\b)(?P<s>{{T}})",
        rf"\bwpa-psk ascii{_CISCO_TYPE} (?P<s>{{T}})",
        rf"^(?:ntp)?\s*authentication-key \d+ \S+{_CISCO_TYPE} (?P<s>{{T}})",  # IOS-XR: under "ntp"
        rf"\bmessage-digest-key \d+ md5{_CISCO_TYPE} (?P<s>{{T}})",
        rf"\b(?:ip|ipv6) ospf authentication-key{_CISCO_TYPE} (?P<s>{{T}})",
        rf"\bkey-string{_CISCO_TYPE} (?P<s>{{T}})",
        rf"\bauthentication key{_CISCO_TYPE} (?P<s>{{T}})",
        r"\bstandby \d+ authentication (?:text )?(?!md5\b)(?P<s>{T})",
        rf"\bvrrp \d+ (?:peer )?authentication (?:text|ietf-md5 key-string){_CISCO_TYPE} (?P<s>{{T}})",
        rf"\b(?:area-password|domain-password|isis password){_CISCO_TYPE} (?P<s>{{T}})",
        r"\bip nhrp authentication (?P<s>{T})",
    ),
    # Block bodies whose "key" line is the secret (a key chain's " key 1" is an id, so no generic rule).
    *_r(rf"^\s+key{_CISCO_TYPE} (?P<s>{{T}})",
        section=r"^(?:tacacs server|radius server|tacacs-server host|radius-server host|aaa server radius"
                r"|crypto isakmp client configuration group) "),
    *_r(rf"^\s+key \S+{_CISCO_TYPE} (?P<s>{{T}})", section=r"^mac security"),
)
CISCO_VOLATILE = (
    r"^Building configuration\.\.\.\s*$",
    r"^Current configuration\s*:.*$",
    r"^! Last configuration change at .*$",
    r"^! NVRAM config last updated at .*$",
    r"^! No configuration change since last restart.*$",
    r"^ntp clock-period \d+\s*$",
    r"^!Time: .*$",  # NX-OS
    r"^!Running configuration last done at: .*$",  # NX-OS
    r"^!! Last configuration change at .*$",  # IOS-XR
    r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d+ [\d:.]+ \S+\s*$",
)
CISCO = Dialect("cisco", CISCO_RULES, CISCO_VOLATILE)
EOS = Dialect(
    "arista_eos",
    CISCO_RULES,
    (r"^! Command: show running-config.*$", r"^! Time: .*$", r"^! Startup-config last modified at .*$",
     *CISCO_VOLATILE),
)

# ------------------------------------------------------------------------------------------- JunOS
JUNOS = Dialect(
    "juniper_junos",
    (
        *_r(r'"(?P<s>\$[0-9a-z]{1,6}\$[^"\n]*)"'),  # $9$ reversible, $1$/$5$/$6$ crypt hashes, anywhere
        *_r(r'"(?P<s>[^"\n]*)"', when=r"## SECRET-DATA"),  # JunOS itself marks secret lines
        *_r(r"(?<![\w-])(?:simple-password|plain-text-password-value|ascii-text|hexadecimal|encrypted-password"
            r"|secret|authentication-key|privacy-key) (?!\d+ )(?P<s>[^\s;\"]+)"),
        *_r(r"^\s+community (?P<s>{T}) \{", section=r"^snmp \{"),
        *_r(r"^set snmp community (?P<s>{T})"),
    ),
    (r"^## Last commit: .*$", r"^## Last changed: .*$"),
)

# -------------------------------------------------------------------------------- Huawei VRP, H3C Comware
_HUAWEI_RULES = (
    *_r(
        r"(?P<s>%\^%#.*?%\^%#)", r"(?P<s>%@%@.*?%@%@)", r"(?P<s>@%@%.*?@%@%)", r"(?P<s>%\$%\$.*?%\$%\$)",
        # Comware puts the key's form first: "usm-user v3 U G simple authentication-mode sha KEY".
        r"(?<![\w-])(?:cipher|irreversible-cipher|plain) (?!authentication-mode\b)(?P<s>{T})",
        r"(?<![\w-])simple (?!cipher\b|plain\b|authentication-mode\b)(?P<s>{T})",
        r"^\s*snmp-agent community (?:read|write|notify)(?: (?:cipher|simple))? (?P<s>{T})",
        r"\bsecurityname (?:cipher )?(?P<s>{T})",
        r"\b(?:pre-shared-key|shared-key|pass-phrase) (?!cipher\b|simple\b|address\b|key\b)(?P<s>{T})",
        r"\bpassword (?!cipher\b|simple\b|irreversible-cipher\b|hash\b|level\b)(?P<s>{T})",
        r"\bauthentication-mode (?:md5|sha\S*|hmac-sha256|simple) (?!cipher\b|plain\b|\d+ )(?P<s>{T})",
        r"\bprivacy-mode \S+ (?!cipher\b)(?P<s>{T})",
    ),
)
HUAWEI = Dialect(
    "huawei",
    _HUAWEI_RULES,
    (r"^!Last configuration was (?:updated|saved) at .*$",),
)
COMWARE = Dialect("hp_comware", (*_HUAWEI_RULES, *_r(r"\bpassword hash (?P<s>{T})")), HUAWEI.volatile)

# ------------------------------------------------------------------------------------- MikroTik RouterOS
_MT_VALUE = r'(?:"(?:[^"\\\n]|\\.)*"|\S+)'
MIKROTIK = Dialect(
    "mikrotik_routeros",
    (
        *_r(r"(?<![\w.-])(?:password|secret|authentication-password|encryption-password|wpa-pre-shared-key"
            r"|wpa2-pre-shared-key|passphrase|auth-key|tcp-md5-key|ipsec-secret|private-key|preshared-key"
            r"|pre-shared-key|trap-community|key|psk|static-key-\d|user-password|ppp-password)="
            rf"(?P<s>{_MT_VALUE})"),
        *_r(rf"(?<![\w.-])name=(?P<s>{_MT_VALUE})", section=r"^/snmp community"),
    ),
    (r"^# .* by RouterOS \S+.*$",),
    section_start=r"^/",
)

# ---------------------------------------------------------------------------------------------- FortiOS
FORTINET = Dialect(
    "fortinet",
    (
        *_r(r"^\s*set (?:password|passwd|psksecret|secret|key|auth-pwd|priv-pwd|private-key|md5-key|auth-password"
            r"|priv-password|ppk-secret|passphrase|sso-password|server-key|radius-secret|tacacs-key|ha-password"
            r"|sslvpn-psk) (?P<s>.+)$"),
        *_r(r"^\s*set name (?P<s>.+)$", section=r"^config system snmp community"),
    ),
    (r"^#conf_file_ver=.*$",),
    section_start=r"^config ",
)

DIALECTS: dict[str, Dialect] = {
    "cisco_ios": CISCO,
    "cisco_xe": CISCO,
    "cisco_nxos": CISCO,
    "cisco_xr": CISCO,
    "arista_eos": EOS,
    "juniper_junos": JUNOS,
    "huawei": HUAWEI,
    "hp_comware": COMWARE,
    "mikrotik_routeros": MIKROTIK,
    "fortinet": FORTINET,
}
"""Platforms whose configuration may be stored; any other platform is refused rather than stored unscrubbed."""


class UnsupportedPlatform(ValueError):
    """No scrubbing rules for this platform: its configuration is not stored."""


@dataclass(frozen=True)
class _Compiled:
    rules: tuple[tuple[re.Pattern[str], re.Pattern[str] | None, re.Pattern[str] | None], ...]
    volatile: re.Pattern[str] | None
    section_start: re.Pattern[str]


@cache
def _compile(dialect: Dialect) -> _Compiled:
    rules = []
    for rule in dialect.rules:
        pattern = re.compile(rule.pattern.replace("{T}", TOKEN))
        if not pattern.groupindex:
            raise ValueError(f"{dialect.name}: rule {rule.pattern!r} has no named group for the secret")
        rules.append((pattern, re.compile(rule.section) if rule.section else None,
                      re.compile(rule.when) if rule.when else None))
    volatile = re.compile("|".join(f"(?:{v})" for v in dialect.volatile)) if dialect.volatile else None
    return _Compiled(tuple(rules), volatile, re.compile(dialect.section_start))


def dialect_for(platform: str) -> Dialect:
    try:
        return DIALECTS[platform]
    except KeyError:
        raise UnsupportedPlatform(f"no scrubbing rules for platform {platform!r}") from None


def secret_spans(line: str, dialect: Dialect, section: str = "") -> list[tuple[int, int]]:
    """Character spans of ``line`` that are secrets, merged and sorted."""
    spans: list[tuple[int, int]] = []
    for pattern, in_section, when in _compile(dialect).rules:
        if in_section is not None and not in_section.search(section):
            continue
        if when is not None and not when.search(line):
            continue
        for match in pattern.finditer(line):
            for name in pattern.groupindex:
                start, end = match.span(name)
                if start >= 0 and end > start:
                    spans.append((start, end))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def scrub(platform: str, text: str) -> str:
    """``text`` with every secret replaced by :data:`PLACEHOLDER` and volatile lines dropped.

    Line endings become ``\\n``, trailing blanks and leading/trailing empty lines go:
    the result is what is hashed and stored.
    """
    dialect = dialect_for(platform)
    compiled = _compile(dialect)
    text = _PEM_PRIVATE.sub(PLACEHOLDER, text.replace("\r\n", "\n").replace("\r", "\n"))
    out: list[str] = []
    section = ""
    for raw in text.split("\n"):
        line = raw.rstrip()
        if compiled.volatile is not None and compiled.volatile.match(line):
            continue
        if compiled.section_start.match(line):
            section = line
        spans = secret_spans(line, dialect, section)
        for start, end in reversed(spans):
            line = line[:start] + PLACEHOLDER + line[end:]
        out.append(line)
    while out and not out[-1]:
        out.pop()
    while out and not out[0]:
        out.pop(0)
    return "\n".join(out) + "\n" if out else ""
