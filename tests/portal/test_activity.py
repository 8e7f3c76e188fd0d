"""The activity feed in words: every audit event reads as a sentence naming the person, the thing and
what happened, on the dashboard, the audit trail and its filter; autosaves collapse into one line;
the hash chain is untouched."""

from __future__ import annotations

import ast
import html
import re
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django_scopes import scope, scopes_disabled

from portal.activity import activity_lines, registered_verbs, sentence, verb_choices, with_subject_titles
from portal.audit import audit_record, audit_verify_chain
from portal.demo import DEMO_ORGANISATION
from portal.models import AuditEvent, Organisation, SignatureDecision, User
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APPS = ("portal", "principles", "assessments", "supplychain", "reports")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
# What each f-string placeholder in a production verb can be.
PLACEHOLDERS = {"decision": list(SignatureDecision.values), "kind": ["assessment", "plan"]}


def _expand(node: ast.expr) -> list[str]:
    """The verbs an expression passed as `verb` can produce ([] for a plain variable: its callers
    are scanned instead)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _expand(node.body) + _expand(node.orelse)
    if isinstance(node, ast.JoinedStr):
        results = [""]
        for part in node.values:
            if isinstance(part, ast.Constant):
                results = [r + str(part.value) for r in results]
            else:
                assert isinstance(part, ast.FormattedValue)
                source = ast.unparse(part.value)
                name = "kind" if "subject_type" in source or source == "kind" else source
                assert name in PLACEHOLDERS, f"unknown placeholder {{{source}}} in a verb: add it to PLACEHOLDERS"
                results = [r + v for r in results for v in PLACEHOLDERS[name]]
        return results
    return []


def production_verbs() -> dict[str, str]:
    """Every audit verb the production code can record, with where: `verb=` arguments, positional
    arguments to functions that take a `verb` parameter, and values of dicts named *_VERBS."""
    found: dict[str, str] = {}
    files = [p for app in APPS for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]
    trees = {p: ast.parse(p.read_text(), str(p)) for p in files}
    takes_verb: dict[str, int] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                names = [a.arg for a in node.args.args]
                if "verb" in names:
                    takes_verb[node.name] = names.index("verb")
    for path, tree in trees.items():
        where = str(path.relative_to(ROOT))
        if path.name == "scale.py":  # reports/scale.py: synthetic load-test events
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "verb":
                        found.update(dict.fromkeys(_expand(keyword.value), where))
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name in takes_verb and len(node.args) > takes_verb[name]:
                    found.update(dict.fromkeys(_expand(node.args[takes_verb[name]]), where))
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id.endswith("_VERBS") for t in node.targets)
                and isinstance(node.value, ast.Dict)
            ):
                for value in node.value.values:
                    found.update(dict.fromkeys(_expand(value), where))
    return found


def test_every_verb_in_the_production_code_has_a_sentence_and_a_label() -> None:
    verbs = production_verbs()
    assert {"assessment.finalised", "signature.sign_with_reservations", "response.updated"} <= set(verbs)
    assert len(verbs) > 60
    registered = registered_verbs()
    missing = sorted(f"{verb} ({where})" for verb, where in verbs.items() if verb not in registered)
    assert not missing, f"audit verbs with no sentence (register them in the app's ready()): {missing}"
    labels = [label for _group, options in verb_choices() for _verb, label in options]
    assert len(labels) == len(set(labels)), "two actions share a label in the audit trail's filter"


def test_an_unknown_verb_reads_as_its_words_never_its_key(tenant) -> None:
    event = audit_record(
        organisation=tenant.organisation, actor=tenant.owner, verb="crawl.marker", target_label="Widget"
    )
    text = sentence(event)
    assert "crawl.marker" not in text
    assert text == f"{tenant.owner.display_name} recorded “crawl marker” on “Widget”"


def _demo_world() -> tuple[Organisation, dict[str, User]]:
    call_command("load_demo", stdout=StringIO())
    with scopes_disabled():
        acme = Organisation.objects.get(name=DEMO_ORGANISATION)
        users = {u.email: u for u in User.objects.filter(email__endswith=".example")}
    return acme, users


def _visible_text(markup: str) -> str:
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def _raw_keys_and_ids(text: str, organisation: Organisation) -> list[str]:
    with scope(organisation=organisation):
        verbs = set(AuditEvent.objects.filter(organisation=organisation).values_list("verb", flat=True))
        events = AuditEvent.objects.filter(organisation=organisation).exclude(target_id="")
        target_ids = set(events.values_list("target_id", flat=True))
    problems = [verb for verb in verbs if verb in text]
    problems += list(UUID.findall(text))
    problems += [target_id for target_id in target_ids if len(target_id) > 8 and target_id in text]
    return problems


def _activity_section(markup: str) -> str:
    start = markup.index("Recent activity")
    return markup[start : markup.index("See the full audit trail", start)]


def test_the_dashboard_feed_reads_in_sentences(django_user_model) -> None:
    acme, users = _demo_world()
    response = client_for(users["owner@acme.example"]).get(f"/o/{acme.slug}/")
    assert response.status_code == 200
    feed = _visible_text(_activity_section(response.content.decode()))
    assert _raw_keys_and_ids(feed, acme) == []
    assert feed.count("#") >= 8  # eight lines (each ends with its event numbers)
    # The newest events of the demo name people and things in words.
    assert "Olivia Owen" in feed or "Manoj Mistry" in feed or "Rachel Reid" in feed


def test_the_audit_trail_reads_in_sentences_and_keeps_every_event(django_user_model) -> None:
    acme, users = _demo_world()
    client = client_for(users["owner@acme.example"])
    with scope(organisation=acme):
        total = AuditEvent.objects.filter(organisation=acme).count()
    seen: set[int] = set()
    page = 1
    texts = []
    while True:
        response = client.get(f"/o/{acme.slug}/audit/?page={page}")
        assert response.status_code == 200
        markup = response.content.decode()
        text = _visible_text(markup.split("<table", 1)[1] if "<table" in markup else markup)
        texts.append(text)
        assert _raw_keys_and_ids(text, acme) == [], page
        seen |= {int(n) for n in re.findall(r"#(\d+)\b", text)}
        for first, last in re.findall(r">(\d+)–(\d+)<", markup):
            seen |= set(range(int(first), int(last) + 1))
        seen |= {int(n) for n in re.findall(r'table__cell--numeric">(\d+)<', markup)}
        if f"page={page + 1}" not in markup:
            break
        page += 1
    assert seen >= set(range(1, total + 1)), "an event of the trail cannot be reached from the page"
    everything = " ".join(texts)
    # The signed things are named by their titles, not by ids.
    assert re.search(r"countersigned the (self-assessment|plan) “[^”]+” for the workforce", everything)
    assert "finalised the self-assessment “" in everything
    assert audit_verify_chain(organisation=acme).ok


def test_the_filter_lists_actions_in_words_grouped(owner_client, tenant) -> None:
    response = owner_client.get(f"/o/{tenant.organisation.slug}/audit/")
    markup = response.content.decode()
    assert '<optgroup label="Self-assessments">' in markup
    assert re.search(r'<option value="assessment.finalised"[^>]*>Finalised a self-assessment</option>', markup)
    options = re.findall(r"<option value=\"[^\"]+\"[^>]*>([^<]+)</option>", markup)
    assert options and not [o for o in options if re.fullmatch(r"[a-z_]+\.[a-z_]+", o)]
    # Filtering by an action still narrows the trail to it.
    audit_record(organisation=tenant.organisation, actor=tenant.owner, verb="member.left", target_label="x")
    filtered = html.unescape(  # a generated name may hold an apostrophe, which the page escapes
        owner_client.get(f"/o/{tenant.organisation.slug}/audit/?verb=member.left").content.decode()
    )
    assert f"{tenant.owner.display_name} left the organisation" in filtered
    assert "created the organisation" not in filtered


def _autosaves(tenant, framework, n: int):
    from assessments import services
    from assessments.models import Response

    assessment = services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    with scope(organisation=tenant.organisation):
        responses = list(
            Response.objects.filter(assessment=assessment, criterion__code__startswith="4.")
            .select_related("criterion")
            .order_by("criterion__code")
        )
    assert len(responses) >= 2
    for round_ in range(n):
        response = responses[round_ % len(responses)]
        services.response_save(
            response=response, actor=tenant.manager, maturity=(round_ % 4) + 1, narrative="", evidence_ids=[]
        )
    return assessment, min(n, len(responses))


def test_consecutive_autosaves_read_as_one_line(tenant, framework, owner_client) -> None:
    _assessment, answers = _autosaves(tenant, framework, 12)
    with scope(organisation=tenant.organisation):
        events = list(
            with_subject_titles(AuditEvent.objects.filter(organisation=tenant.organisation).select_related("actor"))
        )
    lines = activity_lines(events)
    assert [line.sentence for line in lines][0] == (
        f"{tenant.manager.display_name} changed {answers} answers in principle 4"
    )
    assert len(lines[0].events) == 12
    dashboard = _visible_text(owner_client.get(f"/o/{tenant.organisation.slug}/").content.decode())
    assert dashboard.count("answers in principle 4") == 1
    assert "changed the answer to" not in dashboard
    trail = owner_client.get(f"/o/{tenant.organisation.slug}/audit/").content.decode()
    assert _visible_text(trail).count("answers in principle 4") == 1
    assert "See the 12 events" in trail  # each one still on the auditor's record
    assert _visible_text(trail).count("changed the answer to “4.") == 12
    # Someone else's act in between breaks the run.
    audit_record(organisation=tenant.organisation, actor=tenant.owner, verb="member.left", target_label="x")
    after_break = _visible_text(owner_client.get(f"/o/{tenant.organisation.slug}/").content.decode())
    assert "left the organisation" in after_break
    assert audit_verify_chain(organisation=tenant.organisation).ok
