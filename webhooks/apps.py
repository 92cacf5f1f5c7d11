from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self):
        from customers import hooks

        from .services import publish_customer_events, publish_organization_events

        # The services below (customers, points, merges, billing_jobs) tell what happened; this
        # app records it for the organizations that subscribed and sends it after commit.
        hooks.customer_events.add(publish_customer_events)
        hooks.organization_events.add(publish_organization_events)
