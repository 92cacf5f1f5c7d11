"""Where customer tenants are created in the service (DESIGN.md §3 "Provisioning").

The portal talks to the service through one small interface; `PORTAL_PROVISIONING_BACKEND`
names the class. The default simulates the tenant creation, so the whole lifecycle works
without the real service; a real backend plugs in by setting.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


class ProvisioningError(Exception):
    """The backend could not create the tenant this time; the task retries with backoff."""


@dataclass(frozen=True)
class TenantRequest:
    account_code: str
    company_name: str
    email_domain: str
    contracted_users: int


@dataclass(frozen=True)
class TenantResult:
    tenant_id: str


class ProvisioningBackend(abc.ABC):
    """Create the tenant for a customer account.

    `create_tenant` must be idempotent by account code: a retry after a timeout, or a second
    delivery of the same task, returns the tenant created the first time instead of failing or
    creating a second one. It raises ProvisioningError on a failure worth retrying.
    """

    @abc.abstractmethod
    def create_tenant(self, request: TenantRequest) -> TenantResult:
        """Create (or find, by account code) the tenant."""


class SimulatedProvisioningBackend(ProvisioningBackend):
    """Stands in for the service: the tenant id is derived from the account code (so a repeated
    call answers the same tenant), and the codes listed in
    `PORTAL_SIMULATED_PROVISIONING_FAIL_CODES` fail, to rehearse the failure path."""

    def create_tenant(self, request: TenantRequest) -> TenantResult:
        if request.account_code in settings.PORTAL_SIMULATED_PROVISIONING_FAIL_CODES:
            raise ProvisioningError(f"simulated failure for tenant {request.account_code}")
        return TenantResult(tenant_id=f"sim-{request.account_code}")


def get_backend() -> ProvisioningBackend:
    return import_string(settings.PORTAL_PROVISIONING_BACKEND)()
