#!/usr/bin/env python3
"""Draws the soak benchmark's per-second samples (eustress-bench-soak --samples FILE) as an SVG: the server's
resident memory and live heap, and its connected clients, over time. No plotting library needed.

    bench/plot_soak.py samples.csv docs/soak.svg
"""
import csv
import sys


def main(source, target):
    with open(source) as handle:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    width, height, left, right, top, bottom = 900, 360, 70, 70, 30, 40
    t_max = max(r["seconds"] for r in rows) or 1
    mem_max = max(max(r["server_rss_kib"], r.get("heap_in_use_kib", 0)) for r in rows) / 1024 * 1.1
    clients_max = max(r["clients"] for r in rows) * 1.1 or 1

    def x(t):
        return left + (width - left - right) * t / t_max

    def y(value, top_value):
        return top + (height - top - bottom) * (1 - value / top_value)

    def line(key, scale, top_value, colour):
        points = " ".join(f"{x(r['seconds']):.1f},{y(r[key] / scale, top_value):.1f}" for r in rows if key in r)
        return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>'

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="12"><rect width="100%" height="100%" fill="white"/>']
    for i in range(6):
        value = mem_max * i / 5
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value, mem_max):.1f}" y2="{y(value, mem_max):.1f}" '
                     f'stroke="#eee"/><text x="{left - 6}" y="{y(value, mem_max) + 4:.1f}" text-anchor="end">'
                     f'{value:.0f}</text>')
        clients = clients_max * i / 5
        parts.append(f'<text x="{width - right + 6}" y="{y(clients, clients_max) + 4:.1f}">{clients:.0f}</text>')
    for i in range(11):
        t = t_max * i / 10
        parts.append(f'<text x="{x(t):.1f}" y="{height - bottom + 16}" text-anchor="middle">{t:.0f}</text>')
    parts.append(line("server_rss_kib", 1024, mem_max, "#c0392b"))
    if "heap_in_use_kib" in rows[0]:
        parts.append(line("heap_in_use_kib", 1024, mem_max, "#2980b9"))
    parts.append(line("clients", 1, clients_max, "#27ae60"))
    parts.append(f'<text x="{left}" y="18">server memory, MiB (red: resident, blue: live heap) and connected '
                 f'clients (green, right axis) over seconds</text>')
    parts.append("</svg>")
    with open(target, "w") as handle:
        handle.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
