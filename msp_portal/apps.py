from django.apps import AppConfig


class MspPortalConfig(AppConfig):
    name = "msp_portal"
    verbose_name = "MSP Portal"
