"""Django's admin is a superuser's tool: every role's daily work is in the console (/ops/, /host/, /m/).
A staff flag alone no longer opens it."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class SuperuserAdminSite(admin.AdminSite):
    def has_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser


class SuperuserAdminConfig(AdminConfig):
    default_site = "groupbuy.web.admin_site.SuperuserAdminSite"
