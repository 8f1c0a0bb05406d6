"""A real headless Chromium (Debian's ``chromium``) driven by Playwright; never a downloaded browser."""

import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.processes import PROJECT_DIR

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = PROJECT_DIR / "test-artifacts"


def chromium_path():
    """Debian's chromium, or a failure saying how to install it (a browser test never skips)."""
    found = CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")
    if not found:
        pytest.fail(
            "Chromium is missing: the browser tests drive Debian's /usr/bin/chromium. "
            "Install it with `make system-test-deps` (apt-get install chromium).",
            pytrace=False,
        )
    return str(found)


@contextmanager
def headless_chromium():
    """A headless Chromium for the duration of a ``with`` block.

    Playwright's sync API runs an event loop in this thread, and Django
    refuses database calls while one runs: do them before or after the block.
    """
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
