"""Text helpers for Vietnamese names."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def fold(text: str) -> str:
    """Lower-case and strip diacritics (đ → d) so ``cau ngang`` finds ``Huyện Cầu Ngang``."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def match_districts(districts: Mapping[str, str], text: str) -> set[str]:
    """Codes of the districts ``text`` names: a GSO code, or (part of) a name without diacritics."""
    wanted = fold(text)
    return {code for code, name in districts.items() if code == text or wanted in fold(name)}


def known_zone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows; else ValueError naming it (for validators)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Asia/Ho_Chi_Minh") from None
    return name


def same_name(text: str) -> str:
    """A name as two records of the same thing would share it: NFC, case-folded, spacing collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def invisible(text: str) -> str:
    """``; it contains an invisible U+200B (ZERO WIDTH SPACE) at position 8`` for the first character of
    ``text`` that prints as nothing (format and control characters, odd spaces); '' when there is none."""
    for i, ch in enumerate(text, 1):
        if unicodedata.category(ch) in ("Cf", "Cc", "Zs", "Zl", "Zp") and ch != " ":
            name = unicodedata.name(ch, "no name")
            return f"; it contains an invisible U+{ord(ch):04X} ({name}) at position {i}"
    return ""
