"""Signup, resend and login forms."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, SetPasswordMixin
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError

# RFC 5321 limits a forward path to 256 octets, so an address to 254 characters.
EMAIL_MAX_LENGTH = 254


def clean_address(value):
    """Lower-case the address; refuse line breaks and control characters (header injection)."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError("Enter a valid email address.", code="invalid")
    return value.strip().lower()


class SignupForm(SetPasswordMixin, forms.Form):
    """Email and password twice, checked by Django's password validators.

    Whether the address is already taken is deliberately not a form error:
    that would tell anyone which addresses have accounts.
    """

    email = forms.EmailField(max_length=EMAIL_MAX_LENGTH, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1, password2 = SetPasswordMixin.create_password_fields()

    def clean_email(self):
        return clean_address(self.cleaned_data["email"])

    def clean(self):
        super().clean()
        self.validate_passwords()
        email = self.cleaned_data.get("email")
        self.validate_password_for_user(get_user_model()(email=email or ""))
        return self.cleaned_data


class ResendForm(forms.Form):
    email = forms.EmailField(max_length=EMAIL_MAX_LENGTH, widget=forms.EmailInput(attrs={"autocomplete": "email"}))

    def clean_email(self):
        return clean_address(self.cleaned_data["email"])


class LoginForm(AuthenticationForm):
    """Django's login form, telling an inactive user to confirm the address first."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "inactive": (
            "This account is not active yet. Follow the link in the confirmation email we sent you, "
            "or ask for a new one."
        ),
    }

    def clean(self):
        try:
            return super().clean()
        except ValidationError as error:
            if error.code == "invalid_login" and self._is_inactive_with_right_password():
                raise ValidationError(self.error_messages["inactive"], code="inactive") from None
            raise

    def _is_inactive_with_right_password(self):
        """True for the right password of an unconfirmed account.

        Only someone who knows the password learns that the account exists.
        A password is hashed whatever the outcome, so the answer's timing
        does not tell either.
        """
        email = (self.cleaned_data.get("username") or "").strip().lower()
        password = self.cleaned_data.get("password") or ""
        user = get_user_model()._default_manager.filter(email=email).first()
        if user is None or user.is_active:
            make_password(password)
            return False
        return user.check_password(password)
