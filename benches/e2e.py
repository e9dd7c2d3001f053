#!/usr/bin/env python3
"""End-to-end benchmark of ringdrop against the physical limits (the sinks in
../shared/bench/sinks) and the servers a user would otherwise pick
(../shared/peers), in one run, interleaved. Standard library only.

usage: python3 benches/e2e.py [--quick] [--reps N] [--cases a,b] [--servers a,b]
                              [--bench-dir DIR] [--no-build] [--no-download]

What it does:
  1. cargo build --release (ringdrop), and loadgen + sinks from
     <repo>/../shared/bench into $RINGDROP_BENCH_BIN (default
     <repo>/target/bench-bin); the Go seed (../shared/peers/go-seed) into the
     same folder when `go` is installed.
  2. writes a compare.py config to target/e2e/config.json: ringdrop durable
     (default) and --no-sync, the sinks tcp-discard, tcp-to-disk-1m and
     tcp-to-disk-1m-fsync, and every peer that is installed (go-seed: `go`;
     nginx: `nginx` with the dav module; dufs, miniserve: on PATH). Missing
     peers are skipped with a note; nothing is installed.
  3. runs ../shared/bench/compare.py (uploads: PUT 4 GiB x1, PUT 256 MiB x8,
     multipart 4 GiB x1; the sinks run the matching raw cases), results in
     target/e2e/results. The 20 000 x 4 KiB PUTs over 8 keep-alive
     connections run here instead (same servers, loadgen and interleaving),
     each run into a fresh folder that is deleted only after the last run:
     compare.py empties its folder before every run, and on ext4 without a
     journal (this machine's /) creating files within 5 minutes of deleting
     thousands nearby costs a scan of the whole inode group per file (see
     BENCHMARKS.md, "Small uploads"), which would measure that, not the
     servers.
  4. downloads a pre-created 4 GiB file with curl from ringdrop (and nginx,
     dufs, miniserve when installed), interleaved, measuring the server's
     CPU and peak RSS from /proc the way loadgen does.
  5. prints Markdown tables (median and min-max, ratios to the sinks and to
     each peer) and writes them, with the machine description and the exact
     command, into BENCHMARKS.md between the e2e markers.

--quick: 1 GiB / 64 MiB x8 / 1 GiB multipart / 2 000 x 4 KiB / 1 GiB
download, 1 rep (a sanity run, not numbers to quote).

HTTPS is benchmarked by benches/https.py (same helpers, its own CLI and
section "## HTTPS" of BENCHMARKS.md): ringdrop with --tls-cert against nginx
with ssl, PUT 4 GiB in both modes and GET 4 GiB. Run it after this script
for the full picture.

Environment: RINGDROP_BENCH_BIN (instrument build folder), RINGDROP_SHARED
(default <repo>/../shared).
"""

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIB = 1 << 30
MIB = 1 << 20
BEGIN = "<!-- e2e:begin (written by benches/e2e.py; edits here are overwritten) -->"
END = "<!-- e2e:end -->"

RINGDROP_PORT, RINGDROP_NOSYNC_PORT = 18120, 18121


def note(msg):
    print(f"e2e: {msg}", file=sys.stderr, flush=True)


def die(msg):
    sys.exit(f"e2e: {msg}")


def run(cmd, **kw):
    note("$ " + " ".join(shlex.quote(c) for c in cmd))
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        die(f"failed ({r.returncode}): {' '.join(cmd)}")
    return r


# ---------------------------------------------------------------- sizes

def size_args(quick):
    """(case list for compare.py, download bytes, biggest single upload)."""
    big, mid, small_reqs = ("1G", "64M", 250) if quick else ("4G", "256M", 2500)
    cases = [
        # sinks (raw) next to the HTTP cases they bound
        {"name": f"raw {big} x1", "mode": "raw", "args": ["--size", big]},
        {"name": f"put {big} x1", "mode": "put", "args": ["--size", big]},
        {"name": f"raw {mid} x8", "mode": "raw", "args": ["--size", mid, "--conns", "8"]},
        {"name": f"put {mid} x8", "mode": "put", "args": ["--size", mid, "--conns", "8"]},
        {"name": f"multipart {big} x1", "mode": "multipart", "args": ["--size", big]},
        {"name": f"put 4K x{8 * small_reqs}", "mode": "put",
         "args": ["--size", "4K", "--conns", "8", "--requests", str(small_reqs)]},
    ]
    big_bytes = int(big[:-1]) * GIB
    return cases, big_bytes, big_bytes


def raw_twin(case_name):
    """The sink case bounding an HTTP case: 'put 4G x1' -> 'raw 4G x1'."""
    parts = case_name.split()
    if len(parts) == 3 and parts[0] in ("put", "multipart") and parts[1] != "4K":
        return f"raw {parts[1]} {parts[2]}"
    return None


def is_small_requests(case_name):
    return case_name.startswith("put 4K ")


# ---------------------------------------------------------------- build

def build(args, shared, binroot):
    if not args.no_build:
        run(["cargo", "build", "--release"], cwd=REPO)
        for crate in ("loadgen", "sinks"):
            run(["cargo", "build", "--release", "--manifest-path",
                 os.path.join(shared, "bench", crate, "Cargo.toml"),
                 "--target-dir", binroot])
    for b in ("loadgen", "tcp-discard", "tcp-to-disk"):
        if not os.access(os.path.join(binroot, "release", b), os.X_OK):
            die(f"{b} not built in {binroot}/release (run without --no-build)")
    if not os.access(os.path.join(REPO, "target", "release", "ringdrop"), os.X_OK):
        die("target/release/ringdrop not built (run without --no-build)")


def build_go_seed(shared, binroot, notes):
    """The seed's run.sh builds into ../shared (read-only here): build into
    binroot instead, with the same flags (stdlib only, no downloads)."""
    if not shutil.which("go"):
        notes.append("go-seed skipped: `go` not installed (apt-get install -y golang-go)")
        return None
    out = os.path.join(binroot, "go-seed")
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GO111MODULE="on")
    if not env.get("HOME"):
        env["GOCACHE"] = os.path.join(binroot, "gocache")
    r = subprocess.run(["go", "build", "-o", out, "."], cwd=os.path.join(shared, "peers", "go-seed"),
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        notes.append(f"go-seed skipped: go build failed: {r.stderr.strip()[:300]}")
        return None
    return out


# ---------------------------------------------------------------- config

def make_config(shared, binroot, cases, notes, only_servers):
    rel = os.path.join(binroot, "release")
    peers = os.path.join(shared, "peers")
    baseline = json.load(open(os.path.join(peers, "baseline.json")))
    by_name = {s["name"]: s for s in baseline["servers"]}
    ringdrop = os.path.join(REPO, "target", "release", "ringdrop")
    paths = {"put": "/", "multipart": "/"}
    servers = [
        {"name": "ringdrop", "sync": "durable", "port": RINGDROP_PORT,
         "start": f"{shlex.quote(ringdrop)} --port {{port}} --workers 2 {{dir}}", "paths": paths},
        {"name": "ringdrop-nosync", "sync": "no-sync", "port": RINGDROP_NOSYNC_PORT,
         "start": f"{shlex.quote(ringdrop)} --port {{port}} --workers 2 --no-sync {{dir}}",
         "paths": paths},
    ]
    sink_sync = {"tcp-discard": "n/a", "tcp-to-disk-1m": "no-sync",
                 "tcp-to-disk-1m-fsync": "durable"}
    for name, sync in sink_sync.items():
        s = dict(by_name[name])
        s["start"] = s["start"].replace("../bench/sinks/target/release", shlex.quote(rel))
        s.pop("skip", None)  # the case names here differ from baseline.json's
        s["sync"] = sync
        servers.append(s)

    go_seed = build_go_seed(shared, binroot, notes)
    if go_seed:
        s = dict(by_name["go-seed"])
        s["start"] = f"{shlex.quote(go_seed)} -addr 127.0.0.1:{{port}} -root {{dir}}"
        servers.append(s)
    if shutil.which("nginx"):
        v = subprocess.run(["nginx", "-V"], capture_output=True, text=True)
        if "http_dav_module" in v.stdout + v.stderr:
            for name in ("nginx", "nginx-w2-bb1m"):
                s = dict(by_name[name])
                s["start"] = s["start"].replace("./", shlex.quote(peers) + "/", 1)
                servers.append(s)
        else:
            notes.append("nginx skipped: no dav module (apt-get install -y nginx-extras)")
    else:
        notes.append("nginx skipped: not installed (apt-get install -y nginx-extras)")
    for name in ("dufs", "miniserve"):
        if shutil.which(name):
            s = dict(by_name[name])
            s["start"] = s["start"].replace("./", shlex.quote(peers) + "/", 1)
            servers.append(s)
        else:
            notes.append(f"{name} skipped: not on PATH (cargo install {name})")
    for s in servers:
        s.setdefault("sync", "no-sync")  # no peer fsyncs an upload before answering
    if only_servers:
        servers = [s for s in servers if s["name"] in only_servers]
    big_raw = next(c["name"] for c in cases if c["mode"] == "raw")
    return {
        "loadgen": os.path.join(rel, "loadgen"),
        "reference": {"server": "tcp-discard", "case": big_raw},
        "settle_s": 2,
        "servers": servers,
        "cases": cases,
    }


# ---------------------------------------------------------------- small requests

def small_requests_bench(cfg, cases, bench_dir, reps, out):
    """The many-small-PUTs cases, interleaved like compare.py (rep 1: case 1
    on A B C, ...), but each run uploads into a fresh folder under
    BENCH_DIR/small that is removed only after the last run. compare.py
    empties its folder (thousands of just-written files) before every run;
    on ext4 without a journal, new inodes near recently deleted ones
    (deleted < 60 s ago, or < 300 s while their inode-table block is dirty)
    are found only after scanning the whole inode group, for every file."""
    base = os.path.join(REPO, "target", "e2e")  # start commands run where compare.py runs them
    loadgen = cfg["loadgen"]
    small_root = os.path.join(bench_dir, "small")
    shutil.rmtree(small_root, ignore_errors=True)
    os.makedirs(small_root)
    results = []
    jsonl = open(os.path.join(out, "results.jsonl"), "a")
    n = 0
    try:
        for rep in range(reps):
            for case in cases:
                for srv in cfg["servers"]:
                    path = srv.get("paths", {}).get(case["mode"])
                    if path is None or case["name"] in srv.get("skip", []):
                        continue
                    n += 1
                    data = os.path.join(small_root, f"{n:03d}-{srv['name']}")
                    os.makedirs(data)
                    subprocess.run(["sync"])
                    time.sleep(cfg.get("settle_s", 2))
                    port = srv["port"]
                    cmd = srv["start"].replace("{port}", str(port)).replace("{dir}", shlex.quote(data))
                    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
                    log = open(os.path.join(out, "logs", f"{srv['name']}.log"), "a")
                    log.write(f"\n=== rep {rep} case {case['name']}: {cmd}\n")
                    log.flush()
                    proc = subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=base, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
                    try:
                        if not wait_port(port, proc, 180):
                            die(f"{srv['name']} did not open port {port}; see {log.name}")
                        time.sleep(0.3)
                        pids = descendants(proc.pid)
                        lg = [loadgen, "--url", f"http://127.0.0.1:{port}{path}",
                              "--mode", case["mode"], *case.get("args", []),
                              *srv.get("loadgen_args", []),
                              "--server-pid", ",".join(map(str, pids))]
                        started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
                        r = subprocess.run(lg, capture_output=True, text=True)
                    finally:
                        stop(proc)
                        log.close()
                    line = (r.stdout.strip().splitlines() or [""])[-1]
                    try:
                        res = json.loads(line)
                    except json.JSONDecodeError:
                        die(f"loadgen gave no JSON: {r.stdout} {r.stderr}")
                    if r.stderr.strip():
                        note(r.stderr.strip())
                    res.update(server=srv["name"], case=case["name"], rep=rep, pids=pids,
                               started=started)
                    results.append(res)
                    jsonl.write(json.dumps(res) + "\n")
                    jsonl.flush()
                    note(f"rep {rep} {case['name']:<22} {srv['name']:<16} "
                         f"{req_per_s(res):.0f} req/s  cpu {res['server_cpu_s']} s  "
                         f"fail {res['failures']}")
    finally:
        jsonl.close()
        shutil.rmtree(small_root, ignore_errors=True)
    return results


# ---------------------------------------------------------------- download

def descendants(pid):
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_s(pids):
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        with open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tck


def status_kib(pids, key):
    total = 0
    for p in pids:
        with open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith(key):
                    total += int(line.split()[1])
    return total


def wait_port(port, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def stop(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def make_file(path, size):
    """A real (not sparse) file of pseudo-random 1 MiB blocks."""
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    note(f"creating {size // MIB} MiB download file {path}")
    block = bytearray(os.urandom(MIB))
    with open(path, "wb") as f:
        for i in range(size // MIB):
            block[:8] = i.to_bytes(8, "little")  # no two blocks alike
            f.write(block)
    subprocess.run(["sync"])


def download_bench(servers, data_dir, size, reps, out):
    """GET /big.bin with curl, the file hot in the page cache (it was just
    written and read once before the first rep). Servers with no GET
    (go-seed) are left out by the caller."""
    fname = "big.bin"
    make_file(os.path.join(data_dir, fname), size)
    subprocess.run(["cat", os.path.join(data_dir, fname)], stdout=subprocess.DEVNULL)
    results = []
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    jsonl = open(os.path.join(out, "download.jsonl"), "a")
    for rep in range(reps):
        for srv in servers:
            port = srv["port"]
            cmd = srv["start"].replace("{port}", str(port)).replace("{dir}", shlex.quote(data_dir))
            log = open(os.path.join(out, "logs", f"download-{srv['name']}.log"), "a")
            log.write(f"\n=== rep {rep}: {cmd}\n")
            log.flush()
            proc = subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=REPO, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                if not wait_port(port, proc):
                    die(f"{srv['name']} did not open port {port}; see {log.name}")
                time.sleep(0.3)
                pids = descendants(proc.pid)
                for p in pids:
                    try:
                        with open(f"/proc/{p}/clear_refs", "w") as f:
                            f.write("5")
                    except OSError as e:
                        note(f"cannot reset peak RSS of {p}: {e}")
                cpu0 = cpu_s(pids)
                ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.monotonic()
                r = subprocess.run(
                    ["curl", "-sS", "-o", "/dev/null", "-w",
                     "%{http_code} %{size_download} %{speed_download}",
                     f"http://127.0.0.1:{port}/{fname}"], capture_output=True, text=True)
                wall = time.monotonic() - t0
                ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu1 = cpu_s(pids)
                hwm = status_kib(pids, "VmHWM:")
            finally:
                stop(proc)
                log.close()
            try:
                code, got, speed = r.stdout.split()
                code, got, speed = int(code), int(got), float(speed)
            except ValueError:
                code, got, speed = 0, 0, 0.0
            ok = code == 200 and got == size
            if not ok:
                note(f"download from {srv['name']}: HTTP {code}, {got} bytes: {r.stderr.strip()}")
            gib = got / GIB
            res = {"server": srv["name"], "case": f"get {size // GIB}G x1", "rep": rep,
                   "bytes": got, "wall_s": wall, "gib_per_s": speed / GIB,
                   "failures": 0 if ok else 1,
                   "server_cpu_s": cpu1 - cpu0,
                   "server_cpu_s_per_gib": (cpu1 - cpu0) / gib if gib else None,
                   "server_peak_rss_kib": hwm,
                   "client_cpu_s": (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)}
            results.append(res)
            jsonl.write(json.dumps(res) + "\n")
            note(f"rep {rep} {res['case']:<22} {srv['name']:<16} {res['gib_per_s']:.3f} GiB/s  "
                 f"cpu {res['server_cpu_s_per_gib']} s/GiB  rss {hwm} KiB  ok {ok}")
    jsonl.close()
    return results


# ---------------------------------------------------------------- report

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def rng(vals, f="{:.2f}"):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    m = f.format(statistics.median(vals))
    return m if len(vals) == 1 else f"{m} ({f.format(min(vals))}–{f.format(max(vals))})"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "–"


def req_per_s(r):
    ok = r["requests"] - r["failures"]
    return ok / r["wall_s"] if r["wall_s"] else None


def report(cfg, results, downloads, reps):
    servers = cfg["servers"]
    sync_of = {s["name"]: s.get("sync", "no-sync") for s in servers}
    peers = [s["name"] for s in servers
             if not s["name"].startswith(("ringdrop", "tcp-"))]
    mine = ["ringdrop", "ringdrop-nosync"]

    def rows(server, case):
        return [r for r in results if r["server"] == server and r["case"] == case]

    def gib_med(server, case):
        return med([r["gib_per_s"] for r in rows(server, case)])

    out = []
    out.append("### Uploads (GiB/s of body)\n")
    out.append("Ratios are of median GiB/s: `÷ discard` = tcp-discard on the same "
               "sizes and connections (raw TCP, loopback floor); `÷ disk` = the "
               "blocking 1 MiB read/write sink with the same durability "
               "(`tcp-to-disk-1m-fsync` for durable, `tcp-to-disk-1m` otherwise).\n")
    out.append("| case | system | durability | GiB/s | server CPU s/GiB | server peak RSS MiB "
               "| client CPU s/GiB | fail | ÷ discard | ÷ disk |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for case in cfg["cases"]:
        name = case["name"]
        if is_small_requests(name):
            continue
        twin = raw_twin(name)
        for s in servers:
            rs = rows(s["name"], name)
            if not rs:
                continue
            g = [r["gib_per_s"] for r in rs]
            disk_sink = "tcp-to-disk-1m-fsync" if sync_of[s["name"]] == "durable" \
                else "tcp-to-disk-1m"
            d, k = ("–", "–")
            if twin:
                d = ratio(med(g), gib_med("tcp-discard", twin))
                k = ratio(med(g), gib_med(disk_sink, twin))
            elif s["name"] != "tcp-discard" and case["mode"] == "raw":
                d = ratio(med(g), gib_med("tcp-discard", name))
            out.append(
                f"| {name} | {s['name']} | {sync_of[s['name']]} | {rng(g)} | "
                f"{rng([r['server_cpu_s_per_gib'] for r in rs])} | "
                f"{rng([r['server_peak_rss_kib'] / 1024 if r['server_peak_rss_kib'] is not None else None for r in rs], '{:.1f}')} | "
                f"{rng([r['client_cpu_s'] / (r['bytes'] / GIB) if r['bytes'] else None for r in rs])} | "
                f"{sum(r['failures'] for r in rs)} | {d} | {k} |")

    small = [c["name"] for c in cfg["cases"] if is_small_requests(c["name"])]
    for name in small:
        out.append(f"\n### Small uploads: {name} (8 keep-alive connections)\n")
        out.append("requests/s = successful requests / loadgen wall time. Server CPU is "
                   "read in 10 ms clock ticks, so it is coarse when a run lasts ~1 s.\n")
        out.append("| system | durability | requests/s | server CPU µs/request | "
                   "server peak RSS MiB | fail |")
        out.append("|---|---|---|---|---|---|")
        for s in servers:
            rs = rows(s["name"], name)
            if not rs:
                continue
            out.append(
                f"| {s['name']} | {sync_of[s['name']]} | {rng([req_per_s(r) for r in rs], '{:.0f}')} | "
                f"{rng([r['server_cpu_s'] * 1e6 / r['requests'] if r['server_cpu_s'] is not None else None for r in rs], '{:.0f}')} | "
                f"{rng([r['server_peak_rss_kib'] / 1024 if r['server_peak_rss_kib'] is not None else None for r in rs], '{:.1f}')} | "
                f"{sum(r['failures'] for r in rs)} |")

    if peers:
        out.append("\n### ringdrop ÷ each peer (median GiB/s, requests/s for small uploads; "
                   ">1 = ringdrop faster)\n")
        out.append("No peer syncs an upload before answering, so `ringdrop-nosync` is the "
                   "like-for-like row; `ringdrop` (durable) pays fdatasync + directory fsync.\n")
        out.append("| case | ringdrop mode | " + " | ".join(peers) + " |")
        out.append("|---|---|" + "---|" * len(peers))
        for case in cfg["cases"]:
            name = case["name"]
            if case["mode"] == "raw":
                continue
            metric = (lambda srv: med([req_per_s(r) for r in rows(srv, name)])) \
                if is_small_requests(name) else (lambda srv: gib_med(srv, name))
            for m in mine:
                cells = [ratio(metric(m), metric(p)) for p in peers]
                out.append(f"| {name} | {m} | " + " | ".join(cells) + " |")

    if downloads:
        out.append(f"\n### Download: {downloads[0]['case']} (curl, file hot in the page cache)\n")
        out.append("| system | GiB/s | server CPU s/GiB | server peak RSS MiB | "
                   "client CPU s/GiB | fail | ringdrop ÷ this |")
        out.append("|---|---|---|---|---|---|---|")
        names = list(dict.fromkeys(d["server"] for d in downloads))
        rd = med([d["gib_per_s"] for d in downloads if d["server"] == "ringdrop"])
        for n in names:
            ds = [d for d in downloads if d["server"] == n]
            g = [d["gib_per_s"] for d in ds]
            out.append(
                f"| {n} | {rng(g)} | {rng([d['server_cpu_s_per_gib'] for d in ds])} | "
                f"{rng([d['server_peak_rss_kib'] / 1024 for d in ds], '{:.1f}')} | "
                f"{rng([d['client_cpu_s'] / (d['bytes'] / GIB) if d['bytes'] else None for d in ds])} | "
                f"{sum(d['failures'] for d in ds)} | {ratio(rd, med(g))} |")
    out.append(f"\nValues: median (min–max) over {reps} interleaved repetition(s).")
    return "\n".join(out) + "\n"


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip()
    except OSError:
        return "?"


def cpu_ticks():
    """(steal, total) clock ticks of all CPUs so far, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice]:
    # guest time is already counted in user.
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def steal_line(before, after):
    """How much CPU time the hypervisor took from this VM during the run:
    a run with much steal (or a low tcp-discard floor) was a noisy one."""
    if before is None or after is None or after[1] <= before[1]:
        return "- CPU time stolen by the host during the run: unknown"
    share = 100.0 * (after[0] - before[0]) / (after[1] - before[1])
    return f"- CPU time stolen by the host during the run: {share:.1f} %"


def machine(bench_dir):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
    fs = sh(f"findmnt -n -o SOURCE,FSTYPE,OPTIONS -T {shlex.quote(bench_dir)} | tail -1")
    rev = sh(f"git -C {shlex.quote(REPO)} rev-parse --short HEAD")
    dirty = sh(f"git -C {shlex.quote(REPO)} status --porcelain --untracked-files=no")
    return "\n".join([
        f"- CPU: {cpu}, {os.cpu_count()} CPUs (nproc {sh('nproc')})",
        f"- memory: {mem}",
        f"- kernel: {sh('uname -srm')}",
        f"- bench dir filesystem: `{fs}`",
        f"- ringdrop: git {rev}{' + uncommitted changes' if dirty else ''}, "
        f"{sh('rustc --version')}",
        "- peers: " + "; ".join(
            (sh(v) if shutil.which(b) else f"no {b}") for b, v in
            (("go", "go version"), ("nginx", "nginx -v 2>&1"), ("dufs", "dufs --version"),
             ("miniserve", "miniserve --version"))),
    ])


def write_benchmarks_md(section):
    path = os.path.join(REPO, "BENCHMARKS.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    block = f"{BEGIN}\n{section}{END}\n"
    if BEGIN in text and END in text:
        pre = text[:text.index(BEGIN)]
        post = text[text.index(END) + len(END):].lstrip("\n")
        text = pre + block + ("\n" + post if post else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    with open(path, "w") as f:
        f.write(text)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 rep by default")
    ap.add_argument("--reps", type=int, help="interleaved repetitions (default 3; quick: 1)")
    ap.add_argument("--cases", help="comma list of case names (see config.json); "
                    "'get' selects the download case")
    ap.add_argument("--servers", help="comma list of server names")
    ap.add_argument("--bench-dir", default=os.path.join(REPO, "target", "e2e", "data"),
                    help="upload folder root, emptied between runs (default target/e2e/data)")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--no-download", action="store_true", help="skip the download case")
    ap.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    a = ap.parse_args()
    reps = a.reps or (1 if a.quick else 3)
    command = "python3 benches/e2e.py " + " ".join(shlex.quote(x) for x in sys.argv[1:])

    shared = os.path.abspath(os.environ.get("RINGDROP_SHARED") or os.path.join(REPO, "..", "shared"))
    compare = os.path.join(shared, "bench", "compare.py")
    if not os.path.exists(compare):
        note(f"skipped: {compare} not found. The end-to-end benchmark needs the shared "
             "instruments (bench/loadgen, bench/sinks, bench/compare.py, peers/) "
             "checked out beside the repo as ../shared, or RINGDROP_SHARED=path.")
        return 0
    if not shutil.which("curl") and not a.no_download:
        note("curl not found: download case skipped")
        a.no_download = True
    binroot = os.path.abspath(os.environ.get("RINGDROP_BENCH_BIN")
                              or os.path.join(REPO, "target", "bench-bin"))
    e2e = os.path.join(REPO, "target", "e2e")
    results_dir = os.path.join(e2e, "results")
    bench_dir = os.path.abspath(a.bench_dir)
    dl_dir = os.path.join(e2e, "download")
    os.makedirs(bench_dir, exist_ok=True)

    cases, big, dl_size = size_args(a.quick)
    notes = []
    build(a, shared, binroot)
    only_servers = a.servers.split(",") if a.servers else None
    cfg = make_config(shared, binroot, cases, notes, only_servers)
    want = a.cases.split(",") if a.cases else None
    run_get = not a.no_download and (want is None or "get" in want)
    if want:
        cfg["cases"] = [c for c in cfg["cases"] if c["name"] in want]
        unknown = set(want) - {c["name"] for c in cases} - {"get"}
        if unknown:
            die(f"unknown case(s) {sorted(unknown)}; cases: {[c['name'] for c in cases]} + get")
    for n in notes:
        note(n)

    # Space: the biggest upload (nginx spools it, then renames: still one
    # copy), plus the download file, plus 2 GiB margin.
    need = (big if cfg["cases"] else 0) + (dl_size if run_get else 0) + 2 * GIB
    free = shutil.disk_usage(bench_dir).free
    if free < need:
        die(f"{bench_dir}: {free / GIB:.1f} GiB free, need {need / GIB:.1f} GiB")
    if os.stat(bench_dir).st_dev != os.stat(REPO).st_dev:
        note(f"note: bench dir {bench_dir} is not on the repo's filesystem")

    os.makedirs(e2e, exist_ok=True)
    cfg_path = os.path.join(e2e, "config.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=1)
    shutil.rmtree(results_dir, ignore_errors=True)
    os.makedirs(results_dir)

    ticks_before = cpu_ticks()
    results = []
    stream_cases = [c for c in cfg["cases"] if not is_small_requests(c["name"])]
    small_cases = [c for c in cfg["cases"] if is_small_requests(c["name"])]
    if stream_cases and cfg["servers"]:
        cmd = [sys.executable, compare, cfg_path, "--reps", str(reps), "--out", results_dir,
               "--dir", bench_dir, "--cases", ",".join(c["name"] for c in stream_cases)]
        run(cmd, stdout=subprocess.DEVNULL)
        with open(os.path.join(results_dir, "results.jsonl")) as f:
            results = [json.loads(line) for line in f if line.strip()]
    if small_cases and cfg["servers"]:
        results += small_requests_bench(cfg, small_cases, bench_dir, reps, results_dir)

    downloads = []
    if run_get:
        get_servers = [s for s in cfg["servers"]
                       if s["name"] in ("ringdrop", "nginx", "dufs", "miniserve")]
        if get_servers:
            os.makedirs(dl_dir, exist_ok=True)
            try:
                downloads = download_bench(get_servers, dl_dir, dl_size, reps, results_dir)
            finally:
                shutil.rmtree(dl_dir, ignore_errors=True)
                for extra in (".download.nginx-body", ".download.nginx-state"):
                    shutil.rmtree(os.path.join(e2e, extra), ignore_errors=True)

    tables = report(cfg, results, downloads, reps)
    steal = steal_line(ticks_before, cpu_ticks())
    header = [f"## End-to-end ({'quick sanity run' if a.quick else 'full run'}, "
              f"{time.strftime('%Y-%m-%d %H:%M %Z')})", "",
              f"Command: `{command}` (compare.py config: `target/e2e/config.json`, "
              f"raw results: `target/e2e/results/`)", "", machine(bench_dir), steal, ""]
    if notes:
        header += ["Skipped peers:", ""] + [f"- {n}" for n in notes] + [""]
    section = "\n".join(header) + "\n" + tables
    print(section)
    if not a.no_write:
        write_benchmarks_md(section)
        note("wrote BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
