from django.core.management.base import BaseCommand

from exports.services import export_jobs_expire
from msp_portal.context import acting


class Command(BaseCommand):
    help = (
        "Delete the files of background exports past their retention time "
        "(PORTAL_EXPORT_RETENTION_HOURS); the export history is kept."
    )

    def handle(self, *args, **options):
        with acting(channel="command"):
            expired = export_jobs_expire()
        self.stdout.write(f"Expired exports: {expired}")
