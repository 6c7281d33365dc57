from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="web/staff_login.html"), name="staff-login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
