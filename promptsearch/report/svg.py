"""Small, dependency-free SVG charts for the HTML report: lines, scatter with a front, heatmap.

Hand-written rather than matplotlib: the report must be one offline file, and these three chart
kinds need a few dozen lines each. Every chart has a title, axis labels with units, and ticks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Optional, Sequence

WIDTH, HEIGHT = 580, 320
LEFT, RIGHT, TOP, BOTTOM = 62, 190, 36, 48  # margins: the legend sits on the right
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22")


@dataclass
class Series:
    name: str
    points: list[tuple[float, float]]


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering low..high."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    value, ticks = math.ceil(low / step - 1e-9) * step, []
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


class _Frame:
    """Maps data to pixels and draws the axes, ticks, labels and title."""

    def __init__(self, title: str, x_label: str, y_label: str, x_range, y_range):
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range
        self.parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
                      f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">',
                      f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
                      f'<text x="{WIDTH / 2 - RIGHT / 2}" y="20" text-anchor="middle" '
                      f'font-size="14" font-weight="bold">{escape(title)}</text>']
        self._axes(x_label, y_label)

    def x(self, value: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return LEFT + (value - self.x0) / span * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return HEIGHT - BOTTOM - (value - self.y0) / span * (HEIGHT - TOP - BOTTOM)

    def _axes(self, x_label: str, y_label: str) -> None:
        bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
        add = self.parts.append
        for tick in _ticks(self.y0, self.y1):
            add(f'<line x1="{LEFT}" x2="{right}" y1="{self.y(tick):.1f}" y2="{self.y(tick):.1f}" '
                'stroke="#e5e5e5"/>')
            add(f'<text x="{LEFT - 6}" y="{self.y(tick) + 4:.1f}" text-anchor="end" '
                f'font-size="11">{tick:g}</text>')
        for tick in _ticks(self.x0, self.x1):
            add(f'<text x="{self.x(tick):.1f}" y="{bottom + 16}" text-anchor="middle" '
                f'font-size="11">{tick:g}</text>')
        add(f'<line x1="{LEFT}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#333"/>')
        add(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom}" stroke="#333"/>')
        add(f'<text x="{(LEFT + right) / 2}" y="{HEIGHT - 10}" text-anchor="middle" '
            f'font-size="12">{escape(x_label)}</text>')
        add(f'<text transform="translate(16 {(TOP + bottom) / 2}) rotate(-90)" '
            f'text-anchor="middle" font-size="12">{escape(y_label)}</text>')

    def legend(self, names: Sequence[str], front: bool = False) -> None:
        for index, name in enumerate(names):
            top = TOP + 6 + index * 18
            colour = PALETTE[index % len(PALETTE)]
            self.parts.append(f'<rect x="{WIDTH - RIGHT + 12}" y="{top}" width="12" height="12" '
                              f'fill="{colour}"/><text x="{WIDTH - RIGHT + 30}" y="{top + 10}" '
                              f'font-size="11">{escape(name[:28])}</text>')
        if front:
            top = TOP + 6 + len(names) * 18
            self.parts.append(f'<circle cx="{WIDTH - RIGHT + 18}" cy="{top + 6}" r="6" '
                              'fill="none" stroke="#333" stroke-width="1.5"/>'
                              f'<text x="{WIDTH - RIGHT + 30}" y="{top + 10}" font-size="11">'
                              'Pareto front</text>')

    def svg(self) -> str:
        return "".join(self.parts) + "</svg>"


def line_chart(series: list[Series], title: str, x_label: str, y_label: str,
               y_range: tuple[float, float] = (0.0, 1.0), marks: Sequence[Series] = ()) -> str:
    """Step lines (a best-so-far curve only changes when a better key is found); `marks` are
    single results drawn as dots (a run whose intermediate scores are unknown)."""
    xs = [x for s in (*series, *marks) for x, _ in s.points] or [0.0, 1.0]
    frame = _Frame(title, x_label, y_label, (0.0, max(xs) or 1.0), y_range)
    for index, one in enumerate(series):
        path, previous = [], None
        for x, y in one.points:
            if previous is not None:
                path.append(f"L{frame.x(x):.1f},{frame.y(previous):.1f}")
            path.append(f"{'L' if path else 'M'}{frame.x(x):.1f},{frame.y(y):.1f}")
            previous = y
        frame.parts.append(f'<path d="{" ".join(path)}" fill="none" stroke-width="2.5" '
                           f'stroke="{PALETTE[index % len(PALETTE)]}"/>')
    for index, one in enumerate(marks, len(series)):
        for x, y in one.points:
            frame.parts.append(f'<circle cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="5" '
                               f'fill="{PALETTE[index % len(PALETTE)]}"/>')
    frame.legend([s.name for s in (*series, *marks)])
    return frame.svg()


def scatter(series: list[Series], front: list[tuple[float, float]], title: str, x_label: str,
            y_label: str) -> str:
    """Points per series; the Pareto front drawn as a dashed line through its points."""
    xs = [x for s in series for x, _ in s.points] or [0.0, 1.0]
    frame = _Frame(title, x_label, y_label, (0.0, max(xs) * 1.05 or 1.0), (0.0, 1.0))
    if len(front) > 1:
        path = " ".join(f"{'M' if i == 0 else 'L'}{frame.x(x):.1f},{frame.y(y):.1f}"
                        for i, (x, y) in enumerate(front))
        frame.parts.append(f'<path d="{path}" fill="none" stroke="#333" stroke-dasharray="5 4"/>')
    for x, y in front:
        frame.parts.append(f'<circle cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="8" '
                           'fill="none" stroke="#333" stroke-width="1.5"/>')
    for index, one in enumerate(series):
        for x, y in one.points:
            frame.parts.append(f'<circle cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="4.5" '
                               f'fill="{PALETTE[index % len(PALETTE)]}"/>')
    frame.legend([s.name for s in series], front=bool(front))
    return frame.svg()


def heatmap(matrix: list[list[int]], rows: list[str], columns: list[str], title: str,
            x_label: str, y_label: str) -> str:
    """A confusion matrix: counts in cells, darker blue for more."""
    cell = 64
    left, top = 110, 44
    width = max(380, left + cell * len(columns) + 20)
    height = top + cell * len(rows) + 56
    peak = max((v for row in matrix for v in row), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
             f'<rect width="{width}" height="{height}" fill="#fff"/>',
             f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14" '
             f'font-weight="bold">{escape(title)}</text>']
    for r, row in enumerate(matrix):
        for c, value in enumerate(row):
            shade = 245 - int(190 * value / peak)
            fill = f"rgb({shade},{shade + 5 if shade < 250 else 250},255)"
            ink = "#fff" if value / peak > 0.55 else "#111"
            x, y = left + c * cell, top + r * cell
            parts.append(f'<rect x="{x}" y="{y}" width="{cell}" '
                         f'height="{cell}" fill="{fill}" stroke="#fff"/>'
                         f'<text x="{x + cell / 2}" y="{y + cell / 2 + 5}" '
                         f'text-anchor="middle" font-size="13" fill="{ink}">{value}</text>')
    for r, name in enumerate(rows):
        parts.append(f'<text x="{left - 6}" y="{top + r * cell + cell / 2 + 4}" text-anchor="end" '
                     f'font-size="11">{escape(name[:16])}</text>')
    for c, name in enumerate(columns):
        parts.append(f'<text x="{left + c * cell + cell / 2}" y="{top + len(rows) * cell + 16}" '
                     f'text-anchor="middle" font-size="11">{escape(name[:11])}</text>')
    parts.append(f'<text x="{left + cell * len(columns) / 2}" y="{height - 8}" '
                 f'text-anchor="middle" font-size="12">{escape(x_label)}</text>')
    parts.append(f'<text transform="translate(14 {top + cell * len(rows) / 2}) rotate(-90)" '
                 f'text-anchor="middle" font-size="12">{escape(y_label)}</text>')
    return "".join(parts) + "</svg>"


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points no other point beats on both: fewer tokens (x) and a higher score (y)."""
    front: list[tuple[float, float]] = []
    best: Optional[float] = None
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if best is None or y > best:
            front.append((x, y))
            best = y
    return front
