"""The public page where people answer a workforce survey with their code (no sign-in)."""

from django.urls import path

from assessments import survey_views

app_name = "answer"

urlpatterns = [
    path("s/", survey_views.answer, name="survey"),
]
