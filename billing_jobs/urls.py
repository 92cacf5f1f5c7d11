from django.urls import path

from . import views

app_name = "billing_jobs"

urlpatterns = [
    path("", views.run_list, name="run_list"),
    path("<int:pk>/", views.run_detail, name="run_detail"),
    # Moved to customers:cancel and customers:cancellation_date (307 to the new address).
    path("customers/<int:customer_id>/cancel/", views.customer_cancel_moved, name="customer_cancel_moved"),
    path(
        "customers/<int:customer_id>/cancellation-date/",
        views.customer_cancellation_date_moved,
        name="customer_cancellation_date_moved",
    ),
]
