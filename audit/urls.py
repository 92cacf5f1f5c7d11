from django.urls import path

from . import views

urlpatterns = [
    path("", views.audit_event_list, name="audit_event_list"),
    path("export.csv", views.audit_event_export, name="audit_event_export"),
]
