"""Every page is measured: bench/page_cpu.py's list (bench/catalogue.py) covers every URL pattern
that answers GET, or says why not (issue 19, part 4: pages added later stay within the budgets,
and the benchmark makes that easy to check).

The patterns come from the resolver, with the methods each view takes (read from its
`require_http_methods` decorator or its class's handlers). A pattern that answers GET must be in
`catalogue.PAGES` (measured) or in `catalogue.EXCLUDED` with a reason (a download, a redirect, a
link only an email holds, an API endpoint that is not a list...). No database, no server.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _catalogue() -> Any:
    spec = importlib.util.spec_from_file_location("bench_catalogue", BENCH / "catalogue.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module's annotations through it
    spec.loader.exec_module(module)
    return module


catalogue = _catalogue()


def _methods(view: Callable[..., Any]) -> set[str] | None:
    """The HTTP methods a view answers (besides OPTIONS/HEAD), or None when it does not say."""
    cls = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if cls is not None:  # Django's and DRF's class-based views
        names = getattr(view, "view_initkwargs", {}).get("http_method_names") or cls.http_method_names
        return {name.upper() for name in names if name not in ("options", "head") and hasattr(cls, name)}
    function: Any = view
    while function is not None:  # through login_required, never_cache... to require_http_methods
        code = getattr(function, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            cell = function.__closure__[code.co_freevars.index("request_method_list")]
            return set(cell.cell_contents)
        function = getattr(function, "__wrapped__", None)
    return None


def _patterns(patterns: list[Any] | None = None, prefix: str = "", namespaces: tuple[str, ...] = ()) -> Iterator:
    """(name with its namespaces, the route, the pattern) for every URL pattern of the project."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = namespaces + ((entry.namespace,) if entry.namespace else ())
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = ":".join((*namespaces, entry.name)) if entry.name else None
            yield name, prefix + str(entry.pattern), entry


@functools.cache
def _get_patterns() -> dict[str, str]:
    """name -> route of every pattern that answers GET (or does not say which methods it takes)."""
    found: dict[str, str] = {}
    for name, route, pattern in _patterns():
        methods = _methods(pattern.callback)
        if methods is None or "GET" in methods:
            found[name or route] = route
    return found


def test_the_method_reading_sees_the_decorators() -> None:
    """The test's own instrument: POST-only views and GET pages are told apart."""
    names = {name: pattern for name, _route, pattern in _patterns() if name}
    assert _methods(names["assessments:autosave"].callback) == {"POST"}
    assert _methods(names["portal:dashboard"].callback) == {"GET"}
    assert _methods(names["assessments:principle"].callback) == {"GET", "POST"}
    assert "GET" not in _methods(names["api:plan_submit"].callback)
    assert "GET" in _methods(names["api:supplier_list"].callback)
    assert "notifications_read_all" not in _get_patterns()


def test_every_get_page_is_measured_or_excluded_with_a_reason() -> None:
    measured = catalogue.page_names()
    unlisted = sorted(
        f"{name} ({route})"
        for name, route in _get_patterns().items()
        if name not in measured and name not in catalogue.EXCLUDED
    )
    assert not unlisted, (
        "These URL patterns answer GET but bench/page_cpu.py does not measure them: add each to "
        "bench/catalogue.py's PAGES (with the ids it needs; bench/datasets.py finds them), or to "
        "EXCLUDED with the reason it is not a page to measure:\n  " + "\n  ".join(unlisted)
    )


def test_the_exclusions_are_current_and_reasoned() -> None:
    get_patterns = _get_patterns()
    stale = sorted(name for name in catalogue.EXCLUDED if name not in get_patterns)
    assert not stale, f"Excluded, but no such pattern answers GET (remove them): {stale}"
    both = sorted(set(catalogue.EXCLUDED) & catalogue.page_names())
    assert not both, f"Both measured and excluded: {both}"
    assert all(len(reason) > 20 for reason in catalogue.EXCLUDED.values())


_DUMMY = {"uuid": uuid.UUID(int=1), "int": 1, "slug": "a-slug", "str": "text", "path": "a/path"}


def _parameters(route: str) -> dict[str, Any]:
    """A route's parameters, each with a value its converter accepts: "<uuid:plan_id>" -> {"plan_id": UUID}."""
    values = {}
    for part in route.split("<")[1:]:
        kind, _sep, name = part.split(">", 1)[0].rpartition(":")
        values[name] = _DUMMY[kind or "str"]
    return values


@pytest.mark.parametrize("page", catalogue.PAGES, ids=lambda page: page.label)
def test_each_measured_page_fills_a_get_pattern_with_its_parameters(page) -> None:
    get_patterns = _get_patterns()
    assert page.url_name in get_patterns, f"{page.label}: {page.url_name} is not a pattern that answers GET"
    parameters = _parameters(get_patterns[page.url_name])
    assert set(page.kwargs) == set(parameters), (
        f"{page.label} fills {set(page.kwargs)}, the route has {set(parameters)}"
    )
    reverse(page.url_name, kwargs=parameters)
    assert page.person is None or page.person in catalogue.PEOPLE
    if page.prime:
        prime = _parameters(get_patterns[page.prime])
        assert set(page.prime_kwargs) == set(prime)
        reverse(page.prime, kwargs=prime)


def test_labels_are_unique_and_the_floor_is_listed() -> None:
    labels = [page.label for page in catalogue.PAGES]
    assert len(labels) == len(set(labels))
    assert catalogue.PAGES[0].url_name == catalogue.FLOOR and catalogue.PAGES[0].budget is None
    assert {page.budget for page in catalogue.PAGES if page.is_api} == {catalogue.API_BUDGET}
    assert {page.budget for page in catalogue.PAGES[1:] if not page.is_api} == {catalogue.HTML_BUDGET}
