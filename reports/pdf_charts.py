"""The PDF report's charts drawn with reportlab's own graphics: vector shapes, no raster.

AGP, time-in-ranges bar, daily profiles and finger-sticks by hour, with the look the
matplotlib versions had (same sizes, colours, limits and ticks). matplotlib spent ~70 % of a
PDF in these charts, a quarter of it in its layout step (#23); a ``Drawing`` is placed by
reportlab like any flowable and costs a few milliseconds. Text in the charts (tick labels,
day titles, percents, legend) uses the report's font, so it is real, extractable text.
"""

from __future__ import annotations

import numpy as np
from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm

from glycemia import display
from glycemia.units import MMOL_L, from_mg_dl
from reports.figures import BAND_KEYS, COLOURS

TARGET = colors.HexColor("#d8f3dc")
AGP = colors.HexColor("#0b5cad")
TRACE = colors.HexColor("#1b1f24")
AXIS = colors.HexColor("#57606a")
# matplotlib's default colour cycle (tab10), which the meter chart used.
CYCLE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
WIDTH = 182 * mm


def _values(values, unit: str) -> np.ndarray:
    return np.array([np.nan if x is None else from_mg_dl(x, unit) for x in values], dtype="float64")


def _runs(ok: np.ndarray):
    """[start, end) of the runs of True in ``ok``."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype("int8"), [0]))))
    return zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True)


def _points(xs: np.ndarray, ys: np.ndarray) -> list[float]:
    return np.column_stack((xs, ys)).ravel().tolist()


class _Axes:
    """A plot area inside a drawing: data (x, y) → drawing points, clipped to the y range."""

    def __init__(self, x0, y0, width, height, *, xmax, ymax):
        self.x0, self.y0, self.w, self.h = x0, y0, width, height
        self.sx, self.sy = width / xmax, height / ymax
        self.ymax = ymax

    def x(self, value):
        return self.x0 + np.asarray(value, dtype="float64") * self.sx

    def y(self, value):
        return self.y0 + np.clip(np.asarray(value, dtype="float64"), 0, self.ymax) * self.sy

    def band(self, d: Drawing, low: float, high: float) -> None:
        y0, y1 = float(self.y(low)), float(self.y(high))
        d.add(Rect(self.x0, y0, self.w, y1 - y0, fillColor=TARGET, strokeColor=None))

    def lines(self, d: Drawing, xs, ys, *, colour, width: float) -> None:
        ok = np.isfinite(ys)
        px, py = self.x(xs), self.y(np.where(ok, ys, 0))
        for s, e in _runs(ok):
            if e - s > 1:
                d.add(
                    PolyLine(
                        _points(px[s:e], py[s:e]),
                        strokeColor=colour,
                        strokeWidth=width,
                        strokeLineJoin=1,
                    )
                )

    def fill(self, d: Drawing, xs, lower, upper, *, colour, opacity: float) -> None:
        ok = np.isfinite(lower) & np.isfinite(upper)
        px = self.x(xs)
        lo, hi = self.y(np.where(ok, lower, 0)), self.y(np.where(ok, upper, 0))
        for s, e in _runs(ok):
            if e - s > 1:
                outline = _points(px[s:e], lo[s:e]) + _points(px[s:e][::-1], hi[s:e][::-1])
                d.add(Polygon(outline, fillColor=colour, fillOpacity=opacity, strokeColor=None))

    def frame(self, d: Drawing) -> None:
        """Left and bottom spines (matplotlib's without top and right)."""
        d.add(Line(self.x0, self.y0, self.x0 + self.w, self.y0, strokeColor=AXIS, strokeWidth=0.6))
        d.add(Line(self.x0, self.y0, self.x0, self.y0 + self.h, strokeColor=AXIS, strokeWidth=0.6))

    def y_ticks(self, d: Drawing, ticks, *, font: str, size: float = 6.5) -> None:
        for value in ticks:
            y = float(self.y(value))
            d.add(Line(self.x0 - 2, y, self.x0, y, strokeColor=AXIS, strokeWidth=0.5))
            d.add(
                String(
                    self.x0 - 3,
                    y - size / 3,
                    f"{value:g}",
                    fontName=font,
                    fontSize=size,
                    textAnchor="end",
                    fillColor=AXIS,
                )
            )

    def hour_ticks(self, d: Drawing, *, font: str, size: float = 6.5) -> None:
        for h in range(0, 25, 3):
            x = float(self.x(h))
            d.add(Line(x, self.y0, x, self.y0 - 2, strokeColor=AXIS, strokeWidth=0.5))
            d.add(
                String(
                    x,
                    self.y0 - 2 - size,
                    f"{h:02d}:00",
                    fontName=font,
                    fontSize=size,
                    textAnchor="middle",
                    fillColor=AXIS,
                )
            )


def _ticks(top: float, unit: str, *, mg_step: float, mmol_step: float) -> list[float]:
    step = mmol_step if unit == MMOL_L else mg_step
    return [i * step for i in range(int(top // step) + 1)]


def _unit_label(d: Drawing, ax: _Axes, unit: str, font: str) -> None:
    label = String(0, 0, unit, fontName=font, fontSize=7, textAnchor="middle", fillColor=AXIS)
    from reportlab.graphics.shapes import Group

    group = Group(label)
    group.translate(3 * mm, ax.y0 + ax.h / 2)
    group.rotate(90)
    d.add(group)


def agp_drawing(metrics: dict, *, unit: str, low: float, high: float, font: str) -> Drawing:
    """Median (line), 25–75 % and 5–95 % bands over 24 h, target range shaded."""
    a = metrics.get("agp") or {}
    d = Drawing(WIDTH, WIDTH * 2.6 / 7.2)
    top = from_mg_dl(350, unit)
    ax = _Axes(14 * mm, 7 * mm, WIDTH - 17 * mm, d.height - 10 * mm, xmax=24, ymax=top)
    hours = np.array(a.get("minutes", []), dtype="float64") / 60
    if hours.size:
        hours = np.append(hours, 24.0)
        p = {}
        for key in ("p5", "p25", "p50", "p75", "p95"):
            curve = _values(a.get(key, []), unit)
            p[key] = np.append(curve, curve[:1])
        ax.band(d, from_mg_dl(low, unit), from_mg_dl(high, unit))
        ax.fill(d, hours, p["p5"], p["p95"], colour=AGP, opacity=0.15)
        ax.fill(d, hours, p["p25"], p["p75"], colour=AGP, opacity=0.35)
        ax.lines(d, hours, p["p50"], colour=AGP, width=2)
    ax.frame(d)
    ax.hour_ticks(d, font=font)
    ax.y_ticks(d, _ticks(top, unit, mg_step=50, mmol_step=5), font=font)
    _unit_label(d, ax, unit, font)
    return d


def tir_drawing(percents: list, *, font: str) -> Drawing:
    """The stacked bar, very low at the bottom, from the five band percents (plan's range)."""
    d = Drawing(15 * mm, 15 * mm * 2.6 / 1.1)
    heights = [max(value or 0.0, 0.6) for value in percents]
    scale = (d.height - 2) / sum(heights)
    bottom = 1.0
    for (band, _key), value, height in zip(BAND_KEYS, percents, heights, strict=True):
        h = height * scale
        colour = colors.HexColor(COLOURS[band])
        d.add(Rect(1.5 * mm, bottom, 12 * mm, h, fillColor=colour, strokeColor=None))
        if (value or 0.0) >= 4:
            d.add(
                String(
                    7.5 * mm,
                    bottom + h / 2 - 2.3,
                    display.percent(value),
                    fontName=font,
                    fontSize=7,
                    textAnchor="middle",
                    fillColor=colors.white,
                )
            )
        bottom += h
    return d


def daily_drawing(metrics: dict, *, unit: str, low: float, high: float, font: str) -> Drawing:
    """Small multiples: seven days a row, one panel per day, target range shaded."""
    profile = metrics.get("profile") or {"step_minutes": 15, "days": {}}
    days = list(profile["days"].items())
    weeks = max(1, (len(days) + 6) // 7)
    row = WIDTH * 1.05 / 7.2
    d = Drawing(WIDTH, row * weeks)
    top = from_mg_dl(400, unit)
    left, gap = 9 * mm, 1.5 * mm
    panel = (WIDTH - left - 6 * gap) / 7
    step = profile["step_minutes"] / 60
    ticks = _ticks(top, unit, mg_step=200, mmol_step=10)
    for i in range(weeks * 7):
        w, col = divmod(i, 7)
        y0 = d.height - (w + 1) * row + 2 * mm
        ax = _Axes(left + col * (panel + gap), y0, panel, row - 6 * mm, xmax=24, ymax=top)
        ax.band(d, from_mg_dl(low, unit), from_mg_dl(high, unit))
        if i < len(days):
            date, values = days[i]
            y = _values(values, unit)
            ax.lines(d, np.arange(y.size) * step, y, colour=TRACE, width=0.7)
            d.add(
                String(
                    ax.x0 + panel / 2,
                    y0 + ax.h + 1.2 * mm,
                    date[5:],
                    fontName=font,
                    fontSize=6,
                    textAnchor="middle",
                    fillColor=TRACE,
                )
            )
        ax.frame(d)
        if col == 0:
            ax.y_ticks(d, ticks, font=font, size=6)
    return d


def meter_drawing(
    metrics: dict, *, unit: str, low: float, high: float, font: str, label
) -> Drawing:
    """Finger-sticks by local time of day, one colour per meal tag, with a legend."""
    points = metrics.get("points") or []
    d = Drawing(WIDTH, WIDTH * 2.4 / 7.2)
    top = from_mg_dl(400, unit)
    ax = _Axes(14 * mm, 7 * mm, WIDTH - 17 * mm, d.height - 10 * mm, xmax=24, ymax=top)
    ax.band(d, from_mg_dl(low, unit), from_mg_dl(high, unit))
    legend_y = ax.y0 + ax.h - 3 * mm
    for n, tag in enumerate(sorted({p[2] for p in points})):
        colour = colors.HexColor(CYCLE[n % len(CYCLE)])
        chosen = [p for p in points if p[2] == tag]
        xs = ax.x([p[0] / 60 for p in chosen])
        ys = ax.y([from_mg_dl(p[1], unit) for p in chosen])
        for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
            d.add(Circle(x, y, 1.6, fillColor=colour, strokeColor=None))
        lx = ax.x0 + ax.w - 30 * mm
        d.add(Circle(lx, legend_y - n * 3.2 * mm + 2, 1.6, fillColor=colour, strokeColor=None))
        d.add(
            String(
                lx + 2.5 * mm,
                legend_y - n * 3.2 * mm,
                label(tag),
                fontName=font,
                fontSize=6,
                fillColor=TRACE,
            )
        )
    ax.frame(d)
    ax.hour_ticks(d, font=font)
    ax.y_ticks(d, _ticks(top, unit, mg_step=100, mmol_step=5), font=font)
    _unit_label(d, ax, unit, font)
    return d
