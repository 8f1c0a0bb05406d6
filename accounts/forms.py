"""Signup, confirm, resend, login and password-reset forms."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm, SetPasswordMixin
from django.core.exceptions import ValidationError

from accounts.addresses import EMAIL_MAX_LENGTH, canonical_address
from accounts.services import set_password_from_reset


class SignupForm(SetPasswordMixin, forms.Form):
    """Email and password twice, checked by Django's password validators.

    Whether the address is already taken is deliberately not a form error:
    that would tell anyone which addresses have accounts.
    """

    email = forms.EmailField(
        max_length=EMAIL_MAX_LENGTH, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1, password2 = SetPasswordMixin.create_password_fields()

    def clean_email(self):
        return canonical_address(self.cleaned_data["email"])

    def clean(self):
        super().clean()
        self.validate_passwords()
        email = self.cleaned_data.get("email")
        self.validate_password_for_user(get_user_model()(email=email or ""))
        return self.cleaned_data


class ResendForm(forms.Form):
    email = forms.EmailField(
        max_length=EMAIL_MAX_LENGTH, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def clean_email(self):
        return canonical_address(self.cleaned_data["email"])


class ConfirmForm(SetPasswordMixin, forms.Form):
    """The password chosen on the page an activation link opens, twice.

    Whoever holds the link holds the mailbox, and the account gets the
    password typed here, never the one typed at signup (which may be anyone's).
    """

    password1, password2 = SetPasswordMixin.create_password_fields(
        label1="Password", label2="Password (again)"
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        super().clean()
        self.validate_passwords()
        self.validate_password_for_user(self.user)
        return self.cleaned_data


class PasswordResetRequestForm(PasswordResetForm):
    """Django's "forgot your password" form, taking the address as signup stores it.

    The view does not call ``save()``: the email goes out as a job
    (``accounts.services.request_password_reset``).
    """

    def clean_email(self):
        return canonical_address(self.cleaned_data["email"])


class ResetSetPasswordForm(SetPasswordForm):
    """Django's set-a-new-password form; completing it also confirms a never confirmed account."""

    def save(self, commit=True):
        return set_password_from_reset(user=self.user, password=self.cleaned_data["new_password1"])


class LoginForm(AuthenticationForm):
    """Django's login form, with one answer for every failure.

    Unknown address, wrong password, never confirmed or deactivated: the
    same message, so the form tells nobody which addresses have accounts.
    Django's backend turns inactive accounts away before their password
    counts, and hashes a password for unknown addresses too.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "Please enter a correct email address and password. Note that both fields may be case-sensitive. "
            "If you have not confirmed your email address yet, follow the link in the email we sent you."
        ),
    }

    def clean_username(self):
        """The address as signup stored it, so that any spelling signup accepted logs in."""
        username = self.cleaned_data["username"]
        try:
            return canonical_address(username)
        except ValidationError:
            return username  # not an address: the login fails with the generic message
