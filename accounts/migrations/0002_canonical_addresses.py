"""Every stored address in its canonical form (``accounts.addresses``), so that lookups match exactly.

Before, addresses were lower-cased with their domain in IDNA 2003's Unicode
form, and looked up case-insensitively: on PostgreSQL ``tına@`` matched
``tina@``. A row whose canonical form is free takes it. A row that has none
(a non-ASCII local part), or whose canonical form another account holds:

- never confirmed: deleted (it belongs to nobody yet; its address can sign
  up again, as an expired signup's can);
- confirmed: left as it is, for staff to look at. A confirmed account beats
  a never confirmed one holding its canonical form, which is deleted.
"""

from django.core.exceptions import ValidationError
from django.db import migrations

from accounts.addresses import canonical_address


def never_confirmed(user):
    return not user.is_active and user.activated_at is None


def canonical_or_none(address):
    try:
        return canonical_address(address)
    except ValidationError:
        return None


def canonicalise_addresses(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    users = sorted(User.objects.all(), key=lambda user: (never_confirmed(user), user.pk))
    holders = {user.email: user for user in users}
    for user in users:
        canonical = canonical_or_none(user.email)
        if canonical == user.email or user.pk is None:  # already canonical, or deleted above
            continue
        holder = holders.get(canonical)
        displace = holder is not None and never_confirmed(holder) and not never_confirmed(user)
        if canonical is None or (holder is not None and not displace):
            if never_confirmed(user):
                holders.pop(user.email, None)
                user.delete()
            continue
        if displace:
            holder.delete()
        holders.pop(user.email, None)
        user.email = canonical
        user.save(update_fields=["email"])
        holders[canonical] = user


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(canonicalise_addresses, migrations.RunPython.noop, elidable=True)]
