"""One spelling per mailbox: the canonical form an address is stored, looked up and counted in.

Why an ASCII local part and IDNA 2008, and what was seen without them: docs/security.md#one-address-one-spelling.
"""

import unicodedata

from django.core.exceptions import ValidationError

# RFC 5321 limits a forward path to 256 octets, so an address to 254 characters.
EMAIL_MAX_LENGTH = 254
# RFC 1035: 63 octets a label, 253 a name written without its final dot.
LABEL_MAX_LENGTH = 63
DOMAIN_MAX_LENGTH = 253

INVALID_ADDRESS = "Enter a valid email address."
NON_ASCII_LOCAL_PART = (
    "Enter the part of the address before the @ in plain (ASCII) letters, digits and punctuation."
)

ACE_PREFIX = "xn--"
# Full stops that UTS 46 maps to ".": ideographic, full-width, half-width ideographic.
LABEL_SEPARATORS = str.maketrans(dict.fromkeys("\u3002\uff0e\uff61", "."))
# Kept by IDNA 2008 (UTS 46 non-transitional); IDNA 2003 maps them to "ss" and "σ".
DEVIATIONS = frozenset("ßς")
# RFC 5892's LetterDigits: the general categories a non-ASCII code point of a label may have.
LETTER_DIGITS = frozenset(("Ll", "Lo", "Lm", "Mn", "Mc", "Nd"))
ASCII_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
RTL = frozenset(("R", "AL"))
RTL_OR_ARABIC_DIGIT = RTL | {"AN"}


def canonical_address(value: str) -> str:
    """The canonical form of an address ``EmailField`` accepted: ASCII from end to end.

    The local part (before the ``@``) as typed, lower-cased; the domain as
    :func:`domain_to_ascii` encodes it (``xn--`` labels). The database then
    compares it byte for byte (lookups are exact matches, never ``iexact``)
    and the mail server receives exactly what is stored.

    Raises :class:`ValidationError` for control, format and separator
    characters anywhere (line breaks are header injection; U+2028 and
    zero-width characters are invisible), a non-ASCII local part (``ı`` and
    ``ſ`` fold to ``i`` and ``s`` in some databases' case mappings and not in
    others), a domain that IDNA 2008 cannot encode, and an address longer than
    ``EMAIL_MAX_LENGTH`` once encoded.
    """
    value = value.strip()
    if any(unicodedata.category(ch)[0] in "CZ" for ch in value):
        raise ValidationError(INVALID_ADDRESS, code="invalid")
    local, at, domain = value.rpartition("@")
    if not at or not local:
        raise ValidationError(INVALID_ADDRESS, code="invalid")
    if not local.isascii():
        raise ValidationError(NON_ASCII_LOCAL_PART, code="non_ascii_local_part")
    address = f"{local.lower()}@{domain_to_ascii(domain)}"
    if len(address) > EMAIL_MAX_LENGTH:
        raise ValidationError(INVALID_ADDRESS, code="invalid")
    return address


def mailbox_key(address: str) -> str:
    """The mailbox a canonical address delivers to, for email budgets only: ``box+tag@d`` is ``box@d``.

    RFC 5233 sub-addresses reach one inbox, so they share its budget. Not an
    identity: ``box+tag@d`` and ``box@d`` remain two accounts.
    """
    local, _, domain = address.rpartition("@")
    return f"{local.partition('+')[0] or local}@{domain}"


def domain_to_ascii(domain: str) -> str:
    """The ASCII form of ``domain`` under IDNA 2008 (UTS 46 non-transitional processing), lower-case.

    Mapping: NFKC and case folding, keeping the deviation characters ``ß`` and
    ``ς``. Validity: RFC 5891's hyphen and combining-mark rules, RFC 5892's
    letters and digits (symbols, punctuation and anything that the mapping
    would change are disallowed), RFC 5893's Bidi Rule for labels with right-to-left characters
    and the STD3 rules for ASCII (letters, digits, hyphen). An ``xn--``
    label typed as such must decode to a valid label that encodes back to
    itself. Raises :class:`ValidationError` when the domain cannot be encoded.
    """
    mapped = _uts46_map(domain.translate(LABEL_SEPARATORS)).removesuffix(".")
    labels = mapped.split(".")
    ascii_labels = []
    for label in map(_to_unicode_label, labels):
        _check_label(label)
        ascii_labels.append(label if label.isascii() else ACE_PREFIX + label.encode("punycode").decode())
    encoded = ".".join(ascii_labels)
    if len(encoded) > DOMAIN_MAX_LENGTH or any(len(label) > LABEL_MAX_LENGTH for label in ascii_labels):
        raise ValidationError(INVALID_ADDRESS, code="invalid")
    return encoded


def _uts46_map(text):
    folded = "".join(ch if ch in DEVIATIONS else ch.casefold() for ch in unicodedata.normalize("NFKC", text))
    return unicodedata.normalize("NFC", folded)


def _to_unicode_label(label):
    """``label`` itself, or the Unicode label an ``xn--`` label stands for (checked to round-trip)."""
    if not label.startswith(ACE_PREFIX):
        return label
    try:
        decoded = label[len(ACE_PREFIX) :].encode("ascii").decode("punycode")
    except UnicodeError:
        raise ValidationError(INVALID_ADDRESS, code="invalid") from None
    if decoded.isascii() or ACE_PREFIX + decoded.encode("punycode").decode() != label:
        raise ValidationError(INVALID_ADDRESS, code="invalid")
    if _uts46_map(decoded) != decoded:
        raise ValidationError(INVALID_ADDRESS, code="invalid")
    return decoded


def _check_label(label):
    if not label or label.startswith("-") or label.endswith("-") or label[2:4] == "--":
        raise ValidationError(INVALID_ADDRESS, code="invalid")
    if unicodedata.category(label[0]).startswith("M"):
        raise ValidationError(INVALID_ADDRESS, code="invalid")
    for ch in label:
        allowed = ch in ASCII_LABEL_CHARS if ch.isascii() else _pvalid(ch)
        if not allowed:
            raise ValidationError(INVALID_ADDRESS, code="invalid")
    if any(unicodedata.bidirectional(ch) in RTL_OR_ARABIC_DIGIT for ch in label) and not _bidi_ok(label):
        raise ValidationError(INVALID_ADDRESS, code="invalid")


def _pvalid(ch):
    """True for a non-ASCII code point IDNA 2008 allows in a label (and that the mapping leaves alone)."""
    return (ch in DEVIATIONS or unicodedata.category(ch) in LETTER_DIGITS) and _uts46_map(ch) == ch


def _bidi_ok(label):
    """RFC 5893's Bidi Rule, for a label with right-to-left characters in it."""
    classes = [unicodedata.bidirectional(ch) for ch in label]
    trailing = [c for c in classes if c != "NSM"][-1:] or ["NSM"]
    if classes[0] in RTL:
        allowed = {"R", "AL", "AN", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"}
        return (
            set(classes) <= allowed
            and trailing[0] in {"R", "AL", "EN", "AN"}
            and not ("EN" in classes and "AN" in classes)
        )
    if classes[0] == "L":
        allowed = {"L", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"}
        return set(classes) <= allowed and trailing[0] in {"L", "EN"}
    return False
