"""Public pages (no sign-in): the framework, every version."""

from django.urls import path

from principles import views

app_name = "framework"

urlpatterns = [
    path("framework/", views.framework_detail, name="current"),
    path("framework/<slug:code>/v<int:version>/", views.framework_detail, name="version"),
]
