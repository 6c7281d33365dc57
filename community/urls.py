from django.urls import path

from . import views

app_name = "community"

urlpatterns = [
    path("m/", views.member_home, name="member-home"),
    path("m/login/", views.member_login, name="member-login"),
    path("m/me/", views.member_profile, name="member-profile"),
    path("ops/communities/", views.ops_community_list, name="ops-communities"),
]
