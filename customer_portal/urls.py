"""Mounted at /c/. Fixed paths have two segments whose second is never a portal page, so they
cannot collide with an account code (`/c/<account code>/…`)."""

from django.urls import path, register_converter

from . import views


class AccountCodeConverter:
    regex = "[a-z0-9-]{3,40}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AccountCodeConverter, "account_code")

app_name = "customer_portal"
urlpatterns = [
    path("", views.switcher, name="switcher"),
    path("switch/leave/", views.leave, name="leave"),
    path("password/set/<uidb64>/<token>/", views.password_set, name="password_set"),
    path("notices/delivery/", views.delivery_notice, name="delivery_notice"),
    path("<account_code:account_code>/", views.portal_home, name="home"),
    path("<account_code:account_code>/info/", views.info, name="info"),
    path("<account_code:account_code>/info/edit/", views.info_edit, name="info_edit"),
    path("<account_code:account_code>/admins/", views.admins, name="admins"),
    path("<account_code:account_code>/admins/add/", views.admin_add, name="admin_add"),
    path("<account_code:account_code>/admins/<int:pk>/edit/", views.admin_edit, name="admin_edit"),
    *[
        path(
            f"<account_code:account_code>/admins/<int:pk>/{action}/",
            views.admin_status,
            {"action": action},
            name=f"admin_{name}",
        )
        for action, name in (("disable", "disable"), ("enable", "enable"), ("password-mail", "password_mail"))
    ],
    path("<account_code:account_code>/users/", views.users, name="users"),
    path("<account_code:account_code>/users/add/", views.user_add, name="user_add"),
    path("<account_code:account_code>/users/<int:pk>/edit/", views.user_edit, name="user_edit"),
    *[
        path(
            f"<account_code:account_code>/users/<int:pk>/{action}/",
            views.user_status,
            {"action": action},
            name=f"user_{action}",
        )
        for action in ("disable", "enable")
    ],
    path("<account_code:account_code>/bulk/", views.user_bulk, name="user_bulk"),
    path("<account_code:account_code>/bulk/import/<str:token>/", views.user_import_preview, name="user_import_preview"),
    path(
        "<account_code:account_code>/bulk/import/<str:token>/confirm/",
        views.user_import_confirm,
        name="user_import_confirm",
    ),
    path("<account_code:account_code>/bulk/export.csv", views.user_export, name="user_export"),
]
