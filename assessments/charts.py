"""Server-rendered SVG charts: the same markup works in the browser, in PDFs and for screen readers."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

MAX_LEVEL = 4
# Principle titles run to about 45 characters: labels wrap at word boundaries onto as many lines as
# they need (two for every title in the 2019 framework) instead of being cut off.
LABEL_CHARACTERS = 34
LINE_HEIGHT = 16


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: not answered yet


def label_lines(label: str) -> list[str]:
    """The label split at spaces into lines that fit the label column; together they are the whole label."""
    return textwrap.wrap(label, LABEL_CHARACTERS, break_long_words=False, break_on_hyphens=False) or [label]


def maturity_chart_svg(
    bars: list[Bar], *, title: str, chart_id: str = "maturity-chart", axis_title: str | None = None
) -> SafeString:
    """A horizontal bar chart of maturity (0 to 4) per principle, with an axis title and a text alternative."""
    axis_title = axis_title or _("Average maturity, from 0 to 4")
    top, left, width = 46, 300, 280
    lines = [label_lines(bar.label) for bar in bars]
    heights = [max(34, LINE_HEIGHT * len(label) + 10) for label in lines]
    height = top + sum(heights) + 10
    scale = width / MAX_LEVEL
    grid = format_html_join(
        "",
        '<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#b1b4b6" stroke-width="1"/>'
        '<text x="{0}" y="{3}" fill="#505a5f" text-anchor="middle">{4}</text>',
        ((left + level * scale, top - 6, height - 10, top - 12, level) for level in range(MAX_LEVEL + 1)),
    )
    axis = format_html(
        '<text class="chart__axis-title" x="{}" y="{}" fill="#0b0c0c" font-weight="bold" '
        'text-anchor="middle">{}</text>',
        left + width / 2,
        14,
        axis_title,
    )
    rows = []
    summary = []
    y = top
    for bar, label, row_height in zip(bars, lines, heights, strict=True):
        middle = y + row_height / 2
        if bar.value is None:
            value_text = _("not answered")
            rect = format_html('<text x="{}" y="{}" fill="#0b0c0c">{}</text>', left + 6, middle + 5, value_text)
        else:
            value_text = f"{bar.value:.1f}"
            rect = format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="#00665e"/>'
                '<text x="{}" y="{}" fill="#0b0c0c">{}</text>',
                left,
                middle - 11,
                max(2.0, bar.value * scale),
                22,
                left + max(2.0, bar.value * scale) + 6,
                middle + 5,
                value_text,
            )
        # The first line's baseline: the block of lines is centred on the bar.
        first = middle + 5 - LINE_HEIGHT * (len(label) - 1) / 2
        spans = format_html_join(
            "",
            '<tspan x="{}" y="{}">{}</tspan>',
            ((left - 10, first + LINE_HEIGHT * n, line) for n, line in enumerate(label)),
        )
        rows.append(
            format_html(
                '<g class="chart__bar"><text class="chart__label" fill="#0b0c0c" text-anchor="end">{}</text>{}</g>',
                spans,
                rect,
            )
        )
        summary.append(f"{bar.label}: {value_text}")
        y += row_height
    description = _("Average maturity from 0 to 4 per principle. ") + "; ".join(summary) + "."
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="13">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}{}{}</svg>',
        left + width + 50,
        height,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        description,
        axis,
        grid,
        SafeString("".join(rows)),
    )
