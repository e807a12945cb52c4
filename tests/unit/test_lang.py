"""The word catalog: every message in both languages with the same fields, every message used, and the language
chosen by NETMON_LANG (Vietnamese by default)."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from netmon.lang import MESSAGES, lang, t

SOURCES = Path(__file__).resolve().parents[2] / "netmon"
DYNAMIC = ("by_",)  # keys built in code: t(f"by_{by.value}")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_both_languages_carry_the_same_fields(key: str) -> None:
    vi, en = MESSAGES[key]
    assert vi and en
    assert _fields(vi) - {"s"} == _fields(en) - {"s"}, key


def test_every_message_is_used_and_every_key_used_exists() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in SOURCES.rglob("*.py") if p.name != "lang.py")
    used = set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']""", text))
    used |= set(re.findall(r"""["'](status_[a-z_]+)["']""", text))  # chosen in a mapping, then t(key)
    used |= set(re.findall(r"""t\(\s*["'][a-z0-9_]+["']\s+if\s.+?\selse\s+["']([a-z0-9_]+)["']""", text))
    used |= set(re.findall(r'Column\(\s*"[^"]+",\s*"([a-z0-9_]+)"', text))  # a listing's header
    assert used <= set(MESSAGES), sorted(used - set(MESSAGES))
    unused = {k for k in MESSAGES if k not in used and not k.startswith(DYNAMIC)}
    assert not unused, sorted(unused)


def test_vietnamese_unless_english_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETMON_LANG")
    assert lang() == "vi" and t("problems", n=2) == "2 lỗi; không thay đổi gì."
    monkeypatch.setenv("NETMON_LANG", "en")
    assert t("problems", n=1) == "1 problem; nothing was changed."
    assert t("problems", n=2) == "2 problems; nothing was changed."
