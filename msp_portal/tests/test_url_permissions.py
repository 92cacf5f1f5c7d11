"""Every URL of the project against the one permission table (msp_portal/permissions.py).

The test reads the URL configuration, so a route added later is checked too: it must declare
its capability (`capability_required`) or be marked `public` / `self_service`, and every role
is sent to it. URL arguments are filled by KWARG_BUILDERS with objects the persona can see; a
route whose argument has no builder fails here, telling its developer to add one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from accounts.models import Organization, User, UserSession
from accounts.tests.factories import OrganizationFactory, UserFactory, passkey_for
from audit.models import AuditEvent
from customers.models import CustomerAccount
from customers.tests.factories import CustomerAccountFactory
from msp_portal.permissions import ROLE_CAPABILITIES, SENSITIVE_VIEWS, Cap, OrganizationKind, Role

# The REST API authenticates by key, not by session: api/tests/test_scopes.py checks each of its
# operations against its scope and the permission table.
SKIPPED_PREFIXES = ("django-admin/", "i18n/", "static/", "api/v1/")
ANY_VALUE = {
    "int": 1,
    "uuid": "00000000-0000-0000-0000-000000000001",
    "slug": "x",
    "str": "x",
    "path": "x",
    "account_code": "no-such-customer",
}
READ_ONLY_ROLES = (Role.VIEWER, Role.SUPPORT_STAFF, Role.OPERATOR_VIEWER)
# Where each role's persona works.
ROLE_ORGANIZATION_KIND = {
    Role.ADMIN: OrganizationKind.MSP,
    Role.SALES: OrganizationKind.MSP,
    Role.BILLING: OrganizationKind.MSP,
    Role.VIEWER: OrganizationKind.MSP,
    Role.SUPPORT_STAFF: OrganizationKind.SUPPORT,
    Role.OPERATOR_ADMIN: OrganizationKind.OPERATOR,
    Role.OPERATOR_VIEWER: OrganizationKind.OPERATOR,
}


@dataclass(frozen=True)
class Route:
    route: str  # the full route, e.g. "accounts/staff/<int:pk>/role/"
    name: str | None
    callback: Callable
    kwarg_names: tuple[str, ...]
    converters: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        return f"/{self.route} ({self.name or 'unnamed'})"


def _walk(patterns, prefix: str = "") -> list[Route]:
    routes = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(pattern, URLResolver):
            routes.extend(_walk(pattern.url_patterns, route))
        elif isinstance(pattern, URLPattern):
            converters = {name: converter or "str" for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", route)}
            names = tuple(converters) + tuple(re.findall(r"\(\?P<(\w+)>", route))
            routes.append(
                Route(
                    route=route, name=pattern.name, callback=pattern.callback, kwarg_names=names, converters=converters
                )
            )
    return routes


def project_routes() -> list[Route]:
    return _walk(get_resolver().url_patterns)


# --- Personas and the objects they can see -----------------------------------------------------


@dataclass
class Persona:
    role: str
    user: User
    organization: Organization
    msp: Organization  # the MSP whose data the persona sees (its own; the operator sees all)
    _cache: dict = field(default_factory=dict)

    def customer(self) -> CustomerAccount:
        if "customer" not in self._cache:
            support = self.organization if self.organization.kind == OrganizationKind.SUPPORT else None
            self._cache["customer"] = CustomerAccountFactory(organization=self.msp, support_account=support)
        return self._cache["customer"]

    def staff_member(self) -> User:
        """Another staff user the persona may see on the staff pages."""
        if "staff" not in self._cache:
            organization = self.msp if self.organization.kind == OrganizationKind.OPERATOR else self.organization
            role = Role.SUPPORT_STAFF if organization.kind == OrganizationKind.SUPPORT else Role.SALES
            self._cache["staff"] = UserFactory(
                membership__organization=organization,
                membership__role=role,
                email=f"colleague-{self.role}@test.example",
            )
        return self._cache["staff"]

    def transfer(self):
        """A transfer into the persona's customer's wallet (purchase into the pool, allocation)."""
        from points.services import points_allocate, points_purchase

        if "transfer" not in self._cache:
            points_purchase(
                actor=None, organization=self.msp, amount=100, order_reference="PO-1", idempotency_key=f"p-{self.role}"
            )
            self._cache["transfer"] = points_allocate(
                actor=None, customer=self.customer(), amount=10, idempotency_key=f"a-{self.role}"
            )
        return self._cache["transfer"]

    def purchase_request(self):
        """An open points purchase request of the persona's MSP."""
        from points.models import PurchaseRequest

        if "purchase_request" not in self._cache:
            self._cache["purchase_request"] = PurchaseRequest.objects.create(
                organization=self.msp, amount=500, order_reference="PO-R", idempotency_key=f"r-{self.role}"
            )
        return self._cache["purchase_request"]

    def job_run(self):
        from billing_jobs.models import JobRun

        if "job_run" not in self._cache:
            self._cache["job_run"] = JobRun.objects.create(kind="daily", run_date=dt.date(2026, 11, 25))
        return self._cache["job_run"]

    def future_rule(self):
        """A consumption rule not yet in force (only those can be deleted)."""
        from points.models import ConsumptionRule

        if "rule" not in self._cache:
            self._cache["rule"] = ConsumptionRule.objects.create(
                effective_from=dt.date(2999, 1, 1), base_points=20, included_users=10, points_per_extra_user=2
            )
        return self._cache["rule"]

    def customer_admin(self):
        from customer_portal.models import CustomerAdmin

        if "customer_admin" not in self._cache:
            user = User.objects.create_user(email=f"customer-admin-{self.role}@test.example", name="顧客管理者")
            self._cache["customer_admin"] = CustomerAdmin.objects.create(user=user, customer=self.customer())
        return self._cache["customer_admin"]

    def service_user(self):
        from customer_portal.models import ServiceUser

        if "service_user" not in self._cache:
            self._cache["service_user"] = ServiceUser.objects.create(
                customer=self.customer(), user_name=f"user-{self.role}", email="u@test.example", display_name="利用者"
            )
        return self._cache["service_user"]

    def user_import(self):
        """A validated CSV upload of the persona's customer, waiting for confirmation."""
        from customer_portal.models import ServiceUserImport

        if "user_import" not in self._cache:
            self._cache["user_import"] = ServiceUserImport.objects.create(
                token=f"token-{self.role}", customer=self.customer(), created_by=self.user, rows={"rows": []}
            )
        return self._cache["user_import"]

    def passkey(self):
        if "passkey" not in self._cache:
            self._cache["passkey"] = passkey_for(self.user)
        return self._cache["passkey"]

    def other_session(self) -> UserSession:
        """Another signed-in browser of the persona's own."""
        if "session" not in self._cache:
            self._cache["session"] = UserSession.objects.create(user=self.user, session_key=f"other-{self.role}")
        return self._cache["session"]

    def account_request(self):
        """A pending merge of two of the persona's MSP's accounts, asked by a colleague (so that
        the persona may decide it)."""
        from merges.models import AccountRequest

        if "account_request" not in self._cache:
            colleague = UserFactory(
                membership__organization=self.msp,
                membership__role=Role.ADMIN,
                email=f"requester-{self.role}@test.example",
            )
            survivor = CustomerAccountFactory(organization=self.msp)
            self._cache["account_request"] = AccountRequest.objects.create(
                kind="merge",
                requested_by=colleague,
                requesting_organization=self.msp,
                deciding_organization=self.msp,
                customer=self.customer(),
                survivor=survivor,
                from_organization=self.msp,
                expires_at=dt.datetime(2999, 1, 1, tzinfo=dt.UTC),
                idempotency_key=f"request-{self.role}",
            )
        return self._cache["account_request"]

    def support_account(self) -> Organization:
        if "support_account" not in self._cache:
            if self.organization.kind == OrganizationKind.SUPPORT:
                self._cache["support_account"] = self.organization
            else:
                self._cache["support_account"] = OrganizationFactory(
                    name=f"サポート {self.role}", kind=OrganizationKind.SUPPORT, parent=self.msp
                )
        return self._cache["support_account"]


# (route pattern, URL argument name, builder). The first entry whose pattern matches the route
# (re.search) and whose name matches the argument is used. Add an entry when you add a route
# whose arguments are not covered; keep the specific ones above the general ones.
KWARG_BUILDERS: list[tuple[str, str, Callable[[Persona], object]]] = [
    (r"^accounts/staff/", "pk", lambda persona: persona.staff_member().pk),
    (r"^accounts/profile/passkeys/", "pk", lambda persona: persona.passkey().pk),
    (r"^accounts/profile/sessions/", "pk", lambda persona: persona.other_session().pk),
    (r"^accounts/support-accounts/", "pk", lambda persona: persona.support_account().pk),
    (r"^accounts/reset/", "uidb64", lambda persona: "invalid"),
    (r"^accounts/reset/", "token", lambda persona: "invalid-token"),
    (r"^c/password/set/", "uidb64", lambda persona: "invalid"),
    (r"^c/password/set/", "token", lambda persona: "invalid-token"),
    (r"/bulk/import/", "token", lambda persona: persona.user_import().token),
    (r"^points/transfers/", "transfer_id", lambda persona: persona.transfer().pk),
    (r"^points/purchase-requests/", "request_id", lambda persona: persona.purchase_request().pk),
    (r"^jobs/<int:pk>/", "pk", lambda persona: persona.job_run().pk),
    (r"^points/rules/", "rule_id", lambda persona: persona.future_rule().pk),
    (r"^c/[^/]+/admins/", "pk", lambda persona: persona.customer_admin().pk),
    (r"^c/[^/]+/users/", "pk", lambda persona: persona.service_user().pk),
    (r"^exports/", "job_id", lambda persona: _export_job(persona).pk),
    (r"^requests/", "request_id", lambda persona: persona.account_request().pk),
    (r"^api-keys/", "prefix", lambda persona: _api_key(persona).prefix),
    (r"", "customer_id", lambda persona: persona.customer().pk),
    (r"", "customer_pk", lambda persona: persona.customer().pk),
    (r"", "account_code", lambda persona: persona.customer().account_code),
    # A bare `pk` outside the routes above is a customer account.
    (r"", "pk", lambda persona: persona.customer().pk),
    (r"^webhooks/", "endpoint_id", lambda persona: _webhook_delivery(persona).endpoint_id),
    (r"^webhooks/", "delivery_id", lambda persona: _webhook_delivery(persona).pk),
]


def _webhook_delivery(persona: Persona):
    """A delivery to a webhook endpoint of the persona's MSP (the operator's roles see it too)."""
    from webhooks.models import Delivery, Endpoint, Message

    if "webhook_delivery" not in persona._cache:
        endpoint = Endpoint.objects.create(
            organization=persona.msp, url="https://hooks.example.com/in", event_types=["points.changed"]
        )
        message = Message.objects.create(event_type="points.changed", organization=persona.msp, payload={})
        persona._cache["webhook_delivery"] = Delivery.objects.create(endpoint=endpoint, message=message, state="failed")
    return persona._cache["webhook_delivery"]


def _export_job(persona: Persona):
    from exports.models import ExportJob

    return ExportJob.objects.create(requested_by=persona.user, organization=persona.organization, dataset="customers")


def _api_key(persona: Persona):
    import datetime as dt

    from api.services import api_key_create

    creator = persona.user if persona.role in (Role.ADMIN, Role.OPERATOR_ADMIN) else None
    if creator is None:
        creator = UserFactory(
            membership__organization=persona.organization,
            membership__role=Role.OPERATOR_ADMIN
            if persona.organization.kind == OrganizationKind.OPERATOR
            else Role.ADMIN,
            email=f"key-creator-{persona.role}@test.example",
        )
    key, _secret = api_key_create(
        actor=creator, name="key", scopes=["customers:read"], expires_on=dt.date.today() + dt.timedelta(days=30)
    )
    return key


def build_kwargs(route: Route, persona: Persona) -> dict[str, object]:
    kwargs = {}
    for name in route.kwarg_names:
        for pattern, kwarg, builder in KWARG_BUILDERS:
            if kwarg == name and re.search(pattern, route.route):
                kwargs[name] = builder(persona)
                break
        else:
            pytest.fail(
                f"No URL-argument builder for <{name}> in {route.label}: add one to KWARG_BUILDERS "
                "in msp_portal/tests/test_url_permissions.py"
            )
    return kwargs


def url_for(route: Route, kwargs: dict[str, object]) -> str:
    path = route.route
    for name, value in kwargs.items():
        path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
    path = path.replace("^", "").replace("$", "")
    return "/" + path


@pytest.fixture
def persona_for(db, client_for):
    pmsp = OrganizationFactory(name="特権MSP", kind=OrganizationKind.PRIVILEGED_MSP)
    msp = OrganizationFactory(name="MSP", kind=OrganizationKind.MSP, parent=pmsp)
    operator = OrganizationFactory(name="運営", kind=OrganizationKind.OPERATOR)
    support = OrganizationFactory(name="サポート", kind=OrganizationKind.SUPPORT, parent=msp)
    by_kind = {OrganizationKind.MSP: msp, OrganizationKind.OPERATOR: operator, OrganizationKind.SUPPORT: support}

    def make(role: str) -> tuple[Persona, object]:
        organization = by_kind[ROLE_ORGANIZATION_KIND[role]]
        user = UserFactory(
            membership__organization=organization, membership__role=role, email=f"{role}@persona.example"
        )
        persona = Persona(role=role, user=user, organization=organization, msp=msp)
        return persona, client_for(user)

    return make


@pytest.fixture
def outsider(db):
    """An administrator of another MSP (with a support account of its own), whose objects the
    personas above must not see (the operator's roles see them all, but not another user's
    exports)."""
    msp = OrganizationFactory(name="別テナントMSP", kind=OrganizationKind.MSP)
    user = UserFactory(membership__organization=msp, membership__role=Role.ADMIN, email="outsider@persona.example")
    return Persona(role="outsider", user=user, organization=msp, msp=msp)


# Objects of no tenant: every role with the capability may open them, the others get 403.
TENANTLESS_ROUTES = (r"^points/rules/", r"^jobs/<int:pk>/")


def _outside_scope(route: Route, persona: Persona) -> bool:
    """Whether the outsider's object of this route is outside the persona's scope."""
    if not route.kwarg_names or _marker(route.callback) in ("public", "self_service"):
        return False
    if any(re.search(pattern, route.route) for pattern in TENANTLESS_ROUTES):
        return False
    if persona.organization.kind == OrganizationKind.OPERATOR:
        # The operator sees every MSP's objects; export jobs are each their requester's own.
        return route.route.startswith("exports/")
    return True


def _marker(callback) -> str:
    if getattr(callback, "public", False):
        return "public"
    if getattr(callback, "self_service", False):
        return "self_service"
    if getattr(callback, "customer_portal", False):
        return "customer_portal"
    return "capability"


def _required_capability(route: Route, method: str) -> Cap | None:
    """The capability a request needs. Customer-portal views follow `portal_access`: every staff
    member who sees the customer may read, writing needs CUSTOMERS_CUSTOMER_SCREEN."""
    if _marker(route.callback) == "customer_portal":
        return Cap.CUSTOMERS_VIEW if method == "GET" else Cap.CUSTOMERS_CUSTOMER_SCREEN
    return route.callback.capability


# --- The tests ------------------------------------------------------------------------------------


def test_the_walk_finds_the_routes_of_every_included_app():
    names = {route.name for route in project_routes()}
    assert {"dashboard", "login", "staff_list", "audit_event_list", "healthz"} <= names
    assert not any(route.route.startswith("django-admin/") for route in project_routes())


def test_every_view_declares_its_capability_or_is_marked_public_or_self_service():
    missing = [route.label for route in project_routes() if not hasattr(route.callback, "capability")]
    assert not missing, (
        "Views without a declared capability (decorate with capability_required(Cap.…), or mark "
        f"public / self_service): {missing}"
    )
    for route in project_routes():
        if route.callback.capability is None:
            assert _marker(route.callback) in ("public", "self_service", "customer_portal"), route.label


def test_anonymous_visitors_reach_only_public_views(client, db):
    problems = []
    for route in project_routes():
        if _marker(route.callback) == "public":
            continue
        # Any value of the right shape will do: the visitor must be sent to sign in before
        # anything is looked up.
        kwargs = {name: ANY_VALUE.get(route.converters.get(name, "str"), "x") for name in route.kwarg_names}
        url = url_for(route, kwargs)
        response = client.get(url)
        if response.status_code == 405:
            continue
        if response.status_code != 302 or "/accounts/login/" not in response["Location"]:
            problems.append(f"GET {url}: {response.status_code}")
    assert not problems, problems


@pytest.mark.parametrize("role", Role.values)
def test_each_role_reaches_exactly_what_the_permission_table_allows(role, persona_for):
    persona, client = persona_for(role)
    capabilities = ROLE_CAPABILITIES[role]
    problems = []
    for route in project_routes():
        marker = _marker(route.callback)
        url = url_for(route, build_kwargs(route, persona))
        response = client.get(url)
        status = response.status_code
        if status >= 500:
            problems.append(f"GET {url} as {role}: server error {status}")
            continue
        if marker not in ("capability", "customer_portal"):
            continue
        required = _required_capability(route, "GET")
        allowed = required in capabilities
        if allowed and status in (403, 404):
            problems.append(
                f"GET {url} as {role}: {status} although the table allows {required} "
                "(the view enforces another capability than it declares, or KWARG_BUILDERS builds an "
                "object this route does not take: add a builder)"
            )
        if not allowed and status not in (403, 404, 405):
            problems.append(f"GET {url} as {role}: {status}, but the role lacks {required}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", READ_ONLY_ROLES)
def test_read_only_and_support_roles_are_refused_every_post(role, persona_for):
    persona, client = persona_for(role)
    capabilities = ROLE_CAPABILITIES[role]
    problems = []
    for route in project_routes():
        if _marker(route.callback) not in ("capability", "customer_portal"):
            continue
        url = url_for(route, build_kwargs(route, persona))
        events_before = AuditEvent.objects.count()
        response = client.post(url, {})
        status = response.status_code
        if _required_capability(route, "POST") in capabilities:
            # A capability the role has (viewing, exporting): a POST may answer, but never change
            # anything — every change writes an audit event.
            if status >= 500 or AuditEvent.objects.count() != events_before:
                problems.append(f"POST {url} as {role}: {status} and changed something")
        elif status not in (403, 404, 405):
            # 404 where the object is outside the persona's scope (support staff see no staff,
            # support accounts or transfers): scope comes before capability.
            problems.append(f"POST {url} as {role}: {status}, expected 403 (404 outside its scope)")
        elif AuditEvent.objects.count() != events_before:
            problems.append(f"POST {url} as {role}: refused but changed something")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", Role.values)
def test_another_tenants_object_is_not_found_whatever_the_role(role, persona_for, outsider):
    """DESIGN.md §2: another organization's object answers 404, also to a role that could not
    act on it anyway (a 403 would tell it that the object exists)."""
    persona, client = persona_for(role)
    problems = []
    checked = 0
    for route in project_routes():
        if not _outside_scope(route, persona):
            continue
        url = url_for(route, build_kwargs(route, outsider))
        for method in ("GET", "POST"):
            events_before = AuditEvent.objects.count()
            response = client.get(url) if method == "GET" else client.post(url, {})
            checked += 1
            # 405: the route does not take the method at all, whatever the object.
            if response.status_code not in (404, 405):
                problems.append(f"{method} {url} as {role}: {response.status_code}, expected 404")
            if AuditEvent.objects.count() != events_before:
                problems.append(f"{method} {url} as {role}: changed something")
    assert checked
    assert not problems, "\n".join(problems)


# --- Re-authentication (SENSITIVE_VIEWS) --------------------------------------------------------------

# What a sensitive request sends when only some of its requests are sensitive: a point move above
# any organization's threshold (the test lowers every threshold to 0 for the moves whose points
# come from the objects: a purchase request's amount, a replenishment's needed points).
SENSITIVE_POST_DATA = {
    "points:change": lambda persona: {"operation": "add", "amount": "1000000000"},
    "points:purchase_new": lambda persona: {"amount": "1000000000"},
    "points:adjustment_new": lambda persona: {"amount": "-1000000000"},
    "points:replenish": lambda persona: {
        "ids": [CustomerAccountFactory(organization=persona.msp, points_balance=0, estimated_balance=-500).pk],
        "token": "preview-token",
    },
}


def _allowed(route: Route, role: str) -> bool:
    if _marker(route.callback) == "self_service":
        return True
    return _required_capability(route, "POST") in ROLE_CAPABILITIES[role]


def test_every_sensitive_view_names_a_route_of_the_project():
    names = set()
    for route in project_routes():
        kwargs = {name: ANY_VALUE.get(route.converters.get(name, "str"), "x") for name in route.kwarg_names}
        names.add(resolve(url_for(route, kwargs)).view_name)
    assert set(SENSITIVE_VIEWS) <= names, set(SENSITIVE_VIEWS) - names


@pytest.mark.parametrize("role", Role.values)
def test_every_sensitive_url_refuses_a_session_whose_last_check_is_older_than_ten_minutes(
    role, persona_for, time_machine
):
    start = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    persona, client = persona_for(role)
    routes = []
    for route in project_routes():
        url = url_for(route, build_kwargs(route, persona))
        if resolve(url).view_name in SENSITIVE_VIEWS and _allowed(route, role):
            routes.append(url)
    Organization.objects.update(reauthentication_point_threshold=0)
    time_machine.move_to(start + dt.timedelta(seconds=settings.PORTAL_REAUTHENTICATION_SECONDS + 1), tick=False)
    problems = []
    for url in routes:
        events_before = AuditEvent.objects.count()
        data = SENSITIVE_POST_DATA.get(resolve(url).view_name, lambda persona: {})(persona)
        for headers in ({}, {"HX-Request": "true"}):
            response = client.post(url, data, headers=headers)
            location = response.get("Location", "")
            if response.status_code != 303 or not location.startswith("/accounts/reauthenticate/?pending="):
                problems.append(f"POST {url} as {role} ({headers or 'page'}): {response.status_code} {location}")
        if AuditEvent.objects.count() != events_before:
            problems.append(f"POST {url} as {role}: changed something without a fresh check")
    # Every role may at least change its own two-factor settings.
    assert routes
    assert not problems, "\n".join(problems)
