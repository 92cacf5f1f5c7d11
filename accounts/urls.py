from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password-reset/", views.password_reset_view, name="password_reset"),
    path("password-reset/sent/", views.password_reset_done_view, name="password_reset_done"),
    path("reset/<uidb64>/<token>/", views.password_reset_confirm_view, name="password_reset_confirm"),
    path("reset/done/", views.password_reset_complete_view, name="password_reset_complete"),
    path("two-factor/", views.two_factor_verify, name="two_factor_verify"),
    path("two-factor/enrol/", views.two_factor_enrol, name="two_factor_enrol"),
    path("two-factor/disable/", views.two_factor_disable, name="two_factor_disable"),
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.password_change, name="password_change"),
    path("organization/", views.organization_settings, name="organization_settings"),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/invite/", views.staff_invite, name="staff_invite"),
    path("staff/<int:pk>/role/", views.staff_role, name="staff_role"),
    path("staff/<int:pk>/deactivate/", views.staff_deactivate, name="staff_deactivate"),
    path("staff/<int:pk>/reactivate/", views.staff_reactivate, name="staff_reactivate"),
    path("staff/<int:pk>/two-factor-reset/", views.staff_two_factor_reset, name="staff_two_factor_reset"),
    path("staff/<int:pk>/resend-invitation/", views.staff_invitation_resend, name="staff_invitation_resend"),
    path("support-accounts/", views.support_account_list, name="support_account_list"),
    path("support-accounts/new/", views.support_account_create, name="support_account_create"),
    path("support-accounts/<int:pk>/", views.support_account_detail, name="support_account_detail"),
    path("support-accounts/<int:pk>/staff/invite/", views.support_staff_invite, name="support_staff_invite"),
]
