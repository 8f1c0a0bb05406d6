from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils import timezone

from accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["-date_joined"]
    list_display = ["email", "is_active", "is_staff", "date_joined", "activated_at"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email"]
    readonly_fields = ["date_joined", "activated_at", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Status", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["date_joined", "activated_at", "last_login"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]

    def save_model(self, request, obj, form, change):
        """Activating a never confirmed account by hand drops the password it was signed up with.

        Why: anyone may sign up with anyone's address, so that password may be
        an attacker's. The owner sets one with "Forgot your password?" (or
        staff set one with the password form).
        """
        if change and "is_active" in form.changed_data and obj.is_active and obj.activated_at is None:
            obj.activated_at = timezone.now()
            obj.set_unusable_password()
            self.message_user(
                request,
                f"{obj.email} is active with no usable password: its owner sets one with "
                "\u201cForgot your password?\u201d on the login page.",
                messages.WARNING,
            )
        super().save_model(request, obj, form, change)
