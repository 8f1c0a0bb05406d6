"""Migrating the test database to named migrations (``migrate``, registered by tests/conftest.py)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.fixture
def migrate(transactional_db):
    """Migrate to the given targets (the latest migrations with none) and return the apps of that state.

    The database is migrated back to the latest migrations after the test.
    """

    def to(targets=None):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        targets = targets or executor.loader.graph.leaf_nodes()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    yield to
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
