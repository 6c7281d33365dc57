app_name = "jielong"

urlpatterns: list = []
