"""The client's IP address, as far as this deployment can know it.

With ``TRUSTED_PROXY_COUNT = 0`` (the default) Herald is reached directly and
the client is the socket's peer, ``REMOTE_ADDR``; every forwarding header is
ignored, because any client can send one.

Behind ``N`` reverse proxies, each of which appends the address it received
the request from to ``X-Forwarded-For`` (nginx's ``$proxy_add_x_forwarded_for``,
most load balancers), the client is the ``N``-th address from the right: those
were written by the trusted proxies, and whatever stands to their left was
sent by the client and proves nothing. A client that puts its own addresses
in front still lands on its real address, so it cannot step out of a rate
limit by changing the header.

Guaranteed: always an IP address as text, never an exception. A missing,
malformed or too short header (a request that did not pass every proxy)
falls back to ``REMOTE_ADDR``, the nearest hop this process saw itself.
"""

from django.conf import settings
from ipware import get_client_ip

FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"
# WSGI servers always set it; a Unix-socket server may leave it empty.
UNKNOWN = "0.0.0.0"


def client_ip(request):
    """The client's IP address for ``request`` (see the module docstring)."""
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
