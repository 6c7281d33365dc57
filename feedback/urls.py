from django.urls import path

from . import ops_views, views

app_name = "feedback"

urlpatterns = [
    path("m/feedback/orders/<int:order_id>/review/", views.review_form, name="member-review"),
    path("m/feedback/nps/<int:pk>/", views.nps_page, name="member-nps"),
    path("m/feedback/leader/", views.leader_reviews, name="leader-reviews"),
    path("ops/feedback/reviews/", ops_views.review_list, name="ops-reviews"),
    path("ops/feedback/reviews/<int:pk>/hide/", ops_views.review_hide, name="ops-review-hide"),
    path("ops/feedback/nps/", ops_views.nps_report, name="ops-nps"),
]
