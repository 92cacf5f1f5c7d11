from django.urls import path

from . import views

urlpatterns = [
    path("", views.api_key_list, name="api_key_list"),
    path("new/", views.api_key_create, name="api_key_create"),
    path("<slug:prefix>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
