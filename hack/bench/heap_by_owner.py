#!/usr/bin/env python3
"""Peak heap of the operator by owner, in bytes per app, from a heaptrack recording.

    heaptrack_print -f heaptrack.<pid>.zst --flamegraph-cost-type peak -F peak.folded
    hack/bench/heap_by_owner.py peak.folded <apps>

Each allocation stack (at the moment of peak heap) is charged to the innermost frame that names one
of the specific owners below (so the clone of an app's status made to store it counts for the
store); failing that, to the innermost generic one (tokio, hyper, ...); else "other". Record a run with heaptrack's preload library on
the glibc build (heaptrack cannot hook the static musl build), e.g. with a BENCH_BUILDS wrapper
that execs the operator under LD_PRELOAD=libheaptrack_preload.so (see BENCHMARKS.md).
"""
import collections
import re
import sys

# (owner, substring of a frame): the specific owners, then the generic ones.
OWNERS = [
    ("SsoConnectedApp / SalesforceOrg caches (reflector stores)", "apply_watcher_event"),
    ("app index (names, orgs)", "index..AppTables"),
    ("ConfigMap cache (digests, owners; by controller)", "index..ConfigMapTables"),
    ("refresh queue", "refresh_queue::RefreshQueue"),
    ("shared text pool", "shared_str::SharedStr"),
    ("quiet-period memos", "memo::Memos"),
    ("kube scheduler (requeues)", "kube_runtime::scheduler"),
    ("kube controller (runner, queues)", "kube_runtime::controller"),
    ("Event recorder", "sso_operator::events"),
    ("metrics", "prometheus_client"),
]
GENERIC = [
    ("TLS (rustls)", "rustls"),
    ("HTTP (hyper)", "hyper"),
    ("JSON", "serde_json"),
    ("tracing", "tracing"),
    ("kube client", "kube_client"),
    ("operator, other", "sso_operator"),
    ("tokio (tasks, channels)", "tokio::"),
]


def owner_of(frames):
    for owners in (OWNERS, GENERIC):
        for frame in reversed(frames):
            hit = next((o for o, pat in owners if pat in frame), None)
            if hit:
                return hit
    return "other"


def main(path, apps):
    total = collections.Counter()
    grand = 0
    for line in open(path):
        stack, _, cost = line.rstrip().rpartition(" ")
        cost = int(cost)
        grand += cost
        total[owner_of(stack.split(";"))] += cost
    print(f"| owner | peak heap (MiB) | bytes per app ({apps} apps) |")
    print("|---|---:|---:|")
    for owner, cost in total.most_common():
        print(f"| {owner} | {cost / 2**20:.2f} | {cost / apps:.0f} |")
    print(f"| **total** | **{grand / 2**20:.2f}** | **{grand / apps:.0f}** |")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]))
