"""A test app with a schedule every two seconds, installed in the processes a test starts with ``HERALD_TEST_SCHEDULES``."""
