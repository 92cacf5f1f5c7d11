"""What each audit action is called, in the reader's language: one table for every action the
services (and the ledger's data migrations) write. audit/tests/test_actions.py reads the source
for every action literal and fails when one is missing here. An action not listed (an event
older than its label) reads as its code."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTION_LABELS: dict[str, Promise] = {
    # Organizations and staff (accounts)
    "organization.create": _("Organization created"),
    "organization.two_factor": _("Two-factor requirement changed"),
    "organization.reauthentication_threshold": _("Re-authentication threshold for point moves changed"),
    "staff.create": _("Staff member invited"),
    "staff.invitation_resend": _("Invitation sent again"),
    "staff.change_role": _("Role changed"),
    "staff.deactivate": _("Staff member deactivated"),
    "staff.reactivate": _("Staff member reactivated"),
    "staff.two_factor_reset": _("Two-factor authentication reset"),
    "staff.sessions_end": _("Staff member's sessions ended"),
    "user.two_factor_enable": _("Two-factor authentication enabled"),
    "user.two_factor_disable": _("Two-factor authentication disabled"),
    "user.passkey_add": _("Passkey added"),
    "user.passkey_rename": _("Passkey renamed"),
    "user.passkey_remove": _("Passkey removed"),
    "user.sessions_end": _("Other sessions ended"),
    "user.new_browser_sign_in": _("Signed in from a new browser"),
    "user.profile_update": _("Profile updated"),
    "user.password_change": _("Password changed"),
    "user.password_reset": _("Password reset"),
    # Customer accounts (customers)
    "customer.register": _("Account registered"),
    "customer.update": _("Account information updated"),
    "customer.info_update": _("Customer information updated by the customer"),
    "customer.approve": _("Application approved"),
    "customer.reject": _("Application returned"),
    "customer.resubmit": _("Application resubmitted"),
    "customer.withdraw": _("Application withdrawn"),
    "customer.provisioning_retry": _("Provisioning retried"),
    "customer.provisioning_succeeded": _("Provisioning completed"),
    "customer.provisioning_failed": _("Provisioning failed"),
    "customer.contract_change": _("Contracted users changed"),
    "customer.cancel": _("Account cancelled"),
    "customer.schedule_cancellation": _("Cancellation date set"),
    "customer.clear_cancellation": _("Cancellation date cleared"),
    "customer.archive": _("Account archived"),
    "customer.unarchive": _("Account unarchived"),
    "customer.assign_support": _("Support account assigned"),
    "customer.customize_screen": _("Screen customization changed"),
    "customer.suspend": _("Account suspended"),
    "customer.unsuspend": _("Suspension lifted"),
    "customer.delivery_notice": _("Delivery notification sent"),
    # Merges and transfers (merges, customer_portal)
    "merge_request.create": _("Merge requested"),
    "transfer_request.create": _("Transfer to another MSP requested"),
    "account_request.approve": _("Request approved"),
    "account_request.reject": _("Request rejected"),
    "account_request.cancel": _("Request withdrawn"),
    "account_request.expire": _("Request expired"),
    "customer.merge": _("Account merged into another"),
    "customer.merge_survivor": _("Account absorbed another"),
    "customer.transfer": _("Account transferred to another MSP"),
    "customer_portal.merge_people": _("Administrators and users moved by a merge"),
    "merge_suggestion.dismiss": _("Merge suggestion removed"),
    "merge.search": _("Accounts of other MSPs searched"),
    # Points (points, billing_jobs, the ledger's data migrations)
    "points.purchase": _("Points purchased"),
    "points.purchase_request": _("Point purchase requested"),
    "points.purchase_request_recorded": _("Point purchase request recorded"),
    "points.purchase_request_declined": _("Point purchase request declined"),
    "points.allocate": _("Points allocated"),
    "points.withdraw": _("Points removed"),
    "points.replenish": _("Needed points replenished"),
    "points.auto_replenish": _("Points replenished automatically"),
    "points.adjust": _("Points adjusted"),
    "points.reverse": _("Transfer reversed"),
    "points.application_refund": _("Application points returned"),
    "points.consumption": _("Monthly points charge"),
    "points.rule_create": _("Consumption rule added"),
    "points.rule_delete": _("Consumption rule deleted"),
    "points.pools_merged": _("Duplicate pools merged"),
    "points.settle_ended_account": _("Ended account settled"),
    # Exports (exports: "<dataset>.export")
    "customers.export": _("Customer list exported"),
    # The customer admin portal (customer_portal)
    "customer_portal.enter": _("Customer portal entered"),
    "customer_portal.leave": _("Customer portal left"),
    "customer_admin.register": _("Customer administrator registered"),
    "customer_admin.update": _("Customer administrator updated"),
    "customer_admin.enable": _("Customer administrator enabled"),
    "customer_admin.disable": _("Customer administrator disabled"),
    "customer_admin.password_mail": _("Password setting e-mail sent"),
    "service_user.add": _("User added"),
    "service_user.update": _("User updated"),
    "service_user.enable": _("User enabled"),
    "service_user.disable": _("User disabled"),
    "service_user.import": _("Users imported"),
    # Webhooks (webhooks)
    "webhook_endpoint.create": _("Webhook endpoint added"),
    "webhook_endpoint.update": _("Webhook endpoint changed"),
    "webhook_endpoint.delete": _("Webhook endpoint deleted"),
    "webhook_endpoint.rotate_secret": _("Webhook signing secret rotated"),
    "webhook_endpoint.enable": _("Webhook endpoint enabled"),
    "webhook_endpoint.disable": _("Webhook endpoint disabled"),
    "webhook_endpoint.test": _("Webhook test event sent"),
    "webhook_delivery.redeliver": _("Webhook event redelivered"),
    # API keys (api)
    "api_key.create": _("API key created"),
    "api_key.revoke": _("API key revoked"),
}


def action_label(action: str) -> str:
    """The action's name in the active language; its code when it has no label."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action
