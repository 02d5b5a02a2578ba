"""Which swept key moves the spiral probability most? (polars)

Reads a sweep's output folder (`taosim sweep CONFIG --out DIR`): `sensitivity.arrow` and
`summary.arrow` are Arrow IPC files, which `polars.read_ipc` reads directly.

    python3 examples/python/polars_top_key.py out/staker-behaviour

Prints the key ranked first for `p_any_spiral` under each method of the sweep's design
(grid: main_effect / variance_share; lhs, zip, sobol: spearman; saltelli: sobol_first /
sobol_total), then the swept point with the highest spiral probability and its 95% interval.
"""

import sys
from pathlib import Path

import polars as pl

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/staker-behaviour")
sensitivity = pl.read_ipc(out / "sensitivity.arrow")
summary = pl.read_ipc(out / "summary.arrow")

top = (
    sensitivity.filter((pl.col("estimate") == "p_any_spiral") & (pl.col("rank") == 1))
    .select("method", "key", "value", "lo", "hi")
    .sort("method")
)
for row in top.iter_rows(named=True):
    interval = "" if row["lo"] is None else f"  [{row['lo']:.3f}, {row['hi']:.3f}]"
    print(f"top key for p_any_spiral ({row['method']}): {row['key']}  {row['value']:.3f}{interval}")

worst = summary.sort(["p_any_spiral", "point"], descending=[True, False]).row(0, named=True)
print(
    f"highest p_any_spiral: point {worst['point']}: {worst['p_any_spiral']:.3f}"
    f"  [{worst['p_any_spiral_lo']:.3f}, {worst['p_any_spiral_hi']:.3f}]"
)
