#!/usr/bin/env python3
"""Access control, end to end: what signing in costs a normal client, and
what a wrong-password flood costs the server. Standard library only;
loopback only; one run, everything compared inside it.

usage: python3 benches/auth_e2e.py [--no-build] [--secs S] [--reps N]

What it measures, with the release binary (cargo build --release first):

  1. Requests/s of 4 KiB GETs over 8 keep-alive connections: a server
     without access rules against one where the same file needs Basic
     credentials (a valid header, the same on every request: the cached
     path). `wrk` when it is installed (Debian: apt-get install wrk; the
     header with -H), else a Python keep-alive client in threads.
     Interleaved, --reps times each, medians. Target: >= 0.9x.
  2. First sign-ins/s: 16 users, each signing in once (one argon2id check
     each, nothing cached) - what every request would cost without the
     cache.
  3. A normal signed-in client (sequential 4 KiB GETs on one keep-alive
     connection for --secs seconds: p50/p99 latency; then 64 MiB PUTs,
     durable: MiB/s) alone, then while 200 connections send wrong passwords
     as fast as they can:
       A. from one address (wrk, or Python if wrk is missing): after five
          failures the address is throttled, so this is the request-rate
          case (429s as fast as the client can ask);
       B. from 200 addresses (127.0.0.2..201; two flooder processes): each
          address gets its five free checks, so the verification pool is
          busy for the whole window - the hashing case.
     Targets: GET p99 <= 50 ms, PUT >= 0.8x alone. Also the server's CPU
     during the flood (all threads, and the verification thread alone:
     --auth-threads, 1 by default, bounds the hashing).
     C, for comparison: 200 connections of valid signed-in GETs (wrk), the
     same request load without an attack, to tell what the flood costs
     from what any 200 busy connections cost on this machine.

The normal client signs in before each flood, from 127.0.0.1 (in flood A
the flooder's own address: its credentials are served from the cache
while the address is throttled). Prints a Markdown report.
"""

import argparse
import base64
import json
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(REPO, "target", "release", "ringdrop")
WORK = os.path.join(REPO, "target", "auth-e2e")
MIB = 1 << 20
FILE = "/f4k.bin"
USER, PASSWORD = "bench", "correct horse battery staple"
TICK = os.sysconf("SC_CLK_TCK")


def die(msg):
    sys.exit(f"auth_e2e: {msg}")


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def hash_password(password):
    out = subprocess.run([BIN, "hash-password"], input=password + "\n",
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


# ---------------------------------------------------------------- the server

class Server:
    def __init__(self, root, args):
        self.proc = subprocess.Popen(
            [BIN, "--port", "0", *args, root],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on http://"):
            self.stop()
            die(f"no listening line: {line!r}")
        self.port = int(line.rstrip("/").rsplit(":", 1)[1])

    def cpu_ticks(self, thread_name=None):
        """utime+stime of the process, or of its threads named thread_name."""
        pid = self.proc.pid
        if thread_name is None:
            return stat_ticks(f"/proc/{pid}/stat")
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            path = f"/proc/{pid}/task/{tid}/stat"
            try:
                with open(path) as f:
                    text = f.read()
            except OSError:
                continue
            if text[text.index("(") + 1:text.rindex(")")] == thread_name:
                total += stat_ticks(path, text)
        return total

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def machine_busy_ticks():
    """Busy clock ticks of the whole machine (all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # minus idle and iowait


def stat_ticks(path, text=None):
    if text is None:
        with open(path) as f:
            text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


# ---------------------------------------------------------------- a client

class KeepAlive:
    """One keep-alive HTTP/1.1 connection, blocking, from source `src`."""

    def __init__(self, port, src="127.0.0.1"):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.bind((src, 0))
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""

    def request(self, method, path, headers="", body=b""):
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"{headers}")
        if body or method == "PUT":
            head += f"Content-Length: {len(body)}\r\n"
        self.sock.sendall((head + "\r\n").encode())
        if body:
            self.sock.sendall(body)
        return self.response()

    def response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and "close" in value.lower():
                close = True
        while len(rest) < length:
            self._fill()
            rest = self.buf.partition(b"\r\n\r\n")[2]
        self.buf = rest[length:]
        return status, rest[:length], close

    def _fill(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("closed")
        self.buf += data

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- throughput

def wrk_rate(port, header, conns, secs):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{secs}s", "--latency"]
    if header:
        cmd += ["-H", f"Authorization: {header}"]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{port}{FILE}"],
                         capture_output=True, text=True, check=True).stdout
    rate = None
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            rate = float(line.split()[1])
        if "Non-2xx or 3xx responses" in line:
            die(f"wrk saw errors:\n{out}")
    if rate is None:
        die(f"no rate in wrk's output:\n{out}")
    return rate


def python_rate(port, header, conns, secs):
    headers = f"Authorization: {header}\r\n" if header else ""
    counts = [0] * conns
    stop = time.monotonic() + secs

    def loop(i):
        c = KeepAlive(port)
        while time.monotonic() < stop:
            status, _, _ = c.request("GET", FILE, headers)
            if status != 200:
                die(f"GET answered {status}")
            counts[i] += 1
        c.close()

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(conns)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - start)


# ---------------------------------------------------------------- the flood

def flood_worker(port, first_src, addresses, conns, secs):
    """Runs in its own process: `conns` connections (spread over
    `addresses` source addresses from 127.0.0.first_src) sending GETs with
    wrong passwords, each the next as soon as the answer is in; prints the
    answers' statuses as JSON."""
    sel = selectors.DefaultSelector()
    counts = {}
    guess = [0]

    def request():
        guess[0] += 1
        auth = basic(USER, f"guess-{guess[0]}")
        return (f"GET {FILE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: {auth}\r\n\r\n").encode()

    def connect(i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.bind((f"127.0.0.{first_src + i % addresses}", 0))
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(request())
        except OSError:
            s.close()
            return False
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, [i, b""])
        return True

    for i in range(conns):
        connect(i)
    stop = time.monotonic() + secs
    stopped = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(True))
    pending = []
    while time.monotonic() < stop and not stopped:
        for i in pending[:]:
            if connect(i):
                pending.remove(i)
        for key, _ in sel.select(timeout=0.05):
            s, state = key.fileobj, key.data
            try:
                data = s.recv(1 << 16)
            except OSError:
                data = b""
            reconnect = not data
            state[1] += data
            while b"\r\n\r\n" in state[1]:
                head, _, rest = state[1].partition(b"\r\n\r\n")
                text = head.decode("latin-1").lower()
                length = 0
                for line in text.split("\r\n")[1:]:
                    if line.startswith("content-length:"):
                        length = int(line.split(":")[1])
                if len(rest) < length:
                    break
                status = int(text.split()[1])
                counts[status] = counts.get(status, 0) + 1
                state[1] = rest[length:]
                if "connection: close" in text:
                    reconnect = True
                    break
                try:
                    s.sendall(request())
                except OSError:
                    reconnect = True
                    break
            if reconnect:
                sel.unregister(s)
                s.close()
                pending.append(state[0])
    print(json.dumps(counts))


class Flood:
    """200 wrong-password connections, from one address or from 200."""

    def __init__(self, port, mode, secs):
        self.procs, self.mode = [], mode
        if mode == "valid":  # the comparison: the same load, not an attack
            if not shutil.which("wrk"):
                self.tool = "- (needs wrk)"
                return
            self.tool = "wrk -c200 (127.0.0.1)"
            self.procs.append(subprocess.Popen(
                ["wrk", "-t1", "-c200", f"-d{secs}s", "-H",
                 f"Authorization: {basic(USER, PASSWORD)}",
                 f"http://127.0.0.1:{port}{FILE}"],
                stdout=subprocess.PIPE, text=True))
            return
        if mode == "one" and shutil.which("wrk"):
            script = os.path.join(WORK, "wrong.lua")
            values = ",".join(f'"{basic(USER, f"guess-{i}")}"' for i in range(1000))
            with open(script, "w") as f:
                f.write("local v = {" + values + "}\nlocal i = 0\n"
                        "request = function()\n  i = i % #v + 1\n"
                        "  return wrk.format(nil, nil, {Authorization = v[i]})\nend\n")
            self.tool = "wrk -c200 (127.0.0.1)"
            self.procs.append(subprocess.Popen(
                ["wrk", "-t1", "-c200", f"-d{secs}s", "-s", script,
                 f"http://127.0.0.1:{port}{FILE}"],
                stdout=subprocess.PIPE, text=True))
            return
        me = os.path.abspath(__file__)
        if mode == "one":
            self.tool = "Python, 200 connections from 127.0.0.2"
            plan = [(2, 1, 200)]
        else:
            self.tool = "Python, 2 processes x 100 connections, 127.0.0.2-201"
            plan = [(2, 100, 100), (102, 100, 100)]
        for first, addresses, conns in plan:
            self.procs.append(subprocess.Popen(
                [sys.executable, me, "--flood-worker",
                 f"{port},{first},{addresses},{conns},{secs}"],
                stdout=subprocess.PIPE, text=True))

    def cpu_ticks(self):
        total = 0
        for p in self.procs:
            try:
                total += stat_ticks(f"/proc/{p.pid}/stat")
            except OSError:
                pass
        return total

    def results(self):
        """Stops the flood and returns what it was answered."""
        for p in self.procs:
            p.send_signal(signal.SIGINT if self.tool.startswith("wrk") else signal.SIGTERM)
        counts = {}
        for p in self.procs:
            out, _ = p.communicate(timeout=120)
            if out.lstrip().startswith("{"):
                for k, v in json.loads(out).items():
                    counts[int(k)] = counts.get(int(k), 0) + v
            else:  # wrk: status mix is not broken down
                counts["non-2xx"] = 0
                for line in out.splitlines():
                    if "requests in" in line:
                        counts["all"] = int(line.split()[0])
                    if "Non-2xx" in line:
                        counts["non-2xx"] = int(line.split()[-1])
        return counts


# ---------------------------------------------------------------- the normal client

def normal_client(port, header, secs, puts, body):
    """Sequential 4 KiB GETs for `secs` on one keep-alive connection
    (latencies), then `puts` 64 MiB PUTs (MiB/s each)."""
    headers = f"Authorization: {header}\r\n"
    c = KeepAlive(port)
    lat = []
    stop = time.monotonic() + secs
    while time.monotonic() < stop:
        t = time.perf_counter()
        status, data, _ = c.request("GET", FILE, headers)
        lat.append(time.perf_counter() - t)
        if status != 200 or len(data) != 4096:
            die(f"normal client's GET: {status}")
    speeds = []
    for i in range(puts):
        t = time.perf_counter()
        status, data, _ = c.request("PUT", f"/up/{time.time_ns()}-{i}.bin", headers, body)
        wall = time.perf_counter() - t
        if status != 201:
            die(f"normal client's PUT: {status} {data[:200]!r}")
        speeds.append(len(body) / MIB / wall)
    c.close()
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
    return {"gets": len(lat), "p50_ms": q(0.50), "p99_ms": q(0.99),
            "max_ms": lat[-1] * 1000, "put_mib_s": statistics.median(speeds),
            "put_all": speeds}


def first_sign_ins(port, users, patience):
    """Each of `users` (never signed in) signs in from 127.0.0.250, following
    Retry-After on 429/503, for at most `patience` seconds. Returns
    (signed in at the first try, signed in at all, seconds each took)."""
    first, ok, took = 0, 0, []
    for user in users:
        t0 = time.monotonic()
        tries = 0
        while time.monotonic() - t0 < patience:
            tries += 1
            c = KeepAlive(port, "127.0.0.250")
            try:
                c.sock.sendall((f"GET {FILE} HTTP/1.1\r\nHost: x\r\nAuthorization: "
                                f"{basic(user, 'pw-' + user)}\r\nConnection: close"
                                "\r\n\r\n").encode())
                status = c.response()[0]
            except (ConnectionError, OSError):
                status = 0
            finally:
                c.close()
            if status == 200:
                ok += 1
                first += tries == 1
                took.append(time.monotonic() - t0)
                break
            time.sleep(1.0)  # Retry-After is 1 s for 503, longer for 429
    return first, ok, took


def clear_uploads(root):
    up = os.path.join(root, "up")
    shutil.rmtree(up, ignore_errors=True)
    os.mkdir(up)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--secs", type=int, default=5, help="seconds per measurement")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--flood-worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.flood_worker:
        port, first, addresses, conns, secs = (int(x) for x in a.flood_worker.split(","))
        flood_worker(port, first, addresses, conns, secs)
        return
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "--bin", "ringdrop"],
                       cwd=REPO, check=True)
    if not os.path.exists(BIN):
        die("target/release/ringdrop not built")
    shutil.rmtree(WORK, ignore_errors=True)
    root = os.path.join(WORK, "root")
    os.makedirs(root)
    with open(os.path.join(root, FILE[1:]), "wb") as f:
        f.write(os.urandom(4096))
    clear_uploads(root)
    header = basic(USER, PASSWORD)
    phc = hash_password(PASSWORD)
    private = ["--user", f"{USER}:{phc}", "--allow", f"{USER}:/:read,upload"]
    fresh_users = [f"new{i}" for i in range(5)]
    for u in fresh_users:
        private += ["--user", f"{u}:{hash_password('pw-' + u)}", "--allow", f"{u}:/:read"]
    rate = wrk_rate if shutil.which("wrk") else python_rate
    client = "wrk -t2 -c8" if rate is wrk_rate else "Python, 8 threads"
    report = [f"`python3 benches/auth_e2e.py --secs {a.secs} --reps {a.reps}`, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{os.cpu_count()} cores, release build, server defaults "
              f"(2 workers, durable, --auth-threads 1); load average at start "
              f"{open('/proc/loadavg').read().split()[0]}."]

    # 1. cached Basic vs no access rules
    rates = {"open": [], "auth": []}
    cpu_us = {"open": [], "auth": []}
    for rep in range(a.reps):
        for kind in ("open", "auth"):
            s = Server(root, private if kind == "auth" else [])
            try:
                h = header if kind == "auth" else None
                if h:  # sign in once: the one argon2 check, then cached
                    c = KeepAlive(s.port)
                    assert c.request("GET", FILE, f"Authorization: {h}\r\n")[0] == 200
                    c.close()
                t0, c0 = time.monotonic(), s.cpu_ticks()
                rates[kind].append(rate(s.port, h, 8, a.secs))
                wall, cpu = time.monotonic() - t0, (s.cpu_ticks() - c0) / TICK
                cpu_us[kind].append(cpu / (rates[kind][-1] * wall) * 1e6)
            finally:
                s.stop()
            print(f"rep {rep + 1} {kind}: {rates[kind][-1]:.0f} req/s", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in rates.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu_us.items()}
    report += ["", f"4 KiB GET, 8 keep-alive connections ({client}), {a.secs} s each, "
               f"{a.reps} interleaved reps:", "",
               "| server | req/s median | min-max | server CPU per request (median) |",
               "| --- | --- | --- | --- |"]
    for kind, label in (("open", "no access rules"),
                        ("auth", "Basic, valid, same header (cached)")):
        report.append(f"| {label} | {med[kind]:.0f} | "
                      f"{min(rates[kind]):.0f}-{max(rates[kind]):.0f} | "
                      f"{med_cpu[kind]:.1f} us |")
    report += ["", f"Ratio signed-in / open: **{med['auth'] / med['open']:.2f}x** "
               "(target >= 0.9x); server CPU per request signed-in / open: "
               f"{med_cpu['auth'] / med_cpu['open']:.2f}x (less sensitive to the "
               "rest of the machine than req/s)."]

    # 2. uncached: first sign-ins
    users = [f"u{i}" for i in range(16)]
    args = ["--allow", "@users:/:read"]
    for u in users:
        args += ["--user", f"{u}:{hash_password('pw-' + u)}"]
    s = Server(root, args)
    try:
        t = time.perf_counter()
        errors = []

        def sign_in(batch):
            for u in batch:
                c = KeepAlive(s.port)
                st = c.request("GET", FILE, f"Authorization: {basic(u, 'pw-' + u)}\r\n")[0]
                if st != 200:
                    errors.append(st)
                c.close()
        threads = [threading.Thread(target=sign_in, args=(users[i::4],)) for i in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t
        if errors:
            die(f"first sign-ins answered {errors}")
    finally:
        s.stop()
    report += ["", f"Uncached: 16 first sign-ins (one argon2id check each, "
               f"m=19456 KiB, t=2) from 4 connections: {16 / wall:.1f} sign-ins/s "
               f"({wall / 16 * 1000:.0f} ms each on the one verification thread) - "
               f"what every request would cost without the cache."]

    # 3. the normal client, alone and beside the floods
    body = os.urandom(64 * MIB)
    rows = []
    for mode in (None, "one", "many", "valid"):
        clear_uploads(root)
        s = Server(root, private)
        try:
            c = KeepAlive(s.port)
            assert c.request("GET", FILE, f"Authorization: {header}\r\n")[0] == 200
            c.close()
            flood = None
            if mode:
                flood = Flood(s.port, mode, a.secs + 45)
                time.sleep(2)  # let it build up (first checks, throttling)
            cpu0, auth0, t0 = s.cpu_ticks(), s.cpu_ticks("ringdrop-auth-0"), time.monotonic()
            flood0, me0 = flood.cpu_ticks() if flood else 0, time.process_time()
            busy0 = machine_busy_ticks()
            r = normal_client(s.port, header, a.secs, 5, body)
            wall = time.monotonic() - t0
            r["cpu"] = (s.cpu_ticks() - cpu0) / TICK / wall
            r["auth_cpu"] = (s.cpu_ticks("ringdrop-auth-0") - auth0) / TICK / wall
            r["flood_cpu"] = (flood.cpu_ticks() - flood0) / TICK / wall if flood else 0.0
            r["client_cpu"] = (time.process_time() - me0) / wall
            r["others_cpu"] = max(0.0, (machine_busy_ticks() - busy0) / TICK / wall
                                  - r["cpu"] - r["flood_cpu"] - r["client_cpu"])
            r["fresh"] = first_sign_ins(s.port, fresh_users, 5)
            r["flood"] = flood.results() if flood else None
            r["tool"] = flood.tool if flood else "-"
        finally:
            s.stop()
        rows.append((mode, r))
        print(f"{mode}: {r}", file=sys.stderr)
    alone = rows[0][1]
    report += ["", "A normal signed-in client (one keep-alive connection: sequential "
               f"4 KiB GETs for {a.secs} s, then 5 x 64 MiB PUT, durable), alone and "
               "while 200 connections send wrong passwords:", "",
               "| flood | GETs | GET p50 | GET p99 | GET max | 64 MiB PUT (median of 5) "
               "| PUT vs alone | server CPU | verification thread CPU | flood answers |",
               "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    cpu_rows = ["", "CPU during the same window (cores; the machine has "
                f"{os.cpu_count()}):", "",
                "| flood | ringdrop | its verification thread | flooders | normal client "
                "| everything else on the machine |",
                "| --- | --- | --- | --- | --- | --- |"]
    names = {None: "none (alone)", "one": "A: 200 conns, one address",
             "many": "B: 200 conns, 200 addresses",
             "valid": "C (not an attack): 200 conns of signed-in 4 KiB GETs"}
    for mode, r in rows:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(
            (r["flood"] or {}).items(), key=lambda kv: str(kv[0]))) or "-"
        report.append(
            f"| {names[mode]} ({r['tool']}) | {r['gets']} | {r['p50_ms']:.2f} ms | "
            f"{r['p99_ms']:.2f} ms | {r['max_ms']:.1f} ms | {r['put_mib_s']:.0f} MiB/s | "
            f"{r['put_mib_s'] / alone['put_mib_s']:.2f}x | {r['cpu']:.2f} cores | "
            f"{r['auth_cpu']:.2f} cores | {answers} |")
        cpu_rows.append(f"| {names[mode]} | {r['cpu']:.2f} | {r['auth_cpu']:.2f} | "
                        f"{r['flood_cpu']:.2f} | {r['client_cpu']:.2f} | "
                        f"{r['others_cpu']:.2f} |")
    report += cpu_rows
    report += ["", f"First sign-ins during the same flood (after the GETs and PUTs), "
               f"5 users never seen before, from another address (127.0.0.250), each "
               "retrying after 1 s on 429/503 for up to 5 s:", "",
               "| flood | signed in at the first try | signed in within 5 s | time to sign in |",
               "| --- | --- | --- | --- |"]
    for mode, r in rows:
        first, ok, took = r["fresh"]
        span = (f"{min(took) * 1000:.0f}-{max(took) * 1000:.0f} ms" if took else "-")
        report.append(f"| {names[mode]} | {first}/5 | {ok}/5 | {span} |")
    report += ["", "Targets: GET p99 <= 50 ms, PUT >= 0.8x alone, verification "
               "thread <= 1 core (--auth-threads 1)."]
    print("\n".join(report))


if __name__ == "__main__":
    main()
