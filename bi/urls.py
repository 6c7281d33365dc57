app_name = "bi"

urlpatterns: list = []
