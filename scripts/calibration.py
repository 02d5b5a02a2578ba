#!/usr/bin/env python3
"""Calibration statistics of a taosim run folder, against the observed facts (docs/calibration.md).

Usage: python3 scripts/calibration.py OUT_DIR

Reads traces.arrow (traced paths), subnets.arrow, events.arrow and summary.arrow with pyarrow and
prints, with a 95% interval over paths where it applies:
  - total pool TAO at days 0, 60, 120, 180 (observed: 2.00M on 2026-04-11, 1.97M on 2026-09-30);
  - 60-day log returns of spot prices across subnets, days 0-60 (observed: mean -0.19, sd 0.38);
  - 173-day log returns where the horizon allows (observed: mean -0.34, sd 0.87);
  - prunings per 30 days (observed: about 4, one every 7.5 days);
  - active subnets with zero emission share at the horizon;
  - spirals per path.
"""
import math
import sys

import pyarrow.ipc as ipc


def table(path):
    with ipc.open_file(path) as f:
        return f.read_all().to_pylist()


def summary_steps(traces):
    """Steps in the horizon (the last trace sample's step)."""
    return max(r["step"] for r in traces)


def mean_ci(xs):
    n = len(xs)
    if n == 0:
        return float("nan"), float("nan")
    m = sum(xs) / n
    if n < 2:
        return m, float("nan")
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    return m, 1.96 * sd / math.sqrt(n)


def main(out):
    traces = table(f"{out}/traces.arrow")
    summary = table(f"{out}/summary.arrow")[0]
    events = table(f"{out}/events.arrow")
    days = max(r["day"] for r in traces)
    paths = summary["paths"]
    by_path_day = {}
    price = {}
    start_tao = {}
    for r in traces:
        if r["step"] == 0:
            start_tao[(r["path"], r["netuid"])] = r["tao"]
        if r["active"]:
            key = (r["path"], round(r["day"]))
            by_path_day[key] = by_path_day.get(key, 0.0) + r["tao"]
            price[(r["path"], round(r["day"]), r["netuid"])] = r["price"]
    print(f"run: {paths} paths, {days:.0f} days; traced paths: {len({k[0] for k in by_path_day})}")
    for d in (0, 30, 60, 90, 120, 150, 180):
        if d <= days + 0.5:
            m, h = mean_ci([v for (p, dd), v in by_path_day.items() if dd == d])
            print(f"pool TAO total, day {d:3d}: {m:12,.0f} ± {h:,.0f}")
    # A slot pruned before the end of a span holds another subnet by then: leave it out.
    pruned_day = {}
    for e in events:
        if e["kind"] == "pruned":
            key = (e["path"], e["netuid"])
            pruned_day[key] = min(pruned_day.get(key, math.inf), e["step"] * days / summary_steps(traces))
    for span in (60, 173):
        if span > days + 0.5:
            continue
        rets = []
        for (p, d, u), p0 in price.items():
            # Not-yet-emitting startup artifacts (a pool under 10 TAO, like SN96 on 2026-04-11)
            # are not in the observed sample of established subnets.
            if d != 0 or p0 <= 0 or pruned_day.get((p, u), math.inf) <= span:
                continue
            if start_tao.get((p, u), 0.0) < 10.0:
                continue
            p1 = price.get((p, span, u))
            if p1 and p1 > 0:
                rets.append(math.log(p1 / p0))
        m = sum(rets) / len(rets)
        sd = math.sqrt(sum((x - m) ** 2 for x in rets) / (len(rets) - 1))
        rets.sort()
        med = rets[len(rets) // 2]
        iqr = rets[(3 * len(rets)) // 4] - rets[len(rets) // 4]
        print(
            f"{span}-day log return across subnets: mean {m:+.3f}, median {med:+.3f}, "
            f"sd {sd:.3f}, robust sd (IQR/1.349) {iqr / 1.349:.3f} "
            f"(n = {len(rets)}: subnets emitting at the start and not pruned within the span)"
        )
    print(f"pool TAO total at the horizon, all {paths} paths: {summary['pool_tao_end_mean']:12,.0f} (mean)")
    prunes = [0] * paths
    for e in events:
        if e["kind"] == "pruned":
            prunes[e["path"]] += 1
    m, h = mean_ci([30.0 * x / days for x in prunes])
    print(f"prunings per 30 days: {m:.2f} ± {h:.2f}")
    print(f"zero-share subnets at the horizon: {summary['zero_share_end_mean']:.1f} (mean)")
    print(f"spirals per path: {summary['spirals_mean']:.2f} ± {1.96 * summary['spirals_se']:.2f}")
    print(
        "P(any spiral) {:.3f} [{:.3f}, {:.3f}]".format(
            summary["p_any_spiral"], summary["p_any_spiral_lo"], summary["p_any_spiral_hi"]
        )
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
