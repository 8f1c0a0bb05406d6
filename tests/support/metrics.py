"""Scraping ``GET /metrics/`` with the token (``metrics_on``, registered by tests/conftest.py)."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "scraper-token-for-tests-0123456789"


def scrape(client):
    response = client.get("/metrics/", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
