#!/usr/bin/env python3
"""Turns the benchmark results into markdown tables and SVG plots (Python 3.11, stdlib only).

    report.py machine OUT.json
        Records the machine and toolchain facts of a run (called by run.sh before the benches).

    report.py report RESULTS_DIR --out OUT_DIR [--splice BENCHMARKS.md]
        Reads RESULTS_DIR/criterion/**/new/{benchmark,estimates}.json, memory.json,
        insert_latency.json and meta.json, and writes into OUT_DIR:
          results.json   every number used, normalized (keep it with the report),
          tables.md      the tables: every workload x peer x thread count, with snapmap's ratio
                         to the best peer in its own column,
          *.svg          throughput vs threads for ReadHeavy, Exchange, RapidGrow, LoadMostlyHits.
        With --splice, the tables also replace what is between the markers
        `<!-- generated:begin -->` and `<!-- generated:end -->` in the given file.

    report.py report --from OUT_DIR/results.json --out OUT_DIR [--splice ...]
        Regenerates tables and plots from a saved results.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Peers in display order: (id used by the benches, column header, description).
PEERS = [
    ("snapmap", "snapmap", "this crate, pinned per operation"),
    ("std-rwlock", "std RwLock", "`std::sync::RwLock<HashMap>`"),
    ("pl-rwlock", "pl RwLock", "`parking_lot::RwLock<HashMap>`"),
    ("pl-mutex", "pl Mutex", "`parking_lot::Mutex<HashMap>`"),
    ("dashmap", "dashmap", "`dashmap::DashMap`"),
    ("papaya", "papaya", "`papaya::HashMap`, pinned per operation"),
    ("scc-hashmap", "scc HashMap", "`scc::HashMap`"),
    ("scc-hashindex", "scc HashIndex", "`scc::HashIndex` (read workloads only)"),
    ("hashmap-readonly", "limit", "std `HashMap` shared read-only, no synchronization: the physical limit"),
]
HEADER = {pid: header for pid, header, _ in PEERS}
DESCRIPTION = {pid: description for pid, _, description in PEERS}
SNAPMAP = "snapmap"
# Not competitors: the unsynchronized limit, and the guard-reuse variants of the latency bench.
NOT_PEERS = {"snapmap", "hashmap-readonly", "snapmap-guard-reused", "papaya-guard-reused"}

GO_ORDER = [
    "LoadMostlyHits", "LoadMostlyMisses", "LoadOrStoreBalanced", "LoadOrStoreUnique",
    "LoadOrStoreCollision", "LoadAndDeleteBalanced", "LoadAndDeleteUnique",
    "LoadAndDeleteCollision", "Range", "AdversarialAlloc", "AdversarialDelete",
    "DeleteCollision", "SwapCollision", "SwapMostlyHits", "SwapMostlyMisses",
    "CompareAndSwapCollision", "CompareAndSwapNoExistingKey", "CompareAndSwapValueNotEqual",
    "CompareAndSwapMostlyHits", "CompareAndSwapMostlyMisses", "CompareAndDeleteCollision",
    "CompareAndDeleteMostlyHits", "CompareAndDeleteMostlyMisses", "Clear",
]
MIX_ORDER = ["ReadHeavy", "Exchange", "RapidGrow"]
LOCKED_CRATES = ["crossbeam-epoch", "hashbrown", "parking_lot", "dashmap", "papaya", "scc",
                 "foldhash", "criterion"]


# ---------------------------------------------------------------------------------------------
# Recording the machine
# ---------------------------------------------------------------------------------------------

def command_output(*argv: str) -> str | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True,
                              cwd=REPO).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def record_machine(out: Path, finish: bool) -> None:
    """Writes the facts of the machine at the start of a run; with `finish`, adds the end time
    and the load average then to the file written at the start."""
    if finish:
        meta = json.loads(out.read_text())
        meta["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        meta["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        out.write_text(json.dumps(meta, indent=2) + "\n")
        return
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "mode": os.environ.get("SNAPMAP_BENCH", "full"),
        "threads": os.environ.get("SNAPMAP_BENCH_THREADS", "1,2,4"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "rustc": command_output("rustc", "--version"),
        "commit": command_output("git", "rev-parse", "--short", "HEAD"),
        "dirty": bool(command_output("git", "status", "--porcelain", "--untracked-files=no")),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {out}")


def locked_versions() -> dict[str, list[str]]:
    """Versions of the crates that matter, as resolved in Cargo.lock."""
    versions: dict[str, list[str]] = {}
    text = (REPO / "Cargo.lock").read_text()
    for name, version in re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', text):
        if name in LOCKED_CRATES:
            versions.setdefault(name, []).append(version)
    return versions


# ---------------------------------------------------------------------------------------------
# Collecting results
# ---------------------------------------------------------------------------------------------

def read_criterion(root: Path) -> list[dict]:
    """One record per criterion benchmark: group, function, parameter, ns per iteration."""
    records = []
    for bench_file in sorted(root.glob("**/new/benchmark.json")):
        bench = json.loads(bench_file.read_text())
        estimates = json.loads((bench_file.parent / "estimates.json").read_text())
        # The slope of the linear regression when criterion sampled linearly, else the mean:
        # the same estimate criterion prints as `time`.
        kind = "slope" if estimates.get("slope") else "mean"
        estimate = estimates[kind]
        records.append({
            "group": bench["group_id"],
            "function": bench["function_id"],
            "parameter": bench.get("value_str"),
            "ns": estimate["point_estimate"],
            "ns_low": estimate["confidence_interval"]["lower_bound"],
            "ns_high": estimate["confidence_interval"]["upper_bound"],
            "estimate": kind,
            "elements": (bench.get("throughput") or {}).get("Elements"),
        })
    return records


def collect(results_dir: Path) -> dict:
    def optional_json(name: str):
        path = results_dir / name
        return json.loads(path.read_text()) if path.exists() else None

    go: dict = {}
    mixes: dict = {}
    get_hit: dict = {}
    get_random: dict = {}
    for r in read_criterion(results_dir / "criterion"):
        point = {"ns": r["ns"], "ns_low": r["ns_low"], "ns_high": r["ns_high"]}
        if r["group"].startswith("go-"):
            go.setdefault(r["group"][3:], {}).setdefault(r["parameter"], {})[r["function"]] = point
        elif r["group"].startswith("mix-"):
            point["ops"] = r["elements"]
            # Operations per microsecond = millions of operations per second.
            point["mops"] = r["elements"] / r["ns"] * 1e3
            mixes.setdefault(r["group"][4:], {}).setdefault(r["parameter"], {})[r["function"]] = point
        elif r["group"] == "get-hit":
            get_hit[r["function"]] = point
        elif r["group"] == "get-random":
            get_random[r["function"]] = point
    return {
        "meta": optional_json("meta.json") or {},
        "versions": locked_versions(),
        "go": go,
        "mixes": mixes,
        "get_hit": get_hit,
        "get_random": get_random,
        "insert_latency": optional_json("insert_latency.json"),
        "memory": optional_json("memory.json"),
    }


# ---------------------------------------------------------------------------------------------
# Formatting helpers
# ---------------------------------------------------------------------------------------------

def ordered(names, order):
    known = [n for n in order if n in names]
    return known + sorted(n for n in names if n not in order)


def thread_keys(per_threads: dict) -> list[str]:
    return sorted(per_threads, key=int)


def threads_label(threads: str) -> str:
    return f"{threads} thread" + ("" if threads == "1" else "s")


def fmt_num(x: float) -> str:
    """Three significant figures, no exponent."""
    if x == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{digits}f}"


def fmt_bytes(b: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(b) >= size:
            return f"{fmt_num(b / size)} {unit}"
    return f"{b:.0f} B"


def fmt_ratio(r: float | None) -> str:
    return "—" if r is None else f"{r:.2f}×"


def table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    align = align or ["l"] + ["r"] * (len(header) - 1)
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def best_peer(values: dict[str, float], lower_is_better: bool):
    """The best competitor (not snapmap, not the limit) as (id, value), or None."""
    peers = {p: v for p, v in values.items() if p not in NOT_PEERS}
    if not peers:
        return None
    pick = min if lower_is_better else max
    pid = pick(peers, key=peers.get)
    return pid, peers[pid]


def snapmap_vs_best(values: dict[str, float], lower_is_better: bool, size: bool = False):
    """(best competitor, snapmap relative to it): snapmap's speed for times and throughputs
    (above 1× means snapmap is faster) or, with `size`, its size (above 1× means snapmap is
    larger). The ratio is None when it cannot be formed; the whole result when there is no
    competitor or no snapmap."""
    best = best_peer(values, lower_is_better)
    if not best or SNAPMAP not in values:
        return None
    snap, other = values[SNAPMAP], best[1]
    if lower_is_better and not size:
        ratio = other / snap if snap > 0 else None
    else:
        ratio = snap / other if other > 0 else None
    return best[0], ratio


def comparison_rows(label: str, values: dict[str, float], columns: list[str],
                    lower_is_better: bool, fmt, size: bool = False) -> list[str]:
    """One table row: a value per peer column (the best competitor in bold), the best
    competitor's name, and snapmap relative to it (see `snapmap_vs_best`)."""
    best = best_peer(values, lower_is_better)
    cells = [label]
    for pid in columns:
        if pid not in values:
            cells.append("—")
        else:
            text = fmt(values[pid])
            cells.append(f"**{text}**" if best and pid == best[0] else text)
    versus = snapmap_vs_best(values, lower_is_better, size)
    if versus is None:
        return cells + ["—", "—"]
    return cells + [HEADER.get(versus[0], versus[0]), fmt_ratio(versus[1])]


def peer_columns(present: set[str]) -> list[str]:
    return [pid for pid, _, _ in PEERS if pid in present]


def geomean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------

def go_ratio(per_peer: dict) -> float | None:
    versus = snapmap_vs_best({p: v["ns"] for p, v in per_peer.items()}, lower_is_better=True)
    return versus and versus[1]


def section_columns() -> str:
    rows = [[header, description] for _, header, description in PEERS]
    return "\n".join(["### Columns", "", table(["column", "map"], rows, ["l", "l"])])


def section_summary(data: dict) -> str:
    lines = ["### Summary", ""]
    go = data["go"]
    if go:
        all_threads = sorted({t for w in go.values() for t in w}, key=int)
        rows = []
        for t in all_threads:
            ratios = [go_ratio(go[w][t]) for w in go if t in go[w]]
            ratios = [r for r in ratios if r is not None]
            wins = sum(r >= 1 for r in ratios)
            hits = go.get("LoadMostlyHits", {}).get(t)
            rows.append([threads_label(t), fmt_ratio(geomean(ratios)), f"{wins} of {len(ratios)}",
                         fmt_ratio(go_ratio(hits) if hits else None)])
        lines += ["Go's sync.Map suite: snapmap's speed relative to the fastest other map, per "
                  "workload (above 1× means snapmap is faster).", "",
                  table(["threads", "geometric mean over workloads",
                         "workloads where snapmap is fastest", "LoadMostlyHits"], rows), ""]
    mixes = data["mixes"]
    if mixes:
        rows = []
        for mix in ordered(mixes, MIX_ORDER):
            for t in thread_keys(mixes[mix]):
                values = {p: v["mops"] for p, v in mixes[mix][t].items()}
                versus = snapmap_vs_best(values, lower_is_better=False)
                rows.append([mix, threads_label(t), fmt_ratio(versus and versus[1])])
        lines += ["conc-map-bench mixes: snapmap's throughput relative to the fastest other map.",
                  "", table(["mix", "threads", "snapmap ÷ best"], rows), ""]
    return "\n".join(lines)


def section_go(data: dict) -> str:
    go = data["go"]
    if not go:
        return ""
    out = ["### Go's sync.Map benchmark suite", "",
           "Nanoseconds per operation (all threads together, as Go reports them): lower is "
           "better. The fastest map other than snapmap is in bold; the last column is snapmap's "
           "speed relative to it (above 1× means snapmap is faster). — : not measured (scc "
           "HashIndex and the read-only limit run only the read-only workloads).", ""]
    present = {p for w in go.values() for t in w.values() for p in t}
    columns = peer_columns(present)
    header = ["workload"] + [HEADER[p] for p in columns] + ["best other", "snapmap ÷ best"]
    for t in sorted({t for w in go.values() for t in w}, key=int):
        note = " (oversubscribed: more threads than cores)" if int(t) > (data["meta"].get("cores") or 0) else ""
        rows = []
        for work in ordered(go, GO_ORDER):
            if t in go[work]:
                values = {p: v["ns"] for p, v in go[work][t].items()}
                rows.append(comparison_rows(work, values, columns, True, fmt_num))
        out += [f"#### {threads_label(t)}{note}", "", table(header, rows), ""]
    return "\n".join(out)


def section_mixes(data: dict) -> str:
    mixes = data["mixes"]
    if not mixes:
        return ""
    ops = {v["ops"] for m in mixes.values() for t in m.values() for v in t.values()}
    out = ["### conc-map-bench mixes", "",
           "Millions of operations per second, all threads together: higher is better. "
           f"Operations per run: {', '.join(f'{o:,}' for o in sorted(ops))}. The fastest map "
           "other than snapmap is in bold; the last column is snapmap's throughput relative "
           "to it.", ""]
    present = {p for m in mixes.values() for t in m.values() for p in t}
    columns = peer_columns(present)
    header = ["mix", "threads"] + [HEADER[p] for p in columns] + ["best other", "snapmap ÷ best"]
    rows = []
    for mix in ordered(mixes, MIX_ORDER):
        for t in thread_keys(mixes[mix]):
            values = {p: v["mops"] for p, v in mixes[mix][t].items()}
            row = comparison_rows(mix, values, columns, False, fmt_num)
            rows.append(row[:1] + [t] + row[1:])
    out += [table(header, rows, ["l", "r"] + ["r"] * (len(header) - 2)), ""]
    out += [f"![{mix} throughput vs threads]({{img}}/{mix.lower()}.svg)" for mix in ordered(mixes, MIX_ORDER)]
    out.append("")
    return "\n".join(out)


def section_latency(data: dict) -> str:
    out = []
    get_hit = data["get_hit"]
    if get_hit:
        limit = get_hit.get("hashmap-readonly", {}).get("ns")
        names = {
            "snapmap": "snapmap, guard per call",
            "snapmap-guard-reused": "snapmap, one guard reused",
            "papaya": "papaya, pinned per call",
            "papaya-guard-reused": "papaya, one guard reused",
        }
        order = ["snapmap", "snapmap-guard-reused"] + [p for p, _, _ in PEERS[1:]] + ["papaya-guard-reused"]
        rows = []
        for pid in ordered(get_hit, order):
            ns = get_hit[pid]["ns"]
            rows.append([names.get(pid, DESCRIPTION.get(pid, pid)),
                         fmt_num(ns), fmt_ratio(ns / limit) if limit else "—"])
        out += ["### Latency of a `get` that hits (one thread)", "",
                "4,096 keys read in a shuffled order; nanoseconds per `get`. The last column is "
                "the time relative to the unsynchronized std `HashMap`.", "",
                table(["map", "ns per get", "× the limit"], rows), ""]
    get_random = data.get("get_random")
    if get_random:
        values = {pid: point["ns"] for pid, point in get_random.items()}
        limit = values.get("hashmap-readonly")
        rows = []
        for pid in ordered(get_random, [p for p, _, _ in PEERS]):
            ns = values[pid]
            rows.append([DESCRIPTION.get(pid, pid), fmt_num(ns), fmt_ratio(ns / limit) if limit else "—"])
        out += ["### Latency of a `get` of a random key in a large map (one thread)", "",
                "786,432 keys (49,152 in a quick run), each read four times after they were "
                "inserted (which promotes snapmap's shards), then read with random keys of which "
                "about half are present, a guard per call; nanoseconds per `get`. In a full run "
                "the map is much larger than the caches. The last column is the time relative to "
                "the unsynchronized std `HashMap`.", "",
                table(["map", "ns per get", "× the limit"], rows), ""]
    latency = data["insert_latency"]
    if latency:
        out += ["### Latency of inserting new keys into a growing map", "",
                f"{latency['inserts']:,} new keys inserted into an empty map, each timed on its "
                f"own (the timer itself costs about {latency['timer_ns']} ns, included). With a "
                "reader, a second thread keeps reading the keys just inserted.", ""]
        for readers in sorted({r["readers"] for r in latency["results"]}):
            rows = []
            for r in latency["results"]:
                if r["readers"] == readers:
                    rows.append([HEADER.get(r["peer"], r["peer"])] +
                                [fmt_num(r[k]) for k in ("p50_ns", "p99_ns", "p999_ns")] +
                                [fmt_num(r["max_ns"] / 1e3), fmt_num(r["mean_ns"])])
            title = "writer alone" if readers == 0 else f"writer with {readers} reader" + ("s" if readers > 1 else "")
            out += [f"#### {title}", "",
                    table(["map", "p50 ns", "p99 ns", "p99.9 ns", "max µs", "mean ns"], rows), ""]
        faults = latency.get("faults") or []
        if faults:
            rows = [[HEADER.get(f["peer"], f["peer"]),
                     f"{f['faulting']:,}", f"{100 * f['faulting'] / f['inserts']:.2g}%",
                     fmt_num(f["faulting_p50_ns"]) if f["faulting"] else "—",
                     fmt_num(f["clean_p999_ns"])]
                    for f in faults]
            out += ["#### writer alone, by page faults", "",
                    "A second pass of the writer alone, which reads the thread's count of minor "
                    "page faults after every insert (outside the timing): the inserts during which "
                    "the kernel had to map fresh memory, what they cost at the median, and the "
                    "p99.9 of all the other inserts.", "",
                    table(["map", "inserts with a fault", "share", "their p50 ns",
                           "p99.9 ns of the rest"], rows), ""]
    return "\n".join(out)


def section_memory(data: dict) -> str:
    memory = data["memory"]
    if not memory:
        return ""
    out = ["### Memory", "",
           "Heap bytes of a `u64 → u64` map, counted by a global allocator: the usable size of "
           "each block malloc handed out (the bytes requested are in parentheses where they "
           "differ). Lower is better; the smallest map other than snapmap is in bold, and the "
           "last column is snapmap's size relative to it (above 1× means snapmap is larger; — where "
           "the best holds nothing).", ""]
    foot = memory["footprint"]
    sizes = sorted({f["entries"] for f in foot})
    present = {f["peer"] for f in foot}
    columns = peer_columns(present)
    header = ["measure"] + [HEADER[p] for p in columns] + ["best other", "snapmap ÷ best"]

    rows = []

    def add_row(label: str, stage: str, entries: int, per_entry: bool):
        usable = {f["peer"]: f[stage]["usable"] for f in foot if f["entries"] == entries}
        requested = {f["peer"]: f[stage]["requested"] for f in foot if f["entries"] == entries}
        divisor = entries if per_entry else 1
        values = {p: v / divisor for p, v in usable.items()}
        fmt = (lambda v: f"{v:.1f}") if per_entry else fmt_bytes
        row = comparison_rows(label, values, columns, True, fmt, size=True)
        # Add the requested bytes where they differ from the usable ones.
        for i, pid in enumerate(columns, start=1):
            if pid in usable:
                shown, asked = fmt(usable[pid] / divisor), fmt(requested[pid] / divisor)
                if asked != shown:
                    row[i] += f" ({asked})"
        rows.append(row)

    for n in sizes:
        add_row(f"bytes per entry, {n:,} entries", "filled", n, True)
    for n in sizes:
        add_row(f"bytes per entry, {n:,} entries, after one read of each", "after_reads", n, True)
    for n in sizes:
        add_row(f"left after removing all {n:,}", "after_remove", n, False)
    out += [table(header, rows), ""]

    churn = memory.get("churn") or []
    if churn:
        c0 = churn[0]
        rows = []
        for stage, label in (("before", "before the churn"), ("peak", "peak during the churn"),
                             ("after", "after the churn")):
            values = {c["peer"]: c[stage]["usable"] for c in churn}
            rows.append(comparison_rows(label, values, columns, True, fmt_bytes, size=True))
        out += [f"Churn: a map of {c0['live_entries']:,} entries has a new key inserted and its "
                f"oldest key removed, {c0['ops']:,} times, on one thread (usable bytes).", "",
                table(header, rows), ""]
    leaks = [f"{f['peer']} ({f['entries']:,})" for f in foot if f["after_drop"]["requested"] != 0]
    if leaks:
        out += ["Heap not returned after dropping the map: " + ", ".join(leaks) + ".", ""]
    return "\n".join(out)


def section_machine(data: dict) -> str:
    meta, versions = data["meta"], data["versions"]
    rows = [[k, str(v)] for k, v in (
        ("started", meta.get("date")), ("finished", meta.get("finished")),
        ("mode", meta.get("mode")), ("CPU", meta.get("cpu")),
        ("cores", meta.get("cores")),
        ("memory", meta.get("memory_gib") and f"{meta['memory_gib']} GiB"),
        ("OS", meta.get("os")), ("rustc", meta.get("rustc")),
        ("commit", f"{meta.get('commit')}{' (with local changes)' if meta.get('dirty') else ''}"),
        ("load average (1, 5, 15 min) at start",
         ", ".join(map(str, meta.get("load_average_at_start", [])))),
        ("load average at end", ", ".join(map(str, meta.get("load_average_at_end", [])))),
    ) if v not in (None, "")]
    rows += [[f"`{name}`", ", ".join(v)] for name, v in sorted(versions.items())]
    return "\n".join(["### Run", "", table(["", ""], rows, ["l", "l"]), ""])


# ---------------------------------------------------------------------------------------------
# SVG plots
# ---------------------------------------------------------------------------------------------

COLORS = {
    "snapmap": "#d62728", "std-rwlock": "#7f7f7f", "pl-rwlock": "#8c564b", "pl-mutex": "#bcbd22",
    "dashmap": "#1f77b4", "papaya": "#2ca02c", "scc-hashmap": "#9467bd",
    "scc-hashindex": "#17becf", "hashmap-readonly": "#000000",
}


def esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def nice_ceiling(x: float) -> tuple[float, float]:
    """A round upper bound for an axis, and its tick step."""
    if x <= 0:
        return 1.0, 0.2
    magnitude = 10 ** math.floor(math.log10(x))
    for step in (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10):
        if x / (step * magnitude) <= 6:
            step *= magnitude
            return step * math.ceil(x / step), step
    return 10 * magnitude, 2 * magnitude


def line_plot(title: str, subtitle: str, series: dict[str, dict[int, float]], cores: int | None) -> str:
    """Throughput (y) against thread count (x), one line per peer."""
    width, height = 760, 440
    left, right, top, bottom = 70, 215, 58, 62
    plot_w, plot_h = width - left - right, height - top - bottom
    threads = sorted({t for s in series.values() for t in s})
    y_max, y_step = nice_ceiling(max(v for s in series.values() for v in s.values()) * 1.05)

    def x_of(t: int) -> float:
        if len(threads) == 1:
            return left + plot_w / 2
        return left + plot_w * threads.index(t) / (len(threads) - 1)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="24" font-size="16" font-weight="bold">{esc(title)}</text>',
        f'<text x="{left}" y="42" fill="#555">{esc(subtitle)}</text>',
    ]
    ticks = int(round(y_max / y_step))
    for i in range(ticks + 1):
        v = i * y_step
        y = y_of(v)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{round(v, 6):g}</text>')
    for t in threads:
        x = x_of(t)
        over = cores is not None and t > cores
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#f0f0f0"/>')
        label = f"{t}*" if over else str(t)
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{label}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>')
    x_label = "threads" + (f"  (* more threads than the {cores} cores)" if cores and any(t > cores for t in threads) else "")
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 18}" text-anchor="middle">{esc(x_label)}</text>')
    parts.append(f'<text transform="translate(18 {top + plot_h / 2}) rotate(-90)" '
                 f'text-anchor="middle">million operations per second</text>')
    order = [pid for pid, _, _ in PEERS if pid in series]
    for n, pid in enumerate(order):
        points = sorted(series[pid].items())
        color = COLORS.get(pid, "#333")
        width_px = 3.5 if pid == SNAPMAP else 1.8
        dash = ' stroke-dasharray="6 4"' if pid == "hashmap-readonly" else ""
        path = " ".join(f"{'M' if i == 0 else 'L'}{x_of(t):.1f},{y_of(v):.1f}" for i, (t, v) in enumerate(points))
        parts.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="{width_px}"{dash}/>')
        for t, v in points:
            parts.append(f'<circle cx="{x_of(t):.1f}" cy="{y_of(v):.1f}" r="3.5" fill="{color}">'
                         f'<title>{esc(HEADER.get(pid, pid))}, {t} threads: {fmt_num(v)} Mop/s</title></circle>')
        ly = top + 10 + n * 20
        lx = left + plot_w + 18
        parts.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" stroke="{color}" stroke-width="{width_px}"{dash}/>')
        name = "HashMap, read-only (limit)" if pid == "hashmap-readonly" else HEADER.get(pid, pid)
        parts.append(f'<text x="{lx + 30}" y="{ly + 4}">{esc(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_plots(data: dict, out: Path) -> list[str]:
    cores = data["meta"].get("cores")
    written = []
    for mix, per_threads in data["mixes"].items():
        series: dict[str, dict[int, float]] = {}
        for t, peers in per_threads.items():
            for pid, v in peers.items():
                series.setdefault(pid, {})[int(t)] = v["mops"]
        name = f"{mix.lower()}.svg"
        (out / name).write_text(line_plot(f"{mix} (conc-map-bench mix)",
                                          "throughput, all threads together: higher is better",
                                          series, cores))
        written.append(name)
    hits = data["go"].get("LoadMostlyHits")
    if hits:
        series = {}
        for t, peers in hits.items():
            for pid, v in peers.items():
                # ns per operation over all threads -> operations per microsecond.
                series.setdefault(pid, {})[int(t)] = 1e3 / v["ns"]
        name = "loadmostlyhits.svg"
        (out / name).write_text(line_plot("LoadMostlyHits (Go's sync.Map suite)",
                                          "1023 of 1024 keys present; throughput, all threads together",
                                          series, cores))
        written.append(name)
    return written


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def render(data: dict, img: str) -> str:
    mode = data["meta"].get("mode")
    warning = []
    if mode and mode != "full":
        warning = [f"**These numbers come from a `{mode}` run: a smoke check of the pipeline, "
                   "not a measurement.**", ""]
    body = ["\n".join(warning), section_machine(data), section_columns(), section_summary(data),
            section_go(data)]
    if data["go"].get("LoadMostlyHits"):
        body.append(f"![LoadMostlyHits throughput vs threads]({img}/loadmostlyhits.svg)")
    body += [section_mixes(data), section_latency(data), section_memory(data)]
    text = "\n\n".join(s.strip() for s in body if s.strip())
    return text.replace("{img}", img) + "\n"


def splice(target: Path, content: str) -> None:
    begin, end = "<!-- generated:begin -->", "<!-- generated:end -->"
    text = target.read_text()
    if begin not in text or end not in text:
        sys.exit(f"{target}: markers {begin} / {end} not found")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    target.write_text(f"{head}{begin}\n\n{content}\n{end}{tail}")
    print(f"spliced into {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    machine = sub.add_parser("machine", help="record the machine facts of a run")
    machine.add_argument("out", type=Path)
    machine.add_argument("--finish", action="store_true", help="add the end of the run")
    report = sub.add_parser("report", help="write tables and plots")
    report.add_argument("results", type=Path, nargs="?", help="directory the benches wrote into")
    report.add_argument("--from", dest="saved", type=Path, help="a results.json written before")
    report.add_argument("--out", type=Path, required=True)
    report.add_argument("--splice", type=Path, help="markdown file with generated:begin/end markers")
    args = parser.parse_args()

    if args.command == "machine":
        record_machine(args.out, args.finish)
        return
    if (args.results is None) == (args.saved is None):
        parser.error("give either RESULTS_DIR or --from results.json")
    data = json.loads(args.saved.read_text()) if args.saved else collect(args.results)
    if not (data["go"] or data["mixes"] or data["get_hit"] or data["memory"] or data["insert_latency"]):
        sys.exit("no benchmark results found")
    args.out.mkdir(parents=True, exist_ok=True)
    saved_in_place = args.saved and args.saved.resolve() == (args.out / "results.json").resolve()
    if not saved_in_place:
        (args.out / "results.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    plots = write_plots(data, args.out)
    (args.out / "tables.md").write_text(render(data, "."))
    print(f"wrote {args.out / 'tables.md'}, results.json and {', '.join(plots)} into {args.out}")
    if args.splice:
        img = os.path.relpath(args.out.resolve(), args.splice.resolve().parent)
        splice(args.splice, render(data, img))


if __name__ == "__main__":
    main()
