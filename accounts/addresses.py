"""One spelling per mailbox: the canonical form an address is stored, looked up and counted in.

Why an ASCII local part and IDNA 2008, and what was seen without them: docs/security.md#one-address-one-spelling.
"""

import unicodedata

import idna
from django.core.exceptions import ValidationError

# RFC 5321 limits a forward path to 256 octets, so an address to 254 characters.
EMAIL_MAX_LENGTH = 254

INVALID_ADDRESS = "Enter a valid email address."
NON_ASCII_LOCAL_PART = (
    "Enter the part of the address before the @ in plain (ASCII) letters, digits and punctuation."
)


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

    The ``idna`` package maps (``straße.de`` stays ``xn--strae-oqa.de``, not
    IDNA 2003's ``strasse.de``), checks each label (RFC 5891-5893 and the
    STD3 rules) and encodes it. Raises :class:`ValidationError` when the
    domain cannot be encoded.
    """
    try:
        encoded = idna.encode(domain.removesuffix("."), uts46=True, transitional=False, std3_rules=True)
    except (idna.IDNAError, UnicodeError):
        raise ValidationError(INVALID_ADDRESS, code="invalid") from None
    return encoded.decode("ascii")
