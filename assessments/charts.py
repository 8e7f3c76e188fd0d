"""Server-rendered SVG charts: the same markup works in the browser, in PDFs and for screen readers."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Literal

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
    bars: list[Bar],
    *,
    title: str,
    chart_id: str = "maturity-chart",
    axis_title: str | None = None,
    layout: Literal["wide", "stacked"] = "wide",
) -> SafeString:
    """A horizontal bar chart of maturity (0 to 4) per principle, with an axis title and a text alternative.

    "wide" (the report's) puts each label beside its bar; "stacked" (the dashboard's) puts it above, so
    the chart is narrow enough to be shown near its natural size, and its text legible, on a phone."""
    axis_title = axis_title or _("Average maturity, from 0 to 4")
    if layout == "stacked":
        return _stacked_chart_svg(bars, title=title, chart_id=chart_id, axis_title=axis_title)
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
        value_text = _value_text(bar)
        if bar.value is None:
            rect = format_html('<text x="{}" y="{}" fill="#0b0c0c">{}</text>', left + 6, middle + 5, value_text)
        else:
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
    return _svg("chart", (left + width + 50, height), 13, chart_id, title, _description(summary), axis, grid, rows)


def _value_text(bar: Bar) -> str:
    return _("not answered") if bar.value is None else f"{bar.value:.1f}"


def _description(summary: list[str]) -> str:
    return _("Average maturity from 0 to 4 per principle. ") + "; ".join(summary) + "."


def _svg(
    css_class: str,
    size: tuple[float, float],
    font_size: int,
    chart_id: str,
    title: str,
    description: str,
    axis: SafeString,
    grid: SafeString,
    rows: list[SafeString],
) -> SafeString:
    return format_html(
        '<svg class="{}" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="{}">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}{}{}</svg>',
        css_class,
        size[0],
        size[1],
        chart_id,
        chart_id,
        font_size,
        chart_id,
        title,
        chart_id,
        description,
        axis,
        grid,
        SafeString("".join(rows)),
    )


# The stacked layout: 300 units wide, each label above its bar. The page shows it at most 340 px wide
# and no narrower than a 320 px phone leaves (290 px), so its 14-unit text is 13.5 to 16 px.
STACKED_WIDTH = 300
STACKED_FONT = 14
STACKED_LINE_HEIGHT = 17


def _stacked_chart_svg(bars: list[Bar], *, title: str, chart_id: str, axis_title: str) -> SafeString:
    left, width, bar_height = 8, 250, 18
    scale = width / MAX_LEVEL
    axis = format_html(
        '<text class="chart__axis-title" x="0" y="{}" fill="#0b0c0c" font-weight="bold">{}</text>',
        STACKED_FONT + 2,
        axis_title,
    )
    grid = format_html_join(
        "",
        '<text x="{}" y="{}" fill="#505a5f" text-anchor="middle">{}</text>',
        ((left + level * scale, 40, level) for level in range(MAX_LEVEL + 1)),
    )
    rows = []
    summary = []
    y = 52
    for bar in bars:
        label = label_lines(bar.label)
        bar_top = y + STACKED_LINE_HEIGHT * len(label) + 4
        spans = format_html_join(
            "",
            '<tspan x="0" y="{}">{}</tspan>',
            ((y + STACKED_FONT + STACKED_LINE_HEIGHT * n, line) for n, line in enumerate(label)),
        )
        ticks = format_html_join(
            "",
            '<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#b1b4b6" stroke-width="1"/>',
            ((left + level * scale, bar_top - 3, bar_top + bar_height + 3) for level in range(MAX_LEVEL + 1)),
        )
        value_text = _value_text(bar)
        if bar.value is None:
            rect = format_html('<text x="{}" y="{}" fill="#0b0c0c">{}</text>', left + 6, bar_top + 14, value_text)
        else:
            length = max(2.0, bar.value * scale)
            rect = format_html(
                # A white halo keeps the number readable where a grid line runs through it.
                '<rect x="{}" y="{}" width="{}" height="{}" fill="#00665e"/><text x="{}" y="{}" fill="#0b0c0c" '
                'stroke="#ffffff" stroke-width="4" paint-order="stroke">{}</text>',
                left,
                bar_top,
                length,
                bar_height,
                left + length + 6,
                bar_top + 14,
                value_text,
            )
        rows.append(
            format_html(
                '<g class="chart__bar"><text class="chart__label" fill="#0b0c0c">{}</text>{}{}</g>',
                spans,
                ticks,
                rect,
            )
        )
        summary.append(f"{bar.label}: {value_text}")
        y = bar_top + bar_height + 16
    return _svg(
        "chart chart--stacked",
        (STACKED_WIDTH, y - 6),
        STACKED_FONT,
        chart_id,
        title,
        _description(summary),
        axis,
        grid,
        rows,
    )
