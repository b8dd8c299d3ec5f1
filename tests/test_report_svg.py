"""The report's SVG helpers: the Pareto front and round axis ticks."""

from promptsearch.report.svg import Series, _ticks, line_chart, pareto_front, scatter


def test_pareto_front_keeps_points_no_other_beats_on_both_axes():
    points = [(10, 0.5), (20, 0.7), (15, 0.4), (30, 0.7), (5, 0.1), (40, 0.9)]
    assert pareto_front(points) == [(5, 0.1), (10, 0.5), (20, 0.7), (40, 0.9)]


def test_ticks_are_round_and_cover_the_range():
    assert _ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert _ticks(0, 850) == [0, 200, 400, 600, 800]
    assert _ticks(0, 0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]  # an empty range still draws an axis


def test_charts_carry_title_axis_labels_and_escape_names():
    svg = line_chart([Series("a<b", [(0, 0.2), (30, 0.6)])], "T", "LM calls", "score (0–1)")
    assert "<title" not in svg and ">T<" in svg and "LM calls" in svg and "score (0–1)" in svg
    assert "a&lt;b" in svg and "a<b" not in svg
    dots = scatter([Series("s", [(10, 0.5), (20, 0.7)])], [(10, 0.5), (20, 0.7)], "S", "x", "y")
    assert dots.count('r="4.5"') == 2 and "Pareto front" in dots
