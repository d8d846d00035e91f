#!/usr/bin/env python3
"""Turns bench/run's results (JSON lines) into the markdown table, the target check and an SVG chart.

Usage: report.py RESULTS.jsonl [--svg PATH] [--header TEXT]
Exit status 1 when any scenario had errors (or the refresh storm was not single-flight).
"""
import argparse
import html
import json
import math
import sys


def fmt_us(us):
    if us is None:
        return "–"
    if us >= 1_000_000:
        return f"{us / 1e6:.2f} s"
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.0f} µs"


def fmt_rate(r):
    return f"{r:,.0f}" if r >= 100 else f"{r:,.1f}"


def fmt_rss(kb):
    return f"{kb / 1024:.1f} MiB" if kb else "–"


def load(path):
    rows, extras = [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if r.get("kind", "wrk") == "wrk":
                dur = max(r["duration_us"], 1) / 1e6
                r["rps"] = r["requests"] / dur
                rows.append(r)
            else:
                extras.append(r)
    return rows, extras


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--svg")
    ap.add_argument("--header", default="")
    args = ap.parse_args()
    rows, extras = load(args.results)
    by_key = {(r["name"], r["conns"]): r for r in rows}
    failed = []
    out = []
    if args.header:
        out.append(args.header)
        out.append("")
    out.append("| scenario | conns | req/s | p50 | p99 | errors | server peak RSS | server CPU / req | ratio vs baseline | added latency (p50 / p99) |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        ratios, added = [], ""
        for b in r.get("baselines", []):
            base = by_key.get((b, r["conns"]))
            if base and base["rps"] > 0:
                ratios.append(f"{r['rps'] / base['rps']:.2f}× {b}")
        if r.get("added_over"):
            base = by_key.get((r["added_over"], r["conns"]))
            if base:
                added = f"{r['p50_us'] - base['p50_us']:+,} µs / {r['p99_us'] - base['p99_us']:+,} µs over {r['added_over']}"
        errors = str(r["errors"])
        if r["errors"]:
            failed.append(f"{r['name']} @{r['conns']}: {r['errors']} errors")
            detail = [f"{k} {r[k]}" for k in ("status_errors", "connect", "read", "write", "timeout") if r.get(k)]
            errors += f" ({', '.join(detail)})"
        name = r["name"]
        if r.get("exhausted"):
            name += " ⚠ pool ran out"
        out.append(
            f"| {name} | {r['conns']} | {fmt_rate(r['rps'])} | {fmt_us(r['p50_us'])} | {fmt_us(r['p99_us'])} "
            f"| {errors} | {fmt_rss(r.get('rss_kb'))} ({r.get('server', '')}) | {r.get('cpu_us_per_req', 0):,.0f} µs "
            f"| {' · '.join(ratios) or '(baseline)'} | {added} |"
        )
    for e in extras:
        if e["kind"] == "storm":
            out.append("")
            out.append(
                f"**Refresh storm**: {e['requests']} concurrent GET /api/echo on one session whose access token had expired: "
                f"all done in {e['wall_ms']:.1f} ms (slowest {e['slowest_ms']:.1f} ms), {e['ok']} × 200, "
                f"statuses {e['statuses']}; refresh requests that reached the provider: **{e['provider_refreshes']}** "
                f"(BFF counter `bff_refreshes_total` +{e['bff_refreshes']})."
            )
            if e["provider_refreshes"] != 1 or e["ok"] != e["requests"]:
                failed.append("refresh storm not single-flight or not all 200")
        elif e["kind"] == "redis_commands":
            out.append("")
            per = e["commands"] / e["requests"] if e["requests"] else float("nan")
            out.append(
                f"**Redis commands on a warm session**: {e['commands']:,} Redis commands (health `PING`s left out) "
                f"for {e['requests']:,} proxied requests through the Redis BFF ({per:.6f} per request; `INFO commandstats`)."
            )
        elif e["kind"] == "scale":
            out.append("")
            out.append(
                f"**Scale**: {e['sessions']:,} sessions in Redis: `MEMORY USAGE` {e['memory_usage_bytes']} bytes per session "
                f"(Redis `used_memory` grew {e['used_memory_per_session']:.0f} bytes per session); "
                f"BFF peak RSS {fmt_rss(e['bff_rss_kb'])} after the spread run."
            )
    # Targets.
    def rate(name, conns=None):
        cands = [r for r in rows if r["name"] == name and (conns is None or r["conns"] == conns)]
        return max((r["rps"] for r in cands), default=None)

    def ratio(name, base, conns=None):
        best = None
        for r in rows:
            if r["name"] == name and (conns is None or r["conns"] == conns):
                b = by_key.get((base, r["conns"]))
                if b and b["rps"]:
                    v = r["rps"] / b["rps"]
                    best = v if best is None else max(best, v)
        return best

    targets = []

    def target(what, value, goal, ok_fn, unit=""):
        if value is None:
            targets.append(f"| {what} | not measured | {goal} | – |")
        else:
            targets.append(f"| {what} | {value:,.2f}{unit} | {goal} | {'✅' if ok_fn(value) else '❌'} |")

    target("client_credentials req/s (SQLite)", rate("client_credentials (sqlite)"), "≥ 3,000", lambda v: v >= 3000)
    target("refresh_token req/s (SQLite)", rate("refresh_token (sqlite)"), "≥ 3,000", lambda v: v >= 3000)
    target("GET /api/me/ req/s (SQLite)", rate("GET /api/me/ (sqlite)"), "≥ 15,000", lambda v: v >= 15000)
    target("password grant req/s (SQLite)", rate("password (sqlite)"), "≥ 30", lambda v: v >= 30)
    target("BFF (Redis) / nginx", ratio("BFF /api/echo (redis)", "nginx → echo"), "≥ 0.9", lambda v: v >= 0.9, "×")
    target("BFF (memory) / nginx", ratio("BFF /api/echo (memory)", "nginx → echo"), "≥ 1.0", lambda v: v >= 1.0, "×")
    target("min hyper proxy (per-core) / nginx", ratio("min hyper proxy (per-core) → echo", "nginx → echo"), "(the limit)", lambda v: True, "×")
    rc = next((e for e in extras if e["kind"] == "redis_commands"), None)
    target(
        "Redis commands per proxied request (warm session)",
        rc and rc["requests"] and rc["commands"] / rc["requests"],
        "0",
        lambda v: v < 0.001,
    )
    bff16 = by_key.get(("BFF /api/echo (redis)", 16))
    direct16 = by_key.get(("direct → echo", 16))
    target(
        "BFF (Redis) added p50 over direct @16",
        (bff16["p50_us"] - direct16["p50_us"]) if bff16 and direct16 else None,
        "≤ 150 µs",
        lambda v: v <= 150,
        " µs",
    )
    scale = next((e for e in extras if e["kind"] == "scale"), None)
    target("Redis bytes per session", scale and scale["memory_usage_bytes"], "≤ 1,024", lambda v: v <= 1024)
    target(
        f"BFF RSS with {scale['sessions']:,} sessions" if scale else "BFF RSS with sessions",
        scale and scale["bff_rss_kb"] / 1024,
        "≤ 30 MiB",
        lambda v: v <= 30,
        " MiB",
    )
    prov = [r.get("rss_kb", 0) for r in rows if r.get("server", "").startswith("provider") and "password" not in r["name"]]
    target("provider peak RSS under load (without password grant)", max(prov) / 1024 if prov else None, "≤ 40 MiB", lambda v: v <= 40, " MiB")
    pw = [r.get("rss_kb", 0) for r in rows if "password" in r["name"]]
    target("provider peak RSS under password grant load", max(pw) / 1024 if pw else None, "≤ 40 MiB", lambda v: v <= 40, " MiB")
    out.append("")
    out.append("| target | measured (best of the concurrencies) | goal | met |")
    out.append("|---|---:|---|---|")
    out.extend(targets)
    print("\n".join(out))
    if args.svg:
        write_svg(args.svg, rows, args.header)
    if failed:
        print("\nFAILED: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


def write_svg(path, rows, title):
    """Horizontal bars, log-scale req/s, one bar per scenario and concurrency."""
    names = []
    for r in rows:
        if r["name"] not in names:
            names.append(r["name"])
    conns = sorted({r["conns"] for r in rows})
    groups = []
    for name in names:
        values = []
        for c in conns:
            r = next((r for r in rows if r["name"] == name and r["conns"] == c), None)
            values.append(r["rps"] if r else None)
        groups.append((name, values))
    bar_chart(path, "Latchkey bench/run — req/s (log scale)", title.splitlines()[0] if title else "",
              [f"{c} connections" for c in conns], groups, fmt_rate, vmin=1.0)


def bar_chart(path, heading, subtitle, series, groups, fmt, vmin=None, colors=None):
    """Horizontal log-scale bars: one group per label, one bar per series.

    groups: [(label, [value or None for each series])]; fmt(value) labels a bar.
    """
    colors = colors or ["#4c78a8", "#f58518", "#54a24b", "#e45756"]
    values = [v for _, vs in groups for v in vs if v]
    vmin = vmin or 10 ** math.floor(math.log10(max(min(values), 1)))
    vmax = max(values) * 1.5
    bar_h, gap, left, width = 11, 8, 270, 560
    height = 60 + len(groups) * (len(series) * bar_h + gap) + 40

    def x(v):
        v = max(v, vmin)
        return left + width * (math.log10(v) - math.log10(vmin)) / (math.log10(vmax) - math.log10(vmin))

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 140}" height="{height}" font-family="sans-serif" font-size="11">',
         '<rect width="100%" height="100%" fill="white"/>',
         f'<text x="10" y="18" font-size="13" font-weight="bold">{html.escape(heading)}</text>',
         f'<text x="10" y="34" fill="#555">{html.escape(subtitle)}</text>']
    for k, label in enumerate(series):
        s.append(f'<rect x="{left + k * 180}" y="42" width="10" height="10" fill="{colors[k % len(colors)]}"/>'
                 f'<text x="{left + 14 + k * 180}" y="51">{html.escape(label)}</text>')
    decade = vmin
    while decade <= vmax:
        xv = x(decade)
        s.append(f'<line x1="{xv:.1f}" y1="58" x2="{xv:.1f}" y2="{height - 30}" stroke="#ddd"/>')
        s.append(f'<text x="{xv:.1f}" y="{height - 16}" text-anchor="middle" fill="#555">{decade:,.0f}</text>')
        decade *= 10
    y = 62
    for label, vs in groups:
        s.append(f'<text x="{left - 6}" y="{y + len(series) * bar_h / 2 + 4:.1f}" text-anchor="end">{html.escape(label)}</text>')
        for k, v in enumerate(vs):
            if v:
                xv = x(v)
                s.append(f'<rect x="{left}" y="{y}" width="{max(xv - left, 1):.1f}" height="{bar_h - 1}" fill="{colors[k % len(colors)]}"/>')
                s.append(f'<text x="{xv + 4:.1f}" y="{y + bar_h - 2}" fill="#333">{html.escape(fmt(v))}</text>')
            y += bar_h
        y += gap
    s.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(s) + "\n")


if __name__ == "__main__":
    sys.exit(main())
