from django.contrib.auth import views as auth_views
from django.urls import path

from . import audit_views, set_password, staff_login, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on documents that name no icon (an image opened on its own, the admin).
    path("favicon.ico", views.favicon, name="favicon"),
    path("readyz", views.readyz, name="readyz"),
    path("accounts/login/", staff_login.StaffLoginView.as_view(), name="staff-login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", set_password.ChangePasswordView.as_view(), name="staff-password"),
    path(
        "accounts/set-password/<uidb64>/<token>/",
        set_password.SetPasswordView.as_view(),
        name="staff-set-password",
    ),
    path("ops/audit/", audit_views.audit_log, name="audit"),
    path("ops/audit/export.<str:fmt>", audit_views.audit_export, name="audit-export"),
]
