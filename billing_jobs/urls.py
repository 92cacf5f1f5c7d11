from django.urls import path

from . import views

app_name = "billing_jobs"

urlpatterns = [
    path("", views.run_list, name="run_list"),
    path("<int:pk>/", views.run_detail, name="run_detail"),
    path("customers/<int:customer_id>/cancel/", views.customer_cancel_view, name="customer_cancel"),
    path(
        "customers/<int:customer_id>/cancellation-date/",
        views.customer_cancellation_date_view,
        name="customer_cancellation_date",
    ),
]
