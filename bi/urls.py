from django.urls import path, re_path

from . import views

app_name = "bi"

_FMT = r"(?P<fmt>csv|xlsx)"

urlpatterns = [
    path("ops/bi/", views.ops_board, name="board"),
    re_path(rf"^ops/bi/export\.{_FMT}$", views.ops_board_export, name="board-export"),
    path("ops/bi/people/<slug:key>/", views.ops_people, name="people"),
    re_path(rf"^ops/bi/people/(?P<key>[-\w]+)/export\.{_FMT}$", views.ops_people_export, name="people-export"),
    path("bi/glossary/", views.glossary, name="glossary"),
    path("m/bi/", views.leader_board, name="leader-board"),
    re_path(rf"^m/bi/export\.{_FMT}$", views.leader_board_export, name="leader-board-export"),
    path("m/bi/people/<slug:key>/", views.leader_people, name="leader-people"),
    re_path(rf"^m/bi/people/(?P<key>[-\w]+)/export\.{_FMT}$", views.leader_people_export, name="leader-people-export"),
]
