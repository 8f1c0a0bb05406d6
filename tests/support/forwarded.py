"""Odd X-Forwarded-For headers, for the client IP tests of the unit and integration tiers."""

# Headers a client can send whatever the proxies do: none of them may give a 500.
ODD_FORWARDED_FOR = [
    "",
    "   ",
    "not-an-ip",
    "unknown, 203.0.113.7",
    "203.0.113.7,,",
    ",,,",
    "999.1.1.1",
    "[2001:db8::1]:443",
    "2001:db8::1, 203.0.113.7",
    "203.0.113.7:8080",
    "for=203.0.113.7",
    "\u2028203.0.113.7",
    "1.1.1.1, " * 200 + "203.0.113.7",
]
