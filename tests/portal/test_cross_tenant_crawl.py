"""Cross-tenant crawl (issue 9, part 2): every role of organisation A follows every link and form it
can reach; every URL found is then requested as each of organisation B's users and as an anonymous
visitor, and A's object URLs are rewritten onto B's own slug. The REST API gets the same treatment
with tokens.

A is the demo's Acme Precision Engineering (tests/api/world.py: every kind of record in every state);
B is Northern Castings, one of Acme's suppliers (it accepted Acme's request and forwarded it), given a
user of every role. Secret markers (`A-SECRET-<n>`) are planted in Acme's data where nobody outside
Acme may read them.

A leak is any of:
- a response other than 404 (B's users) or a redirect to sign in (anonymous) under /o/<A>/;
- a marker in any response body an outsider receives, whatever the URL;
- a download returning the bytes of one of A's files;
- a change to A's rows after the outsiders' requests (GET or POST);
- A's object id under B's own slug answering anything but what a made-up id gets (404, or the
  same refusal a made-up id gets).
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import timedelta
from hashlib import sha256
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Q
from django.test import Client, override_settings
from django.utils import timezone
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from portal.models import Membership, Organisation, User
from portal.roles import Role
from tests.api.world import ACME, FAST_HASHERS, NORTHERN, build_world, tasks_in_process

pytestmark = pytest.mark.django_db

MARKER = "A-SECRET-"
MAX_URLS_PER_ROLE = 400
MAX_QUERY_VARIANTS_PER_PATH = 1  # the same page with other filters or pages adds little
MAX_PER_SHAPE = 2  # URLs differing only in their ids (e.g. one "add an action" link per criterion)
A_ROLES = [Role.OWNER, Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR, Role.MEMBER]
MARKER_RE = re.compile(r"A-SECRET-\d+-[a-z-]+")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SKIP_PREFIXES = ("/static/", "/media/", "/accounts/logout/")
# Links carrying a secret token (the emailed invitation links): holding one is the permission.
CAPABILITY_PREFIXES = ("/invitations/", "/supplier-invitations/")
# Public by design (DESIGN.md section 8): anyone may check a report's id and hash; markers still must not show.
PUBLIC_PREFIXES = ("/verify/",)


# --------------------------------------------------------------------------------------------------
# The world: A with rich data and planted markers, B (a supplier of A) with a user of every role.


@dataclass
class CrawlWorld:
    a: Organisation
    b: Organisation
    a_users: dict[str, User]
    b_users: dict[str, User]
    a_owner_token: str
    b_owner_token: str
    markers: list[str]
    a_file_hashes: set[str] = field(default_factory=set)


def _storages(root) -> dict:
    from django.conf import settings

    return {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }


@pytest.fixture(scope="module")
def crawl_files(tmp_path_factory):
    return tmp_path_factory.mktemp("crawl-files")


@pytest.fixture(scope="module")
def crawl_world(django_db_setup, django_db_blocker, crawl_files) -> CrawlWorld:
    with django_db_blocker.unblock(), override_settings(STORAGES=_storages(crawl_files), PASSWORD_HASHERS=FAST_HASHERS):
        built = _build()
    yield built
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0, reset_sequences=False)  # the app role owns no sequence


@pytest.fixture(autouse=True)
def _crawl_storage(settings, crawl_files) -> None:
    settings.STORAGES = _storages(crawl_files)


def _build() -> CrawlWorld:
    with tasks_in_process():
        world = build_world()
        with scopes_disabled():
            a = Organisation.objects.get(name=ACME)
            b = Organisation.objects.get(name=NORTHERN)
            b_users = {Role.OWNER.value: User.objects.get(email="owner@northern.example")}
            for role in A_ROLES[1:]:
                user = User.objects.create_user(
                    email=f"{role.value.replace('_', '.')}@northern.example", password="x", full_name=f"B {role}"
                )
                expires = timezone.now() + timedelta(days=30) if role == Role.AUDITOR else None
                Membership.objects.create(organisation=b, user=user, role=role, expires_at=expires)
                b_users[role.value] = user
            markers = _plant_markers(a, world.callers["owner"].user, world.callers["manager"].user)
            hashes = _file_hashes(a)
    return CrawlWorld(
        a=a,
        b=b,
        a_users={role: world.callers[role].user for role in ("owner", "manager", "workforce_rep", "auditor", "member")},
        b_users=b_users,
        a_owner_token=world.callers["owner"].token,
        b_owner_token=world.callers["supplier_owner"].token,
        markers=markers,
        a_file_hashes=hashes,
    )


def _plant_markers(a: Organisation, owner: User, manager: User) -> list[str]:
    """Put a unique marker in every kind of A's text that no outsider may read."""
    from assessments import services as assessment_services
    from assessments.models import (
        ActionItem,
        Assessment,
        ChangeRequest,
        ConsultationMeeting,
        EqiaRow,
        EqualityImpactAssessment,
        Evidence,
        Plan,
        Response,
        ReviewComment,
    )
    from portal.audit import audit_record
    from portal.models import ApiToken, AuditEvent, Invitation, Signature
    from supplychain.models import Supplier, SupplierImport, SupplierInvitation

    counter = iter(range(1, 1000))
    planted: list[str] = []

    def marker(what: str) -> str:
        value = f"{MARKER}{next(counter)}-{what}"
        planted.append(value)
        return value

    def mark(queryset: Any, field_name: str, what: str, limit: int = 2) -> None:
        for row in list(queryset.order_by("pk")[:limit]):
            setattr(row, field_name, f"{getattr(row, field_name)} {marker(what)}"[-_max_length(row, field_name) :])
            row.save(update_fields=[field_name])

    for status in ("draft", "final"):
        assessment = Assessment.objects.filter(organisation=a, status=status).first()
        mark(Response.objects.filter(assessment=assessment).exclude(narrative=""), "narrative", f"narrative-{status}")
    mark(Assessment.objects.filter(organisation=a, status="draft"), "title", "assessment-title")
    mark(Evidence.objects.filter(organisation=a), "original_name", "evidence-name")
    mark(Evidence.objects.filter(organisation=a), "description", "evidence-description", limit=3)
    mark(ActionItem.objects.filter(organisation=a), "title", "action-item")
    for column in ("technology", "rationale", "reps_response", "data_monitoring_limits", "jobs_affected"):
        mark(Plan.objects.filter(organisation=a), column, f"plan-{column}")
    mark(ConsultationMeeting.objects.filter(organisation=a), "notes", "meeting-notes")
    mark(ConsultationMeeting.objects.filter(organisation=a), "participants", "meeting-participants")
    mark(EqiaRow.objects.filter(eqia__plan__organisation=a, impact="negative"), "mitigation", "eqia-mitigation")
    mark(EqiaRow.objects.filter(eqia__plan__organisation=a), "evidence", "eqia-evidence", limit=4)
    mark(EqualityImpactAssessment.objects.filter(plan__organisation=a), "justification", "eqia-justification")
    mark(ReviewComment.objects.filter(organisation=a), "body", "comment", limit=5)
    mark(ChangeRequest.objects.filter(organisation=a), "reasons", "change-request", limit=4)
    mark(Signature.objects.filter(organisation=a).exclude(reservations=""), "reservations", "reservations")
    # A's register: every supplier but B itself (B may see how A names it in the requests it got).
    mark(Supplier.objects.filter(organisation=a).exclude(name=NORTHERN), "name", "supplier-name", limit=10)
    mark(Supplier.objects.filter(organisation=a).exclude(name=NORTHERN), "contact_name", "supplier-contact", limit=10)
    mark(SupplierImport.objects.filter(organisation=a), "file_name", "import-file")
    # Another supplier's answer to A: B must not learn it either.
    mark(SupplierInvitation.objects.filter(inviter=a).exclude(decline_reason=""), "decline_reason", "decline-reason")
    # An answer to one of A's requests, held for A to confirm: given through the link by a third
    # organisation that was not asked. Who answered, and why, is A's to read.
    third = Organisation.objects.exclude(pk=a.pk).exclude(name=NORTHERN).first()
    held = SupplierInvitation.objects.filter(inviter=a, state="pending").order_by("pk").first()
    assert held is not None and third is not None
    answerer = Membership.objects.filter(organisation=third).select_related("user").first()
    assert answerer is not None
    held.held_answer, held.held_organisation, held.held_by = "decline", third, answerer.user
    held.held_at, held.held_reason = timezone.now(), f"Not us {marker('held-answer-reason')}"
    held.save(update_fields=["held_answer", "held_organisation", "held_by", "held_at", "held_reason"])
    mark(ApiToken.objects.filter(organisation=a), "name", "token-name", limit=5)
    Invitation.objects.filter(organisation=a).update(email=f"{marker('join-invitation').lower()}@acme.example")
    member = User.objects.get(email="member@acme.example")
    member.full_name = f"Mo Member {marker('member-name')}"
    member.save(update_fields=["full_name"])
    # A file whose bytes carry a marker, and an audit event naming one (appended, so the chain holds).
    secret_file = marker("evidence-file-content")
    with scopes_disabled():
        assessment_services.evidence_upload(
            organisation=a,
            actor=manager,
            file=io.BytesIO(f"Pay review\n{secret_file}\n".encode()),
            name=f"{marker('evidence-upload-name')}.txt",
            description=marker("evidence-upload-description"),
            effective_date=timezone.localdate(),
            expiry_date=None,
        )
        a.refresh_from_db()
        audit_record(organisation=a, actor=owner, verb="crawl.marker", target_label=marker("audit-label"))
    assert AuditEvent.objects.filter(organisation=a).count() > 10
    return planted


def _max_length(row: Any, field_name: str) -> int:
    return row._meta.get_field(field_name).max_length or 100_000


def _campaigns_of(supplier: Organisation) -> list[Any]:
    """The campaigns (of other organisations) whose request `supplier` accepted."""
    from supplychain.models import InvitationState, SupplierInvitation

    with scopes_disabled():
        return list(
            SupplierInvitation.objects.filter(supplier_organisation=supplier, state=InvitationState.ACCEPTED)
            .exclude(campaign__organisation=supplier)
            .values_list("campaign_id", flat=True)
            .distinct()
        )


def _file_hashes(a: Organisation) -> set[str]:
    """The SHA-256 of every file A stores (evidence and rendered reports)."""
    from assessments.models import Evidence
    from reports.models import AttestationReport

    hashes = set(Evidence.objects.filter(organisation=a).values_list("sha256", flat=True))
    hashes |= set(AttestationReport.objects.filter(organisation=a).exclude(sha256="").values_list("sha256", flat=True))
    assert len(hashes) >= 4, hashes
    return hashes


def _snapshot(a: Organisation) -> dict[str, str]:
    """A fingerprint of every row A owns or sent, per model: any change shows."""
    out = {}
    with scopes_disabled():
        for model in apps.get_models():
            if model._meta.app_label not in {"portal", "principles", "assessments", "supplychain", "reports"}:
                continue
            fks = [
                f.name
                for f in model._meta.get_fields()
                if getattr(f, "many_to_one", False) and f.related_model is Organisation and f.concrete
            ]
            if model is Organisation:
                rows = list(Organisation.objects.filter(pk=a.pk).values())
            elif fks:
                condition = Q()
                for name in fks:
                    condition |= Q(**{name: a})
                rows = list(model._default_manager.filter(condition).order_by("pk").values())
            else:
                continue
            out[model._meta.label] = sha256(json.dumps(rows, default=str, sort_keys=True).encode()).hexdigest()
        users = list(User.objects.filter(memberships__organisation=a).order_by("pk").values())
        out["users"] = sha256(json.dumps(users, default=str, sort_keys=True).encode()).hexdigest()
    return out


# --------------------------------------------------------------------------------------------------
# The crawler


@dataclass(frozen=True)
class Form:
    method: str
    action: str
    fields: tuple[tuple[str, str], ...]


class PageParser(HTMLParser):
    """Links, htmx targets and forms (with their fields) of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.posts: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        self.forms: list[Form] = []
        self._form: dict[str, Any] | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._select_value: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if "hx-get" in a:
            self.links.append(a["hx-get"])
        for verb in ("hx-post", "hx-put", "hx-patch", "hx-delete"):
            if verb in a:
                self.posts.append((a[verb], ()))
        if tag == "form":
            self._form = {"method": a.get("method", "get").upper(), "action": a.get("action", ""), "fields": []}
        elif self._form is not None:
            fields = self._form["fields"]
            name = a.get("name")
            if tag == "input" and name:
                kind = a.get("type", "text").lower()
                if kind in {"checkbox", "radio"} and "checked" not in a:
                    return
                if kind in {"submit", "button", "image", "file"}:
                    return
                fields.append((name, a.get("value", "")))
            elif tag == "textarea" and name:
                self._textarea = name
                fields.append((name, ""))
            elif tag == "select" and name:
                self._select, self._select_value = name, None
            elif tag == "option" and self._select is not None:
                if self._select_value is None or "selected" in a:
                    self._select_value = a.get("value", "")
            elif tag == "button" and "formaction" in a:
                self.posts.append((a["formaction"], ()))

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            name, value = self._form["fields"][-1]
            self._form["fields"][-1] = (name, value + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._form is not None and self._select is not None:
            self._form["fields"].append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "form" and self._form is not None:
            self.forms.append(Form(self._form["method"], self._form["action"], tuple(self._form["fields"])))
            self._form = None


def _same_site(base: str, href: str) -> str | None:
    """The path and query of `href` if it stays on this site and is worth requesting."""
    href = href.strip()
    if not href or href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
        return None
    parts = urlsplit(urljoin(f"http://testserver{base}", href))
    if parts.scheme not in {"http", "https"} or parts.netloc != "testserver":
        return None
    if parts.path.startswith(SKIP_PREFIXES):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Crawl:
    role: str
    pages: dict[str, int] = field(default_factory=dict)  # GET url -> status
    downloads: set[str] = field(default_factory=set)
    posts: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # POST action -> fields
    markers: set[str] = field(default_factory=set)  # the markers this role saw (so it is worth checking)
    file_hashes: set[str] = field(default_factory=set)  # SHA-256 of what its downloads returned


def crawl(client: Client, role: str, starts: list[str]) -> Crawl:
    """Breadth first from `starts`, GET only; POST forms and htmx posts are collected, not sent."""
    result = Crawl(role=role)
    queue: deque[str] = deque(starts)
    seen: set[str] = set(starts)
    variants: Counter[str] = Counter()
    shapes: Counter[str] = Counter()
    post_shapes: Counter[str] = Counter()
    while queue and len(result.pages) < MAX_URLS_PER_ROLE:
        url = queue.popleft()
        response = client.get(url)
        result.pages[url] = response.status_code
        found: list[str] = []
        if response.status_code in {301, 302, 303, 307, 308}:
            found.append(response["Location"])
        elif response.has_header("Content-Disposition"):
            result.downloads.add(url)
            result.file_hashes.add(sha256(_body(response)).hexdigest())
        elif response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
            parser = PageParser()
            page = response.content.decode()
            result.markers |= set(MARKER_RE.findall(page))
            parser.feed(page)
            found += parser.links
            posts = list(parser.posts)
            for form in parser.forms:
                if form.method == "GET":
                    target = _same_site(url, form.action or url)
                    query = urlencode([(k, v) for k, v in form.fields if k != "csrfmiddlewaretoken"])
                    if target:
                        found.append(f"{target.split('?')[0]}?{query}" if query else target)
                else:
                    posts.append((form.action or url, form.fields))
            for href, fields in posts:
                target = _same_site(url, href)
                if target and target not in result.posts and _take(post_shapes, target):
                    result.posts[target] = fields
        _close(response)
        for href in found:
            target = _same_site(url, href)
            if target is None or target in seen or target.startswith(CAPABILITY_PREFIXES):
                continue
            path = target.split("?")[0]
            if "?" in target:
                if variants[path] >= MAX_QUERY_VARIANTS_PER_PATH:
                    continue
                variants[path] += 1
            if not _take(shapes, path):
                continue
            seen.add(target)
            queue.append(target)
    return result


def _shape(path: str) -> str:
    """The path with its ids (UUIDs, and numbers such as a principle's) replaced by a placeholder."""
    return re.sub(r"/\d+/", "/{n}/", UUID_RE.sub("{id}", path))


def _take(shapes: Counter[str], url: str) -> bool:
    """Whether to keep `url`: at most MAX_PER_SHAPE URLs that differ only in their ids."""
    path = url.split("?")[0]
    shape = _shape(path)
    if shape == path:
        return True
    if shapes[shape] >= MAX_PER_SHAPE:
        return False
    shapes[shape] += 1
    return True


def _one_per_shape(urls: Any) -> list[str]:
    """The first URL (sorted) of each shape: URLs that differ only in their ids count as one."""
    out: dict[str, str] = {}
    for url in sorted(urls):
        out.setdefault(_shape(url), url)
    return sorted(out.values())


def _close(response: Any) -> None:
    """Finish a response as a WSGI server would. The test client closed a plain response already, and
    closes a streamed one (a download) once it is read, without the request_finished handler that would
    close the test transaction's database connection on PostgreSQL; calling close() again would not."""
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


# --------------------------------------------------------------------------------------------------
# The outsiders


@dataclass
class Probe:
    """Requests made as outsiders and the leaks they found."""

    world: CrawlWorld
    requests: int = 0
    leaks: list[str] = field(default_factory=list)

    def check_body(self, who: str, method: str, url: str, response: Any) -> bytes:
        body = _body(response)
        self.requests += 1
        lowered = body.lower()
        if MARKER.lower().encode() in lowered:
            found = sorted({m for m in self.world.markers if m.lower().encode() in lowered})
            self.leaks.append(f"{who} {method} {url}: {response.status_code} body contains {found or MARKER}")
        if response.status_code == 200 and sha256(body).hexdigest() in self.world.a_file_hashes:
            self.leaks.append(f"{who} {method} {url}: returned one of A's files")
        return body

    def expect(self, who: str, method: str, url: str, response: Any, allowed: set[int]) -> None:
        if response.status_code not in allowed:
            self.leaks.append(f"{who} {method} {url}: {response.status_code}, expected {sorted(allowed)}")


def _csrf(client: Client, anonymous: bool) -> str:
    """A CSRF token of this client's own session, from a page of its own with a form."""
    response = client.get("/accounts/login/" if anonymous else "/account/")
    assert response.status_code == 200, response.status_code
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
    assert found, "no form with a CSRF token"
    return found.group(1).decode()


def _is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def _rewrite(url: str, a_slug: str, b_slug: str) -> str | None:
    """A's object URL under B's own slug, when its path names an object (a UUID)."""
    prefix = f"/o/{a_slug}/"
    if url.startswith(prefix) and UUID_RE.search(url.split("?")[0]):
        return f"/o/{b_slug}/" + url[len(prefix) :]
    return None


def _made_up(url: str) -> str:
    path, _, query = url.partition("?")
    return UUID_RE.sub(lambda m: str(uuid.uuid4()), path) + (f"?{query}" if query else "")


# A pending supplier import is only reached by the redirect after an upload: no page links to it.
UNLINKED_KINDS = {"supplier import"}


def _kinds(urls: set[str], slug: str) -> dict[str, int]:
    patterns = {
        "assessment": rf"^/o/{slug}/assessments/{UUID_RE.pattern}/",
        "principle page": rf"^/o/{slug}/assessments/{UUID_RE.pattern}/principles/\d+/",
        "evidence": rf"^/o/{slug}/evidence/{UUID_RE.pattern}/$",
        "evidence download": rf"^/o/{slug}/evidence/{UUID_RE.pattern}/download/",
        "plan": rf"^/o/{slug}/plans/{UUID_RE.pattern}/",
        "plan section": rf"^/o/{slug}/plans/{UUID_RE.pattern}/sections/",
        "eqia": rf"^/o/{slug}/plans/{UUID_RE.pattern}/equality/",
        "review": rf"^/o/{slug}/review/",
        "supplier": rf"^/o/{slug}/supply-chain/suppliers/{UUID_RE.pattern}/",
        "supplier import": rf"^/o/{slug}/supply-chain/suppliers/import/{UUID_RE.pattern}/",
        "campaign": rf"^/o/{slug}/supply-chain/campaigns/{UUID_RE.pattern}/",
        "supplier request": rf"^/o/{slug}/supply-chain/requests/{UUID_RE.pattern}/",
        "held answer": rf"^/o/{slug}/supply-chain/requests/{UUID_RE.pattern}/answer/",
        "report": rf"^/o/{slug}/reports/{UUID_RE.pattern}/$",
        "report download": rf"^/o/{slug}/reports/{UUID_RE.pattern}/download/",
        "member": rf"^/o/{slug}/members/{UUID_RE.pattern}/",
        "join invitation": rf"^/o/{slug}/invitations/{UUID_RE.pattern}/",
        "audit trail": rf"^/o/{slug}/audit/",
        "api token": rf"^/account/tokens/{UUID_RE.pattern}/",
        "verify": rf"^/verify/{UUID_RE.pattern}/",
    }
    return {kind: sum(1 for u in urls if re.match(pattern, u)) for kind, pattern in patterns.items()}


# --------------------------------------------------------------------------------------------------
# The tests


def test_nothing_of_a_reaches_b_or_anonymous_through_any_page(crawl_world) -> None:
    started, cpu = time.monotonic(), time.process_time()
    w = crawl_world
    a_slug, b_slug = w.a.slug, w.b.slug
    starts = [f"/o/{a_slug}/", "/account/", "/account/tokens/", "/organisations/", "/your-work/"]

    crawls: dict[str, Crawl] = {}
    for role in A_ROLES:
        client = Client()
        client.force_login(w.a_users[role.value])
        crawls[role.value] = crawl(client, role.value, starts)

    pages = set().union(*(c.pages for c in crawls.values()))
    downloads = set().union(*(c.downloads for c in crawls.values()))
    posts: dict[str, tuple[tuple[str, str], ...]] = {}
    for c in crawls.values():
        for url, fields in c.posts.items():
            posts.setdefault(url, fields)
    kinds = _kinds(pages | set(posts), a_slug)
    crawled_ok = {u for c in crawls.values() for u, status in c.pages.items() if status == 200}

    # The crawl must really have reached A's objects, or passing would prove nothing.
    missing = [kind for kind, count in kinds.items() if count == 0 and kind not in UNLINKED_KINDS]
    assert not missing, f"the crawl found no URL of these kinds: {missing}\n{sorted(pages)}"
    assert any(u.startswith(f"/o/{a_slug}/evidence/") and u.endswith("/download/") for u in downloads)
    assert any(u.startswith(f"/o/{a_slug}/reports/") and u.endswith("/download/") for u in downloads)
    assert len(crawled_ok) >= 80, len(crawled_ok)
    # A's own people do see the markers and A's files: the checks below look for something real.
    seen_markers = set().union(*(c.markers for c in crawls.values()))
    assert len(seen_markers) >= 15, sorted(seen_markers)
    assert set().union(*(c.file_hashes for c in crawls.values())) & w.a_file_hashes

    crawl_seconds = time.monotonic() - started
    before = _snapshot(w.a)
    probe = Probe(world=w)
    outsiders: list[tuple[str, Client]] = []
    for role, user in w.b_users.items():
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        outsiders.append((f"B {role}", client))
    outsiders.append(("anonymous", Client(enforce_csrf_checks=True)))
    tenant_prefix = f"/o/{a_slug}/"
    rewritten_count = 0
    # DESIGN.md section 7: a supplier that accepted a campaign's request sees that campaign (its own
    # part: its own invitations by name, the tiers below as counts); the markers check still applies.
    shared_with_b = [f"/o/{b_slug}/supply-chain/campaigns/{campaign_id}/" for campaign_id in _campaigns_of(w.b)]
    assert shared_with_b, "B should have accepted one of A's campaigns"

    for who, client in outsiders:
        anonymous = who == "anonymous"
        token = _csrf(client, anonymous)
        # B's owner and anonymous request every URL; B's other roles one URL per shape (URLs that differ
        # only in their ids run the same code for them), which keeps the run short.
        everything = who in {"anonymous", "B owner"}
        my_pages = sorted(pages) if everything else _one_per_shape(pages)
        my_posts = sorted(posts.items()) if everything else [(u, posts[u]) for u in _one_per_shape(posts)]
        for url in my_pages:
            response = client.get(url)
            probe.check_body(who, "GET", url, response)
            if url.startswith(tenant_prefix):
                if anonymous:
                    if not _is_login_redirect(response):
                        probe.leaks.append(f"{who} GET {url}: {response.status_code}, expected a redirect to sign in")
                else:
                    probe.expect(who, "GET", url, response, {404})
        for url, fields in my_posts:
            data = {k: v for k, v in fields if k != "csrfmiddlewaretoken"}
            data["csrfmiddlewaretoken"] = token
            if url.startswith(tenant_prefix):
                response = client.post(url, data)
                probe.check_body(who, "POST", url, response)
                if anonymous:
                    if not _is_login_redirect(response):
                        probe.leaks.append(f"{who} POST {url}: {response.status_code}, expected a redirect to sign in")
                else:
                    probe.expect(who, "POST", url, response, {404})
            elif UUID_RE.search(url.split("?")[0]) and not url.startswith(CAPABILITY_PREFIXES):
                # Outside /o/: account pages naming one of A's objects (e.g. an API token), the public verify page.
                response = client.post(url, data)
                probe.check_body(who, "POST", url, response)
                if url.startswith(PUBLIC_PREFIXES):
                    pass
                elif anonymous:
                    if not _is_login_redirect(response):
                        probe.leaks.append(f"{who} POST {url}: {response.status_code}, expected a redirect to sign in")
                else:
                    probe.expect(who, "POST", url, response, {404})
            # POSTs to the outsider's own account pages (no object named) would only change the outsider.
        if anonymous:
            continue
        # A's objects through B's own URLs: the same answer as for an id that does not exist.
        for method, url, fields in [("GET", u, ()) for u in my_pages] + [("POST", u, f) for u, f in my_posts]:
            moved = _rewrite(url, a_slug, b_slug)
            if moved is None:
                continue
            rewritten_count += 1
            send = client.get if method == "GET" else client.post
            data = {k: v for k, v in fields if k != "csrfmiddlewaretoken"}
            if method == "POST":
                data["csrfmiddlewaretoken"] = token
            response = send(moved, data)
            probe.check_body(who, method, moved, response)
            if method == "GET" and any(moved.startswith(p) for p in shared_with_b):
                continue  # B's own part of a campaign it took part in: shown, without A's internals
            if response.status_code != 404:
                control = send(_made_up(moved), data)
                _close(control)
                if response.status_code // 100 == 2 or response.status_code != control.status_code:
                    probe.leaks.append(
                        f"{who} {method} {moved}: {response.status_code} for A's object, "
                        f"{control.status_code} for a made-up id"
                    )

    after = _snapshot(w.a)
    changed = sorted(label for label in before if before[label] != after.get(label))
    if changed:
        probe.leaks.append(f"A's rows changed after the outsiders' requests: {changed}")

    summary = [
        "Cross-tenant crawl:",
        *(
            f"  {role}: {len(c.pages)} URLs crawled ({sum(1 for s in c.pages.values() if s == 200)} OK), "
            f"{len(c.downloads)} downloads, {len(c.posts)} POST actions collected"
            for role, c in crawls.items()
        ),
        f"  distinct GET URLs {len(pages)}, POST actions {len(posts)}, downloads {len(downloads)}",
        f"  kinds: {kinds}",
        f"  markers seen by A's roles: {len(seen_markers)} of {len(w.markers)} planted",
        f"  requests as outsiders: {probe.requests} ({len(outsiders)} outsiders; {rewritten_count} onto B's own slug)",
        f"  leaks: {len(probe.leaks)}",
        f"  {crawl_seconds:.1f} s crawling, {time.monotonic() - started - crawl_seconds:.1f} s as outsiders "
        f"({time.process_time() - cpu:.1f} s CPU)",
    ]
    print("\n".join(summary))
    assert not probe.leaks, "\n".join(summary + ["Leaks:", *probe.leaks])


# --------------------------------------------------------------------------------------------------
# The REST API

API_ORG = "/api/v1/organisations/{org}/"
MAX_API_URLS_PER_TEMPLATE = 4
# Path parameters that are not ids, and where in a list item their values are.
PARAM_KEYS = {"criterion_code": ("criterion_code", "code", "criterion")}
# Ids with no list of their own under the same path: taken from another list.
PARAM_SOURCES = {"/supplier-invitations/{invitation_id}/": "/campaigns/{campaign_id}/invitations/"}


def _api_templates(client: APIClient) -> dict[str, set[str]]:
    """Every organisation path of the OpenAPI schema, with its methods."""
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    spec = json.loads(response.content)
    out: dict[str, set[str]] = {}
    for path, item in spec["paths"].items():
        if path.startswith(API_ORG):
            out[path] = {m.upper() for m in item if m in {"get", "post", "put", "patch", "delete"}}
    return out


def _items(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, dict) and isinstance(payload.get("results"), list):
        return [i for i in payload["results"] if isinstance(i, dict)]
    if isinstance(payload, list):
        return [i for i in payload if isinstance(i, dict)]
    return []


def _collect_api_urls(
    client: APIClient, slug: str, templates: dict[str, set[str]], seen: set[str]
) -> dict[str, dict[str, int]]:
    """Concrete URLs for every template (with the status A's owner gets for a GET, 0 if it has none),
    their ids taken from the list responses A's owner gets."""
    concrete: dict[str, list[str]] = {API_ORG: [API_ORG.replace("{org}", slug)]}
    items: dict[str, list[dict[str, Any]]] = {}  # concrete list url -> its items
    urls: dict[str, dict[str, int]] = {}
    for template in sorted(templates, key=lambda t: (t.count("{"), t)):
        params = re.findall(r"{(\w+)}", template)
        if params == ["org"]:
            filled = [template.replace("{org}", slug)]
        else:
            last = params[-1]
            head, _, tail = template.rpartition("{" + last + "}")
            filled = []
            keys = PARAM_KEYS.get(last, ("id",))
            for parent in concrete.get(head, []):
                values = [str(i[k]) for i in items.get(parent, []) for k in keys if i.get(k) not in (None, "")]
                filled += [f"{parent}{value}{tail}" for value in dict.fromkeys(values)]
            for needle, source in PARAM_SOURCES.items():
                if needle in template and not filled:
                    lists = [u for t in concrete if t.endswith(source) for u in concrete[t]]
                    values = [str(i["id"]) for u in lists for i in items.get(u, [])]
                    parent = head.replace("{org}", slug)
                    filled += [f"{parent}{value}{tail}" for value in dict.fromkeys(values)]
            filled = filled[:MAX_API_URLS_PER_TEMPLATE]
        concrete[template] = filled
        urls[template] = {}
        for url in filled:
            status = 0
            if "GET" in templates[template]:
                response = client.get(url)
                status = response.status_code
                body = _body(response)
                if status == 200 and response.get("Content-Type", "").startswith("application/json"):
                    items[url] = _items(json.loads(body))
                    seen.update(MARKER_RE.findall(body.decode()))
            urls[template][url] = status
    return urls


def test_nothing_of_a_reaches_b_or_anonymous_through_the_api(crawl_world) -> None:
    started = time.monotonic()
    w = crawl_world
    a_slug, b_slug = w.a.slug, w.b.slug
    owner = APIClient()
    owner.credentials(HTTP_AUTHORIZATION=f"Bearer {w.a_owner_token}")
    templates = _api_templates(owner)
    seen_markers: set[str] = set()
    urls = _collect_api_urls(owner, a_slug, templates, seen_markers)
    assert len(seen_markers) >= 15, sorted(seen_markers)

    # The collection must have reached A's objects: every kind of detail, and the downloads.
    reached = {t for t, found in urls.items() if any(status == 200 for status in found.values())}
    for kind in (
        "assessments/{assessment_id}/",
        "assessments/{assessment_id}/responses/{criterion_code}/",
        "evidence/{evidence_id}/download/",
        "plans/{plan_id}/eqia/",
        "plans/{plan_id}/meetings/{meeting_id}/",
        "plans/{subject_id}/signatures/{signature_id}/",
        "suppliers/{supplier_id}/",
        "campaigns/{campaign_id}/invitations/",
        "reports/{report_id}/download/",
        "members/{member_id}/",
        "audit-events/",
    ):
        assert API_ORG + kind in reached, f"no URL of {kind} answered A's owner"
    seen_by_a = sum(1 for found in urls.values() for status in found.values() if status == 200)
    # Paths with no id of A's to put in them (A is nobody's supplier, so has no buyers or requests).
    unfilled = sorted(t.removeprefix(API_ORG) for t, found in urls.items() if not found)
    assert seen_by_a >= 50, seen_by_a

    before = _snapshot(w.a)
    probe = Probe(world=w)
    intruder = APIClient()
    intruder.credentials(HTTP_AUTHORIZATION=f"Bearer {w.b_owner_token}")
    anonymous = APIClient()
    shared_with_b = [f"/api/v1/organisations/{b_slug}/campaigns/{c}/" for c in _campaigns_of(w.b)]
    rewritten_count = 0
    for template, found in sorted(urls.items()):
        for url in sorted(found):
            for method in sorted(templates[template]):
                response = intruder.generic(method, url, "{}", content_type="application/json")
                probe.check_body("B owner token", method, url, response)
                probe.expect("B owner token", method, url, response, {404})
                response = anonymous.generic(method, url, "{}", content_type="application/json")
                probe.check_body("no token", method, url, response)
                probe.expect("no token", method, url, response, {401})
                moved = url.replace(f"/organisations/{a_slug}/", f"/organisations/{b_slug}/", 1)
                if not UUID_RE.search(moved):
                    continue
                rewritten_count += 1
                response = intruder.generic(method, moved, "{}", content_type="application/json")
                probe.check_body("B owner token", method, moved, response)
                if method == "GET" and any(moved.startswith(p) for p in shared_with_b):
                    continue  # B's own part of a campaign whose request it accepted
                if response.status_code != 404:
                    control = intruder.generic(method, _made_up(moved), "{}", content_type="application/json")
                    _close(control)
                    if response.status_code // 100 == 2 or response.status_code != control.status_code:
                        probe.leaks.append(
                            f"B owner token {method} {moved}: {response.status_code} for A's object, "
                            f"{control.status_code} for a made-up id"
                        )

    after = _snapshot(w.a)
    changed = sorted(label for label in before if before[label] != after.get(label))
    if changed:
        probe.leaks.append(f"A's rows changed after the outsiders' API requests: {changed}")
    summary = [
        "Cross-tenant API check:",
        f"  {len(templates)} operations' paths in the schema, {sum(len(f) for f in urls.values())} of A's URLs "
        f"collected from A's owner's list responses ({seen_by_a} answering A's owner; "
        f"{len(seen_markers)} of {len(w.markers)} markers in what A's owner read)",
        f"  paths with no URL of A's: {unfilled}",
        f"  requests as outsiders: {probe.requests} (B's owner's token, no token; {rewritten_count} onto B's slug)",
        f"  leaks: {len(probe.leaks)}",
        f"  {time.monotonic() - started:.1f} s",
    ]
    print("\n".join(summary))
    assert not probe.leaks, "\n".join(summary + ["Leaks:", *probe.leaks])
