from django.contrib.auth import views as auth_views
from django.utils.decorators import method_decorator

from msp_portal.permissions import public

from .forms import LoginForm


@method_decorator(public, name="dispatch")
class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


login_view = public(LoginView.as_view())
logout_view = public(auth_views.LogoutView.as_view())
