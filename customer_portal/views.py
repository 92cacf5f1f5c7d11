"""The customer admin portal (SingleID 管理者ポータル) and the staff switch into it (顧客画面).

Portal views take `(request, access, …)` from `portal_view`, which applies the access rule of
`customer_portal.access`; switcher and bulk-action views use staff capabilities.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from accounts.forms import PortalSetPasswordForm
from audit.services import audit_record
from customers import services as customer_services
from customers.selectors import customers_visible_to
from msp_portal.errors import DomainError
from msp_portal.htmx import popup_done
from msp_portal.permissions import Cap, capability_required, public
from msp_portal.requests import page_size, selected_ids

from . import services
from .access import SESSION_KEY, portal_view
from .csv_import import export_rows
from .forms import CustomerAdminForm, CustomerInfoForm, DeliveryNoticeForm, ServiceUserForm, ServiceUserImportForm
from .models import ServiceUserImport
from .selectors import (
    active_user_count,
    customer_admins,
    get_customer_admin,
    get_service_user,
    service_users,
    switchable_customers,
)
from .tables import AdminTable, ServiceUserTable, SwitcherTable

DELIVERY_NOTICE_MAX = 500


def _paginate(request, table) -> None:
    RequestConfig(request, paginate={"paginator_class": LazyPaginator, "per_page": page_size(request)}).configure(table)


def _search_term(request) -> str:
    """A list's search, without NUL characters: no stored text holds one, and PostgreSQL refuses
    one even as a query parameter."""
    return request.GET.get("q", "").replace("\x00", "")[:100]


def _popup_error(request, template: str, context: dict):
    # htmx swaps only 2xx answers, so a popup with errors comes back as 200.
    return render(request, template, context, status=200)


# --- 顧客切り替え (staff) --------------------------------------------------------------------------


@capability_required(Cap.CUSTOMERS_VIEW)
@require_GET
def switcher(request):
    """The active customers whose admin portal this staff member may open, with search."""
    search = _search_term(request)
    table = SwitcherTable(switchable_customers(request.user, search=search))
    _paginate(request, table)
    return render(
        request,
        "customer_portal/switcher.html",
        {"table": table, "search": search, "page_sizes": settings.PORTAL_PAGE_SIZES, "per_page": page_size(request)},
    )


@capability_required(Cap.CUSTOMERS_VIEW)
@require_POST
def leave(request):
    """Back to the MSP portal from a customer's portal (audited like the entry)."""
    customer_id = request.session.pop(SESSION_KEY, None)
    if customer_id is not None:
        customer = customers_visible_to(request.user).filter(pk=customer_id).first()
        if customer is not None:
            audit_record(actor=request.user, action="customer_portal.leave", obj=customer)
    return redirect("home")


# --- Password set for new admins (public) -------------------------------------------------------


@method_decorator(public, name="dispatch")
class PasswordSetView(auth_views.PasswordResetConfirmView):
    form_class = PortalSetPasswordForm
    template_name = "customer_portal/password_set.html"
    success_url = reverse_lazy("login")
    post_reset_login = False

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is set. Sign in with your e-mail address and new password."))
        return response


password_set = public(PasswordSetView.as_view())


# --- Portal home and 基本情報 ---------------------------------------------------------------------


@require_GET
@portal_view(None)
def portal_home(request, access):
    if access.menus:
        return redirect(access.menus[0]["url"])
    return render(request, "customer_portal/empty.html", {"access": access})


@require_GET
@portal_view("basic_info")
def info(request, access):
    return render(request, "customer_portal/info.html", {"access": access, "customer": access.customer})


@require_http_methods(["GET", "POST"])
@portal_view("basic_info")
def info_edit(request, access):
    template = "customer_portal/info_edit_modal.html"
    customer = access.customer
    if request.method == "POST":
        form = CustomerInfoForm(request.POST, instance=customer)
        if form.is_valid():
            try:
                customer_services.customer_info_update(actor=request.user, customer=customer, data=form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("The basic information was saved."))
                return popup_done(request, reverse("customer_portal:info", args=[customer.account_code]))
        return _popup_error(request, template, {"access": access, "form": form})
    return render(request, template, {"access": access, "form": CustomerInfoForm(instance=customer)})


# --- 管理者 -------------------------------------------------------------------------------------


@require_GET
@portal_view("admins")
def admins(request, access):
    table = AdminTable(customer_admins(access.customer).order_by("id"))
    _paginate(request, table)
    return render(request, "customer_portal/admins.html", {"access": access, "table": table})


@require_http_methods(["GET", "POST"])
@portal_view("admins")
def admin_add(request, access):
    template = "customer_portal/admin_form_modal.html"
    form = CustomerAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_admin_register(actor=request.user, customer=access.customer, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("The administrator %(email)s was registered. An e-mail to set a password was sent.")
                % {"email": form.cleaned_data["email"]},
            )
            return popup_done(request, reverse("customer_portal:admins", args=[access.customer.account_code]))
    return _popup_error(request, template, {"access": access, "form": form, "admin": None})


@require_http_methods(["GET", "POST"])
@portal_view("admins")
def admin_edit(request, access, pk):
    admin = get_customer_admin(access.customer, pk)
    template = "customer_portal/admin_form_modal.html"
    initial = {"name": admin.user.name, "email": admin.user.email, "language": admin.user.language}
    form = CustomerAdminForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_admin_update(actor=request.user, admin=admin, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The administrator was saved."))
            return popup_done(request, reverse("customer_portal:admins", args=[access.customer.account_code]))
    return _popup_error(request, template, {"access": access, "form": form, "admin": admin})


@require_http_methods(["GET", "POST"])
@portal_view("admins")
def admin_status(request, access, pk, action):
    """Disable / enable an administrator, or send them a new set-password e-mail (a popup
    asks first)."""
    admin = get_customer_admin(access.customer, pk)
    template = "customer_portal/admin_status_modal.html"
    context = {"access": access, "admin": admin, "action": action, "error": None}
    if request.method == "POST":
        try:
            if action == "password-mail":
                services.customer_admin_send_password_mail(actor=request.user, admin=admin)
                message = _("An e-mail to set a password was sent to %(email)s.") % {"email": admin.user.email}
            else:
                services.customer_admin_set_active(actor=request.user, admin=admin, active=action == "enable")
                message = (
                    _("The administrator was enabled.") if action == "enable" else _("The administrator was disabled.")
                )
        except DomainError as exc:
            context["error"] = str(exc)
        else:
            messages.success(request, message)
            return popup_done(request, reverse("customer_portal:admins", args=[access.customer.account_code]))
    return _popup_error(request, template, context)


# --- ユーザ -------------------------------------------------------------------------------------


@require_GET
@portal_view("users")
def users(request, access):
    search = _search_term(request)
    status = request.GET.get("status", "")
    table = ServiceUserTable(service_users(access.customer, search=search, status=status))
    _paginate(request, table)
    return render(
        request,
        "customer_portal/users.html",
        {
            "access": access,
            "table": table,
            "search": search,
            "status": status,
            "active_count": active_user_count(access.customer),
            "page_sizes": settings.PORTAL_PAGE_SIZES,
            "per_page": page_size(request),
        },
    )


@require_http_methods(["GET", "POST"])
@portal_view("users")
def user_add(request, access):
    template = "customer_portal/user_form_modal.html"
    form = ServiceUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.service_user_add(actor=request.user, customer=access.customer, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The user %(name)s was added.") % {"name": form.cleaned_data["user_name"]})
            return popup_done(request, reverse("customer_portal:users", args=[access.customer.account_code]))
    return _popup_error(request, template, {"access": access, "form": form, "service_user": None})


@require_http_methods(["GET", "POST"])
@portal_view("users")
def user_edit(request, access, pk):
    service_user = get_service_user(access.customer, pk)
    template = "customer_portal/user_form_modal.html"
    initial = {
        "email": service_user.email,
        "display_name": service_user.display_name,
        "department": service_user.department,
    }
    form = ServiceUserForm(request.POST or None, initial=initial, fixed_user_name=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.service_user_update(actor=request.user, service_user=service_user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The user %(name)s was saved.") % {"name": service_user.user_name})
            return popup_done(request, reverse("customer_portal:users", args=[access.customer.account_code]))
    return _popup_error(request, template, {"access": access, "form": form, "service_user": service_user})


@require_http_methods(["GET", "POST"])
@portal_view("users")
def user_status(request, access, pk, action):
    service_user = get_service_user(access.customer, pk)
    template = "customer_portal/user_status_modal.html"
    context = {"access": access, "service_user": service_user, "action": action, "error": None}
    if request.method == "POST":
        try:
            services.service_user_set_active(actor=request.user, service_user=service_user, active=action == "enable")
        except DomainError as exc:
            context["error"] = str(exc)
        else:
            if action == "enable":
                messages.success(request, _("The user %(name)s was enabled.") % {"name": service_user.user_name})
            else:
                messages.success(request, _("The user %(name)s was disabled.") % {"name": service_user.user_name})
            return popup_done(request, reverse("customer_portal:users", args=[access.customer.account_code]))
    return _popup_error(request, template, context)


# --- 一括登録・エクスポート -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_view("user_bulk")
def user_bulk(request, access):
    """The import form (upload → preview) and the export button."""
    form = ServiceUserImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            user_import = services.service_user_import_prepare(
                actor=request.user, customer=access.customer, raw=upload.read(), file_name=upload.name
            )
        except DomainError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect(
                "customer_portal:user_import_preview",
                account_code=access.customer.account_code,
                token=user_import.token,
            )
    context = {
        "access": access,
        "form": form,
        "active_count": active_user_count(access.customer),
    }
    return render(request, "customer_portal/user_bulk.html", context)


def _user_import(request, access, token) -> ServiceUserImport:
    user_import = (
        ServiceUserImport.objects.select_related("customer")
        .filter(token=token, customer=access.customer, created_by=request.user)
        .first()
    )
    if user_import is None:
        raise Http404
    return user_import


@require_GET
@portal_view("user_bulk")
def user_import_preview(request, access, token):
    user_import = _user_import(request, access, token)
    rows = user_import.rows["rows"]
    errors_only = request.GET.get("errors") == "1"
    shown = [row for row in rows if row["errors"]] if errors_only else rows
    page = Paginator(shown, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "customer_portal/user_import_preview.html",
        {
            "access": access,
            "user_import": user_import,
            "summary": services.import_summary(user_import),
            "page": page,
            "errors_only": errors_only,
        },
    )


@require_POST
@portal_view("user_bulk")
def user_import_confirm(request, access, token):
    user_import = _user_import(request, access, token)
    try:
        added = services.service_user_import_confirm(actor=request.user, user_import=user_import)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("customer_portal:user_import_preview", account_code=access.customer.account_code, token=token)
    messages.success(request, _("%(count)s users were imported.") % {"count": added})
    return redirect("customer_portal:users", account_code=access.customer.account_code)


@require_GET
@portal_view("user_bulk")
def user_export(request, access):
    """All the customer's users as CSV (UTF-8 with BOM, formula cells neutralised), streamed."""
    header = [_("User name"), _("E-mail address"), _("Display name"), _("Department"), _("Status")]
    active, inactive = pgettext("user status", "Active"), _("Disabled")
    rows = (
        (user.user_name, user.email, user.display_name, user.department, active if user.is_active else inactive)
        for user in service_users(access.customer).iterator(chunk_size=2000)
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(export_rows(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="users-{access.customer.account_code}-{stamp}.csv"'
    return response


# --- 納品通知 (bulk action of the customer list) -------------------------------------------------


@capability_required(Cap.CUSTOMERS_DELIVERY_NOTICE)
@require_POST
def delivery_notice(request):
    """選択実行 > 納品通知: the selected accounts (POST `ids`) are confirmed with a language
    choice, then sent; the result popup lists sent and skipped accounts with their reasons."""
    ids = selected_ids(request, limit=DELIVERY_NOTICE_MAX)
    customers = list(
        customers_visible_to(request.user).filter(pk__in=ids).select_related("organization").order_by("account_code")
    )
    if not customers:
        raise Http404
    form = DeliveryNoticeForm(request.POST if "send" in request.POST else None)
    if form.is_bound and form.is_valid():
        result = customer_services.customer_delivery_notice_send(
            actor=request.user, customers=customers, language=form.cleaned_data["language"]
        )
        return render(request, "customer_portal/delivery_notice_result_modal.html", {"result": result})
    return render(
        request,
        "customer_portal/delivery_notice_modal.html",
        {"form": form, "customers": customers, "sent_before": [c for c in customers if c.last_delivery_notice_at]},
    )
