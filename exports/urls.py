from django.urls import path

from . import views

app_name = "exports"

urlpatterns = [
    # The customer list's CSVダウンロード / EXCELダウンロード, and 選択実行 → export selected.
    path("customers.csv", views.customers_csv, name="customers_csv"),
    path("customers.xlsx", views.customers_xlsx, name="customers_xlsx"),
    path("customers-selected.csv", views.customers_selected_csv, name="customers_selected_csv"),
    path("customers-selected.xlsx", views.customers_selected_xlsx, name="customers_selected_xlsx"),
    path("<uuid:job_id>/", views.job_detail, name="job"),
    path("<uuid:job_id>/status", views.job_status, name="job_status"),
    path("<uuid:job_id>/download", views.job_download, name="job_download"),
]
