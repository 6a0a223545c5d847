#!/usr/bin/env python3
"""wsol_synth_table.py — mean ± std (sample std, n - 1) over seeds of the lines bench/wsol_synth.sh prints
(label seed GT-known Top-1Loc MaxBoxAccV2 Top-1Cls CPU-s), as a Markdown table in the order labels first appear.

    python3 bench/wsol_synth_table.py results.txt
"""
import statistics
import sys

rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 6:  # no class scores (CAM makes maps only): Top-1 Cls not measured
        f = f[:5] + ["nan"] + f[5:]
    if len(f) != 7:
        continue
    rows.setdefault(f[0], []).append([float(x) for x in f[2:]])
print("| method | seeds | GT-known Loc | Top-1 Loc | MaxBoxAccV2 | Top-1 Cls | CPU-s per run |")
print("|---|---:|---:|---:|---:|---:|---:|")
for label, runs in rows.items():
    cols = list(zip(*runs))
    def ms(c):
        if any(x != x for x in c):
            return "–"
        return f"{statistics.mean(c):.2f} ± {statistics.stdev(c):.2f}" if len(c) > 1 else f"{c[0]:.2f}"
    print(f"| {label} | {len(runs)} | " + " | ".join(ms(c) for c in cols[:4]) + f" | {statistics.mean(cols[4]):.0f} |")
