from django.urls import path

from customers.selectors import get_customer_for_user
from msp_portal.permissions import Cap
from msp_portal.views import moved

from . import views

app_name = "billing_jobs"

SCOPE = (get_customer_for_user, "customer_id")

urlpatterns = [
    path("", views.run_list, name="run_list"),
    path("<int:pk>/", views.run_detail, name="run_detail"),
    # The cancellation popups' addresses before they moved to the customers app, for old links and
    # pages still open in a browser (308 to the new address, checked as the popups are).
    path(
        "customers/<int:customer_id>/cancel/",
        moved("customers:cancel", Cap.CUSTOMERS_CANCEL, scope=SCOPE, renamed={"customer_id": "pk"}),
        name="customer_cancel_moved",
    ),
    path(
        "customers/<int:customer_id>/cancellation-date/",
        moved("customers:cancellation_date", Cap.CUSTOMERS_CANCEL, scope=SCOPE, renamed={"customer_id": "pk"}),
        name="customer_cancellation_date_moved",
    ),
]
