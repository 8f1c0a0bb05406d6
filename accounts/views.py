"""Thin views: a form in, a service call, a redirect or a page out.

Every form that takes an address answers the same whether the address has an account or not.
"""

from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from accounts import services
from accounts.forms import (
    ConfirmForm,
    LoginForm,
    PasswordResetRequestForm,
    ResendForm,
    ResetSetPasswordForm,
    SignupForm,
)
from accounts.ratelimits import may_email, signup_over_limit

# Logging in after confirming or resetting: the account just proved its mailbox.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


# The address a visitor just gave, shown on the "check your inbox" page. A
# signed cookie rather than the session: signup then writes nothing to the
# database but its user and job.
SENT_TO_COOKIE = "herald_sent_to"
SENT_TO_SALT = "accounts.views.sent_to"
SENT_TO_MAX_AGE_S = 3600


def redirect_with_address(to, email):
    """A redirect to ``to`` that carries ``email`` for the next page (signed, ASCII, an hour)."""
    response = redirect(to)
    response.set_cookie(
        SENT_TO_COOKIE,
        signing.dumps(email, salt=SENT_TO_SALT, compress=True),
        max_age=SENT_TO_MAX_AGE_S,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def address_given(request):
    """The address carried by :func:`redirect_with_address`, or "" if none (or tampered, or expired)."""
    try:
        return signing.loads(
            request.COOKIES.get(SENT_TO_COOKIE, ""), salt=SENT_TO_SALT, max_age=SENT_TO_MAX_AGE_S
        )
    except signing.BadSignature:
        return ""


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def signup(request):
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if signup_over_limit(request):
            return rate_limited(request)
        if form.is_valid():
            email = form.cleaned_data["email"]
            # Over an email budget, signup still answers the same and sends nothing.
            services.register_user(
                email=email,
                password=form.cleaned_data["password1"],
                may_email=may_email(request, "signup", email),
            )
            return redirect_with_address("accounts:signup_done", email)
    return render(request, "accounts/signup.html", {"form": form})


@require_GET
def signup_done(request):
    return render(request, "accounts/signup_done.html", {"email": address_given(request)})


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def activate(request, uidb64, token):
    """The page an activation link opens: confirming takes a POST, and sets the password typed here.

    A GET only shows the page, so a mail scanner that follows the link
    changes nothing.
    """
    try:
        user = services.check_activation_link(uidb64=uidb64, token=token)
    except services.ActivationError as error:
        return activation_refused(request, error)
    form = ConfirmForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.confirm_account(
                uidb64=uidb64, token=token, password=form.cleaned_data["password1"]
            )
        except services.ActivationError as error:
            return activation_refused(request, error)
        login(request, user, backend=MODEL_BACKEND)
        messages.success(request, "Your email address is confirmed and your account is active. Welcome!")
        return redirect("accounts:welcome")
    return render(request, "accounts/confirm.html", {"form": form, "email": user.email})


def activation_refused(request, error):
    if error.code == "already_activated":
        messages.info(request, error.message)
        return redirect("accounts:login")
    return render(request, "accounts/activation_failed.html", {"error": error}, status=400)


@require_http_methods(["GET", "POST"])
def resend(request):
    form = ResendForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if may_email(request, "resend", email):
            services.request_new_link(email=email)
        return redirect_with_address("accounts:resend_done", email)
    return render(request, "accounts/resend.html", {"form": form})


@require_GET
def resend_done(request):
    return render(request, "accounts/resend_done.html", {"email": address_given(request)})


@login_required
@require_GET
def welcome(request):
    return render(request, "accounts/welcome.html")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's "forgot your password" page; the email goes out as a tracked job.

    Within the email budgets per client and per mailbox
    (``accounts.ratelimits.may_email``); known and unknown addresses, within
    the budgets or over them, get the same answer.
    """

    form_class = PasswordResetRequestForm
    template_name = "accounts/password_reset.html"

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        if may_email(self.request, "reset", email):
            services.request_password_reset(email=email)
        return redirect_with_address("accounts:password_reset_done", email)


@require_GET
def password_reset_done(request):
    return render(request, "accounts/password_reset_done.html", {"email": address_given(request)})


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's set-a-new-password page (single-use, expiring token); it confirms a never confirmed account."""

    form_class = ResetSetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    post_reset_login = True
    post_reset_login_backend = MODEL_BACKEND
    success_url = reverse_lazy("accounts:welcome")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your new password is set and you are logged in.")
        return response


class LoginView(auth_views.LoginView):
    """Django's login view (its POST data is already sensitive and it is never cached)."""

    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_redirect_url(self):
        """``next`` as Django checks it, unless it names this page: then the default page.

        Why: Django redirects a logged-in visitor of the login page to
        ``next``, and raises ValueError ("Redirection loop") when that is the
        login page itself, a 500 anyone could send as a link.
        """
        url = super().get_redirect_url()
        if url and unquote(urlsplit(url).path) == self.request.path:
            return ""
        return url


class LogoutView(auth_views.LogoutView):
    template_name = "accounts/logged_out.html"


def rate_limited(request, exception=None):
    """The 429 page: too many signups from this client."""
    return render(request, "429.html", status=429)
