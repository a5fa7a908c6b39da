"""Exact SMS segment counting following GSM 03.38 (GSM-7 default alphabet) and UCS-2.

The JS twin lives in ``static/src/js/sms_segments.js`` and must agree on every string.
"""

import unicodedata
from typing import NamedTuple

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 default alphabet, in table order 0x00..0x7F (0x1B is the escape, not a character).
GSM7_BASIC_CHARS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table: each character is sent as ESC + code, i.e. 2 septets.
GSM7_EXTENSION_CHARS = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE_LIMIT = 160
GSM7_MULTI_LIMIT = 153
UCS2_SINGLE_LIMIT = 70
UCS2_MULTI_LIMIT = 67

# Replacements applied by ``to_gsm7``; characters already in GSM-7 (é è à ù ì ò Ç ...) are kept.
GSM7_REPLACEMENTS = {
    "á": "a",
    "â": "a",
    "ã": "a",
    "Á": "A",
    "Â": "A",
    "Ã": "A",
    "À": "A",
    "ç": "c",
    "ê": "e",
    "ë": "e",
    "Ê": "E",
    "Ë": "E",
    "È": "E",
    "í": "i",
    "î": "i",
    "ï": "i",
    "Í": "I",
    "Î": "I",
    "Ï": "I",
    "Ì": "I",
    "ó": "o",
    "ô": "o",
    "õ": "o",
    "Ó": "O",
    "Ô": "O",
    "Õ": "O",
    "Ò": "O",
    "ú": "u",
    "û": "u",
    "Ú": "U",
    "Û": "U",
    "Ù": "U",
    "ý": "y",
    "ÿ": "y",
    "Ý": "Y",
    "Ÿ": "Y",
    "œ": "oe",
    "Œ": "OE",
    "\u2019": "'",
    "\u2018": "'",  # ’ ‘
    "\u201c": '"',
    "\u201d": '"',  # “ ”
    "\u00ab": '"',
    "\u00bb": '"',  # « »
    "\u2013": "-",
    "\u2014": "-",  # – —
    "\u2026": "...",  # …
    "\u00a0": " ",
    "\u202f": " ",  # non-breaking space, narrow non-breaking space
}


class SmsCount(NamedTuple):
    """Result of ``count_sms``."""

    encoding: str  # 'GSM-7' or 'UCS-2'
    chars: int  # code points, i.e. len(text)
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int  # 0 for an empty text
    remaining: int  # units still free in the last segment
    unit_limit: int  # capacity of one segment: 160/153 (GSM-7) or 70/67 (UCS-2)


def is_gsm7(text):
    """Return True when every character of ``text`` can be sent with the GSM-7 alphabet."""
    return all(char in GSM7_BASIC_CHARS or char in GSM7_EXTENSION_CHARS for char in text or "")


def _unit_costs(text, encoding):
    """Yield the number of units each character of ``text`` takes in ``encoding``."""
    if encoding == GSM7:
        for char in text:
            yield 2 if char in GSM7_EXTENSION_CHARS else 1
    else:
        for char in text:
            yield 2 if ord(char) > 0xFFFF else 1


def count_sms(text):
    """Count encoding, units and segments of ``text`` exactly as a GSM network sends it."""
    text = text or ""
    encoding = GSM7 if is_gsm7(text) else UCS2
    single_limit, multi_limit = (
        (GSM7_SINGLE_LIMIT, GSM7_MULTI_LIMIT) if encoding == GSM7 else (UCS2_SINGLE_LIMIT, UCS2_MULTI_LIMIT)
    )
    costs = list(_unit_costs(text, encoding))
    units = sum(costs)
    if not units:
        return SmsCount(encoding, len(text), 0, 0, single_limit, single_limit)
    if units <= single_limit:
        return SmsCount(encoding, len(text), units, 1, single_limit - units, single_limit)
    # Concatenated SMS: fill segments greedily so that an escape sequence or a surrogate pair is never split.
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi_limit:
            segments, used = segments + 1, 0
        used += cost
    return SmsCount(encoding, len(text), units, segments, multi_limit - used, multi_limit)


def to_gsm7(text):
    """Replace characters missing from GSM-7 by close GSM-7 forms (ç→c, œ→oe, ’→' ...); keep the others."""
    text = unicodedata.normalize("NFC", text or "")
    return "".join(GSM7_REPLACEMENTS.get(char, char) for char in text)
