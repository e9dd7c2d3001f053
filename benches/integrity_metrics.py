#!/usr/bin/env python3
"""What integrity checks and metrics cost (issue 16's targets), in one run,
interleaved, on loopback. Standard library only.

usage: python3 benches/integrity_metrics.py [--reps N] [--size 4G] [--no-build] [--no-write]

  1. PUT of SIZE (default 4 GiB), durable, one connection, with and without
     `Content-Digest: sha-256=...` (the server hashes every byte while it
     streams): GiB/s and server CPU s/GiB. Targets: with the digest
     >= 0.85x the speed without, at <= +0.6 CPU s/GiB. The client is a
     Python socket sending one pre-filled 1 MiB buffer over and over (its
     SHA-256 is computed once, before the runs).
  2. With `--metrics` on and scraped every second vs off: PUT of SIZE (loadgen)
     and 20 000 x 4 KiB PUTs over 8 keep-alive connections (loadgen,
     --no-sync). Target: within noise.

Results go into BENCHMARKS.md between the integrity-metrics markers.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  (build, /proc readings, machine description)

REPO = e2e.REPO
GIB, MIB = 1 << 30, 1 << 20
BEGIN = "<!-- integrity-metrics:begin (written by benches/integrity_metrics.py) -->"
END = "<!-- integrity-metrics:end -->"


def note(msg):
    print(f"integrity_metrics: {msg}", file=sys.stderr, flush=True)


def start(flags, root):
    # The server's log goes to a file: a pipe nobody reads would fill and
    # block the server's log writes (and with them its workers).
    log_path = root.rstrip("/") + ".log"
    log = open(log_path, "w")
    cmd = [os.path.join(REPO, "target", "release", "ringdrop"), "--port", "0", *flags, root]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True,
                            start_new_session=True)
    log.close()
    line = proc.stdout.readline()
    m = re.search(r":(\d+)/", line)
    if not m:
        e2e.stop(proc)
        sys.exit(f"integrity_metrics: ringdrop did not start: {line!r}")
    metrics_port = None
    if "--metrics" in flags:
        deadline = time.time() + 10
        while metrics_port is None and time.time() < deadline:
            with open(log_path) as f:
                mm = re.search(r"metrics on http://[\d.]+:(\d+)/", f.read())
            if mm:
                metrics_port = int(mm.group(1))
            else:
                time.sleep(0.05)
    return proc, int(m.group(1)), metrics_port


def put_python(port, size, chunk, digest):
    """One PUT of `size` bytes (`chunk` repeated); returns wall seconds."""
    s = socket.create_connection(("127.0.0.1", port))
    head = f"PUT /f.bin HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n"
    if digest:
        head += f"Content-Digest: sha-256=:{digest}:\r\n"
    t = time.time()
    s.sendall((head + "\r\n").encode())
    left = size
    view = memoryview(chunk)
    while left:
        n = min(left, len(chunk))
        s.sendall(view[:n])
        left -= n
    resp = s.recv(4096)
    wall = time.time() - t
    s.close()
    status = int(resp.split(b" ", 2)[1])
    if status not in (200, 201):
        sys.exit(f"integrity_metrics: PUT answered {resp[:200]!r}")
    return wall


def digest_case(size, reps, data_dir):
    chunk = os.urandom(MIB)
    note(f"hashing the {size >> 20} MiB body once for its Content-Digest")
    h = hashlib.sha256()
    for _ in range(size // MIB):
        h.update(chunk)
    digest = base64.b64encode(h.digest()).decode()
    rows = {"plain": [], "digest": []}
    order = ["plain", "digest", "digest", "plain"]
    for rep in range(reps):
        for kind in order if rep % 2 == 0 else order[::-1]:
            root = os.path.join(data_dir, f"digest-{kind}")
            shutil.rmtree(root, ignore_errors=True)
            os.makedirs(root)
            proc, port, _ = start([], root)
            cpu0 = e2e.cpu_s([proc.pid])
            wall = put_python(port, size, chunk, digest if kind == "digest" else None)
            cpu = e2e.cpu_s([proc.pid]) - cpu0
            e2e.stop(proc)
            shutil.rmtree(root, ignore_errors=True)
            gib = size / GIB
            rows[kind].append({"gib_per_s": gib / wall, "cpu_s_per_gib": cpu / gib})
            note(f"{kind}: {gib / wall:.2f} GiB/s, {cpu / gib:.2f} CPU s/GiB")
            time.sleep(2)
    return rows


class Scraper(threading.Thread):
    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop_flag, self.scrapes = port, False, 0

    def run(self):
        while not self.stop_flag:
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                while s.recv(65536):
                    pass
                s.close()
                self.scrapes += 1
            except OSError:
                pass
            time.sleep(1)


def loadgen_case(loadgen, flags, lg_args, metrics, data_dir, label, keep):
    """One loadgen run against a fresh server. `keep`: leave the files for
    the caller to remove after the last run. Thousands of files deleted just
    before a run slow every create of the next one (ext4 scans past recently
    deleted inodes, see benches/e2e.py's small_requests_bench)."""
    root = os.path.join(data_dir, label)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    extra = ["--metrics", "127.0.0.1:0"] if metrics else []
    proc, port, mport = start(flags + extra, root)
    scraper = None
    if metrics:
        scraper = Scraper(mport)
        scraper.start()
    r = subprocess.run([loadgen, "--url", f"http://127.0.0.1:{port}/", "--server-pid",
                        str(proc.pid), *lg_args], capture_output=True, text=True, timeout=900)
    if scraper:
        scraper.stop_flag = True
    e2e.stop(proc)
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    if out.get("failures"):
        sys.exit(f"integrity_metrics: {label}: {out['failures']} failures")
    return out


def metrics_case(loadgen, size, reps, data_dir):
    cases = {
        "put": ([], ["--mode", "put", "--size", f"{size >> 20}M"]),
        "put4k": (["--no-sync"], ["--mode", "put", "--size", "4K", "--conns", "8",
                                  "--requests", "2500"]),
    }
    rows = {}
    kept = []
    for rep in range(reps):
        for name, (flags, lg) in cases.items():
            for metrics in ([False, True] if rep % 2 == 0 else [True, False]):
                label = f"{name}-{'on' if metrics else 'off'}-{rep}"
                keep = name == "put4k"
                out = loadgen_case(loadgen, flags, lg, metrics, data_dir, label, keep)
                if keep:
                    kept.append(os.path.join(data_dir, label))
                rate = (out["requests"] / out["wall_s"]) if name == "put4k" else out["gib_per_s"]
                rows.setdefault((name, metrics), []).append(
                    {"rate": rate, "cpu": out.get("server_cpu_s_per_gib")})
                note(f"{name} metrics={'on' if metrics else 'off'}: {rate:.2f}")
                time.sleep(2)
    for root in kept:
        shutil.rmtree(root, ignore_errors=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--size", default="4G", help="PUT size (M or G suffix)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    size = int(args.size[:-1]) * (GIB if args.size.endswith("G") else MIB)
    shared = os.environ.get("RINGDROP_SHARED", os.path.join(REPO, "..", "shared"))
    binroot = os.environ.get("RINGDROP_BENCH_BIN", os.path.join(REPO, "target", "bench-bin"))
    e2e.build(args, shared, binroot)
    loadgen = os.path.join(binroot, "release", "loadgen")
    data_dir = os.path.join(REPO, "target", "integrity-metrics")
    os.makedirs(data_dir, exist_ok=True)

    dig = digest_case(size, args.reps, data_dir)
    met = metrics_case(loadgen, size, args.reps, data_dir)

    med = e2e.med
    plain_speed = med([r["gib_per_s"] for r in dig["plain"]])
    dig_speed = med([r["gib_per_s"] for r in dig["digest"]])
    plain_cpu = med([r["cpu_s_per_gib"] for r in dig["plain"]])
    dig_cpu = med([r["cpu_s_per_gib"] for r in dig["digest"]])
    lines = [
        f"PUT {args.size}iB durable, one connection, medians of {args.reps * 2} "
        f"(`python3 benches/integrity_metrics.py --reps {args.reps}`):",
        "",
        "| case | GiB/s | server CPU s/GiB |",
        "| --- | --- | --- |",
        f"| without a digest | {plain_speed:.2f} | {plain_cpu:.2f} |",
        f"| with `Content-Digest: sha-256` | {dig_speed:.2f} | {dig_cpu:.2f} |",
        f"| ratio / difference | {dig_speed / plain_speed:.2f}x (target >= 0.85) | "
        f"{dig_cpu - plain_cpu:+.2f} (target <= +0.6) |",
        "",
        "| metrics | PUT GiB/s | 4 KiB PUT req/s |",
        "| --- | --- | --- |",
    ]
    for on in (False, True):
        put = med([r["rate"] for r in met[("put", on)]])
        small = med([r["rate"] for r in met[("put4k", on)]])
        lines.append(f"| {'on, scraped every second' if on else 'off'} | {put:.2f} | {small:.0f} |")
    on_put = med([r["rate"] for r in met[("put", True)]])
    off_put = med([r["rate"] for r in met[("put", False)]])
    on_small = med([r["rate"] for r in met[("put4k", True)]])
    off_small = med([r["rate"] for r in met[("put4k", False)]])
    lines.append(f"| ratio on / off | {on_put / off_put:.2f}x | {on_small / off_small:.2f}x |")
    section = "\n".join(lines) + "\n\nMachine:\n" + e2e.machine(data_dir) + "\n"
    print(section)
    print(json.dumps({"digest_speed_ratio": dig_speed / plain_speed,
                      "digest_cpu_delta": dig_cpu - plain_cpu,
                      "metrics_put_ratio": on_put / off_put,
                      "metrics_small_ratio": on_small / off_small}))
    if not args.no_write:
        path = os.path.join(REPO, "BENCHMARKS.md")
        text = open(path).read()
        block = f"{BEGIN}\n{section}{END}\n"
        if BEGIN in text and END in text:
            text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):].lstrip("\n")
        else:
            text = text.rstrip("\n") + "\n\n## Integrity and metrics: what they cost\n\n" + block
        open(path, "w").write(text)


if __name__ == "__main__":
    main()
