"""Merge and transfer requests, mounted at /requests/."""

from django.urls import path

from . import views

app_name = "merges"

urlpatterns = [
    path("", views.received, name="received"),
    path("sent/", views.sent, name="sent"),
    path("search/", views.search, name="search"),
    path("<int:request_id>/", views.request_detail, name="detail"),
    path("<int:request_id>/approve/", views.request_approve, name="approve"),
    path("<int:request_id>/reject/", views.request_reject, name="reject"),
    path("<int:request_id>/cancel/", views.request_cancel, name="cancel"),
    path("customers/<int:pk>/merge/", views.merge_request, name="merge_request"),
    path("customers/<int:pk>/transfer/", views.transfer_request, name="transfer_request"),
    path("customers/<int:pk>/dismiss-suggestion/", views.suggestion_dismiss, name="dismiss_suggestion"),
]
