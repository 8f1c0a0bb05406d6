"""Thin views: a form in, a service call, a redirect or a page out."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts import services
from accounts.forms import LoginForm, ResendForm, SignupForm
from accounts.ratelimits import resend_over_limit, signup_over_limit


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
        return signing.loads(request.COOKIES.get(SENT_TO_COOKIE, ""), salt=SENT_TO_SALT, max_age=SENT_TO_MAX_AGE_S)
    except signing.BadSignature:
        return ""


@require_http_methods(["GET", "POST"])
def signup(request):
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if signup_over_limit(request):
            return rate_limited(request)
        if form.is_valid():
            services.register_user(email=form.cleaned_data["email"], password=form.cleaned_data["password1"])
            return redirect_with_address("accounts:signup_done", form.cleaned_data["email"])
    return render(request, "accounts/signup.html", {"form": form})


@require_GET
def signup_done(request):
    return render(request, "accounts/signup_done.html", {"email": address_given(request)})


@require_GET
def activate(request, uidb64, token):
    try:
        user = services.activate(uidb64=uidb64, token=token)
    except services.ActivationError as error:
        if error.code == "already_activated":
            messages.info(request, error.message)
            return redirect("accounts:login")
        return render(request, "accounts/activation_failed.html", {"error": error}, status=400)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, "Your email address is confirmed and your account is active. Welcome!")
    return redirect("accounts:welcome")


@require_http_methods(["GET", "POST"])
def resend(request):
    form = ResendForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if resend_over_limit(request, email):
            return rate_limited(request)
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


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    template_name = "accounts/logged_out.html"


def rate_limited(request, exception=None):
    """The 429 page: too many signups from this address, or links for this email."""
    return render(request, "429.html", status=429)
