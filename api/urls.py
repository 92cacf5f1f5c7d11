"""/api/v1/: the REST API and its OpenAPI schema with offline docs (Swagger UI, Redoc)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import docs, endpoints

app_name = "api"

urlpatterns = [
    path("customers/", endpoints.CustomerListView.as_view(), name="customers"),
    path("customers/<int:pk>/", endpoints.CustomerDetailView.as_view(), name="customer"),
    path("customers/<int:pk>/contract/", endpoints.CustomerContractView.as_view(), name="customer_contract"),
    path(
        "customers/<int:pk>/cancellation/", endpoints.CustomerCancellationView.as_view(), name="customer_cancellation"
    ),
    path("customers/<int:pk>/cancel/", endpoints.CustomerCancelView.as_view(), name="customer_cancel"),
    path("customers/<int:pk>/points/", endpoints.CustomerPointsView.as_view(), name="customer_points"),
    path("customers/<int:pk>/ledger/", endpoints.CustomerLedgerView.as_view(), name="customer_ledger"),
    path("points/replenish/", endpoints.ReplenishView.as_view(), name="replenish"),
    path("points/pools/", endpoints.PoolListView.as_view(), name="pools"),
    path("points/pools/<int:organization_id>/history/", endpoints.PoolHistoryView.as_view(), name="pool_history"),
    path("approvals/", endpoints.ApprovalListView.as_view(), name="approvals"),
    path("approvals/<int:pk>/approve/", endpoints.ApprovalApproveView.as_view(), name="approve"),
    path("approvals/<int:pk>/reject/", endpoints.ApprovalRejectView.as_view(), name="reject"),
    path("approvals/<int:pk>/retry-provisioning/", endpoints.ApprovalRetryView.as_view(), name="retry_provisioning"),
    path("job-runs/", endpoints.JobRunListView.as_view(), name="job_runs"),
    path("job-runs/<int:pk>/", endpoints.JobRunDetailView.as_view(), name="job_run"),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path("schema/swagger/", docs.SwaggerView.as_view(), name="swagger"),
    path("schema/redoc/", docs.RedocView.as_view(), name="redoc"),
]
