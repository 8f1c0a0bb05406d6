"""The read side's HTTP views: /healthz/ and /metrics/."""
