#!/usr/bin/env python3
"""Draws fields of a CSV over its first field as an SVG: series on a left axis and, optionally, on a right axis.
No plotting library needed. A series is FIELD[/DIVISOR]:COLOUR[:LABEL].

    bench/plot_series.py soak.csv docs/soak.svg --left server_rss_kib/1024:#c0392b:resident \\
        --left heap_in_use_kib/1024:#2980b9:heap --right clients:#27ae60:clients --title "server memory, MiB"
"""
import argparse
import csv

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 900, 380, 70, 70, 30, 60


def parse_series(text):
    field, colour, *label = text.split(":")
    field, _, divisor = field.partition("/")
    return {"field": field, "divisor": float(divisor or 1), "colour": colour, "label": label[0] if label else field}


def scaled(row, series):
    value = row.get(series["field"], "")
    return float(value) / series["divisor"] if value not in ("", None) else None


def axis_top(rows, series_list):
    values = [v for s in series_list for r in rows if (v := scaled(r, s)) is not None]
    return (max(values) * 1.1 if values and max(values) > 0 else 1.0)


def draw(rows, x_key, left, right, title):
    x_max = max(float(r[x_key]) for r in rows) or 1
    tops = {"left": axis_top(rows, left), "right": axis_top(rows, right)}

    def x(value):
        return LEFT + (WIDTH - LEFT - RIGHT) * value / x_max

    def y(value, top):
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" '
             f'font-size="12"><rect width="100%" height="100%" fill="white"/>']
    for i in range(6):
        value = tops["left"] * i / 5
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value, tops["left"]):.1f}" '
                     f'y2="{y(value, tops["left"]):.1f}" stroke="#eee"/><text x="{LEFT - 6}" '
                     f'y="{y(value, tops["left"]) + 4:.1f}" text-anchor="end">{value:.0f}</text>')
        if right:
            value = tops["right"] * i / 5
            parts.append(f'<text x="{WIDTH - RIGHT + 6}" y="{y(value, tops["right"]) + 4:.1f}">{value:.0f}</text>')
    for i in range(11):
        t = x_max * i / 10
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{t:.0f}</text>')
    legend = []
    for side, series_list in (("left", left), ("right", right)):
        for s in series_list:
            points = " ".join(f"{x(float(r[x_key])):.1f},{y(v, tops[side]):.1f}"
                              for r in rows if (v := scaled(r, s)) is not None)
            parts.append(f'<polyline fill="none" stroke="{s["colour"]}" stroke-width="1.5" points="{points}"/>')
            legend.append(f'<tspan fill="{s["colour"]}">{s["label"]}{" (right axis)" if side == "right" else ""}'
                          f'</tspan>')
    parts.append(f'<text x="{LEFT}" y="18">{title}</text>')
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 6}">over {x_key}: {", ".join(legend)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("svg")
    parser.add_argument("--left", action="append", type=parse_series, required=True)
    parser.add_argument("--right", action="append", type=parse_series, default=[])
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    with open(args.csv) as handle:
        rows = list(csv.DictReader(handle))
    x_key = next(iter(rows[0]))
    with open(args.svg, "w") as handle:
        handle.write(draw(rows, x_key, args.left, args.right, args.title))


if __name__ == "__main__":
    main()
