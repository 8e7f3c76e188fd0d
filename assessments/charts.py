"""Server-rendered SVG charts: the same markup works in the browser, in PDFs and for screen readers."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

MAX_LEVEL = 4


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: not answered yet


def maturity_chart_svg(bars: list[Bar], *, title: str, chart_id: str = "maturity-chart") -> SafeString:
    """A horizontal bar chart of maturity (0 to 4) per principle, with a text alternative."""
    row_height, top, left, width = 34, 28, 300, 280
    height = top + row_height * len(bars) + 10
    scale = width / MAX_LEVEL
    grid = format_html_join(
        "",
        '<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#b1b4b6" stroke-width="1"/>'
        '<text x="{0}" y="{3}" fill="#505a5f" text-anchor="middle">{4}</text>',
        ((left + level * scale, top - 6, height - 10, top - 12, level) for level in range(MAX_LEVEL + 1)),
    )
    rows = []
    summary = []
    for i, bar in enumerate(bars):
        y = top + i * row_height
        label = bar.label if len(bar.label) <= 36 else bar.label[:35] + "…"
        if bar.value is None:
            value_text = _("not answered")
            rect = format_html(
                '<text x="{}" y="{}" fill="#0b0c0c">{}</text>', left + 6, y + row_height / 2 + 5, value_text
            )
        else:
            value_text = f"{bar.value:.1f}"
            rect = format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="#00665e"/>'
                '<text x="{}" y="{}" fill="#0b0c0c">{}</text>',
                left,
                y + 6,
                max(2.0, bar.value * scale),
                row_height - 12,
                left + max(2.0, bar.value * scale) + 6,
                y + row_height / 2 + 5,
                value_text,
            )
        rows.append(
            format_html(
                '<g><text x="{}" y="{}" fill="#0b0c0c" text-anchor="end">{}</text>{}</g>',
                left - 10,
                y + row_height / 2 + 5,
                label,
                rect,
            )
        )
        summary.append(f"{bar.label}: {value_text}")
    description = _("Average maturity from 0 to 4 per principle. ") + "; ".join(summary) + "."
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="13">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}{}</svg>',
        left + width + 50,
        height,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        description,
        grid,
        SafeString("".join(rows)),
    )
