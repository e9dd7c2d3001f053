#!/usr/bin/env python3
"""Resumable uploads against PUT, in one run, interleaved: a tus upload of
SIZE (default 4 GiB) in CHUNK PATCHes (default 64 MiB) and in one PATCH,
next to a PUT of the same SIZE, in the same mode (durable, the default, and
--no-sync), on loopback; then the bytes a client re-sends after its
connection is cut mid-PATCH. Standard library only; reuses benches/e2e.py's
/proc helpers.

usage: python3 benches/resumable.py [--size 4G] [--chunk 64M] [--reps 3]
                                    [--modes durable,no-sync] [--quick]
                                    [--bench-dir DIR] [--no-build]

Every case runs on one keep-alive connection from a client that sends its
body with sendfile(2) from a 64 MiB file hot in the page cache (so the
client costs little and the same for every case). Measured per run: wall
time from the first request to the last response (GiB/s), the server's CPU
seconds (utime + stime from /proc) per GiB, and its peak RSS (VmHWM, reset
through clear_refs before each run). Each stored file is deleted and `sync`
run between runs, outside the measurement.

Targets (issue #15): 64 MiB PATCHes >= 0.9x PUT, one PATCH >= 0.95x, peak
RSS the same as PUT's; after a cut, bytes re-sent <= one registered buffer
(--buffer-size, 1 MiB by default).

--quick: 1 GiB, 1 rep (a sanity run, not numbers to quote).
"""

import argparse
import base64
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  (cpu_s, status_kib, wait_port, stop, machine, ...)

REPO = e2e.REPO
GIB, MIB = e2e.GIB, e2e.MIB
SOURCE_BYTES = 64 * MIB
PORT = 18130
TUS = "Tus-Resumable: 1.0.0\r\n"


def note(msg):
    print(f"resumable: {msg}", file=sys.stderr, flush=True)


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip().upper()
    if text and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


# ---------------------------------------------------------------- client

class Client:
    """One keep-alive HTTP/1.1 connection; bodies go with sendfile(2) from
    `source` (a file of SOURCE_BYTES, repeated as needed)."""

    def __init__(self, port, source_fd):
        self.port = port
        self.fd = source_fd
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send_body(self, length, limit=None):
        """Sends `length` bytes of body (or only `limit` of them)."""
        todo = length if limit is None else min(length, limit)
        pos = 0
        while pos < todo:
            at = pos % SOURCE_BYTES
            n = os.sendfile(self.sock.fileno(), self.fd, at, min(todo - pos, SOURCE_BYTES - at))
            if n == 0:
                raise OSError("sendfile sent nothing")
            pos += n
        return pos

    def request(self, method, path, headers="", length=None, head=False):
        framing = "" if length is None else f"Content-Length: {length}\r\n"
        self.sock.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{headers}{framing}\r\n"
            .encode())
        if length:
            self.send_body(length)
        return self.response(head)

    def response(self, head=False):
        while True:
            status, fields = self._read_head()
            body = b""
            n = int(fields.get("content-length", "0"))
            if not head and n:
                while len(self.buf) < n:
                    self._fill()
                body, self.buf = self.buf[:n], self.buf[n:]
            if status >= 200:
                return status, fields, body

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise OSError("connection closed")
        self.buf += chunk

    def _read_head(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
        return status, fields


def put_case(port, fd, size, name):
    c = Client(port, fd)
    try:
        status, _, body = c.request("PUT", f"/{name}", length=size)
        if status not in (200, 201):
            raise RuntimeError(f"PUT: {status} {body[:200]!r}")
    finally:
        c.close()


def tus_case(port, fd, size, chunk, name):
    c = Client(port, fd)
    try:
        meta = base64.b64encode(name.encode()).decode()
        status, fields, body = c.request(
            "POST", "/", f"{TUS}Upload-Length: {size}\r\nUpload-Metadata: filename {meta}\r\n")
        if status != 201:
            raise RuntimeError(f"POST: {status} {body[:200]!r}")
        loc = fields["location"]
        offset = 0
        while offset < size:
            n = min(chunk, size - offset)
            status, fields, body = c.request(
                "PATCH", loc,
                f"{TUS}Upload-Offset: {offset}\r\n"
                "Content-Type: application/offset+octet-stream\r\n",
                length=n)
            if status != 204:
                raise RuntimeError(f"PATCH at {offset}: {status} {body[:200]!r}")
            offset = int(fields["upload-offset"])
    finally:
        c.close()


def resent_after_cut(port, fd, size, sent):
    """Creates an upload of `size`, sends `sent` bytes of one PATCH of the
    whole, closes the connection, and asks where to resume: the bytes the
    client must send again."""
    c = Client(port, fd)
    status, fields, _ = c.request("POST", "/", f"{TUS}Upload-Length: {size}\r\n")
    assert status == 201, status
    loc = fields["location"]
    c.sock.sendall(
        (f"PATCH {loc} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{TUS}Upload-Offset: 0\r\n"
         f"Content-Type: application/offset+octet-stream\r\nContent-Length: {size}\r\n\r\n").encode())
    c.send_body(size, limit=sent)
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    h = Client(port, fd)
    try:
        status, fields, _ = h.request("HEAD", loc, TUS, head=True)
        offset = int(fields["upload-offset"])
        h.request("DELETE", loc, TUS)
    finally:
        h.close()
    return sent - offset, offset


# ---------------------------------------------------------------- runs

def measure(pid, fn):
    pids = e2e.descendants(pid)
    for p in pids:
        with open(f"/proc/{p}/clear_refs", "w") as f:
            f.write("5")
    cpu0 = e2e.cpu_s(pids)
    t0 = time.monotonic()
    fn()
    wall = time.monotonic() - t0
    cpu = e2e.cpu_s(pids) - cpu0
    return wall, cpu, e2e.status_kib(pids, "VmHWM:")


def clean(root):
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    subprocess.run(["sync"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="4G")
    ap.add_argument("--chunk", default="64M")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--modes", default="durable,no-sync")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--bench-dir", default=os.path.join(REPO, "target", "resumable-bench"))
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.size, args.reps = "1G", 1
    size, chunk = parse_size(args.size), parse_size(args.chunk)
    if not args.no_build:
        e2e.run(["cargo", "build", "--release"], cwd=REPO)
    binary = os.path.join(REPO, "target", "release", "ringdrop")
    os.makedirs(args.bench_dir, exist_ok=True)
    source = os.path.join(args.bench_dir, "source.bin")
    e2e.make_file(source, SOURCE_BYTES)
    subprocess.run(["cat", source], stdout=subprocess.DEVNULL)
    root = os.path.join(args.bench_dir, "root")
    os.makedirs(root, exist_ok=True)
    fd = os.open(source, os.O_RDONLY)
    cases = [
        ("put", lambda p, n: put_case(p, fd, size, n)),
        (f"tus {chunk // MIB} MiB PATCHes", lambda p, n: tus_case(p, fd, size, chunk, n)),
        ("tus one PATCH", lambda p, n: tus_case(p, fd, size, size, n)),
    ]
    results = {}
    cuts = {}
    for mode in args.modes.split(","):
        flags = [] if mode == "durable" else ["--no-sync"]
        clean(root)
        cmd = [binary, "--port", str(PORT), *flags, root]
        note("$ " + " ".join(cmd))
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            if not e2e.wait_port(PORT, proc):
                sys.exit("resumable: the server did not start")
            for rep in range(args.reps):
                # Each rep starts with another case, so that no case always
                # follows the same one (a 4 GiB delete before a run, with
                # online discard, costs whichever case comes next).
                for name, fn in cases[rep % len(cases):] + cases[:rep % len(cases)]:
                    wall, cpu, hwm = measure(proc.pid, lambda: fn(PORT, f"r{rep}.bin"))
                    gib = size / GIB
                    results.setdefault((mode, name), []).append((gib / wall, cpu / gib, hwm))
                    note(f"{mode:<8} rep {rep} {name:<22} {gib / wall:.3f} GiB/s  "
                         f"cpu {cpu / gib:.3f} s/GiB  peak rss {hwm / 1024:.1f} MiB")
                    clean(root)
            cut_size = min(size, 512 * MIB)
            cuts[mode] = [resent_after_cut(PORT, fd, cut_size, sent)
                          for sent in (100 * MIB + 12345, 200 * MIB + 1, 3 * MIB - 1)]
            clean(root)
        finally:
            e2e.stop(proc)
    os.close(fd)
    report(args, size, chunk, results, cuts)
    return 0


def report(args, size, chunk, results, cuts):
    def med(xs):
        return statistics.median(xs)

    def span(xs, f):
        m = f.format(med(xs))
        return m if len(xs) == 1 else f"{m} ({f.format(min(xs))}–{f.format(max(xs))})"

    lines = [
        f"Resumable uploads vs PUT: {size // GIB if size >= GIB else size / GIB:g} GiB, "
        f"tus in {chunk // MIB} MiB PATCHes and in one PATCH, {args.reps} rep(s), loopback.",
        "",
        "| mode | case | GiB/s | × PUT | server CPU s/GiB | peak RSS MiB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for mode in args.modes.split(","):
        put = med([r[0] for r in results[(mode, "put")]])
        for (m, name), rs in results.items():
            if m != mode:
                continue
            speeds = [r[0] for r in rs]
            lines.append(
                f"| {mode} | {name} | {span(speeds, '{:.3f}')} | {med(speeds) / put:.2f} | "
                f"{span([r[1] for r in rs], '{:.3f}')} | "
                f"{span([r[2] / 1024 for r in rs], '{:.1f}')} |")
    lines += ["", "Bytes re-sent after a cut (a PATCH of 512 MiB cut after N bytes; "
              "one registered buffer is 1 MiB):", ""]
    for mode, rows in cuts.items():
        for (resent, offset) in rows:
            lines.append(f"- {mode}: cut at {offset + resent} → server offset {offset}, "
                         f"re-sent {resent} bytes")
    lines += ["", e2e.machine(args.bench_dir)]
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
