"""Signup, resend and login forms."""

import unicodedata

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, SetPasswordMixin
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError

# RFC 5321 limits a forward path to 256 octets, so an address to 254 characters.
EMAIL_MAX_LENGTH = 254


INVALID_ADDRESS = "Enter a valid email address."


def clean_address(value):
    """The one spelling of an address that ``EmailField`` accepted: one account per mailbox.

    Refused: control, format and separator characters anywhere (line breaks
    are header injection; U+2028 and zero-width characters pass Django's
    validator but are invisible look-alikes), a domain that IDNA cannot
    encode (the email could never be sent), and an address that grows past
    ``EMAIL_MAX_LENGTH`` once normalised. The domain takes its IDNA form, so
    full-width letters fold to ASCII and name the same mailbox as the
    address typed plainly; the whole address is lower-cased.
    """
    value = value.strip()
    if any(unicodedata.category(ch)[0] in "CZ" for ch in value):
        raise ValidationError(INVALID_ADDRESS, code="invalid")
    local, _, domain = value.rpartition("@")
    try:
        domain = domain.encode("idna").decode("idna")
    except UnicodeError:
        raise ValidationError(INVALID_ADDRESS, code="invalid") from None
    address = f"{local}@{domain.removesuffix('.')}".lower()
    if len(address) > EMAIL_MAX_LENGTH:
        raise ValidationError(INVALID_ADDRESS, code="invalid")
    return address


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

    def clean_username(self):
        """The address as signup stored it, so that any spelling signup accepted logs in."""
        username = self.cleaned_data["username"]
        try:
            return clean_address(username)
        except ValidationError:
            return username  # not an address: the login fails with the generic message

    def clean(self):
        try:
            return super().clean()
        except ValidationError as error:
            if error.code == "invalid_login" and self._is_inactive_with_right_password():
                raise ValidationError(self.error_messages["inactive"], code="inactive") from None
            raise

    def _is_inactive_with_right_password(self):
        """True for the right password of an account whose address was never confirmed.

        Only someone who knows the password learns that the account exists.
        A password is hashed whatever the outcome, so the answer's timing
        does not tell either. An account that was confirmed and later
        deactivated by staff gets the generic answer: a new link would not
        help it.
        """
        email = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password") or ""
        user = get_user_model()._default_manager.filter(email__iexact=email).first()
        if user is None or user.is_active or user.activated_at is not None:
            make_password(password)
            return False
        return user.check_password(password)
