from django.contrib import admin
from django.urls import include, path

from customers.dashboard import dashboard

from . import views
from .observability import metrics_view

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("csp-report/", views.csp_report, name="csp_report"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("accounts.urls")),
    path("customers/", include("customers.urls")),
    path("audit/", include("audit.urls")),
    path("points/", include("points.urls")),
    path("jobs/", include("billing_jobs.urls")),
    path("exports/", include("exports.urls")),
    path("c/", include("customer_portal.urls")),
    path("requests/", include("merges.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("api/v1/", include("api.urls")),
    path("api-keys/", include("api.portal_urls")),
    path("django-admin/", admin.site.urls),
]

handler400 = "msp_portal.views.bad_request"
handler403 = "msp_portal.views.permission_denied"
handler404 = "msp_portal.views.page_not_found"
handler500 = "msp_portal.views.server_error"
