"""``manage.py expire_unconfirmed [--dry-run]``: by hand, what the scheduler does daily.

Deletes the accounts never confirmed within ``ACCOUNT_UNCONFIRMED_DAYS``.
"""

from django.core.management.base import BaseCommand

from accounts.services import expire_unconfirmed_accounts


class Command(BaseCommand):
    help = "Delete accounts whose address was never confirmed within ACCOUNT_UNCONFIRMED_DAYS."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count them, delete nothing")

    def handle(self, *args, dry_run=False, **options):
        count = expire_unconfirmed_accounts(dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {count} never confirmed account(s)")
