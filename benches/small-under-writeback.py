#!/usr/bin/env python3
"""Latency of small --no-sync PUTs while the page cache fills with dirty pages.

Why: a small body may be written with a plain pwrite on the worker thread
(src/server/small_body.rs) only while the system's dirty pages are far below
the kernel's throttling point (src/storage/dirty_pages.rs); a pwrite that the
kernel throttles (balance_dirty_pages) would stall every connection of the
worker. This probe checks that claim: it runs 4 keep-alive connections of
4 KiB PUTs against each ringdrop binary given, while a blocking sink
(../shared/bench/sinks tcp-to-disk, 1 MiB buffer, page cache) receives 2 x 4 GiB
from loadgen, and for a few seconds after (while writeback drains). Binaries
are run in turn, --reps times. Standard library only; loopback only.

usage: python3 benches/small-under-writeback.py [--reps N] [--after SECS] LABEL=BIN [LABEL=BIN ...]

e.g. two builds of ringdrop (one per git worktree):
  python3 benches/small-under-writeback.py inline=target/release/ringdrop uring=/tmp/old/ringdrop
Needs loadgen and tcp-to-disk built (see benches/e2e.py; RINGDROP_BENCH_BIN).
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_BIN = os.environ.get("RINGDROP_BENCH_BIN", os.path.join(REPO, "target", "bench-bin"))


def bench_tool(name):
    for sub in ("release", ""):
        path = os.path.join(BENCH_BIN, sub, name)
        if os.path.exists(path):
            return path
    sys.exit(f"{name} not found under {BENCH_BIN} (run benches/e2e.py once, or set RINGDROP_BENCH_BIN)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ringdrop(binary, root):
    proc = subprocess.Popen(
        [binary, "--port", "0", "--no-sync", "--log-level", "warn", root],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline()
    m = re.search(r"listening on http://([\d.]+):(\d+)/", line)
    if not m:
        proc.kill()
        sys.exit(f"{binary}: no 'listening on' line: {line!r}")
    return proc, int(m.group(2))


def read_response(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    return status, rest[length:]


def small_putter(port, conn_id, stop, samples):
    body = os.urandom(4096)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    i = 0
    while not stop.is_set():
        head = (
            f"PUT /s-{conn_id}-{i}.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        t0 = time.perf_counter()
        sock.sendall(head + body)
        status, buf = read_response(sock, buf)
        samples.append((time.monotonic(), time.perf_counter() - t0, status))
        i += 1
    sock.close()


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


def dirty_mib():
    with open("/proc/vmstat") as f:
        counts = dict(line.split() for line in f)
    return (int(counts["nr_dirty"]) + int(counts["nr_writeback"])) * 4096 / 2**20


def one_run(label, binary, after_s, work):
    root = tempfile.mkdtemp(prefix=f"small-wb-{label}-", dir=work)
    sink_dir = tempfile.mkdtemp(prefix="sink-", dir=work)
    server, port = start_ringdrop(binary, root)
    sink_port = free_port()
    sink = subprocess.Popen(
        [bench_tool("tcp-to-disk"), "--addr", f"127.0.0.1:{sink_port}", "--dir", sink_dir, "--buf", "1048576"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    stop = threading.Event()
    samples = []
    putters = [threading.Thread(target=small_putter, args=(port, c, stop, samples)) for c in range(4)]
    peak_dirty = [0.0]

    def watch_dirty():
        while not stop.is_set():
            peak_dirty[0] = max(peak_dirty[0], dirty_mib())
            time.sleep(0.05)

    watcher = threading.Thread(target=watch_dirty)
    for t in putters + [watcher]:
        t.start()
    load_start = time.monotonic()
    subprocess.run(
        [bench_tool("loadgen"), "--url", f"http://127.0.0.1:{sink_port}/", "--mode", "raw", "--size", "4G", "--conns", "2"],
        stdout=subprocess.DEVNULL,
        check=True,
    )
    load_end = time.monotonic()
    time.sleep(after_s)
    stop.set()
    for t in putters + [watcher]:
        t.join()
    server.terminate()
    sink.terminate()
    server.wait()
    sink.wait()
    shutil.rmtree(sink_dir, ignore_errors=True)
    bad = sum(1 for _, _, s in samples if s != 201)
    during = [lat for at, lat, _ in samples if load_start <= at <= load_end]
    after = [lat for at, lat, _ in samples if at > load_end]
    return {
        "label": label,
        "during_n": len(during),
        "during_p50_ms": pct(during, 0.5) * 1e3,
        "during_p999_ms": pct(during, 0.999) * 1e3,
        "during_max_ms": max(during, default=float("nan")) * 1e3,
        "during_req_s": len(during) / max(load_end - load_start, 1e-9),
        "after_p999_ms": pct(after, 0.999) * 1e3,
        "after_max_ms": max(after, default=float("nan")) * 1e3,
        "load_s": load_end - load_start,
        "peak_dirty_mib": peak_dirty[0],
        "non_201": bad,
    }, root


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--after", type=float, default=5.0, help="seconds of small PUTs after the big upload ends")
    ap.add_argument("--work-dir", default=os.path.join(REPO, "target", "small-wb"))
    ap.add_argument("servers", nargs="+", metavar="LABEL=BIN")
    args = ap.parse_args()
    servers = [s.split("=", 1) for s in args.servers]
    os.makedirs(args.work_dir, exist_ok=True)
    roots = []
    print("| server | during: p50 / p99.9 / max ms | small req/s during | after: p99.9 / max ms | 2×4 GiB to the sink, s | peak dirty+writeback MiB | non-201 |")
    print("|---|---|---|---|---|---|---|")
    try:
        for _ in range(args.reps):
            for label, binary in servers:
                r, root = one_run(label, binary, args.after, args.work_dir)
                roots.append(root)
                print(
                    f"| {r['label']} | {r['during_p50_ms']:.2f} / {r['during_p999_ms']:.1f} / {r['during_max_ms']:.1f} "
                    f"| {r['during_req_s']:.0f} | {r['after_p999_ms']:.1f} / {r['after_max_ms']:.1f} "
                    f"| {r['load_s']:.1f} | {r['peak_dirty_mib']:.0f} | {r['non_201']} |",
                    flush=True,
                )
    finally:
        # Small files are removed only at the end (see BENCHMARKS.md, "Small
        # uploads": creating files next to just-deleted ones is slow on ext4
        # without a journal).
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
