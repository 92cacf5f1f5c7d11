"""The project's URLs plus a view that fails, to render the 500 page in tests."""

from django.urls import path

from msp_portal.permissions import public
from msp_portal.urls import handler403, handler404, handler500
from msp_portal.urls import urlpatterns as project_urlpatterns


@public
def boom(request):
    raise RuntimeError("a deliberate failure")


urlpatterns = [*project_urlpatterns, path("boom/", boom)]
__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]
