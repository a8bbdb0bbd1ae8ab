#!/usr/bin/env python3
"""`make bench`: scale and API-economy benchmark of sso-operator (issues 8 and 21).

Starts a private local control plane (hack/cluster-up.sh in a temp SSO_LOCAL_DIR), installs the
CRDs, and for each size N runs, each in a fresh namespace with fresh simulated orgs:

  converge   N SsoConnectedApps over the orgs of that size (BENCH_ORGS_AT), applied at once (kubectl apply --server-side of
             one multi-doc file), until all are Ready; coalescing on (the default);
  steady     the same set idle for BENCH_STEADY_INTERVALS refresh intervals;
  change     spec changes (one app's acsUrl each), one IdP certificate rotation by hand in org0
             (the certificate renewed in Setup: the operator notices at its next refresh), and one
             planned rotation (spec.identityProvider.rotation, switched by the annotation) in the
             last org: how long from the switch in Salesforce to every dependent ConfigMap;
  baseline   the same converge with `--coalescing false` (sizes up to BENCH_BASELINE_MAX);
  cold       (BENCH_COLD) the N apps applied first, then the operator started: the burst case.

All of it for each operator build in BENCH_BUILDS (make bench: the shipped musl build, and the glibc
build beside it with BENCH_COMPARE_GLIBC=1), each reported as its own rows.

Everything observed comes from outside the operator: a watch on the SsoConnectedApps and
ConfigMaps (local clock, ms resolution), `/__sim/calls` of every simulator, /proc/<pid> of the
operator and its /metrics, the API server's /metrics (apiserver_request_total: the Kubernetes GETs
and writes of the steady phase). Writes BENCHMARKS.md and BENCHMARKS.json and prints the tables.
Standard library only.

Knobs (environment):
  BENCH_N="100 1000 10000"    sizes
  BENCH_ORGS=5                orgs (one salesforce-sim each) for sizes not in BENCH_ORGS_AT
  BENCH_ORGS_AT="10000:10"    orgs per size, "N:orgs" pairs
  BENCH_LATENCY_MS=50         simulated per-call latency
  BENCH_REFRESH_SECONDS=60    spec.publish.refreshInterval of every app
  BENCH_STEADY_INTERVALS=2    refresh intervals the steady phase lasts
  BENCH_STEADY_AT=default     sizes that get steady + change: "default" (N >= 1000, and the largest),
                              "max" (largest N), "all", "none", or a list of sizes
  BENCH_SPEC_CHANGES=3        spec changes after the steady phase, spaced a third of an interval
  BENCH_BASELINE=1            run the coalescing-off converge too ...
  BENCH_BASELINE_MAX=1000     ... for sizes up to this
  BENCH_COLD=1                also converge with the N apps applied *before* the operator starts
                              (operator restart/upgrade: all apps reach the queue at once)
  BENCH_WARM=1                run the main coalescing run (converge into a running operator, steady, change)
  BENCH_CONCURRENCY=          operator --concurrency (empty: the operator's default)
  BENCH_CHANGES="spec rotation planned"  which changes the change phase makes
  BENCH_RUST_LOG=info         the operator's RUST_LOG (e.g. info,sso_operator=debug with BENCH_KEEP=1)
  BENCH_TIMEOUT=600           seconds allowed for one converge (at least N/10)
  BENCH_OUT=BENCHMARKS.md     report path ("-" to only print)
  BENCH_KEEP=0                keep the temp dir (logs, org files) after the run
  BENCH_BUILDS                operator builds, "label=path" (make bench: "musl=<target>/<arch>-unknown-linux-musl/
                              release/sso-operator", plus "glibc=<target>/release/sso-operator" with
                              BENCH_COMPARE_GLIBC=1); default: the musl build in $CARGO_TARGET_DIR
  BENCH_SIM_BIN               the simulator (default: $CARGO_TARGET_DIR/release/salesforce-sim)
"""

import base64
import datetime
import json
import math
import os
import platform
import queue
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GROUP = "sso-operator.dev"
VERSION = "v1alpha1"
WRITE_OPS = ("createMetadata", "updateMetadata", "upsertMetadata", "deleteMetadata", "deploy")
JWT_CLIENT = "3MVG9BENCHMARK"
USERNAME = "integration@bench.example"
IDP_CERT = "SelfSignedCert_IdP"
# The certificate a planned rotation switches to.
NEXT_CERT = "SelfSignedCert_Next"
# The resources the operator reads or writes (the API server's request counter by resource).
K8S_RESOURCES = ("configmaps", "secrets", "events", "ssoconnectedapps", "salesforceorgs")


def env(name, default):
    v = os.environ.get(name, "")
    return v if v != "" else default


CFG = {
    "sizes": [int(x) for x in env("BENCH_N", "100 1000 10000").replace(",", " ").split()],
    "orgs": int(env("BENCH_ORGS", "5")),
    "orgs_at": {
        int(a): int(b)
        for a, b in (pair.split(":", 1) for pair in env("BENCH_ORGS_AT", "10000:10").replace(",", " ").split())
    },
    "latency_ms": int(env("BENCH_LATENCY_MS", "50")),
    "refresh_s": int(env("BENCH_REFRESH_SECONDS", "60")),
    "steady_intervals": float(env("BENCH_STEADY_INTERVALS", "2")),
    "steady_at": env("BENCH_STEADY_AT", "default"),
    "spec_changes": int(env("BENCH_SPEC_CHANGES", "3")),
    "baseline": env("BENCH_BASELINE", "1") not in ("0", "false", "no"),
    "baseline_max": int(env("BENCH_BASELINE_MAX", "1000")),
    "cold": env("BENCH_COLD", "1") not in ("0", "false", "no"),
    "warm": env("BENCH_WARM", "1") not in ("0", "false", "no"),
    "concurrency": env("BENCH_CONCURRENCY", ""),
    "changes": env("BENCH_CHANGES", "spec rotation planned").replace(",", " ").split(),
    "timeout_s": int(env("BENCH_TIMEOUT", "600")),
    "out": env("BENCH_OUT", os.path.join(REPO, "BENCHMARKS.md")),
    "keep": env("BENCH_KEEP", "0") not in ("0", "false", "no"),
}
T0 = time.monotonic()


def orgs_for(n):
    return CFG["orgs_at"].get(n, CFG["orgs"])


def steady_sizes(sizes):
    at = CFG["steady_at"]
    if at == "all":
        return set(sizes)
    if at == "none":
        return set()
    if at == "max":
        return {max(sizes)}
    if at == "default":
        return {n for n in sizes if n >= 1000} | {max(sizes)}
    return {int(x) for x in at.replace(",", " ").split()}


def log(msg):
    print(f"[bench {time.monotonic() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    return r.stdout


def pct(values, p):
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = max(0, min(len(v) - 1, math.ceil(p / 100 * len(v)) - 1))
    return v[k]


# --------------------------------------------------------------------------------------------
# Kubernetes API (admin token of the local control plane)


class Kube:
    def __init__(self, local):
        cl = os.path.join(local, "cluster")
        self.server = open(os.path.join(cl, "server")).read().strip()
        self.token = open(os.path.join(cl, "pki", "admin.token")).read().strip()
        self.ctx = ssl.create_default_context(cafile=os.path.join(cl, "pki", "ca.crt"))
        self.kubectl = os.path.join(local, "bin", "kubectl")
        self.kubeconfig = os.path.join(local, "kubeconfig")

    def request(self, path, method="GET", body=None, ctype="application/json", timeout=60):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", ctype)
        return urllib.request.urlopen(req, context=self.ctx, timeout=timeout)

    def get(self, path):
        with self.request(path) as r:
            return json.load(r)

    def list_all(self, path):
        items, cont = [], ""
        while True:
            sep = "&" if "?" in path else "?"
            d = self.get(f"{path}{sep}limit=500" + (f"&continue={cont}" if cont else ""))
            items += d.get("items", [])
            cont = d.get("metadata", {}).get("continue", "")
            if not cont:
                return items, d["metadata"]["resourceVersion"]

    def request_counts(self):
        """apiserver_request_total summed by (verb, resource) for what the operator touches (the
        API server's own Lease renewals and the benchmark's LIST/WATCH calls left out)."""
        req = urllib.request.Request(self.server + "/metrics")
        req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if not line.startswith("apiserver_request_total{"):
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
            if labels.get("resource") not in K8S_RESOURCES or labels.get("verb") in ("LIST", "WATCH"):
                continue
            res = labels["resource"] + ("/" + labels["subresource"] if labels.get("subresource") else "")
            key = (labels["verb"], res)
            out[key] = out.get(key, 0) + int(float(line.rsplit(" ", 1)[1]))
        return out

    def kubectl_run(self, *args, stdin=None):
        return run([self.kubectl, *args], input=stdin, env={**os.environ, "KUBECONFIG": self.kubeconfig})

    def apply(self, yaml_text):
        return self.kubectl_run("apply", "--server-side", "--field-manager=bench", "-f", "-", stdin=yaml_text)


def ready_condition(obj):
    st = obj.get("status") or {}
    for c in st.get("conditions") or []:
        if c.get("type") == "Ready":
            return c
    return None


def is_ready(obj):
    c = ready_condition(obj)
    st = obj.get("status") or {}
    return (
        c is not None
        and c.get("status") == "True"
        and st.get("observedGeneration") == obj["metadata"].get("generation")
    )


class Watch(threading.Thread):
    """Watches one resource collection in a namespace, keeping the latest objects and, per name,
    the local time of the first ADDED and the first time `pred` held."""

    def __init__(self, kube, path, pred=None, keep=lambda o: o):
        super().__init__(daemon=True)
        self.kube, self.path, self.pred, self.keep = kube, path, pred, keep
        self.lock = threading.Condition()
        self.objs, self.first_seen, self.first_pred = {}, {}, {}
        self.stopped = False
        items, self.rv = kube.list_all(path)
        now = time.monotonic()
        for o in items:
            self._see("ADDED", o, now)

    def _see(self, typ, o, now):
        name = o["metadata"]["name"]
        with self.lock:
            if typ == "DELETED":
                self.objs.pop(name, None)
            else:
                self.objs[name] = self.keep(o)
                self.first_seen.setdefault(name, now)
                if self.pred and name not in self.first_pred and self.pred(o):
                    self.first_pred[name] = now
            self.lock.notify_all()

    def run(self):
        while not self.stopped:
            try:
                with self.kube.request(
                    f"{self.path}?watch=1&allowWatchBookmarks=true&timeoutSeconds=600&resourceVersion={self.rv}",
                    timeout=700,
                ) as r:
                    for line in r:
                        if self.stopped:
                            return
                        ev = json.loads(line)
                        typ, o = ev["type"], ev["object"]
                        if typ == "ERROR":
                            # 410 Gone: relist.
                            items, self.rv = self.kube.list_all(self.path)
                            now = time.monotonic()
                            for it in items:
                                self._see("ADDED", it, now)
                            break
                        self.rv = o["metadata"]["resourceVersion"]
                        if typ != "BOOKMARK":
                            self._see(typ, o, time.monotonic())
            except Exception as e:  # reconnect
                if not self.stopped:
                    log(f"watch {self.path}: {e!r}; reconnecting")
                    time.sleep(0.5)

    def snapshot(self):
        with self.lock:
            return dict(self.objs)

    def wait(self, cond, timeout, what, alive=None):
        deadline = time.monotonic() + timeout
        with self.lock:
            while not cond(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
                if alive is not None and alive.proc.poll() is not None:
                    raise RuntimeError(f"operator exited ({alive.proc.returncode}) while waiting for {what}:\n{alive.tail()}")
                self.lock.wait(min(left, 1.0))
        return time.monotonic()


# --------------------------------------------------------------------------------------------
# Simulated orgs


def org_id(i):
    # 18 chars, starting 00D, distinct per org.
    return f"00D5g00000BENCH{i:01d}AA"[:18].ljust(18, "A")


ORG_YAML = """orgId: {org_id}
myDomain: bench{i}.my.salesforce.com
users:
  - {{username: {user}, profile: System Administrator}}
profiles: [System Administrator, Contact Center Agent]
permissionSets: [Voice_Agent]
certificates:
  - {{name: {cert}, masterLabel: SelfSignedCert IdP, keySize: 2048}}
  - {{name: {next_cert}, masterLabel: SelfSignedCert Next, keySize: 2048}}
identityProvider: {{enabled: false, certificate: null}}
oauthClients:
  - consumerKey: {client}
    certificateFile: jwt.crt
    preAuthorizedProfiles: [System Administrator]
connectedApps: []
limits: {{dailyApiRequests: 1000000, concurrentLongRequests: 5}}
policy: {{connectedAppCreationAllowed: true}}
tokenTtl: 2h
audience: https://login.salesforce.com
"""


class Sim:
    def __init__(self, sim_bin, work, i, latency_ms, jwt_crt):
        self.i = i
        self.dir = os.path.join(work, f"org{i}")
        os.makedirs(self.dir, exist_ok=True)
        shutil.copy(jwt_crt, os.path.join(self.dir, "jwt.crt"))
        with open(os.path.join(self.dir, "org.yaml"), "w") as f:
            f.write(ORG_YAML.format(org_id=org_id(i), i=i, user=USERNAME, cert=IDP_CERT, next_cert=NEXT_CERT, client=JWT_CLIENT))
        self.ca = os.path.join(self.dir, "ca.pem")
        self.proc = subprocess.Popen(
            [
                sim_bin,
                "--org-file", os.path.join(self.dir, "org.yaml"),
                "--listen", "127.0.0.1:0", "--control",
                "--latency-ms", str(latency_ms),
                "--self-signed-ca-out", self.ca,
            ],
            stdout=subprocess.PIPE, stderr=open(os.path.join(self.dir, "sim.log"), "w"), text=True,
        )
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise RuntimeError(f"salesforce-sim said {line!r}")
        self.base = line[len("listening on "):]
        self.port = int(self.base.rsplit(":", 1)[1])
        self.ctx = ssl.create_default_context(cafile=self.ca)

    def call(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method="GET" if body is None else "POST")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=self.ctx, timeout=60) as r:
            txt = r.read()
            return json.loads(txt) if txt else None

    def calls(self):
        return self.call("/__sim/calls")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def op_key(entry):
    op = entry["operation"]
    if op in ("readMetadata", "upsertMetadata", "createMetadata", "updateMetadata", "deleteMetadata", "listMetadata"):
        return f"{op}:{entry.get('type') or '?'}"
    return op


class CallTally:
    """Sum of /__sim/calls over the orgs, between two marks (by sequence number)."""

    def __init__(self, sims):
        self.sims = sims

    def mark(self):
        return {s.i: max([e["seq"] for e in s.calls()["log"]] or [0]) for s in self.sims}

    def since(self, mark, until=None):
        by_op, per_org, entries = {}, {}, []
        for s in self.sims:
            lo = mark.get(s.i, 0)
            hi = (until or {}).get(s.i, float("inf"))
            org_ops = {}
            for e in s.calls()["log"]:
                if lo < e["seq"] <= hi:
                    k = op_key(e)
                    by_op[k] = by_op.get(k, 0) + 1
                    org_ops[k] = org_ops.get(k, 0) + 1
                    entries.append((s.i, e))
            per_org[s.i] = org_ops
        return by_op, per_org, entries


def total(by_op):
    return sum(by_op.values())


def writes(by_op):
    return sum(v for k, v in by_op.items() if k.split(":")[0] in WRITE_OPS)


def api_counted(by_op):
    # Token calls and the unauthenticated metadata download do not count against the allocation.
    return sum(v for k, v in by_op.items() if k not in ("token", "idpMetadata"))


def floor_calls(apps_per_org, idp_write=True):
    f = 0
    for n in apps_per_org:
        if n == 0:
            continue
        f += 1 + 1 + (1 if idp_write else 0) + 2 * math.ceil(n / 10) + n
    return f


# --------------------------------------------------------------------------------------------
# Operator process


class Operator:
    def __init__(self, op_bin, work, kube, ns, sims, coalescing, ca_bundle):
        self.metrics_port = freeport()
        self.log_path = os.path.join(work, f"operator-{ns}.log")
        args = [
            op_bin, "run",
            "--namespace", ns,
            "--metrics-addr", f"127.0.0.1:{self.metrics_port}",
            "--salesforce-ca-file", ca_bundle,
            "--coalescing", "true" if coalescing else "false",
        ]
        if CFG["concurrency"]:
            args += ["--concurrency", CFG["concurrency"]]
        for s in sims:
            args += ["--allow-host", f"localhost:{s.port}"]
        self.args = args
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log_path, "w"),
            env={**os.environ, "KUBECONFIG": kube.kubeconfig, "RUST_LOG": os.environ.get("BENCH_RUST_LOG", "info")},
        )
        self.pid = self.proc.pid
        self.clk = os.sysconf("SC_CLK_TCK")
        self.peak_sampled = 0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self):
        while not self._stop.is_set():
            try:
                self.peak_sampled = max(self.peak_sampled, self.status_kib("VmRSS"))
            except Exception:
                return
            self._stop.wait(0.25)

    def status_kib(self, field):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def rss_mib(self):
        return self.status_kib("VmRSS") / 1024

    def rss_split_mib(self):
        """(anonymous, file-backed) resident MiB: the heap versus the mapped binary."""
        return self.status_kib("RssAnon") / 1024, self.status_kib("RssFile") / 1024

    def hwm_mib(self):
        return self.status_kib("VmHWM") / 1024

    def cpu_s(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is state (field 3); utime is field 14, stime field 15.
        return (int(fields[11]) + int(fields[12])) / self.clk

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([0-9.eE+-]+|NaN)$", line)
            if m:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        return out

    def reconciles(self):
        return int(sum(v for k, v in self.metrics().items() if k.startswith("sso_operator_reconciles_total")))

    def k8s_writes(self):
        m = self.metrics()
        w = {}
        for k, v in m.items():
            mm = re.match(r'sso_operator_kubernetes_writes_total\{kind="([^"]+)"\}', k)
            if mm:
                w[mm.group(1)] = int(v)
        return w

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"operator exited: {self.tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"operator not ready: {self.tail()}")

    def tail(self, n=30):
        try:
            return "\n".join(open(self.log_path).read().splitlines()[-n:])
        except Exception:
            return ""

    def stop(self):
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------------------------
# Manifests


def setup_yaml(ns, sims, key_pem):
    docs = [f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"]
    b64 = base64.b64encode(key_pem.encode()).decode()
    for s in sims:
        docs.append(
            f"apiVersion: v1\nkind: Secret\nmetadata: {{name: org{s.i}-jwt, namespace: {ns}}}\n"
            f"type: Opaque\ndata: {{tls.key: {b64}}}\n"
        )
        docs.append(
            f"""apiVersion: {GROUP}/{VERSION}
kind: SalesforceOrg
metadata: {{name: org{s.i}, namespace: {ns}}}
spec:
  instanceUrl: {s.base}
  login: {{url: {s.base}}}
  auth:
    jwtBearer: {{clientId: {JWT_CLIENT}, username: {USERNAME}, privateKeySecretRef: {{name: org{s.i}-jwt}}}}
"""
        )
    return "---\n".join(docs)


def app_name(k):
    return f"app-{k:04d}"


def api_name(k):
    return f"Bench_App_{k:04d}"


def apps_yaml(ns, n, orgs, refresh_s):
    docs = []
    for k in range(n):
        docs.append(
            f"""apiVersion: {GROUP}/{VERSION}
kind: SsoConnectedApp
metadata: {{name: {app_name(k)}, namespace: {ns}}}
spec:
  orgRef: {{name: org{k % orgs}}}
  identityProvider: {{certificate: {IDP_CERT}}}
  app:
    type: ConnectedApp
    apiName: {api_name(k)}
    label: Bench App {k:04d}
    contactEmail: voice-admins@bench.example
    description: SSO for the partner telephony system
  saml:
    acsUrl: https://sso{k}.vendor.example/saml/acs
    entityId: https://sso{k}.vendor.example/sp
    subjectType: FederationId
    nameIdFormat: EmailAddress
  access:
    profiles: [Contact Center Agent]
    permissionSets: [Voice_Agent]
  publish: {{refreshInterval: {refresh_s}s}}
"""
        )
    return "---\n".join(docs)


# --------------------------------------------------------------------------------------------
# One run: fresh namespace, fresh orgs, one operator


def resource_versions(kube, ns):
    out = {}
    for kind, path in (
        ("ssoconnectedapp", f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/ssoconnectedapps"),
        ("salesforceorg", f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/salesforceorgs"),
        ("configmap", f"/api/v1/namespaces/{ns}/configmaps"),
        ("event", f"/api/v1/namespaces/{ns}/events"),
    ):
        items, _ = kube.list_all(path)
        out[kind] = {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in items}
    return out


def rv_changes(before, after):
    res = {}
    for kind in after:
        b, a = before.get(kind, {}), after[kind]
        res[kind] = sum(1 for name, rv in a.items() if b.get(name) != rv)
    return res


def trim_cm(o):
    d = o.get("data") or {}
    return {
        "metadata": {"name": o["metadata"]["name"]},
        "cert": d.get("certificate.pem", ""),
        "next": d.get("next-certificate.pem", ""),
        "previous": d.get("previous-certificate.pem", ""),
    }


def norm_pem(p):
    return "".join((p or "").split())


def all_reached(dependents, seen, pred):
    """A ConfigMap-watch predicate: records in `seen` when each dependent ConfigMap first satisfies
    `pred` (its trimmed copy); true once all did."""

    def check(w):
        now = time.monotonic()
        for cm in dependents:
            c = w.objs.get(cm)
            if cm not in seen and c is not None and pred(c):
                seen[cm] = now
        return len(seen) == len(dependents)

    return check


class Run:
    def __init__(self, ctx, build, n, coalescing, tag, cold=False):
        self.ctx, self.n, self.coalescing, self.tag, self.cold = ctx, n, coalescing, tag, cold
        self.build, self.op_bin = build
        self.orgs_n = orgs_for(n)
        self.ns = f"bench-{re.sub('[^a-z0-9]+', '-', self.build.lower())}-{tag}-n{n}"
        self.result = {"n": n, "orgs": self.orgs_n, "build": self.build, "coalescing": coalescing, "cold": cold, "namespace": self.ns}

    def start(self):
        c = self.ctx
        self.sims = [Sim(c.sim_bin, os.path.join(c.work, self.ns), i, CFG["latency_ms"], c.jwt_crt) for i in range(self.orgs_n)]
        bundle = os.path.join(c.work, self.ns, "ca-bundle.pem")
        with open(bundle, "w") as f:
            for s in self.sims:
                f.write(open(s.ca).read())
        self.tally = CallTally(self.sims)
        c.kube.apply(setup_yaml(self.ns, self.sims, c.jwt_key))
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{self.ns}"
        self.apps = Watch(c.kube, f"{base}/ssoconnectedapps", pred=is_ready)
        self.cms = Watch(c.kube, f"/api/v1/namespaces/{self.ns}/configmaps", keep=trim_cm)
        self.orgs = Watch(c.kube, f"{base}/salesforceorgs", pred=is_ready)
        for w in (self.apps, self.cms, self.orgs):
            w.start()
        self.bundle = bundle
        if not self.cold:
            self.start_operator()

    def start_operator(self):
        c = self.ctx
        self.op = Operator(self.op_bin, c.work, c.kube, self.ns, self.sims, self.coalescing, self.bundle)
        self.op.wait_ready()
        self.orgs.wait(lambda w: len(w.first_pred) == self.orgs_n, 120, "all SalesforceOrgs Ready")
        log(f"{self.ns}: operator up (pid {self.op.pid}, {self.build}), {self.orgs_n} orgs Ready")

    def converge(self):
        n, orgs = self.n, self.orgs_n
        r = self.result
        path = os.path.join(self.ctx.work, self.ns, "apps.yaml")
        text = apps_yaml(self.ns, n, orgs, CFG["refresh_s"])
        open(path, "w").write(text)
        log(f"{self.ns}: applying {n} SsoConnectedApps" + (" before starting the operator" if self.cold else ""))
        if self.cold:
            t0 = time.monotonic()
            self.ctx.kube.apply(text)
            t_applied = time.monotonic()
            self.apps.wait(lambda w: len(w.objs) >= n, max(60, n // 50), f"{n} apps in the watch")
            t_apply = time.monotonic()
            self.op = None
            self.start_operator()  # includes waiting for the orgs to be Ready
            cpu0, rss0 = 0.0, 0.0
            # Latency and wall time from the operator's start.
            for k in self.apps.first_seen:
                self.apps.first_seen[k] = max(self.apps.first_seen[k], t_apply)
        else:
            cpu0, rss0 = self.op.cpu_s(), self.op.rss_mib()
            t0 = t_apply = time.monotonic()
            self.ctx.kube.apply(text)
            t_applied = time.monotonic()
        try:
            t_ready = self.apps.wait(
                lambda w: len(w.first_pred) >= n, max(CFG["timeout_s"], n // 10), f"{n} apps Ready", alive=self.op
            )
        except TimeoutError:
            not_ready = [k for k in self.apps.snapshot() if k not in self.apps.first_pred]
            log(f"not Ready: {len(not_ready)}, e.g. {not_ready[:5]}")
            log(self.op.tail())
            raise
        cpu_ready = self.op.cpu_s()
        mark_ready = self.tally.mark()
        # Let trailing status/ConfigMap writes and re-triggers settle.
        time.sleep(5)
        lat = [self.apps.first_pred[k] - self.apps.first_seen[k] for k in self.apps.first_pred]
        by_op, per_org, entries = self.tally.since({}, mark_ready)
        by_op_settled, _, _ = self.tally.since({})
        sizes = {}
        for _, e in entries:
            if e.get("type") == "ConnectedApp" and e["operation"] in ("readMetadata", "upsertMetadata", "createMetadata"):
                sizes.setdefault(e["operation"], []).append(len(e.get("fullNames") or []))
        batch = {op: sum(v) / len(v) for op, v in sizes.items()}
        # Converge only: leave out per-app calls in which every named app had already had that
        # operation, or for a read, had been created (its periodic refresh, when the converge
        # outlasts a refresh interval).
        first, conv_ops = set(), {}
        for org, e in sorted(entries, key=lambda x: (x[0], x[1]["seq"])):
            names = e.get("fullNames") or []
            k = op_key(e)
            per_app = k in ("readMetadata:ConnectedApp", "upsertMetadata:ConnectedApp", "idpMetadata")
            if per_app and names and all((org, k, nm) in first for nm in names):
                continue
            for nm in names:
                first.add((org, k, nm))
                # An app the converge created or updated without reading it first (the listing
                # proved it absent) has had its converge read: a later read is its refresh.
                if k in ("createMetadata:ConnectedApp", "upsertMetadata:ConnectedApp"):
                    first.add((org, "readMetadata:ConnectedApp", nm))
            conv_ops[k] = conv_ops.get(k, 0) + 1
        refreshes = total(by_op) - total(conv_ops)
        per_org_n = [sum(1 for k in range(n) if k % orgs == i) for i in range(orgs)]
        fl = floor_calls(per_org_n)
        r.update(
            apply_s=t_applied - t0,
            batch=batch,
            wall_s=t_ready - t_apply,
            p50_s=pct(lat, 50),
            p99_s=pct(lat, 99),
            max_s=max(lat),
            calls=total(conv_ops),
            calls_raw=total(by_op),
            refresh_calls=refreshes,
            calls_settled=total(by_op_settled),
            calls_by_op=conv_ops,
            calls_by_op_raw=by_op,
            api_counted=api_counted(conv_ops),
            sf_writes=writes(conv_ops),
            floor=fl,
            ratio=total(conv_ops) / fl,
            calls_per_app=total(conv_ops) / n,
            per_org=per_org,
            rss_before_mib=rss0,
            rss_after_mib=self.op.rss_mib(),
            rss_after_split_mib=self.op.rss_split_mib(),
            peak_mib=self.op.hwm_mib(),
            cpu_s=cpu_ready - cpu0,
            k8s_writes=self.op.k8s_writes(),
        )
        log(
            f"{self.ns}: {n} Ready in {r['wall_s']:.1f}s (p50 {r['p50_s']:.2f}s p99 {r['p99_s']:.2f}s), "
            f"{r['calls']} calls (+{refreshes} refresh) = {r['ratio']:.2f}x floor {fl}: {conv_ops}; apply {r['apply_s']:.1f}s; "
            f"components per call {batch}"
        )

    def steady(self):
        r = self.result
        secs = CFG["steady_intervals"] * CFG["refresh_s"]
        log(f"{self.ns}: steady state for {secs:.0f}s")
        mark = self.tally.mark()
        # The window is exactly `secs` from the mark: each org refreshes once per interval (on its
        # own tick), so a window a second too long can catch one org's tick twice.
        end = time.monotonic() + secs
        rv0 = resource_versions(self.ctx.kube, self.ns)
        w0, cpu0, rec0 = self.op.k8s_writes(), self.op.cpu_s(), self.op.reconciles()
        api0 = self.ctx.kube.request_counts()
        rss_samples = []
        while time.monotonic() < end:
            rss_samples.append(self.op.rss_mib())
            time.sleep(min(5, max(0, end - time.monotonic())))
        rss_samples.append(self.op.rss_mib())
        cpu1, rec1 = self.op.cpu_s(), self.op.reconciles()
        api1 = self.ctx.kube.request_counts()
        by_op, per_org, _ = self.tally.since(mark)
        rv1 = resource_versions(self.ctx.kube, self.ns)
        w1 = self.op.k8s_writes()
        orgs = self.orgs_n
        n_org = [sum(1 for k in range(self.n) if k % orgs == i) for i in range(orgs)]
        intervals = CFG["steady_intervals"]
        app_reads = [per_org[i].get("readMetadata:ConnectedApp", 0) / intervals for i in range(orgs)]
        md = [per_org[i].get("idpMetadata", 0) / intervals for i in range(orgs)]
        reads_all = [
            sum(v for k, v in per_org[i].items() if k.split(":")[0] not in WRITE_OPS) / intervals
            for i in range(orgs)
        ]
        requests = [sum(per_org[i].values()) / intervals for i in range(orgs)]
        # Issue 21: every request to Salesforce (downloads, token, writes included) per org per
        # interval, against ⌈n/10⌉ + 4 (n = apps of that org).
        target = [math.ceil(n / 10) + 4 for n in n_org]
        api = {f"{v} {res}": api1.get((v, res), 0) - api0.get((v, res), 0) for (v, res) in set(api0) | set(api1)}
        api = {k: d for k, d in api.items() if d}
        reconciles = rec1 - rec0
        r["steady"] = dict(
            seconds=secs,
            intervals=intervals,
            calls_by_op=by_op,
            sf_writes=writes(by_op),
            reads_per_org_interval=sum(reads_all) / len(reads_all),
            requests_per_org_interval=sum(requests) / len(requests),
            requests_per_org_interval_max=max(requests),
            app_reads_per_org_interval=sum(app_reads) / len(app_reads),
            metadata_per_org_interval=sum(md) / len(md),
            target_per_org_interval=sum(target) / len(target),
            k8s_writes_metric={k: w1.get(k, 0) - w0.get(k, 0) for k in set(w0) | set(w1)},
            apiserver_requests=api,
            apiserver_gets=sum(d for k, d in api.items() if k.startswith("GET ")),
            apiserver_writes=sum(d for k, d in api.items() if not k.startswith("GET ")),
            reconciles=reconciles,
            cpu_per_60s=(cpu1 - cpu0) * 60 / secs,
            cpu_ms_per_reconcile=(cpu1 - cpu0) * 1000 / reconciles if reconciles else float("nan"),
            rv_changes=rv_changes(rv0, rv1),
            rss_mib=rss_samples[-1],
            rss_split_mib=self.op.rss_split_mib(),
            rss_max_mib=max(rss_samples),
            peak_mib=self.op.hwm_mib(),
            cpu_s=cpu1 - cpu0,
        )
        s = r["steady"]
        log(f"{self.ns}: steady: {by_op}; k8s writes {s['k8s_writes_metric']}; API server {api}; rv changes {s['rv_changes']}; "
            f"CPU {s['cpu_per_60s']:.2f} s per 60 s, {s['cpu_ms_per_reconcile']:.2f} ms per reconcile ({reconciles} reconciles)")

    def change(self):
        if "spec" in CFG["changes"]:
            self.spec_change()
        if "rotation" in CFG["changes"]:
            self.hand_rotation()
        if "planned" in CFG["changes"]:
            self.planned_rotation()

    def spec_change(self):
        r = self.result
        kube = self.ctx.kube
        # Spec changes (one acsUrl each), one at a time, a fraction of an interval apart so that
        #    they meet the org's refresh tick at different phases.
        changes = []
        k_changes = max(1, CFG["spec_changes"])
        for j in range(k_changes):
            if j:
                time.sleep(CFG["refresh_s"] / k_changes)
            k = j * self.orgs_n  # apps of org 0
            name = app_name(k)
            new_acs = f"https://sso{k}.vendor.example/saml/acs-changed"
            gen0 = self.apps.snapshot()[name]["metadata"]["generation"]
            mark = self.tally.mark()
            t0 = time.monotonic()
            kube.kubectl_run("-n", self.ns, "patch", "sca", name, "--type=merge", "-p", json.dumps({"spec": {"saml": {"acsUrl": new_acs}}}))

            def landed(w, name=name, gen0=gen0):
                o = w.objs.get(name)
                return o is not None and o["metadata"]["generation"] > gen0 and is_ready(o)

            t1 = self.apps.wait(landed, 120, "spec change Ready", alive=self.op)
            sim_app = self.sims[0].call("/__sim/state")["connectedApps"].get(api_name(k), {})
            ok = (sim_app.get("samlConfig") or {}).get("acsUrl") == new_acs
            _, _, entries = self.tally.since(mark)
            mine = [e for _, e in entries if api_name(k) in (e.get("fullNames") or [])]
            changes.append(dict(
                seconds=t1 - t0,
                in_salesforce=ok,
                calls_naming_app={op_key(e): sum(1 for x in mine if op_key(x) == op_key(e)) for e in mine},
            ))
            log(f"{self.ns}: spec change {j + 1}/{k_changes} Ready in {t1 - t0:.2f}s (in Salesforce: {ok})")
        secs = [c["seconds"] for c in changes]
        r["spec_change"] = dict(
            changes=changes,
            seconds=statistics.median(secs),
            max_s=max(secs),
            within_1s=sum(1 for x in secs if x <= 1.0),
            count=len(secs),
            in_salesforce=all(c["in_salesforce"] for c in changes),
            calls_naming_app=changes[0]["calls_naming_app"],
        )

    def hand_rotation(self):
        """The IdP certificate of org 0 renewed by hand in Setup (no planned rotation)."""
        r = self.result
        dependents = [app_name(k) + "-idp-metadata" for k in range(self.n) if k % self.orgs_n == 0]
        mark = self.tally.mark()
        t0 = time.monotonic()
        rot = self.sims[0].call("/__sim/certificates", {"name": IDP_CERT})
        new_pem = norm_pem(rot["pem"])
        seen = {}
        all_rotated = all_reached(dependents, seen, lambda c: norm_pem(c["cert"]) == new_pem)

        limit = 2 * CFG["refresh_s"] + 60
        try:
            t1 = self.cms.wait(all_rotated, limit, "certificate rotation in every dependent ConfigMap", alive=self.op)
            done = True
        except TimeoutError:
            t1, done = time.monotonic(), False
        lat = [v - t0 for v in seen.values()]
        by_op, _, _ = self.tally.since(mark)
        r["rotation"] = dict(
            dependents=len(dependents),
            updated=len(seen),
            complete=done,
            seconds_all=t1 - t0,
            p50_s=pct(lat, 50),
            max_s=max(lat) if lat else float("nan"),
            calls_by_op=by_op,
        )
        log(f"{self.ns}: rotation reached {len(seen)}/{len(dependents)} ConfigMaps in {t1 - t0:.1f}s")

    def planned_rotation(self):
        """A planned rotation in the last org: announce (both keys in every dependent ConfigMap),
        switch by the annotation, and the time from the switch in Salesforce (the simulator's IdP
        signing with the next certificate, polled every 50 ms) until every dependent ConfigMap
        carries the new key first (`certificate.pem` = the next certificate, the old one as
        `previous-certificate.pem`)."""
        r = self.result
        kube = self.ctx.kube
        o = self.orgs_n - 1
        sim = self.sims[o]
        dependents = [app_name(k) + "-idp-metadata" for k in range(self.n) if k % self.orgs_n == o]
        certs = {c["name"]: norm_pem(c["pem"]) for c in sim.call("/__sim/state")["certificates"]}
        old_pem, next_pem = certs[IDP_CERT], certs[NEXT_CERT]
        rotation = {"nextCertificate": NEXT_CERT, "overlap": "1h", "gracePeriod": "1h"}
        mark = self.tally.mark()
        t0 = time.monotonic()
        kube.kubectl_run("-n", self.ns, "patch", "salesforceorg", f"org{o}", "--type=merge", "-p",
                         json.dumps({"spec": {"identityProvider": {"certificate": IDP_CERT, "rotation": rotation}}}))
        announced = {}
        all_announced = all_reached(dependents, announced, lambda c: norm_pem(c["next"]) == next_pem)

        t1 = self.cms.wait(all_announced, 120, "the next key in every dependent ConfigMap", alive=self.op)
        log(f"{self.ns}: planned rotation announced in {len(announced)} ConfigMaps in {t1 - t0:.1f}s")

        switched_at = []
        stop = threading.Event()

        def poll_idp():
            while not stop.is_set():
                if sim.call("/__sim/state")["identityProvider"].get("certificate") == NEXT_CERT:
                    switched_at.append(time.monotonic())
                    return
                time.sleep(0.05)

        poller = threading.Thread(target=poll_idp, daemon=True)
        poller.start()
        seen = {}
        all_switched = all_reached(
            dependents, seen, lambda c: norm_pem(c["cert"]) == next_pem and norm_pem(c["previous"]) == old_pem
        )

        t2 = time.monotonic()
        kube.kubectl_run("-n", self.ns, "annotate", "--overwrite", "salesforceorg", f"org{o}",
                         f"sso-operator.dev/switch-certificate-now={NEXT_CERT}")
        try:
            t3 = self.cms.wait(all_switched, 120, "the new key first in every dependent ConfigMap", alive=self.op)
            done = True
        except TimeoutError:
            t3, done = time.monotonic(), False
        poller.join(10)
        stop.set()
        ts = switched_at[0] if switched_at else float("nan")
        lat = [v - ts for v in seen.values()]
        by_op, _, _ = self.tally.since(mark)
        r["planned_rotation"] = dict(
            org=o,
            dependents=len(dependents),
            announce_s=t1 - t0,
            annotation_to_switch_s=ts - t2,
            updated=len(seen),
            complete=done,
            switch_to_all_s=t3 - ts,
            p50_s=pct(lat, 50),
            max_s=max(lat) if lat else float("nan"),
            calls_by_op=by_op,
        )
        log(f"{self.ns}: planned rotation: switched {ts - t2:.2f}s after the annotation; "
            f"{len(seen)}/{len(dependents)} ConfigMaps with the new key first {t3 - ts:.2f}s after the switch")


    def stop(self):
        if getattr(self, "op", None):
            self.op.stop()
        for w in ("apps", "cms", "orgs"):
            if hasattr(self, w):
                getattr(self, w).stopped = True
        for s in getattr(self, "sims", []):
            s.stop()


# --------------------------------------------------------------------------------------------
# Report


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "os": platform.platform(),
    }


def f1(x):
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1f}"


def f2(x):
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def fmt_ops(d):
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])) or "none"


def label(r):
    if r.get("cold"):
        kind = "cold start (apps exist, then operator starts)"
    else:
        kind = "coalescing" if r["coalescing"] else "baseline (coalescing off)"
    return f"{r.get('build', '?')}: {kind}"


def bytes_per_app(results):
    """Memory per app: the slope of the operator's anonymous RSS (heap, stacks) after a warm
    converge between consecutive sizes of the same build, in bytes per app. It includes what the
    extra orgs of the larger size cost (connections, org state), so it is an upper bound."""
    out = {}
    for build in dict.fromkeys(r.get("build") for r in results):
        warm = sorted((r for r in results if r.get("build") == build and r["coalescing"] and not r.get("cold") and "rss_after_split_mib" in r),
                      key=lambda r: r["n"])
        for a, b in zip(warm, warm[1:]):
            if b["n"] > a["n"]:
                d = (b["rss_after_split_mib"][0] - a["rss_after_split_mib"][0]) * 1024 * 1024 / (b["n"] - a["n"])
                out[(build, b["n"])] = dict(from_n=a["n"], to_n=b["n"], bytes_per_app=d)
    return out


def report(results, info):
    L = []
    conv = [r for r in results if "wall_s" in r]
    L.append("| run | N | orgs | kubectl apply (s) | wall to all Ready (s) | p50 (s) | p99 (s) | SF calls | (+ refreshes during converge) | floor | calls / floor | calls / app | SF writes | peak RSS (MiB) | RSS after (MiB) | CPU (s) |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in conv:
        L.append(
            f"| {label(r)} | {r['n']} | {r.get('orgs', CFG['orgs'])} | {f1(r['apply_s'])} | {f1(r['wall_s'])} | {f2(r['p50_s'])} | {f2(r['p99_s'])} | "
            f"{r['calls']} | {r['refresh_calls']} | {r['floor']} | {f2(r['ratio'])} | {f2(r['calls_per_app'])} | {r['sf_writes']} | "
            f"{f1(r['peak_mib'])} | {f1(r['rss_after_mib'])} | {f1(r['cpu_s'])} |"
        )
    table = "\n".join(L)

    # coalescing gain
    G = ["| build | N | calls, coalescing | calls, baseline | baseline / coalescing | wall, coalescing (s) | wall, baseline (s) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for build, n in dict.fromkeys((r.get("build"), r["n"]) for r in conv):
        a = next((r for r in conv if (r.get("build"), r["n"]) == (build, n) and r["coalescing"] and not r.get("cold")), None)
        b = next((r for r in conv if (r.get("build"), r["n"]) == (build, n) and not r["coalescing"]), None)
        if a and b:
            G.append(f"| {build} | {n} | {a['calls']} | {b['calls']} | {b['calls'] / a['calls']:.2f}× | {f1(a['wall_s'])} | {f1(b['wall_s'])} |")
    gain = "\n".join(G)

    O = ["| run | N | calls by operation (converge, summed over orgs) | apps per ConnectedApp read / create / upsert call |", "|---|---:|---|---|"]
    for r in conv:
        b = r.get("batch", {})
        O.append(f"| {label(r)} | {r['n']} | {fmt_ops(r['calls_by_op'])} | "
                 f"{f2(b.get('readMetadata'))} / {f2(b.get('createMetadata'))} / {f2(b.get('upsertMetadata'))} |")
    ops = "\n".join(O)

    S = []
    for r in results:
        s = r.get("steady")
        if not s:
            continue
        S.append(
            f"| {r.get('build', '?')} | {r['n']} / {r.get('orgs', CFG['orgs'])} | {s['seconds']:.0f} s ({s['intervals']:g} × {CFG['refresh_s']} s) | "
            f"{f1(s.get('requests_per_org_interval'))} (max {f1(s.get('requests_per_org_interval_max'))}; {f1(s['app_reads_per_org_interval'])} app reads + "
            f"{f1(s['metadata_per_org_interval'])} downloads + {f1(s['reads_per_org_interval'] - s['app_reads_per_org_interval'] - s['metadata_per_org_interval'])} org-level) | "
            f"{f1(s['target_per_org_interval'])} | {s['sf_writes']} | {sum(s['k8s_writes_metric'].values())} / {s.get('apiserver_writes', '–')} | "
            f"{s.get('apiserver_gets', '–')} | {fmt_ops(s['rv_changes'])} | {f2(s.get('cpu_per_60s'))} | {f2(s.get('cpu_ms_per_reconcile'))} ({s.get('reconciles', '–')}) | "
            f"{f1(s['rss_mib'])} ({f1(s['rss_split_mib'][0])} anon + {f1(s['rss_split_mib'][1])} file) |"
        )
    steady = ""
    if S:
        steady = "\n".join(
            ["| build | N / orgs | duration | SF requests per org per interval | target ≤ ⌈n/10⌉ + 4 | SF writes | K8s writes (operator metric / API server) | K8s GETs (API server) | objects whose resourceVersion changed | CPU s per 60 s | CPU ms per reconcile (reconciles) | RSS end (MiB) |",
             "|---|---|---|---|---:|---:|---|---:|---|---:|---|---:|"] + S
        )
        steady += "\n\nSteady-state calls by operation: " + "; ".join(
            f"{r.get('build', '?')} N={r['n']}: {fmt_ops(r['steady']['calls_by_op'])}" for r in results if r.get("steady")
        )
        steady += "\n\nKubernetes requests in the steady phase (API server, `apiserver_request_total`, LIST/WATCH and other resources left out): " + "; ".join(
            f"{r.get('build', '?')} N={r['n']}: {fmt_ops(r['steady'].get('apiserver_requests', {}))}" for r in results if r.get("steady")
        )

    C = []
    for r in results:
        sc, ro, pr = r.get("spec_change"), r.get("rotation"), r.get("planned_rotation")
        if sc:
            C.append(
                f"| {r.get('build', '?')} | {r['n']} | {sc.get('count', 1)} spec changes (one acsUrl each, a third of an interval apart) | "
                f"median {f2(sc['seconds'])} s, max {f2(sc.get('max_s', sc['seconds']))} s to Ready; {sc.get('within_1s', '–')}/{sc.get('count', 1)} within 1 s "
                f"(in Salesforce: {sc['in_salesforce']}) | calls naming the first app: {fmt_ops(sc['calls_naming_app'])} |"
            )
        if ro:
            C.append(
                f"| {r.get('build', '?')} | {r['n']} | IdP certificate rotation in org0 | {ro['updated']}/{ro['dependents']} ConfigMaps; all in {f1(ro['seconds_all'])} s "
                f"(p50 {f1(ro['p50_s'])} s, max {f1(ro['max_s'])} s; refresh interval {CFG['refresh_s']} s) | all orgs, during rotation: {fmt_ops(ro['calls_by_op'])} |"
            )
        if pr:
            C.append(
                f"| {r.get('build', '?')} | {r['n']} | planned rotation in org{pr['org']} (switched by annotation) | announce: both keys in {pr['dependents']} ConfigMaps in {f1(pr['announce_s'])} s; "
                f"IdP switched {f2(pr['annotation_to_switch_s'])} s after the annotation; switch → new key first in {pr['updated']}/{pr['dependents']} ConfigMaps: "
                f"all in {f2(pr['switch_to_all_s'])} s (p50 {f2(pr['p50_s'])} s, max {f2(pr['max_s'])} s) | all orgs, announce to republish: {fmt_ops(pr['calls_by_op'])} |"
            )
    change = "\n".join(["| build | N | change | time | Salesforce calls |", "|---|---:|---|---|---|"] + C) if C else ""

    # Issue 21: the figures of the acceptance list, one row per warm run (cold start beside it).
    bpa = bytes_per_app(results)
    F = []
    for r in results:
        if not r["coalescing"] or r.get("cold") or "wall_s" not in r:
            continue
        cold = next((c for c in results if c.get("cold") and c.get("build") == r.get("build") and c["n"] == r["n"]), None)
        s, sc = r.get("steady") or {}, r.get("spec_change") or {}
        m = bpa.get((r.get("build"), r["n"]))
        mem = f"{m['bytes_per_app']:.0f} ({m['from_n']}→{m['to_n']})" if m else "–"
        F.append(
            f"| {r.get('build', '?')} | {r['n']} / {r.get('orgs', CFG['orgs'])} | {f2(r['ratio'])}"
            + (f" (cold {f2(cold['ratio'])})" if cold else "")
            + f" | {f2(r['p99_s'])}" + (f" (cold {f2(cold['p99_s'])})" if cold else "")
            + f" | {f1(r['peak_mib'])}" + (f" (cold {f1(cold['peak_mib'])})" if cold else "")
            + f" | {mem}"
            + f" | {f1(s.get('requests_per_org_interval'))} / {f1(s.get('target_per_org_interval'))}"
            + f" | {s.get('sf_writes', '–')} | {sum(s['k8s_writes_metric'].values()) if s else '–'} / {s.get('apiserver_writes', '–')} | {s.get('apiserver_gets', '–')}"
            + f" | {f2(s.get('cpu_per_60s'))} | {f2(s.get('cpu_ms_per_reconcile'))}"
            + f" | {(str(sc.get('within_1s')) + '/' + str(sc.get('count')) + ', max ' + f2(sc.get('max_s')) + ' s') if sc else '–'} |"
        )
    figures = ""
    if F:
        figures = "\n".join(
            ["| build | N / orgs | converge calls / floor | p99 to Ready (s) | peak RSS (MiB) | anon RSS per app (bytes, slope) | steady SF requests per org per interval / target | steady SF writes | steady K8s writes (operator metric / API server) | steady K8s GETs (API server) | steady CPU s per 60 s | CPU ms per app reconcile | spec changes Ready within 1 s |",
             "|---|---|---|---|---|---|---|---:|---|---:|---:|---:|---|"] + F
        )
    return table, gain, ops, steady, change, figures


def run_size(ctx, build, n, steady, runs, results):
    """Cold start, warm converge (+ steady state and changes), baseline: one size, one build."""
    if CFG["cold"]:
        r = Run(ctx, build, n, True, "cold", cold=True)
        runs.append(r)
        r.start()
        r.converge()
        r.stop()
        results.append(r.result)
    if CFG["warm"]:
        r = Run(ctx, build, n, True, "c")
        runs.append(r)
        r.start()
        r.converge()
        if steady and CFG["steady_intervals"] > 0:
            r.steady()
            r.change()
        r.stop()
        results.append(r.result)
    if CFG["baseline"] and n <= CFG["baseline_max"]:
        b = Run(ctx, build, n, False, "b")
        runs.append(b)
        b.start()
        b.converge()
        b.stop()
        results.append(b.result)


def main():
    target = env("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    musl = os.path.join(target, f"{platform.machine()}-unknown-linux-musl", "release", "sso-operator")
    builds = [tuple(b.split("=", 1)) for b in env("BENCH_BUILDS", f"musl={musl}").split()]
    sim_bin = env("BENCH_SIM_BIN", os.path.join(target, "release", "salesforce-sim"))
    for b in [p for _, p in builds] + [sim_bin]:
        if not os.access(b, os.X_OK):
            sys.exit(f"bench: {b} missing; `make bench` builds it (see hack/bench.mk)")
    work = tempfile.mkdtemp(prefix="sso-bench-")
    local = os.path.join(work, "local")
    log(f"work dir {work}; config {json.dumps({k: v for k, v in CFG.items() if k != 'out'})}")

    class Ctx:
        pass

    ctx = Ctx()
    ctx.sim_bin, ctx.work = sim_bin, work
    runs, results = [], []
    cluster_env = {**os.environ, "SSO_LOCAL_DIR": local}
    started = time.monotonic()
    ok = False
    try:
        t = time.monotonic()
        subprocess.run([os.path.join(REPO, "hack", "cluster-up.sh")], env=cluster_env, check=True)
        log(f"control plane up in {time.monotonic() - t:.1f}s")
        ctx.kube = Kube(local)
        crds = run([builds[0][1], "crd"])
        ctx.kube.kubectl_run("apply", "--server-side", "-f", "-", stdin=crds)
        ctx.kube.kubectl_run("wait", "--for=condition=Established", "--timeout=60s",
                             f"crd/ssoconnectedapps.{GROUP}", f"crd/salesforceorgs.{GROUP}")
        # One JWT key pair for the run (the orgs trust its certificate).
        ctx.jwt_key_path = os.path.join(work, "jwt.key")
        ctx.jwt_crt = os.path.join(work, "jwt.crt")
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ctx.jwt_key_path,
             "-out", ctx.jwt_crt, "-days", "2", "-subj", "/CN=sso-operator-bench"])
        ctx.jwt_key = open(ctx.jwt_key_path).read()

        sizes = CFG["sizes"]
        steadies = steady_sizes(sizes)
        for n in sizes:
            for build in builds:
                run_size(ctx, build, n, n in steadies, runs, results)
        ok = True
    finally:
        for r in runs:
            try:
                r.stop()
            except Exception as e:
                log(f"stopping {r.ns}: {e!r}")
        subprocess.run([os.path.join(REPO, "hack", "cluster-down.sh")], env=cluster_env)
        if CFG["keep"] or not ok:
            log(f"kept {work} (operator and simulator logs)")
        else:
            shutil.rmtree(work, ignore_errors=True)

    elapsed = time.monotonic() - started
    info = machine()
    table, gain, ops, steady, change, figures = report(results, info)
    cmd = "make bench" + "".join(
        f" {k}={os.environ[k]!r}" if " " in os.environ[k] else f" {k}={os.environ[k]}"
        for k in sorted(os.environ)
        if k.startswith("BENCH_") and k not in ("BENCH_BUILD_SECONDS", "BENCH_BUILDS", "BENCH_SIM_BIN") and os.environ[k]
    )
    out = {
        "table": table, "gain": gain, "ops": ops, "steady": steady, "change": change, "figures": figures,
        "builds": dict(builds), "bytes_per_app": {f"{b} {n}": v for (b, n), v in bytes_per_app(results).items()},
        "machine": info, "elapsed_s": elapsed, "cmd": cmd,
        "build": (f"{int(os.environ['BENCH_BUILD_SECONDS']) / 60:.1f} min"
                  if os.environ.get("BENCH_BUILD_SECONDS") else "not timed"),
        "config": {k: v for k, v in CFG.items() if k != "out"},
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "results": results,
    }
    print("\n" + (figures + "\n\n" if figures else "") + table + "\n\n" + gain + "\n\n" + ops + ("\n\n" + steady if steady else "") + ("\n\n" + change if change else ""))
    print(f"\nbench: measured part took {elapsed:.0f}s")
    if CFG["out"] != "-":
        write_markdown(CFG["out"], out)
        with open(os.path.splitext(CFG["out"])[0] + ".json", "w") as f:
            json.dump(out, f, indent=1, sort_keys=True, default=str)
        log(f"wrote {CFG['out']}")


def write_markdown(path, o):
    """Writes the generated part between markers, keeping any hand-written analysis outside them."""
    m = o["machine"]
    gen = f"""<!-- bench:begin (generated by `make bench`; edit outside the markers) -->
Run of {o['date']}: `{o['cmd']}` — release build {o['build']}, then the benchmark itself
{o['elapsed_s'] / 60:.1f} min (control plane up/down included).

Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, Linux {m['kernel']}. Control plane: local
kube-apiserver v1.34.4 + etcd (hack/cluster-up.sh). Salesforce: one `salesforce-sim` per org
({', '.join(f'{n} apps: {orgs_for(n)} orgs' for n in CFG['sizes'])}; `--latency-ms {CFG['latency_ms']}`, Identity
Provider initially disabled). Apps: `refreshInterval: {CFG['refresh_s']}s`, spread round-robin over the
orgs. Operator: {', '.join(f'`{b}` ({os.path.relpath(p, REPO) if p.startswith(REPO) else p})' for b, p in o['builds'].items())};
release profile, one process, default flags{' + --concurrency ' + CFG['concurrency'] if CFG['concurrency'] else ''}, `RUST_LOG=info`.
`musl` is the build the image ships (`--target <arch>-unknown-linux-musl`, as in the Dockerfile).

### Issue 21 figures (one row per build and size)

{o['figures'] or '(no warm run)'}

Converge calls / floor and p99: warm converge (cold start in brackets). Peak RSS: VmHWM of the
operator process. Anon RSS per app: slope of RssAnon after a warm converge between consecutive sizes
of the same build (includes the larger size's extra orgs, so an upper bound). Steady: Salesforce
requests from `/__sim/calls` (every request: downloads, token, writes included) per org per refresh
interval; K8s writes and GETs from the API server's `apiserver_request_total` (configmaps, secrets,
events, and the two custom resources; LIST/WATCH left out); CPU from /proc/<pid>/stat; reconciles
from the operator's `sso_operator_reconciles_total`. Spec changes: `kubectl patch` of one app's
acsUrl to `Ready` with the new generation, after the steady phase.

### Converge (N apps applied at once until all Ready)

{o['table']}

Latency = local time from the watch's first sight of a resource to its first `Ready=True` with
`observedGeneration` = `generation`. Wall time starts before `kubectl apply` (cold start: when the
operator is started, the apps being already stored; its latency counts from then too). SF calls: every call
the simulators logged (token, SOAP, REST, per-app IdP metadata download) from operator start to
all-Ready, except per-app refresh calls (a ConnectedApp read or metadata download of an app
that had already had one, or a read of an app already created: when the converge outlasts the
refresh interval, early apps start their periodic refresh; counted separately). Floor per org with n apps: 1 token + 1 IdP read + 1 IdP write + 2⌈n/10⌉ + n.

### Coalescing gain (same run, side by side)

{o['gain']}

### Calls by operation

{o['ops']}

### Steady state

{o['steady'] or '(not run)'}

### Change

{o['change'] or '(not run)'}
<!-- bench:end -->"""
    try:
        old = open(path).read()
    except OSError:
        old = "# Benchmarks\n\n<!-- bench:begin -->\n<!-- bench:end -->\n"
    if "<!-- bench:begin" in old and "<!-- bench:end -->" in old:
        pre = old.split("<!-- bench:begin", 1)[0]
        post = old.split("<!-- bench:end -->", 1)[1]
        text = pre + gen + post
    else:
        text = old.rstrip() + "\n\n" + gen + "\n"
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
