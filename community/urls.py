from django.urls import path

from . import views

app_name = "community"

urlpatterns = [
    path("m/", views.member_home, name="member-home"),
    path("m/login/", views.member_login, name="member-login"),
    path("m/me/", views.member_profile, name="member-profile"),
    path("m/join/<slug:slug>/", views.member_join, name="member-join"),
    path("m/join/<slug:slug>/status/", views.member_join_status, name="member-join-status"),
    path("m/lead/<slug:slug>/members/", views.leader_community_members, name="leader-members"),
    path("m/lead/<slug:slug>/applications/", views.leader_community_applications, name="leader-applications"),
    path("ops/communities/", views.ops_community_list, name="ops-communities"),
    path("m/leave/<slug:slug>/", views.member_leave, name="member-leave"),
    path("m/pickup/<slug:slug>/", views.member_pickup_point, name="member-pickup-point"),
    path("ops/communities/<slug:slug>/pickup-points/", views.ops_pickup_points, name="ops-pickup-points"),
    path("ops/communities/<slug:slug>/", views.ops_community_detail, name="ops-community"),
    path("ops/communities/<slug:slug>/members/<int:pk>/", views.ops_member_detail, name="ops-member"),
    path("ops/communities/<slug:slug>/applications/", views.ops_community_applications, name="ops-applications"),
]
