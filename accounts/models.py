"""The user model: the email address is the login; there is no username."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from accounts.addresses import canonical_address


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        try:
            email = canonical_address(email)
        except ValidationError as error:
            raise ValueError(f"Not an address Herald can store: {email!r} ({error.messages[0]})") from None
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        extra_fields.setdefault("is_active", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email):
        """The account of ``email``, matched exactly on its canonical form (``accounts.addresses``)."""
        try:
            email = canonical_address(email)
        except ValidationError:
            pass  # not an address: an exact match on the text as given finds no account
        return self.get(email=email)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
    is_staff = models.BooleanField(default=False)
    # New sign-ups stay inactive until the address is confirmed.
    is_active = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = "user"
        verbose_name_plural = "users"

    def __str__(self):
        return self.email

    def clean(self):
        """Store the address in its canonical form as signup does: forms (the admin's too) add no twin."""
        super().clean()
        try:
            self.email = canonical_address(self.email)
        except ValidationError as error:
            raise ValidationError({"email": error.messages}) from None
