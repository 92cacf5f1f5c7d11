"""The portal's URLs plus the export routes of the tests' own dataset."""

from django.urls import path

from exports import views
from exports.tests.conftest import TEST_DATASET
from msp_portal.permissions import Cap, capability_required
from msp_portal.urls import urlpatterns as portal_urlpatterns


@capability_required(Cap.CUSTOMERS_EXPORT)
def csv_view(request):
    return views.csv_export(request, TEST_DATASET)


@capability_required(Cap.CUSTOMERS_EXPORT)
def xlsx_view(request):
    return views.xlsx_export(request, TEST_DATASET)


urlpatterns = [
    *portal_urlpatterns,
    path("test-export.csv", csv_view),
    path("test-export.xlsx", xlsx_view),
]
