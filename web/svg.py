"""Bar charts as SVG, drawn on the server: no chart library, no script, prints well.

Labels are escaped here because the result is inserted as raw HTML.
"""

from __future__ import annotations

from collections.abc import Sequence

from tornado.escape import xhtml_escape

BAR_COLOURS = ("#3b82f6", "#22c55e", "#ef4444", "#f59e0b")


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
              title: str, width: int = 720, height: int = 240) -> str:
    """Grouped bars: one group per label, one bar per series.  ``series`` is
    ``[(name, values)]`` with one value per label."""
    left, bottom, top = 40, 40, 24
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max((v for _n, values in series for v in values), default=0) or 1
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = min(max(group_w * 0.8 / max(len(series), 1), 1), 48)  # no slabs for 1 group
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f"<title>{xhtml_escape(title)}</title>",
             f'<text x="{left}" y="16" class="chart-title">{xhtml_escape(title)}</text>']
    for step in range(5):  # grid lines at 0, 25, 50, 75, 100 % of the peak
        y = top + plot_h - plot_h * step / 4
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'class="grid"/><text x="{left - 4}" y="{y + 4:.1f}" '
                     f'text-anchor="end" class="axis">{_short(peak * step / 4)}</text>')
    for i, label in enumerate(labels):
        x0 = left + i * group_w + group_w * 0.1
        for j, (name, values) in enumerate(series):
            value = values[i] if i < len(values) else 0
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}" fill="{BAR_COLOURS[j % 4]}">'
                f"<title>{xhtml_escape(label)} · {xhtml_escape(name)}: {_short(value)}"
                f"</title></rect>")
        if groups <= 24 or i % 2 == 0:
            parts.append(f'<text x="{x0 + bar_w * len(series) / 2:.1f}" '
                         f'y="{height - bottom + 14}" '
                         f'text-anchor="middle" class="axis">{xhtml_escape(label[:12])}</text>')
    for j, (name, _values) in enumerate(series):  # legend
        x = left + j * 140
        parts.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" '
                     f'fill="{BAR_COLOURS[j % 4]}"/><text x="{x + 14}" y="{height - 5}" '
                     f'class="axis">{xhtml_escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _short(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
