#!/usr/bin/env python3
"""Compares two bench/run results files (`--json` output): did a change help?

Usage: compare.py BEFORE.jsonl AFTER.jsonl [--conns 16] [--svg PATH] [--before-label L] [--after-label L]
Prints a markdown table (req/s and server CPU per request, before → after, for the scenarios
both runs have at that concurrency) and, with --svg, a chart of the CPU per request: the figure
that does not depend on what else the machine was running.
"""
import argparse
import sys

from report import bar_chart, fmt_rate, load


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--svg")
    ap.add_argument("--before-label", default="before")
    ap.add_argument("--after-label", default="after")
    a = ap.parse_args()
    before = {r["name"]: r for r in load(a.before)[0] if r["conns"] == a.conns}
    after = {r["name"]: r for r in load(a.after)[0] if r["conns"] == a.conns}
    names = [n for n in after if n in before]
    if not names:
        print(f"no scenario at {a.conns} connections in both files", file=sys.stderr)
        return 1
    print(f"| scenario ({a.conns} connections) | req/s {a.before_label} | req/s {a.after_label} | "
          f"CPU/req {a.before_label} | CPU/req {a.after_label} | CPU ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for n in names:
        b, f = before[n], after[n]
        print(f"| {n} | {fmt_rate(b['rps'])} | {fmt_rate(f['rps'])} | {b['cpu_us_per_req']:,.0f} µs | "
              f"{f['cpu_us_per_req']:,.0f} µs | {f['cpu_us_per_req'] / max(b['cpu_us_per_req'], 1e-9):.2f}× |")
    if a.svg:
        write_svg(a.svg, names, before, after, a)
    return 0


def write_svg(path, names, before, after, a):
    """Two bars per scenario (before, after): server CPU µs per request, log scale."""
    groups = [(n, [before[n]["cpu_us_per_req"], after[n]["cpu_us_per_req"]]) for n in names]
    bar_chart(path, f"Server CPU per request, µs (log scale; shorter is better), {a.conns} connections",
              "", [a.before_label, a.after_label], groups, lambda v: f"{v:,.0f} µs",
              colors=["#bab0ac", "#4c78a8"])


if __name__ == "__main__":
    sys.exit(main())
