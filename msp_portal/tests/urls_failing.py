"""The project's URLs plus views that fail: one to render the 500 page in tests, one whose
transaction waits for no lock (an overlap that no service retried)."""

from django.db import transaction
from django.urls import path

from accounts.models import Organization
from msp_portal.permissions import public
from msp_portal.urls import handler403, handler404, handler500
from msp_portal.urls import urlpatterns as project_urlpatterns


@public
def boom(request):
    raise RuntimeError("a deliberate failure")


@public
def locked(request, pk: int):
    with transaction.atomic():
        Organization.objects.select_for_update(nowait=True).get(pk=pk)
    raise RuntimeError("the row was expected to be locked by the test")


urlpatterns = [*project_urlpatterns, path("boom/", boom), path("locked/<int:pk>/", locked)]
__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]
