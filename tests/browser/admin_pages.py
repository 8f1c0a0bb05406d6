"""The job admin in the browser tests: its staff, their log-in, a page waited on until it changes."""

import re
import time

from django.contrib.auth.models import Permission

from accounts.models import User

STAFF_PASSWORD = "staff-Password-42"


def make_staff(email, *codenames):
    """An active staff user at ``email`` holding these permissions of the jobs app."""
    user = User.objects.create_user(email=email, password=STAFF_PASSWORD, is_staff=True, is_active=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="jobs", codename__in=codenames)
    )
    return user


def logged_in_page(browser, base_url, email, path):
    """A new page of ``browser``, logged in to the admin as ``email`` and taken on to ``path``."""
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(f"{base_url}/admin/login/?next={path}")
    page.fill("#id_username", email)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(rf"{re.escape(path)}$"))
    return page


def wait_for_text(page, selector, expected, timeout):
    """Reload ``page`` until ``selector`` reads ``expected``; return how long it took."""
    started = time.monotonic()
    while page.inner_text(selector).strip() != expected:
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{selector} still reads {page.inner_text(selector)!r} after {timeout} s")
        time.sleep(0.2)
        page.reload()
    return time.monotonic() - started
