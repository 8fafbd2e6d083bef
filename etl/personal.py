"""Text that looks like it identifies a person: A-numbers, phone numbers, e-mail addresses.

Public fields must never carry these, so the loader holds such rows back for staff review.
Look-alikes are caught by normalising first (Unicode NFKC turns full-width digits and ``＠``
into ASCII; zero-width and soft-hyphen characters are dropped), then matching A-numbers with
any separators and either case, e-mail addresses also when written ``[at]``/``(arroba)``,
and phone numbers with Google's libphonenumber (``phonenumbers``) read as US and as Mexican
numbers: it knows both numbering plans (``(619)5550100``, ``664-123-45-67``, ``+52 …``)
better than a hand-written pattern would. Dates and counts are not phone numbers: a match
must have the ten digits of a US or Mexican national number.

A cheap Arrow prefilter (``CANDIDATE``) picks the few cells worth the exact check, so a
million-row batch is not read by Python cell by cell.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]")
# RE2 (Arrow) pattern: any cell that could hold one of the three; the exact check follows.
CANDIDATE = (r"(?i)\d[\d\s().\-/]{6,}\d|[@\x{FF20}\x{FE6B}]|[\[(]\s*at\s*[\])]|\barroba\b"
             r"|[\x{00AD}\x{180E}\x{200B}-\x{200F}\x{2060}-\x{2064}\x{FEFF}]"
             r"|[\x{FF10}-\x{FF19}]|\ba\s*[#:.\-]?\s*\d")
A_NUMBER = re.compile(r"(?<![A-Za-z0-9])A\s*[#:.\-]?\s*(?:\d[\s.\-]?){7,8}\d(?![0-9])",
                      re.IGNORECASE)
AT = r"(?:@|\s*[\[(]\s*(?:at|arroba)\s*[\])]\s*|\s+arroba\s+)"
DOT = r"(?:\.|\s*[\[(]\s*(?:dot|punto)\s*[\])]\s*|\s+(?:dot|punto)\s+)"
E_MAIL = re.compile(rf"[\w.%+\-]+{AT}[\w\-]+(?:{DOT}[\w\-]+)*{DOT}[A-Za-z]{{2,}}\b",
                    re.IGNORECASE)
PHONE_REGIONS = ("US", "MX")
KINDS = {"a_number": "an A-number", "e_mail": "an e-mail address", "phone": "a phone number"}


def normalise(text: str) -> str:
    """NFKC (full-width to ASCII) with zero-width and soft-hyphen characters removed."""
    return INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


def _phone(text: str) -> bool:
    for region in PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region,
                                                     leniency=phonenumbers.Leniency.POSSIBLE):
            if len(str(match.number.national_number)) >= 10:
                return True
    return False


def find(text: str | None) -> str | None:
    """The kind of personal data ``text`` seems to hold (``a_number``, ``e_mail``,
    ``phone``), or None."""
    if not text:
        return None
    clean = normalise(text)
    if A_NUMBER.search(clean):
        return "a_number"
    if E_MAIL.search(clean):
        return "e_mail"
    if _phone(clean):
        return "phone"
    return None


def describe(kind: str) -> str:
    """'an A-number', 'an e-mail address' or 'a phone number'."""
    return KINDS[kind]
