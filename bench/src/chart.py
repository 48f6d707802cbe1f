#!/usr/bin/env python3
"""Draws bench/run.sh's summary as an SVG chart: one group of bars per row
(mactux, proot, qemu-x86_64), each bar the runner's time over native's on a
log scale, the native line at 1x and the row's goal as a red tick. Cells that
are not figures (timeout, failed, n/a) are written where the bar would be.
Standard library only.

usage: chart.py SUMMARY.tsv OUT.svg TITLE SUBTITLE
SUMMARY.tsv rows: group, label, unit, goal, native, mactux, proot, qemu
(goal: ratio:X, abs:X, plus:X or none; cells: numbers or words)
"""
import math
import sys
from xml.sax.saxutils import escape

RUNNERS = [("mactux", "#1f77b4"), ("proot", "#ff7f0e"), ("qemu-x86_64", "#2ca02c")]
GROUPS = {"micro": "Micro", "real": "Real workloads", "startup": "Start-up and memory"}
LABEL_W, PLOT_W, RIGHT_W = 330, 560, 70
BAR_H, BAR_GAP, ROW_GAP, GROUP_H = 9, 1, 8, 24
TOP, BOTTOM = 74, 40


def num(s):
    try:
        return float(s)
    except ValueError:
        return None


def goal_ratio(goal, native):
    kind, _, v = goal.partition(":")
    if kind == "ratio":
        return float(v)
    if native is None or native <= 0:
        return None
    if kind == "abs":
        return float(v) / native
    if kind == "plus":
        return (native + float(v)) / native
    return None


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    rows = []
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 8:
                rows.append(parts)
    ratios = []
    for r in rows:
        native = num(r[4])
        for cell in r[5:]:
            v = num(cell)
            if v is not None and native:
                ratios.append(v / native)
    # the axis: from a 1-2-5 step at or below the smallest ratio (0.5 at
    # most) to one at or above the largest (10 at least)
    steps = [m * 10.0 ** k for k in range(-3, 7) for m in (1, 2, 5)]
    want_hi = max([10.0] + [x * 1.15 for x in ratios])
    want_lo = min([0.5] + [x / 1.15 for x in ratios])
    hi = min([v for v in steps if v >= want_hi] or [steps[-1]])
    lo = max([v for v in steps if v <= want_lo] or [steps[0]])

    def xpos(ratio):
        ratio = min(max(ratio, lo), hi)
        return LABEL_W + PLOT_W * (math.log10(ratio) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    row_h = len(RUNNERS) * (BAR_H + BAR_GAP) + ROW_GAP
    groups = []
    for r in rows:
        if not groups or groups[-1] != r[0]:
            groups.append(r[0])
    height = TOP + len(rows) * row_h + len(groups) * GROUP_H + BOTTOM
    width = LABEL_W + PLOT_W + RIGHT_W
    out = []
    w = out.append
    w('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
      'font-family="sans-serif" font-size="11">' % (width, height))
    w('<rect width="100%" height="100%" fill="white"/>')
    w('<text x="10" y="20" font-size="15" font-weight="bold">%s</text>' % escape(sys.argv[3]))
    w('<text x="10" y="38" fill="#444">%s</text>' % escape(sys.argv[4]))
    lx = 10
    for name, color in RUNNERS:
        w('<rect x="%d" y="50" width="12" height="10" fill="%s"/>' % (lx, color))
        w('<text x="%d" y="59">%s</text>' % (lx + 16, name))
        lx += 110
    w('<line x1="%d" y1="50" x2="%d" y2="60" stroke="#d62728" stroke-width="2"/>' % (lx + 4, lx + 4))
    w('<text x="%d" y="59">goal for mactux</text>' % (lx + 10))
    w('<text x="%d" y="59" fill="#444">time / native, log scale (lower is better)</text>' % (lx + 120))
    plot_bottom = height - BOTTOM
    # grid: 1, 2, 5 times each power of ten
    ticks = [v for v in steps if lo * 0.999 <= v <= hi * 1.001]
    for v in ticks:
        x = xpos(v)
        strong = abs(v - 1) < 1e-9
        w('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="%s"/>'
          % (x, TOP - 6, x, plot_bottom, "#000" if strong else "#ddd", "1.5" if strong else "1"))
        w('<text x="%.1f" y="%d" text-anchor="middle" fill="#444">%s×</text>'
          % (x, plot_bottom + 14, ("%g" % v)))
    w('<text x="%.1f" y="%d" text-anchor="middle" fill="#444">native = 1×</text>'
      % (xpos(1), plot_bottom + 28))
    y = TOP
    group = None
    for r in rows:
        if r[0] != group:
            group = r[0]
            y += GROUP_H
            w('<text x="10" y="%d" font-weight="bold" font-size="12">%s</text>'
              % (y - 8, escape(GROUPS.get(group, group))))
        native = num(r[4])
        mid = y + (len(RUNNERS) * (BAR_H + BAR_GAP)) / 2
        w('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (LABEL_W - 8, mid + 4, escape(r[1])))
        for i, (name, color) in enumerate(RUNNERS):
            by = y + i * (BAR_H + BAR_GAP)
            cell = r[5 + i]
            v = num(cell)
            if v is not None and native:
                ratio = v / native
                # from the native line: right is slower, left is faster
                x1, xn = xpos(ratio), xpos(1)
                x0 = min(x1, xn)
                w('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s: %s %s, %.2f× native</title></rect>'
                  % (x0, by, max(abs(x1 - xn), 1), BAR_H, color, escape(name), escape(r[1]), cell, escape(r[2]), ratio))
                w('<text x="%.1f" y="%d" font-size="9">%.2f×</text>' % (max(x1, xn) + 3, by + BAR_H - 1, ratio))
            elif cell != "—":
                w('<text x="%.1f" y="%d" font-size="9" fill="%s">%s: %s</text>'
                  % (xpos(1) + 3, by + BAR_H - 1, color, escape(name), escape(cell)))
        g = goal_ratio(r[3], native)
        if g is not None:
            gx = xpos(g)
            w('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#d62728" stroke-width="2"/>'
              % (gx, y - 2, gx, y + len(RUNNERS) * (BAR_H + BAR_GAP) + 1))
        y += row_h
    w('</svg>')
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
