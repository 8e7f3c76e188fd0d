"""Pages about the signed-in person across organisations, mounted at the site root."""

from django.urls import path

from assessments import review_views

app_name = "reviews"

urlpatterns = [
    path("reviews/", review_views.reviews_home, name="home"),
]
