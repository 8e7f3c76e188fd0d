"""/api/v1/ endpoints of the assessments app: assessments, responses, evidence and action items
(`assessments/api.py`); plans, EqIAs, comments, change requests and signatures (`assessments/plan_api.py`)."""

from assessments.api import urlpatterns as assessment_patterns
from assessments.plan_api import urlpatterns as plan_patterns

urlpatterns = [*assessment_patterns, *plan_patterns]
