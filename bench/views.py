"""The synchronous baseline: signup that sends the confirmation email inside the request."""

from django.contrib.auth import get_user_model
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.forms import SignupForm
from accounts.views import redirect_with_address
from bench.mail import send_confirmation_with_send_mail
from jobs.timing import timed


@require_http_methods(["GET", "POST"])
def signup_sending_inline(request):
    """Herald's signup form and user, but the email goes out before the response does."""
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        User = get_user_model()
        user = User(email=User._default_manager.normalize_email(form.cleaned_data["email"]), is_active=False)
        with timed("hash"):
            user.set_password(form.cleaned_data["password1"])
        user.save()
        send_confirmation_with_send_mail(user)
        return redirect_with_address("accounts:signup_done", user.email)
    return render(request, "accounts/signup.html", {"form": form})
