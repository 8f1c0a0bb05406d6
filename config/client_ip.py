"""The client's IP address, as far as this deployment can know it (``TRUSTED_PROXY_COUNT``).

Why the N-th address from the right, and why an IPv6 client is its /64: docs/security.md#client-ip-behind-proxies.
"""

import ipaddress

from django.conf import settings
from ipware import get_client_ip

FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"
# WSGI servers always set it; a Unix-socket server may leave it empty.
UNKNOWN = "0.0.0.0"


def client_ip(request):
    """The client's IP address for ``request``: always an IP address as text, never an exception.

    With ``TRUSTED_PROXY_COUNT = 0``, ``REMOTE_ADDR``. Behind ``N`` proxies that each append to
    ``X-Forwarded-For``, the ``N``-th address from the right; a missing, malformed or too short
    header (a request that did not pass every proxy) falls back to ``REMOTE_ADDR``.
    """
    remote_addr = request.META.get("REMOTE_ADDR") or UNKNOWN
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote_addr
    # python-ipware counts the proxies *in* the header besides the client: the
    # nearest proxy is REMOTE_ADDR and never in it, hence N - 1. Not strict:
    # more entries than expected are the client's own, skipped from the left,
    # and garbage among them is dropped without shifting the right-hand end.
    ip, _routable = get_client_ip(
        request,
        proxy_order="left-most",
        proxy_count=proxies - 1,
        request_header_order=[FORWARDED_FOR],
        strict=False,
    )
    return ip or remote_addr


def client_network(request):
    """The client as the login lockout and every rate limit count it: one key per subscriber.

    An IPv4 address is itself (an IPv4-mapped IPv6 address too); an IPv6
    address is its network of ``CLIENT_IPV6_PREFIX`` bits (64 by default),
    named by the network's first address (``2001:db8:1:2::``), so it stays a
    valid IP address for django-axes' records.
    """
    text = client_ip(request)
    try:
        address = ipaddress.ip_address(text.partition("%")[0])  # without an IPv6 zone ("%eth0")
    except ValueError:
        return text  # REMOTE_ADDR as a server set it, not an address (a Unix socket's peer)
    if address.version == 6 and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    if address.version == 4:
        return str(address)
    network = ipaddress.IPv6Network((address, settings.CLIENT_IPV6_PREFIX), strict=False)
    return str(network.network_address)
