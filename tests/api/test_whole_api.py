"""The whole API at once, operation by operation, from the OpenAPI schema the code generates:

- Schemathesis fuzzes every operation in-process as each role (and as a supplier organisation):
  no server errors, and every response matches the schema (status, content type, body, headers).
  The cases of an operation (its coverage cases and fuzzed examples) are generated once per test
  process and sent as every caller, each caller in a test of its own; a caller refused before its
  input is read gets one case of each request shape, and every case once one is answered otherwise
  (see REFUSED below);
- tenant isolation: every operation with another organisation's token is 404, anonymous is 401;
- an auditor whose grant has ended gets 404 on every operation, with a token made while the grant
  ran and with a session; an expired token gets 401;
- every list's query count does not grow with the rows on the page.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from django.core.management import call_command
from django.test import override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient
from schemathesis import Case, checks
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.meta import CoverageScenario
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.python._constants.orchestrator import make_constants_value_source

from tests.api.world import CALLERS, World, build_world
from tests.querycount import MAX_QUERIES, counting

pytestmark = pytest.mark.django_db


def _wsgi_app():
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/?format=json", _wsgi_app())
SPEC = SCHEMA.raw_schema
OPERATIONS = [
    (path, method.upper())
    for path, item in SPEC["paths"].items()
    for method in item
    if method in {"get", "post", "put", "patch", "delete"}
]
ORG_OPERATIONS = [(path, method) for path, method in OPERATIONS if path.startswith("/api/v1/organisations/{org}/")]
PUBLIC_PATHS = {"/api/v1/verify/{report_id}/"}
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


def _storages(root) -> dict:
    from django.conf import settings

    return {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }


@pytest.fixture(scope="module")
def world_files(tmp_path_factory):
    return tmp_path_factory.mktemp("world-files")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, world_files) -> World:
    with django_db_blocker.unblock(), override_settings(STORAGES=_storages(world_files)):
        built = build_world()
    yield built
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0, reset_sequences=False)  # the app role owns no sequence


@pytest.fixture(autouse=True)
def _world_storage(settings, world_files) -> None:
    settings.STORAGES = _storages(world_files)


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open():
    """Schemathesis calls Django's real WSGI handler, whose request signals close "old" database
    connections: on PostgreSQL that would close the test's own connection mid-transaction. Django's
    test client disconnects the same signal handlers for the same reason."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _url(world: World, caller_name: str, path: str) -> str:
    caller = world.callers[caller_name]
    ids = world.ids(caller, path)
    return re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)


FUZZ_SETTINGS = hypothesis_settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
FUZZED = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
_CASES: dict[str, list[Case]] = {}


def _cases(label: str) -> list[Case]:
    """Every case Schemathesis makes for the operation, in the order its pytest integration runs them:
    the schema's examples, the coverage cases (boundaries, missing and wrong-typed fields, ...) and
    the fuzzed examples under FUZZ_SETTINGS. Generating them took about 30% of the fuzz's time (a
    profile: 282 s generating, 664 s sending and checking) and gives the same cases for every caller,
    so each test process generates them once per operation."""
    if label not in _CASES:
        found: list[Case] = []

        @FUZZ_SETTINGS
        def record(case: Case) -> None:
            found.append(case)

        test = build_operation_test(
            config=SCHEMA.config,
            operation=FUZZED[label],
            test_func=record,
            given_kwargs={},
            feedback=FeedbackSources(constants_value_source=make_constants_value_source(SCHEMA)),
        )
        test()
        assert found, f"Schemathesis made no case for {label}"
        _CASES[label] = found
    return _CASES[label]


# A refusal by the permission check (portal/api/base.py: the caller's membership and role, checked in
# `initial`, before the handler reads the query or the body) answers every case of an operation the same
# way, so sending all of them (about 47 an operation) as every refused caller proves little more than
# sending a few. A caller whose first case is refused (403 or 404) is sent one case of each request shape
# instead: each content type and kind of body, and each probe whose input cannot be valid (a missing
# required field or parameter, a wrong type, a malformed or unsupported content type); each still passes
# every check. If one of them is answered differently from the first (status or error code), the answer
# depends on the input after all (a record looked up after the body is validated, a rule that reads the
# body) and the caller is sent every case. Cases with a method the schema does not list are sent as
# before. A caller let through gets every case, in order.
REFUSED = {403, 404}
INPUT_PROBES = {
    CoverageScenario.OBJECT_MISSING_REQUIRED_PROPERTY,
    CoverageScenario.MISSING_PARAMETER,
    CoverageScenario.INCORRECT_TYPE,
    CoverageScenario.MALFORMED_CONTENT_TYPE,
    CoverageScenario.UNSUPPORTED_CONTENT_TYPE,
}


def _scenario(case: Case) -> CoverageScenario | None:
    return getattr(case.meta.phase.data, "scenario", None) if case.meta is not None else None


def _body_kind(body: object) -> str:
    if isinstance(body, dict):
        return "object"
    if isinstance(body, list):
        return "array"
    if isinstance(body, bytes | str | int | float | bool) or body is None:
        return "scalar"
    return type(body).__name__  # NotSet: no body


def _shape(case: Case) -> tuple[object, ...]:
    """What decides how a request is read: the content type, the kind of body (none, an object, a list,
    a scalar) and which invalid input it carries, if it is one of the probes above."""
    scenario = _scenario(case)
    return (case.media_type, _body_kind(case.body), scenario if scenario in INPUT_PROBES else None)


def _refusal(response) -> tuple[int, object]:
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):  # not JSON, or not an object
        code = None
    return response.status_code, code


# Schemathesis's in-process WSGI client never calls close() on a response, which is what makes a WSGI
# server close a streamed file (downloads) and the request's spooled uploads; Python then reports
# those files as unclosed. A real server (gunicorn) and Django's test client do call close().
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(("operation", "caller"), [(label, caller) for label in FUZZED for caller in CALLERS])
def test_fuzz_every_operation_as_every_role(operation, caller, world) -> None:
    # Each caller's cases run in order in this test's transaction, as one Hypothesis run did: what an
    # earlier case wrote (a record created, one deleted) is there for the later ones.
    who = world.callers[caller]
    cases = _cases(operation)

    sent: set[int] = set()

    def send(index: int):
        sent.add(index)
        case = cases[index]
        if case.path_parameters:
            # The fuzzer varies bodies, queries and headers; path ids point at real records so the
            # requests get past "not found" into the code that handles them.
            case.path_parameters = world.ids(who, case.path)
        return case.call_and_validate(headers={"Authorization": f"Bearer {who.token}"}, checks=CHECKS)

    method = cases[0].operation.method.upper()
    decided, refusal, shapes = False, None, set()
    for index, case in enumerate(cases):
        if case.method.upper() != method:
            send(index)  # a method the schema does not list: sent as every caller
            continue
        if refusal is not None and _shape(case) in shapes:
            continue  # refused: one case of each shape is enough
        shapes.add(_shape(case))
        response = send(index)
        if not decided:
            # The first case with the operation's method decides whether the caller is refused.
            decided = True
            if response.status_code in REFUSED:
                refusal = _refusal(response)
        elif refusal is not None and _refusal(response) != refusal:
            # The answer depends on the input after all (e.g. a record looked up after the body is
            # validated is not there for this caller): the cases skipped so far, then every later one.
            refusal = None
            for earlier in range(index):
                if earlier not in sent:
                    send(earlier)


@pytest.mark.parametrize(("path", "method"), ORG_OPERATIONS)
def test_every_operation_is_404_to_another_organisations_token(world, path, method) -> None:
    # Northern Castings supplies Acme, but is not a member of it: it must see nothing of Acme's,
    # and Acme must see nothing of Northern's, whatever the operation.
    for owner, intruder in (("owner", "supplier_owner"), ("supplier_owner", "owner")):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.callers[intruder].token}")
        url = _url(world, owner, path)
        response = client.generic(method, url, "{}", content_type="application/json")
        assert response.status_code == 404, (method, url, intruder, response.content[:200])
        assert response.json()["code"] == "not_found"


def _grant_ends(world: World) -> None:
    """The auditor's grant, which ran when the token was made (the token ends with it, 90 days on),
    is cut short: it ended a minute ago. The token itself has not expired."""
    from datetime import timedelta

    from django.utils import timezone
    from django_scopes import scopes_disabled

    from portal.models import ApiToken, Membership

    auditor = world.callers["auditor"]
    with scopes_disabled():
        token = ApiToken.objects.get(user=auditor.user, organisation=auditor.organisation)
        assert token.expires_at is not None and token.expires_at > timezone.now() + timedelta(days=30)
        shortened = Membership.objects.filter(user=auditor.user, organisation=auditor.organisation).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    assert shortened == 1


@pytest.mark.parametrize(("path", "method"), ORG_OPERATIONS)
def test_every_operation_is_404_to_an_auditor_whose_grant_has_ended(world, path, method) -> None:
    # With real ids of Acme's records, as the auditor saw them while the grant ran.
    url = _url(world, "auditor", path)
    with_token = APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Bearer {world.callers['auditor'].token}")
    with_session = APIClient()
    with_session.force_login(world.callers["auditor"].user)
    organisation = f"/api/v1/organisations/{world.callers['auditor'].organisation.slug}/"
    assert with_token.get(organisation).status_code == with_session.get(organisation).status_code == 200
    _grant_ends(world)
    for how, client in (("token", with_token), ("session", with_session)):
        response = client.generic(method, url, "{}", content_type="application/json")
        assert response.status_code == 404, (how, method, url, response.content[:200])
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(("path", "method"), ORG_OPERATIONS)
def test_every_operation_refuses_an_expired_token(world, path, method) -> None:
    from datetime import timedelta

    from django.utils import timezone
    from django_scopes import scopes_disabled

    from portal.models import ApiToken

    auditor = world.callers["auditor"]
    with scopes_disabled():
        ApiToken.objects.filter(user=auditor.user).update(expires_at=timezone.now() - timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {auditor.token}")
    url = _url(world, "auditor", path)
    response = client.generic(method, url, "{}", content_type="application/json")
    assert response.status_code == 401, (method, url, response.content[:200])
    assert response.json()["code"] == "authentication_failed" and "expired" in response.json()["message"]


@pytest.mark.parametrize(("path", "method"), [op for op in OPERATIONS if op[0] not in PUBLIC_PATHS])
def test_every_operation_needs_credentials(world, path, method) -> None:
    url = _url(world, "owner", path)
    response = APIClient().generic(method, url, "{}", content_type="application/json")
    assert response.status_code == 401, (method, url)
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def _is_list(path: str, method: str) -> bool:
    if method != "GET":
        return False
    content = SPEC["paths"][path]["get"]["responses"].get("200", {}).get("content", {})
    if "application/json" not in content:
        return False  # a file download
    schema = content["application/json"]["schema"]
    if "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return "results" in schema.get("properties", {})


LISTS = [path for path, method in OPERATIONS if _is_list(path, method)]
# Lists seen from the supplier's side of the chain.
SUPPLIER_LISTS = {"/api/v1/organisations/{org}/requests/", "/api/v1/organisations/{org}/buyers/"}


def test_every_list_is_in_the_query_count_check() -> None:
    assert len(LISTS) >= 20, LISTS


@pytest.mark.parametrize("path", LISTS)
def test_list_queries_do_not_grow_with_the_page(world, path) -> None:
    client = APIClient()
    if path == "/api/v1/organisations/":
        # A token reaches one organisation; a person signed in to the portal may belong to several.
        client.force_login(world.two_organisations)
        url = path
    else:
        caller = "supplier_owner" if path in SUPPLIER_LISTS else "owner"
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.callers[caller].token}")
        # Signatures pile up on finished work: list those of the final assessment and plan.
        url = _url(world, "auditor" if path.endswith("/signatures/") else caller, path)
    counted, sizes = [], []
    for size in (1, 100):
        client.get(f"{url}?page_size={size}")  # warm: token last-used time, sessions
        with counting() as queries:
            response = client.get(f"{url}?page_size={size}")
        assert response.status_code == 200, response.content[:300]
        sizes.append(len(response.json()["results"]))
        counted.append(queries)
    assert sizes[0] == 1 and sizes[1] >= 2, f"{path}: the world needs at least two rows here, has {sizes[1]}"
    few, many = counted
    assert len(few) == len(many), (
        f"{path}: {len(few)} queries for 1 row, {len(many)} for {sizes[1]} rows:\n{many.listing()}"
    )
    assert len(many) <= MAX_QUERIES, f"{path}: {len(many)} queries, over the limit of {MAX_QUERIES}:\n{many.listing()}"
