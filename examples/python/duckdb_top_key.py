"""Which swept key moves the spiral probability most? (DuckDB)

Reads a sweep's output folder (`taosim sweep CONFIG --out DIR`). The Arrow IPC files are opened
with pyarrow and queried in place by DuckDB (it scans Python variables holding Arrow tables).

    python3 examples/python/duckdb_top_key.py out/staker-behaviour

Prints the key ranked first for `p_any_spiral` under each method of the sweep's design, then the
swept point with the highest spiral probability and its 95% interval.
"""

import sys
from pathlib import Path

import duckdb
import pyarrow.ipc as ipc

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/staker-behaviour")
sensitivity = ipc.open_file(out / "sensitivity.arrow").read_all()
summary = ipc.open_file(out / "summary.arrow").read_all()

top = duckdb.sql(
    """
    SELECT method, key, value, lo, hi
    FROM sensitivity
    WHERE estimate = 'p_any_spiral' AND rank = 1
    ORDER BY method
    """
).fetchall()
for method, key, value, lo, hi in top:
    interval = "" if lo is None else f"  [{lo:.3f}, {hi:.3f}]"
    print(f"top key for p_any_spiral ({method}): {key}  {value:.3f}{interval}")

((point, p, lo, hi),) = duckdb.sql(
    """
    SELECT point, p_any_spiral, p_any_spiral_lo, p_any_spiral_hi
    FROM summary
    ORDER BY p_any_spiral DESC, point
    LIMIT 1
    """
).fetchall()
print(f"highest p_any_spiral: point {point}: {p:.3f}  [{lo:.3f}, {hi:.3f}]")
