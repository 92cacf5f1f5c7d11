"""/api/v1/: the REST API and its OpenAPI schema with offline docs (Swagger UI, Redoc)."""

from django.urls import path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView

from . import docs, endpoints

app_name = "api"


class IdConverter:
    """A positive id that fits a 64-bit column; anything else falls through to a 404."""

    regex = "[1-9][0-9]{0,17}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(IdConverter, "id")

urlpatterns = [
    path("customers/", endpoints.CustomerListView.as_view(), name="customers"),
    path("customers/<id:pk>/", endpoints.CustomerDetailView.as_view(), name="customer"),
    path("customers/<id:pk>/contract/", endpoints.CustomerContractView.as_view(), name="customer_contract"),
    path("customers/<id:pk>/cancellation/", endpoints.CustomerCancellationView.as_view(), name="customer_cancellation"),
    path("customers/<id:pk>/cancel/", endpoints.CustomerCancelView.as_view(), name="customer_cancel"),
    path("customers/<id:pk>/points/", endpoints.CustomerPointsView.as_view(), name="customer_points"),
    path("customers/<id:pk>/ledger/", endpoints.CustomerLedgerView.as_view(), name="customer_ledger"),
    path("points/replenish/", endpoints.ReplenishView.as_view(), name="replenish"),
    path("points/pools/", endpoints.PoolListView.as_view(), name="pools"),
    path("points/pools/<id:organization_id>/history/", endpoints.PoolHistoryView.as_view(), name="pool_history"),
    path("approvals/", endpoints.ApprovalListView.as_view(), name="approvals"),
    path("approvals/<id:pk>/approve/", endpoints.ApprovalApproveView.as_view(), name="approve"),
    path("approvals/<id:pk>/reject/", endpoints.ApprovalRejectView.as_view(), name="reject"),
    path("approvals/<id:pk>/retry-provisioning/", endpoints.ApprovalRetryView.as_view(), name="retry_provisioning"),
    path("job-runs/", endpoints.JobRunListView.as_view(), name="job_runs"),
    path("job-runs/<id:pk>/", endpoints.JobRunDetailView.as_view(), name="job_run"),
    path("webhooks/endpoints/", endpoints.WebhookEndpointListView.as_view(), name="webhook_endpoints"),
    path("webhooks/endpoints/<id:pk>/", endpoints.WebhookEndpointDetailView.as_view(), name="webhook_endpoint"),
    path(
        "webhooks/endpoints/<id:pk>/rotate-secret/",
        endpoints.WebhookEndpointRotateView.as_view(),
        name="webhook_endpoint_rotate",
    ),
    path(
        "webhooks/endpoints/<id:pk>/deliveries/",
        endpoints.WebhookDeliveryListView.as_view(),
        name="webhook_deliveries",
    ),
    path(
        "webhooks/endpoints/<id:pk>/deliveries/<id:delivery_id>/redeliver/",
        endpoints.WebhookRedeliverView.as_view(),
        name="webhook_redeliver",
    ),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path("schema/swagger/", docs.SwaggerView.as_view(), name="swagger"),
    path("schema/redoc/", docs.RedocView.as_view(), name="redoc"),
    path("schema/redoc/redoc.standalone.js", docs.redoc_bundle, name="redoc_bundle"),
    re_path(r"", endpoints.not_found),
]
