"""Demo data for `make run`: organizations, one user per role, idempotent."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Organization, User
from accounts.selectors import user_has_two_factor_device, user_requires_two_factor
from accounts.services import organization_create, staff_create
from msp_portal import context
from msp_portal.permissions import OrganizationKind, Role

DEMO_PASSWORD = "portal-demo-2026"

# Each app adds its own demo data in `<app>/demo.py` with `seed(command, organizations, options)`,
# called in this order after the organizations and users exist.
DEMO_APPS = ["customers", "points", "billing_jobs", "customer_portal", "exports", "merges"]

ORGANIZATIONS = [
    # key, name, kind, parent key
    ("operator", "SingleID 運営事務局", OrganizationKind.OPERATOR, None),
    ("pmsp", "東京クラウドパートナーズ株式会社", OrganizationKind.PRIVILEGED_MSP, None),
    ("msp", "大阪ITサービス株式会社", OrganizationKind.MSP, "pmsp"),
    ("other", "北海道ネットワークス株式会社", OrganizationKind.MSP, None),
    ("support", "大阪ITサービス ヘルプデスク", OrganizationKind.SUPPORT, "msp"),
]

USERS = [
    # e-mail, name, organization key, role
    ("operator@example.com", "運営 管理者", "operator", Role.OPERATOR_ADMIN),
    ("pmsp-admin@example.com", "佐藤 花子", "pmsp", Role.ADMIN),
    ("msp-admin@example.com", "鈴木 一郎", "msp", Role.ADMIN),
    ("msp-sales@example.com", "高橋 健太", "msp", Role.SALES),
    ("msp-billing@example.com", "田中 美咲", "msp", Role.BILLING),
    ("msp-viewer@example.com", "伊藤 直樹", "msp", Role.VIEWER),
    ("other-msp-admin@example.com", "渡辺 裕子", "other", Role.ADMIN),
    ("support@example.com", "山本 翔", "support", Role.SUPPORT_STAFF),
]


class Command(BaseCommand):
    help = "Load demo organizations and users (idempotent). Refuses to run with DEBUG off unless --force."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even when DEBUG is off.")
        parser.add_argument(
            "--customers", type=int, default=None, help="How many demo customer accounts to have (default 300)."
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError("seed_demo loads demo logins; it refuses to run with DEBUG off (use --force).")
        with context.acting(channel="command"), transaction.atomic():
            organizations = self._organizations()
            self._users(organizations)
            for app in DEMO_APPS:
                try:
                    module = import_module(f"{app}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app}.demo":
                        raise
                    continue
                module.seed(command=self, organizations=organizations, options=options)
        self._print_logins()

    def _print_logins(self) -> None:
        """The demo logins, and what the ones that sign in with a second factor will be asked."""
        self.stdout.write(self.style.SUCCESS("Demo data is loaded. Sign in with any of:"))
        enrols, enrolled = [], []
        for email, _name, _org, role in USERS:
            user = User.objects.get(email=email)
            note = ""
            if user_has_two_factor_device(user):
                enrolled.append(email)
                note = "  (two-factor)"
            elif user_requires_two_factor(user):
                enrols.append(email)
                note = "  (two-factor: enrols a passkey or an authenticator app on the first sign-in)"
            self.stdout.write(f"  {email:<32} {role}{note}")
        self.stdout.write(f"Password for every demo login: {DEMO_PASSWORD}")
        if enrols:
            self.stdout.write(
                f"Two-factor sign-in ({', '.join(enrols)}): every staff organization requires it, so after "
                "the password the first sign-in enrols a device: a passkey (the computer's screen lock or a "
                "security key; open the portal as http://localhost:8000 for it), or an authenticator app "
                "(TOTP, such as Google Authenticator) from the QR code and its secret key, confirmed with "
                "the 6-digit code the app shows. Later sign-ins ask for the passkey or the app's current "
                "code; a passkey also signs in without the password."
            )
        if enrolled:
            self.stdout.write(
                f"Two-factor sign-in ({', '.join(enrolled)}): after the password, enter the 6-digit code "
                "of the authenticator app enrolled earlier."
            )

    def _organizations(self) -> dict[str, Organization]:
        organizations: dict[str, Organization] = {}
        for key, name, kind, parent_key in ORGANIZATIONS:
            existing = Organization.objects.filter(name=name, kind=kind).first()
            organizations[key] = existing or organization_create(
                actor=None, name=name, kind=kind, parent=organizations.get(parent_key)
            )
        return organizations

    def _users(self, organizations: dict[str, Organization]) -> None:
        for email, name, org_key, role in USERS:
            if not User.objects.filter(email=email).exists():
                staff_create(
                    actor=None,
                    organization=organizations[org_key],
                    email=email,
                    name=name,
                    role=role,
                    password=DEMO_PASSWORD,
                )
