"""Customer account pages, mounted at /customers/."""

from django.urls import path

from msp_portal.permissions import Cap
from msp_portal.views import moved

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("register/", views.customer_register, name="register"),
    path("pending/", views.approval_queue, name="pending"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/edit/reseller/", views.customer_edit_reseller, name="edit_reseller"),
    path("<int:pk>/edit/support/", views.customer_edit_support, name="edit_support"),
    path("<int:pk>/edit/screen/", views.customer_edit_screen, name="edit_screen"),
    path("<int:pk>/contract/", views.customer_contract, name="contract"),
    path("<int:pk>/approve/", views.customer_approve, name="approve"),
    path("<int:pk>/reject/", views.customer_reject, name="reject"),
    path("<int:pk>/resubmit/", views.customer_resubmit, name="resubmit"),
    path("<int:pk>/withdraw/", views.customer_withdraw, name="withdraw"),
    path("<int:pk>/retry-provisioning/", views.customer_retry_provisioning, name="retry_provisioning"),
    path("<int:pk>/archive/", views.customer_archive, name="archive"),
    path("<int:pk>/unarchive/", views.customer_unarchive, name="unarchive"),
    path("<int:pk>/cancel/", views.customer_cancel_view, name="cancel"),
    path("<int:pk>/cancellation-date/", views.customer_cancellation_date_view, name="cancellation_date"),
    # The list's exports moved to the exports app (/exports/customers.csv ...).
    path("export.csv", moved("exports:customers_csv", Cap.CUSTOMERS_EXPORT)),
    path("export.xlsx", moved("exports:customers_xlsx", Cap.CUSTOMERS_EXPORT)),
    path("export-selected.csv", moved("exports:customers_selected_csv", Cap.CUSTOMERS_EXPORT)),
    path("export-selected.xlsx", moved("exports:customers_selected_xlsx", Cap.CUSTOMERS_EXPORT)),
]
