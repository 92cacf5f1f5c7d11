from django.apps import AppConfig


class BillingJobsConfig(AppConfig):
    name = "billing_jobs"
