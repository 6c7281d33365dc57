from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("m/me/privacy/", views.member_privacy, name="member"),
    path("m/me/privacy/download/", views.member_download, name="member-download"),
    path("m/me/privacy/delete/", views.member_delete, name="member-delete"),
    path("m/me/privacy/delete/cancel/", views.member_delete_cancel, name="member-delete-cancel"),
    path("privacy/notice/", views.notice, name="notice"),
    path("privacy/notice/<str:version>/", views.notice, name="notice-version"),
    path("privacy/consent/", views.consent, name="consent"),
    path("accounts/sign-out-everywhere/", views.sign_out_everywhere, name="sign-out-everywhere"),
    path("ops/privacy/", views.ops_home, name="ops-home"),
    path("ops/privacy/deletions/<int:pk>/process/", views.ops_process, name="ops-process"),
]
