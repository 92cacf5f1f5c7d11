"""The REST API, /api/v1/ (DESIGN.md §13): thin views over the services and selectors the
pages use. Each resolves the object through the same access helper (another MSP's customer:
404), validates the body with the serializer (types) and the page's form (rules), calls one
service, and answers with the row as it is now. Every view names its Operation (api.scopes)
per method, which the permission class checks."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_jobs.models import JobRun
from customers import services as customer_services
from customers.cancellation import customer_cancel, customer_schedule_cancellation
from customers.filters import CustomerFilter
from customers.forms import (
    CancelForm,
    CancellationDateForm,
    ContractForm,
    CustomerInfoForm,
    CustomerRegisterForm,
    ResellerForm,
)
from customers.lifecycle import CODE_EDITABLE_STATUSES
from customers.models import CustomerAccount, CustomerStatus
from customers.selectors import approval_queue_for, customers_for_list, get_customer_for_user
from customers.tables import CustomerTable, PointsColumn
from msp_portal import context
from msp_portal.middleware import client_ip
from points import selectors as point_selectors
from points import services as point_services
from points.models import LedgerAccount
from webhooks import selectors as webhook_selectors
from webhooks import services as webhook_services
from webhooks.models import Endpoint

from . import scopes
from . import serializers as s
from .authentication import ApiKeyAuthentication
from .idempotency import run_once
from .pagination import Ordering, next_url, paginate
from .permissions import KeyScopeAndRole
from .throttling import KeyRateThrottle, rate_limit_headers

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Repeating a request with the same key returns the first answer; another request with it, 422.",
)
IDEMPOTENCY_HEADER_REQUIRED = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="Mandatory for point moves. The same key with the same request returns the first answer.",
)
PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, description="The `next_cursor` of the previous page."),
    OpenApiParameter("page_size", int, description="Rows per page (default 50, at most 1000)."),
]


class ApiView(APIView):
    """The base of every API view: key authentication, the rate limit (counted before the
    permission check, so refused calls count too), problem-details errors, the answer's
    language from Accept-Language, and the acting context that names the key in the audit."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [KeyScopeAndRole]
    throttle_classes = [KeyRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    operations: dict[str, scopes.Operation] = {}

    def dispatch(self, request, *args, **kwargs):
        # The portal is Japanese unless the user chose otherwise; an API client says so with
        # Accept-Language.
        language = translation.get_language_from_request(request)
        with translation.override(language), context.acting(ip=client_ip(request), channel="api"):
            response = super().dispatch(request, *args, **kwargs)
            response.headers["Content-Language"] = language
            if hasattr(response, "render") and not response.is_rendered:
                response.render()  # in the request's language
            return response

    def initial(self, request, *args, **kwargs):
        self.format_kwarg = self.get_format_suffix(**kwargs)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(request)
        request.version, request.versioning_scheme = self.determine_version(request, *args, **kwargs)
        self.perform_authentication(request)
        self.check_throttles(request)
        self.check_permissions(request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in rate_limit_headers(request).items():
            response[name] = value
        return response

    def customer(self, pk) -> CustomerAccount:
        return get_customer_for_user(self.request.user, pk)

    def customer_answer(self, pk: int, status: int = 200) -> Response:
        customer = customers_for_list(self.request.user).get(pk=pk)
        return Response(s.CustomerSerializer(customer).data, status=status)


def _page(request, queryset: QuerySet, ordering: Ordering, serializer) -> Response:
    rows, cursor = paginate(request, queryset, ordering)
    return Response(
        {"results": serializer(rows, many=True).data, "next": next_url(request, cursor), "next_cursor": cursor}
    )


def _form_errors(form) -> ValidationError:
    errors = {}
    for name, messages in form.errors.items():
        errors["non_field_errors" if name == "__all__" else name] = [str(m) for m in messages]
    return ValidationError(errors)


def _valid(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- customers -------------------------------------------------------------------------------------

# The list's sort keys are the list page's column names (`?sort=-estimated_balance`).
SORTABLE_COLUMNS = [
    name for name, column in CustomerTable.base_columns.items() if column.orderable is not False and column.order_by
]


def _customer_ordering(sort: str) -> tuple[Ordering, bool]:
    """The keyset ordering of the list page's column `sort`, and whether it goes through the
    wallet (the points columns, as PointsColumn sorts them)."""
    descending = sort.startswith("-")
    name = sort.removeprefix("-")
    if name not in SORTABLE_COLUMNS:
        raise ValidationError({"sort": [_("Sort by one of: %(columns)s.") % {"columns": ", ".join(SORTABLE_COLUMNS)}]})
    column = CustomerTable.base_columns[name]
    field = column.order_by[0]
    try:
        nullable = CustomerAccount._meta.get_field(field).null
    except Exception:  # an annotation (the wallet's points)
        nullable = False
    return Ordering(field, descending, nullable), isinstance(column, PointsColumn)


class CustomerListView(ApiView):
    operations = {"GET": scopes.CUSTOMERS_LIST, "POST": scopes.CUSTOMERS_REGISTER}

    @extend_schema(
        operation_id=scopes.CUSTOMERS_LIST.name,
        summary="List customer accounts",
        description=(
            "The customer account list with the page's search (`q`), filters and sort (`sort`, a column "
            "name, `-` for descending; default `-registered_at`), by cursor."
        ),
        parameters=[
            OpenApiParameter("q", str),
            OpenApiParameter("status", str, enum=CustomerStatus.values),
            OpenApiParameter("support_account", str, description="A support account id, or `none`."),
            OpenApiParameter("organization", int, description="An MSP id (keys that manage several MSPs)."),
            OpenApiParameter("shortage", str, enum=["yes", "no"]),
            OpenApiParameter("cancellation_scheduled", str, enum=["yes", "no"]),
            OpenApiParameter("suspended", str, enum=["yes", "no"]),
            OpenApiParameter("archived", str, enum=["only", "include"]),
            OpenApiParameter("sort", str, enum=[*SORTABLE_COLUMNS, *(f"-{name}" for name in SORTABLE_COLUMNS)]),
            *PAGE_PARAMETERS,
        ],
        responses=s.CustomerPageSerializer,
    )
    def get(self, request):
        user = request.user
        params = request.query_params.copy()
        for name in ("cursor", "page_size", "sort"):
            params.pop(name, None)
        ordering, through_wallet = _customer_ordering(request.query_params.get("sort") or "-registered_at")
        filterset = CustomerFilter(params, queryset=customers_for_list(user), user=user)
        if not filterset.is_valid():
            raise _form_errors(filterset.form)
        queryset = filterset.qs
        if through_wallet:
            queryset = queryset.through_wallet()
        return _page(request, queryset.values(*s.LIST_VALUES), ordering, s.CustomerSerializer)

    @extend_schema(
        operation_id=scopes.CUSTOMERS_REGISTER.name,
        summary="Register a customer account",
        description="基本情報登録: the account waits for the operator's approval (pending_approval).",
        request=s.CustomerRegisterSerializer,
        responses={201: s.CustomerSerializer},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request):
        def work(ledger_key):
            data = _valid(s.CustomerRegisterSerializer, request)
            form = CustomerRegisterForm(data, user=request.user)
            if not form.is_valid():
                raise _form_errors(form)
            customer = customer_services.customer_register(
                actor=request.user, organization=form.cleaned_data["organization"], data=form.registration_data()
            )
            return self.customer_answer(customer.pk, status=201)

        return run_once(request, work)


class CustomerDetailView(ApiView):
    operations = {"GET": scopes.CUSTOMERS_RETRIEVE, "PATCH": scopes.CUSTOMERS_UPDATE}

    @extend_schema(
        operation_id=scopes.CUSTOMERS_RETRIEVE.name, summary="A customer account", responses=s.CustomerSerializer
    )
    def get(self, request, pk: int):
        return self.customer_answer(self.customer(pk).pk)

    @extend_schema(
        operation_id=scopes.CUSTOMERS_UPDATE.name,
        summary="Change customer and reseller information",
        description="編集 (基本情報, 販売店情報): the fields sent change; the account code only before approval.",
        request=s.CustomerUpdateSerializer,
        responses=s.CustomerSerializer,
        parameters=[IDEMPOTENCY_HEADER],
    )
    def patch(self, request, pk: int):
        customer = self.customer(pk)

        def work(ledger_key):
            sent = _valid(s.CustomerUpdateSerializer, request)
            if not sent:
                raise ValidationError({"non_field_errors": [_("Send at least one field to change.")]})
            current = {
                name: getattr(customer, name)
                for name in customer_services.INFO_FIELDS + customer_services.RESELLER_FIELDS
            }
            if (
                "account_code" in sent
                and sent["account_code"] != customer.account_code
                and customer.status not in CODE_EDITABLE_STATUSES
            ):
                raise ValidationError(
                    {"account_code": [_("The account code is fixed once the account has been approved.")]}
                )
            data = {**current, **sent}
            info = CustomerInfoForm(data, initial=current, customer=customer)
            reseller = ResellerForm(data, initial=current)
            if not info.is_valid():
                raise _form_errors(info)
            if not reseller.is_valid():
                raise _form_errors(reseller)
            cleaned = {**info.changes(), **reseller.changes()}
            changes = {name: cleaned[name] for name in sent if name in cleaned}
            customer_services.customer_update(actor=request.user, customer=customer, changes=changes)
            return self.customer_answer(customer.pk)

        return run_once(request, work)


class CustomerContractView(ApiView):
    operations = {"POST": scopes.CUSTOMERS_CONTRACT}

    @extend_schema(
        operation_id=scopes.CUSTOMERS_CONTRACT.name,
        summary="Change the contracted users",
        description="契約ユーザ数更新, effective now.",
        request=s.ContractSerializer,
        responses=s.CustomerSerializer,
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request, pk: int):
        customer = self.customer(pk)

        def work(ledger_key):
            data = _valid(s.ContractSerializer, request)
            form = ContractForm(data, customer=customer)
            if not form.is_valid():
                raise _form_errors(form)
            customer_services.customer_change_contract(
                actor=request.user, customer=customer, contracted_users=form.cleaned_data["contracted_users"]
            )
            return self.customer_answer(customer.pk)

        return run_once(request, work)


class CustomerCancellationView(ApiView):
    operations = {"POST": scopes.CANCELLATION_SCHEDULE, "DELETE": scopes.CANCELLATION_CLEAR}

    @extend_schema(
        operation_id=scopes.CANCELLATION_SCHEDULE.name,
        summary="Schedule the cancellation",
        description='解約予定日設定: on that date the daily run cancels the account (needs `"agree": true`).',
        request=s.CancellationScheduleSerializer,
        responses=s.CustomerSerializer,
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request, pk: int):
        customer = self.customer(pk)

        def work(ledger_key):
            data = _valid(s.CancellationScheduleSerializer, request)
            form = CancellationDateForm(
                {"cancellation_date": data["cancellation_date"], "agreed": data["agree"], "action": "set"}
            )
            if not form.is_valid():
                errors = _form_errors(form)
                if "agreed" in errors.detail:
                    errors.detail["agree"] = errors.detail.pop("agreed")
                raise errors
            customer_schedule_cancellation(
                actor=request.user,
                customer=customer,
                cancellation_date=form.cleaned_data["cancellation_date"],
                agreed=True,
            )
            return self.customer_answer(customer.pk)

        return run_once(request, work)

    @extend_schema(
        operation_id=scopes.CANCELLATION_CLEAR.name,
        summary="Clear the scheduled cancellation",
        responses={200: s.CustomerSerializer},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def delete(self, request, pk: int):
        customer = self.customer(pk)

        def work(ledger_key):
            customer_schedule_cancellation(actor=request.user, customer=customer, cancellation_date=None, agreed=False)
            return self.customer_answer(customer.pk)

        return run_once(request, work)


class CustomerCancelView(ApiView):
    operations = {"POST": scopes.CUSTOMERS_CANCEL}

    @extend_schema(
        operation_id=scopes.CUSTOMERS_CANCEL.name,
        summary="Cancel now",
        description=(
            "解約: the shortage is topped up from the MSP pool and the remaining points are consumed; the account "
            'is cancelled. A pending or returned application is withdrawn instead. Needs `"agree": true` (同意する).'
        ),
        request=s.CancelSerializer,
        responses=s.CustomerSerializer,
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request, pk: int):
        customer = self.customer(pk)

        def work(ledger_key):
            data = _valid(s.CancelSerializer, request)
            form = CancelForm({"agreed": data["agree"]})
            if not form.is_valid():
                raise ValidationError({"agree": [str(m) for m in form.errors["agreed"]]})
            customer_cancel(actor=request.user, customer=customer, agreed=True)
            return self.customer_answer(customer.pk)

        return run_once(request, work)


# --- points --------------------------------------------------------------------------------------


class CustomerPointsView(ApiView):
    operations = {"POST": scopes.POINTS_CHANGE}

    @extend_schema(
        operation_id=scopes.POINTS_CHANGE.name,
        summary="Add or remove points",
        description=(
            "ポイント数更新: `add` moves points from the MSP pool to the customer (refused when the pool is short), "
            "`remove` back to the pool (below zero only with `allow_negative`)."
        ),
        request=s.PointsChangeSerializer,
        responses=s.TransferResultSerializer,
        parameters=[IDEMPOTENCY_HEADER_REQUIRED],
    )
    def post(self, request, pk: int):
        customer = self.customer(pk)

        def work(ledger_key):
            data = _valid(s.PointsChangeSerializer, request)
            if data["operation"] == "add":
                transfer = point_services.points_allocate(
                    actor=request.user, customer=customer, amount=data["amount"], idempotency_key=ledger_key
                )
            else:
                transfer = point_services.points_withdraw(
                    actor=request.user,
                    customer=customer,
                    amount=data["amount"],
                    idempotency_key=ledger_key,
                    allow_negative=data["allow_negative"],
                )
            current = customers_for_list(request.user).get(pk=customer.pk)
            return Response(
                {
                    "transfer_id": transfer.pk,
                    "kind": transfer.kind,
                    "amount": transfer.amount,
                    "customer": s.CustomerSerializer(current).data,
                }
            )

        return run_once(request, work, required=True)


class CustomerLedgerView(ApiView):
    operations = {"GET": scopes.POINTS_LEDGER}

    @extend_schema(
        operation_id=scopes.POINTS_LEDGER.name,
        summary="The customer's points history",
        description="Every transfer of the customer's wallet with the balance after it, newest first.",
        parameters=PAGE_PARAMETERS,
        responses=s.LedgerPageSerializer,
    )
    def get(self, request, pk: int):
        customer = self.customer(pk)
        return _page(
            request, point_selectors.customer_history(customer), Ordering("created_at", True), s.LedgerEntrySerializer
        )


class ReplenishView(ApiView):
    operations = {"POST": scopes.POINTS_REPLENISH}

    @extend_schema(
        operation_id=scopes.POINTS_REPLENISH.name,
        summary="Replenish needed points",
        description=(
            "必要ポイントの補充: each listed account whose estimate is negative gets exactly what brings it to 0, "
            "from its MSP pool; all or nothing (409 when a pool is short)."
        ),
        request=s.ReplenishSerializer,
        responses=s.ReplenishResultSerializer,
        parameters=[IDEMPOTENCY_HEADER_REQUIRED],
    )
    def post(self, request):
        def work(ledger_key):
            ids = _valid(s.ReplenishSerializer, request)["customer_ids"]
            customers = list(customers_for_list(request.user).filter(pk__in=ids).order_by("pk"))
            if len(customers) != len(set(ids)):
                raise Http404  # an id outside the key's scope, as the bulk action answers
            result = point_services.points_replenish(actor=request.user, customers=customers, batch_key=ledger_key)
            lines = [
                {
                    "customer_id": line.customer_id,
                    "points": line.points,
                    "estimate_before": line.estimate,
                    "transfer_id": line.transfer.pk if line.transfer else None,
                }
                for line in result.lines
            ]
            return Response({"total": result.total, "lines": lines})

        return run_once(request, work, required=True)


class PoolListView(ApiView):
    operations = {"GET": scopes.POOL_RETRIEVE}

    @extend_schema(
        operation_id=scopes.POOL_RETRIEVE.name,
        summary="The MSP point pools the key sees",
        description="Its own for an MSP; with its child MSPs for a privileged MSP; every MSP's for the operator.",
        responses=s.PoolListSerializer,
    )
    def get(self, request):
        organizations = list(point_selectors.pool_organizations_for(request.user).order_by("name", "pk"))
        balances = dict(
            LedgerAccount.objects.pools()
            .filter(organization__in=organizations)
            .values_list("organization_id", "balance")
        )
        results = [
            {"organization": {"id": o.pk, "name": o.name}, "balance": balances.get(o.pk, 0)} for o in organizations
        ]
        return Response({"results": results})


class PoolHistoryView(ApiView):
    operations = {"GET": scopes.POOL_HISTORY}

    @extend_schema(
        operation_id=scopes.POOL_HISTORY.name,
        summary="An MSP pool's history",
        parameters=PAGE_PARAMETERS,
        responses=s.LedgerPageSerializer,
    )
    def get(self, request, organization_id: int):
        organization = point_selectors.pool_organization_for_user(request.user, organization_id)
        return _page(
            request, point_selectors.pool_history(organization), Ordering("created_at", True), s.LedgerEntrySerializer
        )


# --- approvals (operator) and job runs -----------------------------------------------------------


class ApprovalListView(ApiView):
    operations = {"GET": scopes.APPROVALS_LIST}

    @extend_schema(
        operation_id=scopes.APPROVALS_LIST.name,
        summary="The approval queue",
        description="承認待ちアカウント一覧: applications not yet active, oldest first.",
        parameters=[OpenApiParameter("status", str, enum=CustomerStatus.values), *PAGE_PARAMETERS],
        responses=s.ApprovalPageSerializer,
    )
    def get(self, request):
        queryset = approval_queue_for(request.user).select_related("support_account")
        status = request.query_params.get("status")
        if status:
            if status not in CustomerStatus.values:
                raise ValidationError(
                    {"status": [_("Choose one of: %(values)s.") % {"values": ", ".join(CustomerStatus.values)}]}
                )
            queryset = queryset.filter(status=status)
        return _page(request, queryset, Ordering("submitted_at", False), s.ApprovalSerializer)


class _ApprovalActionView(ApiView):
    def act(self, request, pk, run) -> Response:
        customer = self.customer(pk)

        def work(ledger_key):
            run(customer)
            return self.customer_answer(customer.pk)

        return run_once(request, work)


class ApprovalApproveView(_ApprovalActionView):
    operations = {"POST": scopes.APPROVALS_APPROVE}

    @extend_schema(
        operation_id=scopes.APPROVALS_APPROVE.name,
        summary="Approve an application",
        description="Provisioning starts right after approval.",
        request=None,
        responses=s.CustomerSerializer,
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request, pk: int):
        return self.act(request, pk, lambda c: customer_services.customer_approve(actor=request.user, customer=c))


class ApprovalRejectView(_ApprovalActionView):
    operations = {"POST": scopes.APPROVALS_REJECT}

    @extend_schema(
        operation_id=scopes.APPROVALS_REJECT.name,
        summary="Return an application with a reason",
        request=s.RejectSerializer,
        responses=s.CustomerSerializer,
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request, pk: int):
        def run(customer):
            reason = _valid(s.RejectSerializer, request)["reason"]
            customer_services.customer_reject(actor=request.user, customer=customer, reason=reason)

        return self.act(request, pk, run)


class ApprovalRetryView(_ApprovalActionView):
    operations = {"POST": scopes.APPROVALS_RETRY}

    @extend_schema(
        operation_id=scopes.APPROVALS_RETRY.name,
        summary="Retry a failed provisioning",
        request=None,
        responses=s.CustomerSerializer,
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request, pk: int):
        return self.act(
            request, pk, lambda c: customer_services.customer_provisioning_retry(actor=request.user, customer=c)
        )


class JobRunListView(ApiView):
    operations = {"GET": scopes.JOB_RUNS_LIST}

    @extend_schema(
        operation_id=scopes.JOB_RUNS_LIST.name,
        summary="Billing job runs",
        parameters=PAGE_PARAMETERS,
        responses=s.JobRunPageSerializer,
    )
    def get(self, request):
        return _page(request, JobRun.objects.all(), Ordering("started_at", True), s.JobRunSerializer)


class JobRunDetailView(ApiView):
    operations = {"GET": scopes.JOB_RUNS_RETRIEVE}

    @extend_schema(
        operation_id=scopes.JOB_RUNS_RETRIEVE.name, summary="A billing job run", responses=s.JobRunSerializer
    )
    def get(self, request, pk: int):
        run = JobRun.objects.filter(pk=pk).first()
        if run is None:
            raise Http404
        return Response(s.JobRunSerializer(run).data)


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any other path under /api/v1/ (an id that is not a positive number, a typo): 404 in
    problem details, like every other error of the API, never the portal's HTML page."""
    from django.http import JsonResponse

    with translation.override(translation.get_language_from_request(request)):
        return JsonResponse(
            {"type": "about:blank", "title": _("Not found."), "status": 404, "detail": _("Not found.")},
            status=404,
            content_type="application/problem+json",
        )


# --- webhooks ----------------------------------------------------------------------------------------
# The organization's endpoints (webhooks/services.py: the checks, the secret, the audit) and
# their deliveries. Events and their payloads: docs/webhooks.md.


def _endpoint(request, pk) -> Endpoint:
    return webhook_selectors.get_endpoint_for_user(request.user, pk)


class WebhookEndpointListView(ApiView):
    operations = {"GET": scopes.WEBHOOKS_LIST, "POST": scopes.WEBHOOKS_CREATE}

    @extend_schema(
        operation_id=scopes.WEBHOOKS_LIST.name,
        summary="Webhook endpoints",
        description="The organization's endpoints (a privileged MSP's also those of its MSPs), newest first.",
        parameters=PAGE_PARAMETERS,
        responses=s.EndpointPageSerializer,
    )
    def get(self, request):
        queryset = webhook_selectors.endpoints_visible_to(request.user)
        return _page(request, queryset, Ordering("created_at", True), s.EndpointSerializer)

    @extend_schema(
        operation_id=scopes.WEBHOOKS_CREATE.name,
        summary="Register a webhook endpoint",
        description="HTTPS to a public address. The answer carries the signing secret (`whsec_…`).",
        request=s.EndpointInputSerializer,
        responses={201: s.EndpointWithSecretSerializer},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request):
        def work(ledger_key):
            data = _valid(s.EndpointInputSerializer, request)
            endpoint = webhook_services.endpoint_create(
                actor=request.user,
                url=data["url"],
                description=data.get("description", ""),
                event_types=data["event_types"],
            )
            return Response(s.EndpointWithSecretSerializer(endpoint).data, status=201)

        return run_once(request, work)


class WebhookEndpointDetailView(ApiView):
    operations = {"GET": scopes.WEBHOOKS_RETRIEVE, "PATCH": scopes.WEBHOOKS_UPDATE, "DELETE": scopes.WEBHOOKS_DELETE}

    @extend_schema(
        operation_id=scopes.WEBHOOKS_RETRIEVE.name, summary="A webhook endpoint", responses=s.EndpointSerializer
    )
    def get(self, request, pk: int):
        return Response(s.EndpointSerializer(_endpoint(request, pk)).data)

    @extend_schema(
        operation_id=scopes.WEBHOOKS_UPDATE.name,
        summary="Change a webhook endpoint",
        description="Its URL, description and event types; `enabled` turns it on or off.",
        request=s.EndpointUpdateSerializer,
        responses=s.EndpointSerializer,
        parameters=[IDEMPOTENCY_HEADER],
    )
    def patch(self, request, pk: int):
        endpoint = _endpoint(request, pk)

        def work(ledger_key):
            data = _valid(s.EndpointUpdateSerializer, request)
            with transaction.atomic():
                changed = endpoint
                if {"url", "description", "event_types"} & set(data):
                    changed = webhook_services.endpoint_update(
                        actor=request.user,
                        endpoint=endpoint,
                        url=data.get("url", endpoint.url),
                        description=data.get("description", endpoint.description),
                        event_types=data.get("event_types", endpoint.event_types),
                    )
                if "enabled" in data:
                    changed = webhook_services.endpoint_enable(
                        actor=request.user, endpoint=changed, enabled=data["enabled"]
                    )
            return Response(s.EndpointSerializer(_endpoint(request, changed.pk)).data)

        return run_once(request, work)

    @extend_schema(
        operation_id=scopes.WEBHOOKS_DELETE.name,
        summary="Delete a webhook endpoint",
        description="It receives nothing more; its pending deliveries end.",
        responses={204: None},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def delete(self, request, pk: int):
        endpoint = _endpoint(request, pk)

        def work(ledger_key):
            webhook_services.endpoint_delete(actor=request.user, endpoint=endpoint)
            return Response(status=204)

        return run_once(request, work)


class WebhookEndpointRotateView(ApiView):
    operations = {"POST": scopes.WEBHOOKS_ROTATE}

    @extend_schema(
        operation_id=scopes.WEBHOOKS_ROTATE.name,
        summary="Rotate an endpoint's signing secret",
        description="The previous secret keeps signing beside the new one for 24 hours.",
        request=None,
        responses=s.EndpointWithSecretSerializer,
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request, pk: int):
        endpoint = _endpoint(request, pk)

        def work(ledger_key):
            rotated = webhook_services.endpoint_rotate_secret(actor=request.user, endpoint=endpoint)
            return Response(s.EndpointWithSecretSerializer(rotated).data)

        return run_once(request, work)


class WebhookDeliveryListView(ApiView):
    operations = {"GET": scopes.WEBHOOKS_DELIVERIES}

    @extend_schema(
        operation_id=scopes.WEBHOOKS_DELIVERIES.name,
        summary="An endpoint's deliveries",
        description="Newest first, each with its state and last attempt.",
        parameters=PAGE_PARAMETERS,
        responses=s.DeliveryPageSerializer,
    )
    def get(self, request, pk: int):
        endpoint = _endpoint(request, pk)
        deliveries = webhook_selectors.deliveries_of(endpoint)
        return _page(request, deliveries, Ordering("created_at", True), s.DeliverySerializer)


class WebhookRedeliverView(ApiView):
    operations = {"POST": scopes.WEBHOOKS_REDELIVER}

    @extend_schema(
        operation_id=scopes.WEBHOOKS_REDELIVER.name,
        summary="Send a delivery again",
        request=None,
        responses=s.DeliverySerializer,
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request, pk: int, delivery_id: int):
        delivery = webhook_selectors.get_delivery_for_user(request.user, pk, delivery_id)

        def work(ledger_key):
            webhook_services.delivery_redeliver(actor=request.user, delivery=delivery)
            fresh = webhook_selectors.get_delivery_for_user(request.user, pk, delivery_id)
            return Response(s.DeliverySerializer(fresh).data)

        return run_once(request, work)
