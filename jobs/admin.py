"""Minimal admin registration for email jobs (the full job view builds on this)."""

from django.contrib import admin

from jobs.models import EmailAttempt, EmailJob


class EmailAttemptInline(admin.TabularInline):
    model = EmailAttempt
    extra = 0
    can_delete = False
    fields = ["number", "outcome", "started_at", "duration_ms", "error_class", "error_message", "smtp_reply"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(EmailJob)
class EmailJobAdmin(admin.ModelAdmin):
    list_display = ["id", "recipient", "status", "attempts", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["recipient", "message_id"]
    inlines = [EmailAttemptInline]
    readonly_fields = [f.name for f in EmailJob._meta.fields]

    def has_add_permission(self, request):
        return False


def _unregister_django_dramatiq_admin():
    """django-dramatiq's task admin renders message data with mark_safe (stored XSS); hide it."""
    from django_dramatiq.models import Task

    if admin.site.is_registered(Task):
        admin.site.unregister(Task)


_unregister_django_dramatiq_admin()
