from django.conf import settings


def test_settings_come_from_environment():
    assert settings.REDIS_URL.startswith("redis://127.0.0.1:")
    assert settings.JOBS_MAX_RETRIES == 3
