"""The error pages render on their own (no context processors, no database) and say what happened."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory
from django.views import defaults
from django.views.csrf import csrf_failure


@pytest.mark.parametrize(
    "handler, status, text",
    [
        (lambda r: defaults.bad_request(r, Exception("bad")), 400, "Bad request"),
        (lambda r: defaults.permission_denied(r, PermissionDenied()), 403, "Forbidden"),
        (lambda r: defaults.page_not_found(r, Http404()), 404, "Page not found"),
        (lambda r: defaults.server_error(r), 500, "Something went wrong"),
        (lambda r: csrf_failure(r, reason="CSRF token missing."), 403, "reload the page"),
    ],
)
def test_error_page(handler, status, text):
    response = handler(RequestFactory().get("/x"))

    assert response.status_code == status
    content = response.content.decode()
    assert text in content and 'href="/"' in content
    assert "Traceback" not in content and "CSRF token missing" not in content
