#!/usr/bin/env python3
"""Check a taosim output folder against the schemas and invariants of docs/outputs.md.

    python3 tests/python/check_outputs.py OUT_DIR [--paths N]

Reads every file with pyarrow (no other dependency), checks column names, types and
nullability, row counts, value ranges (no NaN or infinity except the documented NaN quantiles
of a point without spirals) and the relationships between the files (events match the subnet
rows' flags and steps; the summary's estimates match the subnet rows). Stops at the first
failure with a message naming the file, column and row, and exits 1; prints one OK line
otherwise. `--paths N` also checks that every point ran exactly N paths.

The checks are vectorised with pyarrow.compute, so run-sized files are fine; only the summary
(one row per point) is walked in Python.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.ipc as ipc
except ImportError:  # pragma: no cover - environment problem, not a check failure
    sys.exit("check_outputs: FAIL: pyarrow is required (python3 -m pip install pyarrow)")

SCHEMA_VERSION = "1"
U16, U32, F64, BOOL, UTF8 = pa.uint16(), pa.uint32(), pa.float64(), pa.bool_(), pa.string()

# (name, type, nullable): must match crates/taosim-cli/src/output.rs and docs/outputs.md.
SUBNETS = [
    ("point", U32, False),
    ("path", U32, False),
    ("netuid", U16, False),
    ("occupant", U32, False),
    ("name", UTF8, False),
    ("start_step", U32, False),
    ("start_price", F64, False),
    ("end_price", F64, False),
    ("start_tao", F64, False),
    ("end_tao", F64, False),
    ("start_alpha", F64, False),
    ("end_alpha", F64, False),
    ("min_price", F64, False),
    ("peak_price", F64, False),
    ("spiral", BOOL, False),
    ("spiral_step", U32, True),
    ("pruned", BOOL, False),
    ("pruned_step", U32, True),
    ("mean_share", F64, False),
    ("cartel_share", F64, False),
    ("staker_return", F64, False),
    ("root_return", F64, False),
    ("exit_slippage_1pct", F64, False),
    ("exit_slippage_10pct", F64, False),
]
EVENTS = [
    ("point", U32, False),
    ("path", U32, False),
    ("step", U32, False),
    ("block", U32, False),
    ("netuid", U16, False),
    ("kind", UTF8, False),
    ("value", F64, False),
    ("value2", F64, False),
]
TRACES = [
    ("point", U32, False),
    ("path", U32, False),
    ("step", U32, False),
    ("day", F64, False),
    ("netuid", U16, False),
    ("active", BOOL, False),
    ("price", F64, False),
    ("moving_price", F64, False),
    ("tao", F64, False),
    ("alpha", F64, False),
    ("share", F64, False),
    ("flow_ema", F64, False),
]
PROPORTIONS = ["p_any_spiral", "p_top10_spiral"]
QUANTILES = ["spiral_days_q10", "spiral_days_q50", "spiral_days_q90"]
SUMMARY_ESTIMATES = (
    [("paths", U32, False)]
    + [(f"{name}{suffix}", F64, False) for name in PROPORTIONS for suffix in ("", "_lo", "_hi")]
    + [(name, F64, False) for name in ["spirals_mean", "spirals_se", "prunings_mean"]]
    + [(name, F64, False) for name in QUANTILES]
    + [(name, F64, False) for name in ["pool_tao_end_mean", "zero_share_end_mean"]]
    + [("spiral_netuid", pa.list_(pa.field("item", U16, nullable=False)), False)]
    + [
        (name, pa.list_(pa.field("item", F64, nullable=False)), False)
        for name in ["spiral_p", "spiral_p_lo", "spiral_p_hi"]
    ]
)
EVENT_KINDS = {"registered", "pruned", "spiral"}
MANIFEST_KEYS = ["config", "seed", "version", "backend", "timings"]
# Relative tolerance of the cross-file sums (f64 means over paths).
REL_TOL = 1e-9
# Wilson bounds may use z = 1.96 or the exact 1.959964: allow for the difference.
WILSON_TOL = 1e-4


class CheckFailed(Exception):
    """The first failed check, with its message."""


def fail(message: str) -> None:
    raise CheckFailed(message)


def read_table(path: Path, table: str) -> pa.Table:
    if not path.is_file():
        fail(f"{path.name}: missing")
    try:
        with pa.memory_map(str(path)) as source:
            reader = ipc.open_file(source)
            result = reader.read_all()
    except pa.ArrowInvalid as err:
        fail(f"{path.name}: not a complete Arrow IPC file ({err}); did the run finish?")
    metadata = result.schema.metadata or {}
    if metadata.get(b"taosim.table") != table.encode():
        fail(f"{path.name}: schema metadata taosim.table is {metadata.get(b'taosim.table')!r}, "
             f"expected {table!r}")
    version = metadata.get(b"taosim.schema_version")
    if version != SCHEMA_VERSION.encode():
        fail(f"{path.name}: schema version {version!r}, this checker knows {SCHEMA_VERSION!r}")
    return result


def check_schema(name: str, table: pa.Table, expected: list[tuple[str, pa.DataType, bool]]) -> None:
    got = [(f.name, f.type, f.nullable) for f in table.schema]
    if [g[0] for g in got] != [e[0] for e in expected]:
        fail(f"{name}: columns {[g[0] for g in got]}, expected {[e[0] for e in expected]}")
    for (column, got_type, got_nullable), (_, want_type, want_nullable) in zip(got, expected):
        if not got_type.equals(want_type, check_metadata=False):
            fail(f"{name}: column {column} has type {got_type}, expected {want_type}")
        if got_nullable != want_nullable:
            fail(f"{name}: column {column} nullable={got_nullable}, expected {want_nullable}")
        if not want_nullable and table.column(column).null_count:
            fail(f"{name}: column {column} has {table.column(column).null_count} nulls")


def first_false(mask: pa.ChunkedArray | pa.Array) -> int | None:
    """Index of the first false (or null) entry of a boolean mask, None when all are true."""
    mask = pc.fill_null(mask, False)
    if pc.all(mask).as_py() in (True, None):
        return None
    return pc.index(mask, False).as_py()


def require(name: str, table: pa.Table, mask, what: str) -> None:
    row = first_false(mask)
    if row is not None:
        sample = {k: v for k, v in table.slice(row, 1).to_pylist()[0].items()
                  if not isinstance(v, list)}
        fail(f"{name}: row {row}: {what}: {sample}")


def finite(table: pa.Table, name: str, columns: list[str]) -> None:
    for column in columns:
        require(name, table, pc.is_finite(table.column(column)), f"{column} must be finite")


def at_least(values, bound: float):
    return pc.greater_equal(values, bound)


def in_unit_interval(values):
    return pc.and_(pc.greater_equal(values, 0.0), pc.less_equal(values, 1.0))


def le_tol(a, b):
    """a <= b up to a relative REL_TOL."""
    slack = pc.multiply(pc.max_element_wise(pc.abs(a), pc.abs(b)), REL_TOL)
    return pc.less_equal(a, pc.add(b, slack))


def float_columns(table: pa.Table) -> list[str]:
    return [f.name for f in table.schema if pa.types.is_floating(f.type)]


def unique_keys(name: str, table: pa.Table, keys: list[str]) -> None:
    if table.num_rows == 0:
        return
    counts = table.group_by(keys).aggregate([([], "count_all")])
    worst = pc.max(counts.column("count_all")).as_py()
    if worst > 1:
        row = pc.index(counts.column("count_all"), worst).as_py()
        fail(f"{name}: key {keys} repeated: {counts.slice(row, 1).to_pylist()[0]}")


def sorted_keys(table: pa.Table, keys: list[str]) -> pa.Table:
    table = table.select(keys)
    return table.take(pc.sort_indices(table, [(k, "ascending") for k in keys]))


def same_rows(what: str, left: pa.Table, right: pa.Table, keys: list[str]) -> None:
    """Compares two multisets of key tuples."""
    a, b = sorted_keys(left, keys), sorted_keys(right, keys)
    if a.num_rows != b.num_rows or not all(
        a.column(k).cast(pa.int64()).equals(b.column(k).cast(pa.int64())) for k in keys
    ):
        a_set = set(map(tuple, zip(*(a.column(k).to_pylist() for k in keys))))
        b_set = set(map(tuple, zip(*(b.column(k).to_pylist() for k in keys))))
        only_a, only_b = sorted(a_set - b_set)[:3], sorted(b_set - a_set)[:3]
        fail(f"{what}: {a.num_rows} vs {b.num_rows} rows of {keys}; "
             f"e.g. only in the first {only_a}, only in the second {only_b}")


def check_manifest(out: Path) -> dict:
    path = out / "manifest.json"
    if not path.is_file():
        fail("manifest.json: missing")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        fail(f"manifest.json: invalid JSON: {err}")
    if not isinstance(manifest, dict):
        fail("manifest.json: not a JSON object")
    missing = [key for key in MANIFEST_KEYS if key not in manifest]
    if missing:
        fail(f"manifest.json: missing keys {missing}")
    return manifest


def check_subnets(subnets: pa.Table) -> None:
    name = "subnets.arrow"
    check_schema(name, subnets, SUBNETS)
    finite(subnets, name, [col for col in float_columns(subnets) if col != "root_return"])
    c = subnets.column
    # The root yield may compound past the float range in extreme configs: +inf, never NaN.
    require(name, subnets, pc.invert(pc.is_nan(c("root_return"))), "root_return must not be NaN")
    for column in ["start_price", "end_price", "min_price", "peak_price",
                   "start_tao", "end_tao", "start_alpha", "end_alpha"]:
        require(name, subnets, pc.greater(c(column), 0.0), f"{column} must be > 0")
    for column in ["start_price", "end_price"]:
        require(name, subnets, le_tol(c("min_price"), c(column)), f"min_price <= {column}")
        require(name, subnets, le_tol(c(column), c("peak_price")), f"{column} <= peak_price")
    for column in ["mean_share", "cartel_share", "exit_slippage_1pct", "exit_slippage_10pct"]:
        require(name, subnets, in_unit_interval(c(column)), f"{column} must be in [0, 1]")
    for column in ["staker_return", "root_return"]:
        require(name, subnets, at_least(c(column), -1.0), f"{column} must be >= -1")
    for flag in ["spiral", "pruned"]:
        step = c(f"{flag}_step")
        require(name, subnets, pc.equal(pc.is_valid(step), c(flag)),
                f"{flag}_step must be set exactly when {flag}")
        require(name, subnets,
                pc.or_kleene(pc.is_null(step), pc.greater_equal(step, c("start_step"))),
                f"{flag}_step must be >= start_step")
    require(name, subnets,
            pc.or_kleene(pc.invert(pc.and_(c("spiral"), c("pruned"))),
                         pc.less_equal(c("spiral_step"), c("pruned_step"))),
            "a pruned spiral must have spiral_step <= pruned_step")
    require(name, subnets, pc.or_(pc.not_equal(c("occupant"), 0), pc.equal(c("start_step"), 0)),
            "occupant 0 (the initial subnet) must have start_step 0")
    unique_keys(name, subnets, ["point", "path", "netuid", "occupant"])
    # A slot gets a new occupant only after pruning the previous one.
    if subnets.num_rows:
        last = subnets.group_by(["point", "path", "netuid"]).aggregate([("occupant", "max")])
        joined = subnets.select(["point", "path", "netuid", "occupant", "pruned"]).join(
            last, ["point", "path", "netuid"])
        require(name, joined,
                pc.or_(pc.equal(joined.column("occupant"), joined.column("occupant_max")),
                       joined.column("pruned")),
                "an occupant followed by another in its slot must be pruned")


def check_events(events: pa.Table, subnets: pa.Table) -> None:
    name = "events.arrow"
    check_schema(name, events, EVENTS)
    finite(events, name, ["value", "value2"])
    kinds = set(pc.unique(events.column("kind")).to_pylist())
    if not kinds <= EVENT_KINDS:
        fail(f"{name}: unknown kinds {sorted(kinds - EVENT_KINDS)}")
    for column in ["value", "value2"]:
        require(name, events, at_least(events.column(column), 0.0), f"{column} must be >= 0")
    unique_keys(name, events, ["point", "path", "step", "netuid", "kind"])
    # Blocks advance with steps within a path.
    ordered = events.take(pc.sort_indices(
        events, [("point", "ascending"), ("path", "ascending"), ("step", "ascending")]))
    if ordered.num_rows > 1:
        head, tail = ordered.slice(0, ordered.num_rows - 1), ordered.slice(1)
        same_path = pc.and_(pc.equal(head.column("point"), tail.column("point")),
                            pc.equal(head.column("path"), tail.column("path")))
        later_step = pc.greater(tail.column("step"), head.column("step"))
        ok = pc.or_(pc.invert(pc.and_(same_path, later_step)),
                    pc.greater(tail.column("block"), head.column("block")))
        require(name, tail, ok, "block must increase with step within a path")
    c = subnets.column
    is_kind = lambda kind: pc.equal(events.column("kind"), kind)  # noqa: E731
    keys = ["point", "path", "netuid", "step"]
    for kind, rows, step in [
        ("spiral", c("spiral"), "spiral_step"),
        ("pruned", c("pruned"), "pruned_step"),
        ("registered", pc.greater(c("occupant"), 0), "start_step"),
    ]:
        expected = subnets.filter(rows).select(["point", "path", "netuid", step]).rename_columns(keys)
        same_rows(f"{kind} events vs subnets.arrow rows with {step}",
                  events.filter(is_kind(kind)), expected, keys)


def check_traces(traces: pa.Table, subnets: pa.Table, paths: int | None) -> None:
    name = "traces.arrow"
    check_schema(name, traces, TRACES)
    finite(traces, name, float_columns(traces))
    c = traces.column
    require(name, traces, at_least(c("day"), 0.0), "day must be >= 0")
    for column in ["price", "moving_price", "tao", "alpha"]:
        require(name, traces, at_least(c(column), 0.0), f"{column} must be >= 0")
    # The moving price starts at 0 (the chain's default) until a subnet's first emission block.
    for column in ["price", "tao", "alpha"]:
        require(name, traces, pc.or_(pc.invert(c("active")), pc.greater(c(column), 0.0)),
                f"{column} must be > 0 in an active slot")
    require(name, traces, in_unit_interval(c("share")), "share must be in [0, 1]")
    unique_keys(name, traces, ["point", "path", "step", "netuid"])
    if traces.num_rows == 0:
        return
    if paths is not None:
        require(name, traces, pc.less(c("path"), paths), f"path must be < --paths {paths}")
    # Every sample of a point covers the same slots, and a step has one day.
    per_sample = traces.group_by(["point", "path", "step"]).aggregate(
        [([], "count_all"), ("share", "sum"), ("day", "min"), ("day", "max")])
    require("traces.arrow (per sample)", per_sample,
            pc.less_equal(per_sample.column("share_sum"), 1.0 + 1e-6),
            "shares of one sample must sum to <= 1")
    require("traces.arrow (per sample)", per_sample,
            pc.equal(per_sample.column("day_min"), per_sample.column("day_max")),
            "one sample must have one day")
    slots = per_sample.group_by(["point"]).aggregate(
        [("count_all", "min"), ("count_all", "max")])
    require("traces.arrow (per point)", slots,
            pc.equal(slots.column("count_all_min"), slots.column("count_all_max")),
            "every sample of a point must cover the same number of slots")
    steps = per_sample.group_by(["point", "step"]).aggregate([("day_min", "min"), ("day_max", "max")])
    require("traces.arrow (per step)", steps,
            pc.equal(steps.column("day_min_min"), steps.column("day_max_max")),
            "a step must map to the same day in every path")
    traced = per_sample.group_by(["point", "path"]).aggregate([])
    known = subnets.group_by(["point", "path"]).aggregate([])
    missing = traced.join(known, ["point", "path"], join_type="left anti")
    if missing.num_rows:
        fail(f"{name}: traced paths without subnet rows, e.g. {missing.slice(0, 3).to_pylist()}")


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    denominator = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


def check_proportion(where: str, p: float, lo: float, hi: float, n: int) -> None:
    values = (p, lo, hi)
    if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in values):
        fail(f"{where}: (p, lo, hi) = {values} must be finite and in [0, 1]")
    if not lo <= p <= hi:
        fail(f"{where}: lo <= p <= hi fails: {values}")
    k = round(p * n)
    if abs(k - p * n) > 1e-6 * max(1, n):
        fail(f"{where}: p = {p} is not a count over {n} paths")
    want_lo, want_hi = wilson(k, n)
    if abs(lo - want_lo) > WILSON_TOL or abs(hi - want_hi) > WILSON_TOL:
        fail(f"{where}: interval ({lo}, {hi}) is not the Wilson 95% interval "
             f"({want_lo:.6f}, {want_hi:.6f}) of {k}/{n}")


def close(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(1.0, abs(a), abs(b))


def check_summary(summary: pa.Table, subnets: pa.Table, paths: int | None) -> int:
    """Returns the number of parameter columns."""
    name = "summary.arrow"
    columns = summary.column_names
    if not columns or columns[0] != "point" or "paths" not in columns:
        fail(f"{name}: columns must start with point and include paths: {columns}")
    parameters = columns[1:columns.index("paths")]
    # A swept key's column is float64 (numeric keys) or utf8 (words such as `chain.regime`).
    kinds = [UTF8 if summary.schema.field(p).type == UTF8 else F64 for p in parameters]
    expected = ([("point", U32, False)] + [(p, k, False) for p, k in zip(parameters, kinds)]
                + SUMMARY_ESTIMATES)
    check_schema(name, summary, expected)
    finite(summary, name,
           [c for c in float_columns(summary) if c not in QUANTILES and c != "spirals_se"])
    unique_keys(name, summary, ["point"])

    # Per point and path, from the subnet rows: spirals, prunings, pool TAO at the horizon.
    c = subnets.column
    per_path = subnets.append_column(
        "spiral_count", pc.cast(c("spiral"), pa.int64())
    ).append_column(
        "pruned_count", pc.cast(c("pruned"), pa.int64())
    ).append_column(
        # Pruned occupants' pools were dissolved before the horizon.
        "tao_end", pc.if_else(c("pruned"), 0.0, c("end_tao"))
    ).group_by(["point", "path"]).aggregate(
        [("spiral_count", "sum"), ("pruned_count", "sum"), ("tao_end", "sum")])
    by_point: dict[int, dict[str, float]] = {}
    for row in per_path.to_pylist():
        acc = by_point.setdefault(row["point"], {"paths": 0, "spirals": 0, "any": 0,
                                                 "prunings": 0, "tao_end": 0.0})
        acc["paths"] += 1
        acc["spirals"] += row["spiral_count_sum"]
        acc["any"] += row["spiral_count_sum"] > 0
        acc["prunings"] += row["pruned_count_sum"]
        acc["tao_end"] += row["tao_end_sum"]

    summary_points = set(summary.column("point").to_pylist())
    if summary_points != set(by_point):
        fail(f"{name}: points {sorted(summary_points)} but subnets.arrow has points "
             f"{sorted(by_point)}")
    for row in summary.to_pylist():
        where = f"{name}: point {row['point']}"
        n = row["paths"]
        truth = by_point[row["point"]]
        if n < 1:
            fail(f"{where}: paths = {n}")
        if paths is not None and n != paths:
            fail(f"{where}: paths = {n}, expected --paths {paths}")
        if truth["paths"] != n:
            fail(f"{where}: paths = {n} but subnets.arrow has {truth['paths']} paths")
        for prop in PROPORTIONS:
            check_proportion(f"{where}: {prop}", row[prop], row[f"{prop}_lo"],
                             row[f"{prop}_hi"], n)
        if row["p_top10_spiral"] > row["p_any_spiral"]:
            fail(f"{where}: p_top10_spiral > p_any_spiral")
        if not close(row["p_any_spiral"], truth["any"] / n):
            fail(f"{where}: p_any_spiral = {row['p_any_spiral']} but {truth['any']} of {n} "
                 f"paths have a spiral in subnets.arrow")
        if not close(row["spirals_mean"], truth["spirals"] / n):
            fail(f"{where}: spirals_mean = {row['spirals_mean']} but subnets.arrow has "
                 f"{truth['spirals']} spirals over {n} paths")
        if not close(row["prunings_mean"], truth["prunings"] / n):
            fail(f"{where}: prunings_mean = {row['prunings_mean']} but subnets.arrow has "
                 f"{truth['prunings']} prunings over {n} paths")
        if not close(row["pool_tao_end_mean"], truth["tao_end"] / n):
            fail(f"{where}: pool_tao_end_mean = {row['pool_tao_end_mean']} but the unpruned "
                 f"subnet rows' end_tao average {truth['tao_end'] / n} per path")
        if math.isnan(row["spirals_se"]) != (n == 1):
            fail(f"{where}: spirals_se = {row['spirals_se']} must be NaN exactly when the point "
                 f"has one path ({n})")
        for column in ["spirals_se", "zero_share_end_mean"]:
            if row[column] < 0 or math.isinf(row[column]):
                fail(f"{where}: {column} = {row[column]} must be finite and >= 0")
        if row["pool_tao_end_mean"] <= 0:
            fail(f"{where}: pool_tao_end_mean = {row['pool_tao_end_mean']} <= 0")
        quantiles = [row[q] for q in QUANTILES]
        if truth["spirals"] == 0:
            if not all(math.isnan(q) for q in quantiles):
                fail(f"{where}: no spiral, so the spiral_days quantiles must be NaN: {quantiles}")
        elif not (all(math.isfinite(q) for q in quantiles)
                  and 0 <= quantiles[0] <= quantiles[1] <= quantiles[2]):
            fail(f"{where}: spiral_days quantiles must be finite and 0 <= q10 <= q50 <= q90: "
                 f"{quantiles}")
        lists = [row[k] for k in ["spiral_netuid", "spiral_p", "spiral_p_lo", "spiral_p_hi"]]
        if len({len(values) for values in lists}) != 1:
            fail(f"{where}: spiral_netuid/spiral_p/_lo/_hi lengths differ: "
                 f"{[len(values) for values in lists]}")
        if len(set(lists[0])) != len(lists[0]):
            fail(f"{where}: spiral_netuid repeats a netuid: {lists[0]}")
        for netuid, p, lo, hi in zip(*lists):
            check_proportion(f"{where}: spiral_p of netuid {netuid}", p, lo, hi, n)
            if p > row["p_any_spiral"] + 1e-12:
                fail(f"{where}: spiral_p of netuid {netuid} = {p} > p_any_spiral")
    return len(parameters)


def check(out: Path, paths: int | None) -> str:
    if not out.is_dir():
        fail(f"{out}: not a folder")
    manifest = check_manifest(out)
    subnets = read_table(out / "subnets.arrow", "subnets")
    check_subnets(subnets)
    events = read_table(out / "events.arrow", "events")
    check_events(events, subnets)
    traces_path = out / "traces.arrow"
    traces = read_table(traces_path, "traces") if traces_path.exists() else None
    if traces is not None:
        check_traces(traces, subnets, paths)
    summary = read_table(out / "summary.arrow", "summary")
    parameters = check_summary(summary, subnets, paths)
    total_paths = sum(summary.column("paths").to_pylist())
    trace_rows = "no traces" if traces is None else f"{traces.num_rows} trace rows"
    return (f"{out}: {summary.num_rows} points ({parameters} parameter columns), "
            f"{total_paths} paths, {subnets.num_rows} subnet rows, {events.num_rows} events, "
            f"{trace_rows}; backend {manifest['backend']}, seed {manifest['seed']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="the run's output folder")
    parser.add_argument("--paths", type=int, help="paths every point must have run")
    args = parser.parse_args()
    try:
        line = check(args.out_dir, args.paths)
    except CheckFailed as err:
        print(f"check_outputs: FAIL: {err}", file=sys.stderr)
        return 1
    print(f"check_outputs: OK: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
