"""The shortage reminder e-mail: one per MSP and reminder day, to its admin and billing staff,
each in their own language."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import User
from customers.models import CustomerAccount, CustomerStatus
from msp_portal import dates
from msp_portal.mail import render_subject
from msp_portal.permissions import Role

from .models import ShortageReminder

# The e-mail lists this many accounts (largest shortage first) and counts the rest.
LISTED_ACCOUNTS = 200


def send_shortage_reminder(reminder_id: int) -> int:
    """Send the reminder if it has not been sent yet; returns the number of e-mails sent."""
    with transaction.atomic():
        reminder = ShortageReminder.objects.select_for_update().select_related("organization").get(pk=reminder_id)
        if reminder.sent_at is not None:
            return 0
        recipients = list(
            User.objects.filter(
                is_active=True,
                membership__organization=reminder.organization,
                membership__role__in=(Role.ADMIN, Role.BILLING),
            ).order_by("email")
        )
        short = CustomerAccount.objects.with_points().filter(
            organization=reminder.organization, status=CustomerStatus.ACTIVE, estimated_balance__lt=0
        )
        total = short.count()
        accounts = list(
            short.order_by("estimated_balance", "pk").values(
                "account_code", "company_name", "points_balance", "estimated_balance", "auto_replenish"
            )[:LISTED_ACCOUNTS]
        )
        this_25, next_25 = dates.next_charge_days(reminder.reminder_date)
        charge_day = this_25 if reminder.reminder_date <= this_25 else next_25
        messages = []
        for user in recipients:
            with translation.override(user.language):
                context = {
                    "user": user,
                    "organization": reminder.organization,
                    "accounts": accounts,
                    "total": total,
                    "more": max(0, total - len(accounts)),
                    "charge_day": charge_day,
                    "base_url": settings.PORTAL_BASE_URL,
                }
                subject = render_subject("billing_jobs/email/shortage_reminder_subject.txt", context)
                body = render_to_string("billing_jobs/email/shortage_reminder.txt", context)
            messages.append(EmailMessage(subject=subject, body=body, to=[user.email]))
        if messages:
            get_connection().send_messages(messages)
        reminder.sent_at = timezone.now()
        reminder.recipients = len(messages)
        reminder.accounts = total
        reminder.save(update_fields=["sent_at", "recipients", "accounts"])
    return len(messages)
