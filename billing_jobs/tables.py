import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from msp_portal.tables import PortalTable

from .models import JobRun


class JobRunTable(PortalTable):
    id = tables.LinkColumn("billing_jobs:run_detail", args=[tables.A("pk")], verbose_name="#")
    kind = tables.Column(verbose_name=_("kind"))
    run_date = tables.DateColumn(verbose_name=_("run date"), format="Y-m-d")
    periods = tables.Column(verbose_name=_("periods"), orderable=False)
    status = tables.TemplateColumn(template_name="billing_jobs/partials/status_badge.html", verbose_name=_("status"))
    progress = tables.TemplateColumn(
        template_name="billing_jobs/partials/progress.html", verbose_name=_("chunks"), orderable=False
    )
    summary = tables.TemplateColumn(
        template_name="billing_jobs/partials/summary.html", verbose_name=_("result"), orderable=False
    )
    started_at = tables.DateTimeColumn(verbose_name=_("started at"), format="Y-m-d H:i:s")
    finished_at = tables.DateTimeColumn(verbose_name=_("finished at"), format="Y-m-d H:i:s")
    triggered_by = tables.Column(verbose_name=_("triggered by"))

    region_label = _("Billing jobs")

    class Meta(PortalTable.Meta):
        model = JobRun
        fields = (
            "id",
            "kind",
            "run_date",
            "periods",
            "status",
            "progress",
            "summary",
            "started_at",
            "finished_at",
            "triggered_by",
        )
        order_by = ("-started_at",)

    def render_periods(self, value):
        return ", ".join(value)
