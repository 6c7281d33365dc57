from django.urls import path

from . import manage_views, rhythm_views, team_views, views

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
    path("ops/team/", team_views.team, name="ops-team"),
    path("ops/team/<int:pk>/", team_views.team_member, name="ops-team-member"),
    path("ops/team/<int:pk>/link/", team_views.team_member_link, name="ops-team-member-link"),
    path("ops/communities/new/", views.ops_community_new, name="ops-community-new"),
    path("m/leave/<slug:slug>/", views.member_leave, name="member-leave"),
    path("m/pickup/<slug:slug>/", views.member_pickup_point, name="member-pickup-point"),
    path("ops/communities/<slug:slug>/pickup-points/", views.ops_pickup_points, name="ops-pickup-points"),
    path("ops/communities/<slug:slug>/", views.ops_community_detail, name="ops-community"),
    path("ops/communities/<slug:slug>/members/<int:pk>/", views.ops_member_detail, name="ops-member"),
    path("ops/communities/<slug:slug>/applications/", views.ops_community_applications, name="ops-applications"),
    path("ops/communities/<slug:slug>/import/", manage_views.ops_roster_import, name="ops-roster-import"),
    path(
        "ops/communities/<slug:slug>/import/template.<str:fmt>",
        manage_views.ops_roster_template,
        name="ops-roster-template",
    ),
    path("ops/communities/<slug:slug>/questionnaire/", manage_views.ops_questionnaire, name="ops-questionnaire"),
    path("m/lead/<slug:slug>/import/", manage_views.leader_roster_import, name="leader-roster-import"),
    path(
        "m/lead/<slug:slug>/import/template.<str:fmt>",
        manage_views.leader_roster_template,
        name="leader-roster-template",
    ),
    path("m/lead/<slug:slug>/questionnaire/", manage_views.leader_questionnaire, name="leader-questionnaire"),
    # Daily rhythm: the same planning pages for operators (ops shell) and leaders (lead shell).
    path("m/feed/", rhythm_views.member_feed, name="member-feed"),
    path("m/posts/<int:pk>/", rhythm_views.member_post, name="member-post"),
]
for _shell, _prefix in (("ops", "ops/communities/<slug:slug>/rhythm/"), ("lead", "m/lead/<slug:slug>/rhythm/")):
    urlpatterns += [
        path(_prefix, rhythm_views.calendar, {"shell": _shell}, name=f"{_shell}-rhythm"),
        path(f"{_prefix}columns/", rhythm_views.columns, {"shell": _shell}, name=f"{_shell}-rhythm-columns"),
        path(f"{_prefix}posts/new/", rhythm_views.post_new, {"shell": _shell}, name=f"{_shell}-rhythm-post-new"),
        path(f"{_prefix}posts/<int:pk>/", rhythm_views.post_detail, {"shell": _shell}, name=f"{_shell}-rhythm-post"),
        path(
            f"{_prefix}posts/<int:pk>/cancel/",
            rhythm_views.post_cancel,
            {"shell": _shell},
            name=f"{_shell}-rhythm-post-cancel",
        ),
        path(
            f"{_prefix}posts/<int:pk>/images/<int:image_pk>/remove/",
            rhythm_views.image_remove,
            {"shell": _shell},
            name=f"{_shell}-rhythm-image-remove",
        ),
    ]
