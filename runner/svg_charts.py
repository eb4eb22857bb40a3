"""Bar charts drawn on the server as inline SVG: the report is one small file that opens offline, with no
JavaScript at all, and every number a chart draws is the very string the table beside it shows (the caller
formats it once, runner/formats.py).

Why not a charting library: the page with plotly's full bundle inlined weighed 4.8 MB; plotly's basic
partial bundle alone is 1.19 MB (plotly.js-basic-dist-min 4.1.1), uPlot 51 kB but without bar charts or
labels of its own; bars with labels, DORA's level bands and hatched partial months are a few dozen lines of
SVG (BENCHMARKS.md, "The report page").
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

WIDTH, HEIGHT = 1040, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 70, 36, 46


@dataclass(frozen=True)
class Bar:
    """One bar: its category (a month, a bucket), its height in the chart's unit, the text drawn above it."""

    category: str
    value: float
    text: str
    colour: str = "#4575b4"
    partial: bool = False
    tooltip: str = ""


@dataclass(frozen=True)
class Band:
    """A horizontal band behind the bars (a DORA level), from `low` to `high` in the chart's unit."""

    name: str
    low: float
    high: float
    colour: str


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _ticks(top: float) -> list[float]:
    """About five round ticks (1, 2, 2.5 or 5 times a power of ten apart) from 0 to `top`."""
    if top <= 0:
        return [0.0]
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [step * i for i in range(int(top / step) + 1)]


def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    unit: str = "",
    bands: Sequence[Band] = (),
    tick_text=lambda value: f"{value:g}",  # noqa: ANN001 - a formatter
) -> str:
    """An SVG bar chart. Partial months are hatched and say so; bands are drawn behind, named on the right."""
    if not bars:
        return (
            f'<figure class="chart" id="{_esc(chart_id)}"><figcaption>{_esc(title)}</figcaption>'
            '<p class="empty">no data in these months</p></figure>'
        )
    peak = max([b.value for b in bars] + [0.0])
    top = peak * 1.25 if peak > 0 else 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + plot_h - min(value, top) / top * plot_h

    parts = [
        f'<figure class="chart" id="{_esc(chart_id)}"><figcaption>{_esc(title)}</figcaption>',
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{_esc(title)}" xmlns="http://www.w3.org/2000/svg">',
        '<defs><pattern id="hatch-' + _esc(chart_id) + '" width="8" height="8" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)"><rect width="8" height="8" fill="#fff"/>'
        '<line x1="0" y1="0" x2="0" y2="8" stroke="#999" stroke-width="4"/></pattern></defs>',
    ]
    for band in bands:
        if band.low >= top:
            continue
        y0, y1 = y(min(band.high, top)), y(band.low)
        parts.append(
            f'<rect class="band" x="{LEFT}" y="{y0:.1f}" width="{plot_w}" height="{y1 - y0:.1f}"'
            f' fill="{band.colour}" opacity="0.13"/>'
            f'<text class="band-name" x="{WIDTH - RIGHT + 6}" y="{(y0 + y1) / 2 + 4:.1f}">'
            f"{_esc(band.name)}</text>"
        )
    for tick in _ticks(top):
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e5e5e5"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
            f"{_esc(tick_text(tick))}</text>"
        )
    slot = plot_w / len(bars)
    width = min(60.0, slot * 0.7)
    for index, bar in enumerate(bars):
        x = LEFT + slot * index + (slot - width) / 2
        fill = f"url(#hatch-{_esc(chart_id)})" if bar.partial else bar.colour
        stroke = f' stroke="{bar.colour}" stroke-width="2"' if bar.partial else ""
        label = bar.text + (" (partial)" if bar.partial else "")
        tooltip = bar.tooltip or f"{bar.category}: {label}"
        parts.append(
            f'<g class="bar" data-category="{_esc(bar.category)}" data-text="{_esc(bar.text)}"'
            f' data-partial="{str(bar.partial).lower()}"><title>{_esc(tooltip)}</title>'
            f'<rect x="{x:.1f}" y="{y(bar.value):.1f}" width="{width:.1f}"'
            f' height="{max(y(0) - y(bar.value), 0):.1f}" fill="{fill}"{stroke}/>'
            f'<text class="value" x="{x + width / 2:.1f}" y="{y(bar.value) - 6:.1f}" text-anchor="middle">'
            f"{_esc(bar.text)}</text>"
            f'<text class="category" x="{x + width / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{_esc(bar.category)}</text>"
            + (
                f'<text class="partial" x="{x + width / 2:.1f}" y="{HEIGHT - BOTTOM + 31}"'
                ' text-anchor="middle">partial</text>'
                if bar.partial
                else ""
            )
            + "</g>"
        )
    if unit:
        parts.append(f'<text class="unit" x="4" y="{TOP - 14}">{_esc(unit)}</text>')
    parts.append("</svg></figure>")
    return "".join(parts)


def legend(items: Sequence[tuple[str, str]], note: Optional[str] = None) -> str:
    """Colour keys under a chart (level name, colour), and the hatched partial month."""
    keys = "".join(
        f'<span class="key"><span class="swatch" style="background:{_esc(colour)}"></span>{_esc(name)}</span>'
        for name, colour in items
    )
    keys += '<span class="key"><span class="swatch hatched"></span>month not over yet (partial)</span>'
    return f'<p class="legend">{keys}{" " + _esc(note) if note else ""}</p>'
