"""Checks on one-line text that people type: names, titles, anything that can reach an email header.

A line break in a value that goes into an email's subject makes the message impossible to build
(Django refuses the header), and an invisible control character makes a name display as something
it is not ("Gnp\u202eexe.pdf" shows as "Gnpfdp.exe"). Every app refuses both the same way, at the
field, in its web forms, its API and its CSV imports: through `single_line_problem`, or the
`SingleLineValidator` that wraps it for form and serializer fields.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext as _

# Control characters other than tab and line breaks, and the bidirectional controls: never part of
# any text a person types, on one line or several.
_HIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What ends a line for an email header, a browser or Python's str.splitlines().
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_BREAKS_AND_HIDDEN = re.compile(rf"(?:\s*(?:{_LINE_BREAKS.pattern}|{_HIDDEN_CHARACTERS.pattern})\s*)+")


def has_hidden_characters(text: str) -> bool:
    """Whether `text` holds a control character (other than tab and line breaks) or a bidirectional
    control such as U+202E, which would make it display as something else. For text of several lines."""
    return bool(_HIDDEN_CHARACTERS.search(text))


def single_line_problem(text: str, *, label: str) -> str | None:
    """What is wrong with `text` as a one-line value (a name, a title, part of an email subject), in
    a sentence that starts with `label` ("Name", "Title"); None if nothing is."""
    text = text.strip()  # leading and trailing whitespace is trimmed before saving anyway
    if _LINE_BREAKS.search(text):
        return _("%(label)s must be on one line: remove the line breaks") % {"label": label}
    if "\t" in text or has_hidden_characters(text):
        return _("%(label)s must not contain hidden control characters") % {"label": label}
    return None


def one_line(text: str) -> str:
    """`text` on one line: each run of line breaks and hidden control characters (with the spaces around
    it) becomes one space. For what is made from text people write on several lines (a decline reason, a
    mitigation) and must fit on one line, such as an email's subject or an action's title."""
    return _BREAKS_AND_HIDDEN.sub(" ", text).strip()


def single_line_errors(**fields: tuple[str, str]) -> dict[str, str]:
    """The problems of several one-line values at once, by field: `name=(value, label), ...`."""
    problems = {field: single_line_problem(value, label=label) for field, (value, label) in fields.items()}
    return {field: problem for field, problem in problems.items() if problem}


def require_single_line(**fields: tuple[str, str]) -> None:
    """Raise a ValidationError naming each field whose value is not a clean single line (for services)."""
    problems = single_line_errors(**fields)
    if problems:
        raise ValidationError(problems, code="control_characters")


@deconstructible
class SingleLineValidator:
    """For form and serializer fields: refuses line breaks and hidden control characters."""

    code = "control_characters"

    def __init__(self, label: Any) -> None:
        self.label = label

    def __call__(self, value: Any) -> None:
        if "\x00" in str(value):
            return  # form and serializer CharFields refuse it already, in their own words
        problem = single_line_problem(str(value), label=str(self.label))
        if problem:
            raise ValidationError(problem, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SingleLineValidator) and str(other.label) == str(self.label)

    def __hash__(self) -> int:
        return hash(str(self.label))


def csv_safe(value: object) -> str:
    """A spreadsheet cell's text, with a leading ' if a spreadsheet would otherwise read it as a formula.

    Every CSV export (supplychain.csv_io.write_csv) and every XLSX export (portal.xlsx) escapes text
    through this one function.

    Text starting with = + - @ tab or carriage return is prefixed with a single quote. None becomes "".
    Numbers are left alone: a number such as -5 cannot carry a formula, and stays a number in Excel.
    """
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    if text.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + text
    return text
