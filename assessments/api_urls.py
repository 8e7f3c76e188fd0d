"""/api/v1/ endpoints of the assessments app: assessments, responses, evidence and action items
(`assessments/api.py`); plans, EqIAs, comments, change requests and signatures (`assessments/plan_api.py`);
workforce surveys, read-only (`assessments/survey_api.py`); the technology register and the new technology
agreement (`assessments/technology_api.py`)."""

from assessments.api import urlpatterns as assessment_patterns
from assessments.plan_api import urlpatterns as plan_patterns
from assessments.survey_api import urlpatterns as survey_patterns
from assessments.technology_api import urlpatterns as technology_patterns

urlpatterns = [*assessment_patterns, *plan_patterns, *survey_patterns, *technology_patterns]
