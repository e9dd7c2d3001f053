#!/usr/bin/env python3
"""Fair share under hostile load (issue 12, SPEC "Fair share under hostile
load"): what slow, idle and odd clients cost a normal one, in one run,
interleaved. Standard library only; loopback only.

usage: python3 benches/fair_share.py [--reps N] [--quick] [--no-build] [--no-write]

What it measures (every case on a fresh release ringdrop, 2 workers, ROOT a
temporary folder under target/ — the disk benches/e2e.py uploads to):

  1. crowd: a 64 MiB PUT (loadgen --mode put --size 64M, sent PUTS times in a
     row on one keep-alive connection so the run lasts long enough for CPU
     clock ticks), durable and --no-sync, alone and while the same server
     holds 10 000 idle keep-alive connections (one small GET each, then
     silence), 1 000 stalled uploads (a head declaring 1 GiB and 100 body
     bytes, then silence) and 1 000 trickling uploads (a few bytes every
     ~100 ms each, from two Python threads on non-blocking sockets); and, as
     a control, beside the same trickle sent into a listener nobody accepts
     from. Order: alone, control, crowd, crowd, control, alone. GiB/s,
     server CPU s/GiB, and the server's VmRSS/VmHWM with the crowd in place
     against the registered pool (workers x buffers x buffer size, from the
     start-up log line).
  2. timeout: --body-idle-timeout 5s, 1 000 stalled uploads: how many get
     408, and when (after their last byte).
  3. limit: --max-connections 2000 filled with 2 000 idle keep-alive
     connections; 20 newcomers, each kept open, time connect -> GET answered;
     how many idle ones the server closed.
  4. framing: server CPU per MiB of wire bytes received for chunked PUTs of
     64 KiB chunks, 1-byte chunks, 1-byte chunks with a 4 000-byte extension
     each, and 1-byte chunks with 16-hex-digit zero-padded sizes. ~32 MiB of
     pre-built wire bytes per request, repeated until the case has run >= 1 s
     (at most FRAMING_CAP_S; bytes then counted as received are those that
     left the client's send queue and the server's receive queue). A refused
     case is probed once more one chunk at a time to tell how far the server
     read before answering.

It builds ringdrop and loadgen the way benches/e2e.py does (and uses its
helpers), prints Markdown tables and one JSON summary line, and writes the
tables, machine description and command into BENCHMARKS.md between the
fair-share markers (in "Fair share under hostile load").
"""

import argparse
import fcntl
import json
import os
import re
import resource
import selectors
import shlex
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no benches/__pycache__ in the checkout
import e2e  # noqa: E402  (benches/ is not a package)

REPO = e2e.REPO
GIB, MIB, KIB = e2e.GIB, e2e.MIB, 1 << 10
BEGIN = "<!-- fair-share:begin (written by benches/fair_share.py; edits here are overwritten) -->"
END = "<!-- fair-share:end -->"
HOST = "127.0.0.1"

PUT_SIZE = "64M"
PUTS = 16                 # 64 MiB PUTs in a row per measurement (1 GiB)
IDLE, STALLED, TRICKLING = 10_000, 1_000, 1_000
TRICKLE_PERIOD_S, TRICKLE_PIECE, TRICKLE_THREADS = 0.1, b"abcd", 2
LIMIT_CONNS, NEWCOMERS = 2_000, 20
TIMEOUT_STALLED, BODY_IDLE_S = 1_000, 5
FRAMING_WIRE = 32 * MIB
FRAMING_MIN_S, FRAMING_CAP_S = 1.0, 20.0
SMALL = b"x" * 100        # the file the idle connections GET


def note(msg):
    print(f"fair_share: {msg}", file=sys.stderr, flush=True)


def die(msg):
    sys.exit(f"fair_share: {msg}")


# ---------------------------------------------------------------- server

class Server:
    """A fresh ringdrop (2 workers, --port 0) on ROOT; stderr to a log file."""

    def __init__(self, label, flags, root, logdir):
        self.label, self.root = label, root
        cmd = [os.path.join(REPO, "target", "release", "ringdrop"), "--port", "0",
               "--workers", "2", "--shutdown-timeout", "2s", *flags, root]
        self.cmd = cmd
        self.log_path = os.path.join(logdir, f"{label}.log")
        log = open(self.log_path, "a")
        log.write(f"\n=== {' '.join(map(shlex.quote, cmd))}\n")
        log.flush()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True,
                                     start_new_session=True)
        log.close()
        line = self.proc.stdout.readline()
        m = re.search(r"listening on http://[\d.]+:(\d+)/", line)
        if not m:
            e2e.stop(self.proc)
            die(f"{label} did not start ({line!r}); see {self.log_path}")
        self.port = int(m.group(1))
        self.pid = self.proc.pid
        self.pool = self._pool()

    def _pool(self):
        """Registered pool bytes from the start-up line (`workers=2
        buffers="16 x 1024 KiB per worker"`)."""
        deadline = time.time() + 5
        while time.time() < deadline:
            with open(self.log_path) as f:
                text = f.read().rsplit("\n=== ", 1)[-1]
            m = re.search(r'workers=(\d+) buffers="(\d+) x (\d+) KiB per worker"', text)
            if m:
                w, n, kib = map(int, m.groups())
                return {"workers": w, "buffers": n, "buffer_kib": kib,
                        "bytes": w * n * kib * KIB}
            time.sleep(0.05)
        die(f"{self.label}: no start-up line with the buffer pool in {self.log_path}")

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def cpu(self):
        return e2e.cpu_s([self.pid])

    def status_kib(self, key):
        return e2e.status_kib([self.pid], key)

    def wait_fds(self, at_least=None, at_most=None, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            n = self.fds()
            if (at_least is None or n >= at_least) and (at_most is None or n <= at_most):
                return n
            time.sleep(0.05)
        return self.fds()

    def stop(self):
        e2e.stop(self.proc)


# ---------------------------------------------------------------- client sockets

def connect(port):
    s = socket.create_connection((HOST, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def get_small():
    return b"GET /small.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def put_head(path, length):
    return (f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def response_status(buf):
    """Status of the complete response at the start of buf, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).decode("latin-1")
    m = re.search(r"(?im)^content-length:\s*(\d+)", head)
    if len(buf) < end + 4 + (int(m.group(1)) if m else 0):
        return None
    return int(head[9:12])


def poll_response(s, buf):
    """One recv (the socket has a timeout) into buf: the status once the
    response is complete, 0 if the peer closed or reset, else None."""
    try:
        data = s.recv(65536)
    except socket.timeout:
        return None
    except OSError:
        return 0
    if not data:
        return 0
    buf += data
    return response_status(buf)


def read_responses(socks, timeout):
    """One response per socket: [(status, monotonic arrival)] in socks' order;
    status 0 = closed or reset without a complete response, None = nothing
    by the deadline."""
    sel = selectors.DefaultSelector()
    index = {}
    bufs = [bytearray() for _ in socks]
    out = [(None, None)] * len(socks)
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        index[s.fileno()] = i
    left, deadline = len(socks), time.monotonic() + timeout
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
            i = index[key.fd]
            try:
                data = socks[i].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            status = None
            if data:
                bufs[i] += data
                status = response_status(bufs[i])
            else:
                status = 0
            if status is not None:
                out[i] = (status, time.monotonic())
                sel.unregister(socks[i])
                left -= 1
    sel.close()
    return out


def peer_state(s):
    """'open', 'closed' (EOF or reset) or 'answered' (the server sent bytes)."""
    try:
        data = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return "open"
    except OSError:
        return "closed"
    return "answered" if data else "closed"


def count_states(socks):
    out = {"open": 0, "closed": 0, "answered": 0}
    for s in socks:
        out[peer_state(s)] += 1
    return out


def open_idle(srv, n, batch=500):
    """n keep-alive connections that each GET /small.txt, read the answer,
    then say nothing. Returns (sockets, statuses other than 200)."""
    socks, bad = [], {}
    for start in range(0, n, batch):
        group = [connect(srv.port) for _ in range(min(batch, n - start))]
        for s in group:
            s.sendall(get_small())
        for status, _ in read_responses(group, 60):
            if status != 200:
                bad[status] = bad.get(status, 0) + 1
        socks += group
    return socks, bad


def open_uploads(srv, n, prefix, first_bytes, batch=250):
    """n PUTs declaring 1 GiB, each sent its head and first_bytes body bytes.
    Waits (per batch) until the server holds the connections. Returns
    (sockets, monotonic time each one's last byte was sent)."""
    socks, sent_at = [], []
    base = srv.fds()
    for start in range(0, n, batch):
        for i in range(start, min(start + batch, n)):
            s = connect(srv.port)
            s.sendall(put_head(f"/crowd/{prefix}-{i}.bin", GIB) + first_bytes)
            s.setblocking(False)
            socks.append(s)
            sent_at.append(time.monotonic())
        srv.wait_fds(at_least=base + len(socks), timeout=10)
    return socks, sent_at


class Trickle(threading.Thread):
    """Sends TRICKLE_PIECE to each of its sockets every TRICKLE_PERIOD_S,
    spread over ten ticks a period (non-blocking sends; a full socket buffer
    is counted, not waited for)."""

    def __init__(self, socks):
        super().__init__(daemon=True)
        self.socks, self.halt = socks, threading.Event()
        self.sends = self.would_block = self.errors = self.late_ticks = 0
        self.dead = set()

    def run(self):
        slots = 10
        groups = [self.socks[i::slots] for i in range(slots)]
        tick = TRICKLE_PERIOD_S / slots
        due, i = time.monotonic(), 0
        while not self.halt.is_set():
            for s in groups[i % slots]:
                if s in self.dead:
                    continue
                try:
                    s.send(TRICKLE_PIECE)
                    self.sends += 1
                except BlockingIOError:
                    self.would_block += 1
                except OSError:
                    self.errors += 1
                    self.dead.add(s)
            i += 1
            due += tick
            wait = due - time.monotonic()
            if wait > 0:
                self.halt.wait(wait)
            else:
                self.late_ticks += 1

    def stop(self):
        self.halt.set()
        self.join()


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


# ---------------------------------------------------------------- case 1: crowd

def loadgen_put(srv, loadgen):
    """PUTS x 64 MiB on one connection into /up/; loadgen's JSON line."""
    shutil.rmtree(os.path.join(srv.root, "up"), ignore_errors=True)
    os.makedirs(os.path.join(srv.root, "up"))
    subprocess.run(["sync"])
    time.sleep(1)
    r = subprocess.run([loadgen, "--url", f"http://{HOST}:{srv.port}/up/", "--mode", "put",
                        "--size", PUT_SIZE, "--requests", str(PUTS), "--timeout", "120",
                        "--server-pid", str(srv.pid)], capture_output=True, text=True)
    try:
        res = json.loads((r.stdout.strip().splitlines() or [""])[-1])
    except json.JSONDecodeError:
        die(f"loadgen gave no JSON: {r.stdout} {r.stderr}")
    if r.stderr.strip():
        note(r.stderr.strip())
    return res


def start_trickle(socks):
    ts = [Trickle(socks[i::TRICKLE_THREADS]) for i in range(TRICKLE_THREADS)]
    for t in ts:
        t.start()
    return ts


def stop_trickle(ts):
    for t in ts:
        t.stop()
    return {k: sum(getattr(t, k) for t in ts)
            for k in ("sends", "would_block", "errors", "late_ticks")}


def cpu_shares(srv, seconds):
    """(server, this client) CPU seconds per wall second over `seconds`."""
    ru0, cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), srv.cpu(), time.monotonic()
    time.sleep(seconds)
    ru1, cpu1, wall = resource.getrusage(resource.RUSAGE_SELF), srv.cpu(), time.monotonic() - t0
    client = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    return (cpu1 - cpu0) / wall, client / wall


def put_beside_control(srv, loadgen, res):
    """The control: the PUT while this client trickles the same bytes, from
    the same threads, into a listener nobody accepts from. What the crowd's
    traffic costs the client and the kernel, without the server's part."""
    lsn = socket.socket()
    lsn.bind((HOST, 0))
    lsn.listen(4096)
    port = lsn.getsockname()[1]
    socks = []
    try:
        for i in range(TRICKLING):
            s = socket.create_connection((HOST, port), timeout=10)
            s.sendall(put_head(f"/crowd/control-{i}.bin", GIB) + TRICKLE_PIECE)
            s.setblocking(False)
            socks.append(s)
        ts = start_trickle(socks)
        time.sleep(0.5)
        res["control_cpu_share"] = cpu_shares(srv, 2)
        put = loadgen_put(srv, loadgen)
        res.setdefault("control_trickle", []).append(stop_trickle(ts))
        return [put]
    finally:
        close_all(socks)
        lsn.close()


def put_in_crowd(srv, loadgen, res):
    """The PUT, twice, while the server holds the crowd; RSS and fds with it."""
    base_fds = srv.fds()
    res["rss_before_crowd_kib"] = srv.status_kib("VmRSS:")
    crowd = []
    try:
        t0 = time.monotonic()
        idle, res["idle_get_not_200"] = open_idle(srv, IDLE)
        crowd += idle
        stalled, _ = open_uploads(srv, STALLED, "stall", b"s" * 100)
        crowd += stalled
        trickling, _ = open_uploads(srv, TRICKLING, "trickle", TRICKLE_PIECE)
        crowd += trickling
        ts = start_trickle(trickling)
        res["crowd_build_s"] = time.monotonic() - t0
        time.sleep(0.5)
        res["crowd_cpu_share"] = cpu_shares(srv, 2)
        res["crowd_fds"] = srv.fds() - base_fds
        res["rss_crowd_kib"] = srv.status_kib("VmRSS:")
        res["hwm_crowd_kib"] = srv.status_kib("VmHWM:")
        sends0, t1 = sum(t.sends for t in ts), time.monotonic()
        puts, hwm = [], res["hwm_crowd_kib"]
        for _ in range(2):
            puts.append(loadgen_put(srv, loadgen))  # resets VmHWM first
            hwm = max(hwm, puts[-1]["server_peak_rss_kib"] or 0, srv.status_kib("VmHWM:"))
        res["trickle_sends_per_s"] = (sum(t.sends for t in ts) - sends0) / \
            (time.monotonic() - t1)
        res["rss_after_put_kib"] = srv.status_kib("VmRSS:")
        res["peak_rss_crowd_kib"] = hwm
        res["trickle"] = stop_trickle(ts)
        res["crowd_states"] = {"idle": count_states(idle), "stalled": count_states(stalled),
                               "trickling": count_states(trickling)}
    finally:
        close_all(crowd)
    srv.wait_fds(at_most=base_fds + 8, timeout=20)
    return puts


def combine(runs):
    """Several loadgen results as one: bytes over wall time, CPU over bytes."""
    b, wall = sum(r["bytes"] for r in runs), sum(r["wall_s"] for r in runs)
    cpu = sum(r["server_cpu_s"] for r in runs)
    return {"bytes": b, "wall_s": wall, "gib_per_s": b / GIB / wall if wall else 0.0,
            "server_cpu_s": cpu, "server_cpu_s_per_gib": cpu / (b / GIB) if b else None,
            "failures": sum(r["failures"] for r in runs), "runs": runs}


def crowd_case(rep, sync, root, logdir, loadgen):
    """Case 1 on one server: alone, beside the control, twice in the crowd,
    beside the control, alone (each kind at the same mean position)."""
    flags = ["--max-connections", str(IDLE + STALLED + TRICKLING + 1000),
             "--body-idle-timeout", "10m", "--keepalive-timeout", "10m"]
    if sync == "no-sync":
        flags.append("--no-sync")
    srv = Server(f"crowd-{sync}", flags, root, logdir)
    res = {"rep": rep, "sync": sync, "pool_bytes": srv.pool["bytes"], "pool": srv.pool,
           "flags": flags}
    phases = {"alone": lambda: [loadgen_put(srv, loadgen)],
              "control": lambda: put_beside_control(srv, loadgen, res),
              "crowd": lambda: put_in_crowd(srv, loadgen, res)}
    runs = {k: [] for k in phases}
    try:
        for phase in ("alone", "control", "crowd", "control", "alone"):
            for r in phases[phase]():
                runs[phase].append(r)
                note(f"rep {rep} {sync:<8} {phase:<8} {r['gib_per_s']:.3f} GiB/s "
                     f"cpu {r['server_cpu_s_per_gib']:.2f} s/GiB fail {r['failures']}")
    finally:
        srv.stop()
    for k, rs in runs.items():
        res[k] = combine(rs)
    note(f"rep {rep} {sync:<8} crowd: rss {res['rss_crowd_kib'] // 1024} MiB, "
         f"peak {res['peak_rss_crowd_kib'] // 1024} MiB, fds +{res['crowd_fds']}, "
         f"trickle {res['trickle_sends_per_s']:.0f}/s, cpu server/client with the crowd "
         f"{res['crowd_cpu_share'][0]:.2f}/{res['crowd_cpu_share'][1]:.2f}, with the control "
         f"{res['control_cpu_share'][0]:.2f}/{res['control_cpu_share'][1]:.2f}, "
         f"built in {res['crowd_build_s']:.1f} s")
    for key in ("crowd", "control"):
        res[f"ratio_{key}"] = res[key]["gib_per_s"] / res["alone"]["gib_per_s"] \
            if res["alone"]["gib_per_s"] else None
    res["ratio"] = res["ratio_crowd"]
    return res


# ---------------------------------------------------------------- case 2: stalled time out

def timeout_case(rep, root, logdir):
    srv = Server("timeout", ["--body-idle-timeout", f"{BODY_IDLE_S}s"], root, logdir)
    socks = []
    try:
        socks, sent_at = open_uploads(srv, TIMEOUT_STALLED, "t", b"s" * 100)
        built = time.monotonic()
        got = read_responses(socks, BODY_IDLE_S * 4)
    finally:
        close_all(socks)
        srv.stop()
    after = [t - s for (status, t), s in zip(got, sent_at) if status == 408]
    statuses = {}
    for status, _ in got:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    res = {"rep": rep, "n": TIMEOUT_STALLED, "n_408": len(after), "statuses": statuses,
           "first_408_after_s": min(after) if after else None,
           "last_408_after_s": max(after) if after else None,
           "last_since_crowd_s": max(t for s, t in got if s == 408) - built if after else None,
           "open_s": built - min(sent_at)}
    note(f"rep {rep} timeout  {res['n_408']}/{TIMEOUT_STALLED} got 408, "
         f"{res['first_408_after_s']}..{res['last_408_after_s']} s after their last byte")
    return res


# ---------------------------------------------------------------- case 3: connection limit

def limit_case(rep, root, logdir):
    srv = Server("limit", ["--max-connections", str(LIMIT_CONNS)], root, logdir)
    idle, newcomers = [], []
    try:
        idle, bad = open_idle(srv, LIMIT_CONNS)
        time.sleep(0.3)
        after_fill = count_states(idle)
        lat, statuses = [], {}
        for _ in range(NEWCOMERS):
            t0 = time.monotonic()
            try:
                s = connect(srv.port)
                s.sendall(get_small())
                (status, t), = read_responses([s], 10)
                newcomers.append(s)
            except OSError:
                status, t = 0, None
            lat.append((t - t0) if t else None)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        time.sleep(0.3)
        end = count_states(idle)
    finally:
        close_all(idle + newcomers)
        srv.stop()
    ok = [x for x in lat if x is not None]
    res = {"rep": rep, "idle": LIMIT_CONNS, "fill_not_200": bad, "newcomers": NEWCOMERS,
           "newcomer_statuses": statuses, "latency_s": lat,
           "median_s": statistics.median(ok) if ok else None, "max_s": max(ok) if ok else None,
           "unanswered": len(lat) - len(ok),
           "idle_closed_during_fill": after_fill["closed"] + after_fill["answered"],
           "idle_closed": end["closed"] + end["answered"], "idle_answered": end["answered"]}
    note(f"rep {rep} limit    newcomers {statuses} median {res['median_s']} max {res['max_s']} s, "
         f"idle closed {res['idle_closed']}")
    return res


# ---------------------------------------------------------------- case 4: framing

def framing_bodies():
    """(name, repeating unit, wire bytes of chunked body incl. the last chunk)."""
    data = os.urandom(64 * KIB)
    return [
        ("64 KiB chunks", b"10000\r\n" + data + b"\r\n"),
        ("1-byte chunks", b"1\r\nx\r\n"),
        ("1-byte chunks, 4000-byte extension each", b"1;x=" + b"v" * 3996 + b"\r\nx\r\n"),
        ("1-byte chunks, 16-hex-digit sizes", b"0000000000000001\r\nx\r\n"),
    ]


def unsent(s):
    """Bytes still in the client's send queue (TIOCOUTQ)."""
    try:
        return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.TIOCOUTQ,
                                              struct.pack("i", 0)))[0]
    except OSError:
        return 0


def server_rx_queue(server_port, client_port):
    """Bytes waiting unread in the server's socket of this connection."""
    want_l, want_r = f":{server_port:04X}", f":{client_port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f:
            p = line.split()
            if len(p) > 4 and p[1].endswith(want_l) and p[2].endswith(want_r):
                return int(p[4].split(":")[1], 16)
    return 0


class Sender(threading.Thread):
    def __init__(self, s, payload):
        super().__init__(daemon=True)
        self.s, self.payload, self.sent, self.error = s, memoryview(payload), 0, None
        self.halt = threading.Event()

    def run(self):
        while self.sent < len(self.payload) and not self.halt.is_set():
            try:
                self.sent += self.s.send(self.payload[self.sent:self.sent + MIB])
            except socket.timeout:  # the socket's timeout is the reader's poll interval
                continue
            except OSError as e:
                self.error = e.strerror or str(e)
                return


def framing_run(srv, name, unit):
    """Chunked PUTs of ~FRAMING_WIRE wire bytes, repeated on one connection
    until FRAMING_MIN_S has passed (or FRAMING_CAP_S, mid-request)."""
    body = unit * max(1, FRAMING_WIRE // len(unit)) + b"0\r\n\r\n"
    path = "/frame/" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".bin"
    head = (f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    payload = head + body
    s = connect(srv.port)
    s.settimeout(0.2)  # the reader's poll interval (the sender retries on it)
    cport = s.getsockname()[1]
    received, requests, statuses, refused_at = 0, 0, {}, None
    cpu0, t0 = srv.cpu(), time.monotonic()
    try:
        while True:
            snd = Sender(s, payload)
            snd.start()
            buf, status = bytearray(), None
            deadline = t0 + FRAMING_CAP_S
            while status is None and time.monotonic() < deadline:
                status = poll_response(s, buf)
            if status is None:  # capped mid-request: count what the server took in
                snd.halt.set()
                received += snd.sent - unsent(s) - server_rx_queue(srv.port, cport)
                cpu1, wall = srv.cpu(), time.monotonic() - t0
                statuses["(capped)"] = 1
                snd.join()
                break
            cpu1, wall = srv.cpu(), time.monotonic() - t0
            if 200 <= status < 300:
                snd.join(timeout=5)
            early = snd.sent < len(payload)
            if early:  # answered before the whole request was sent: refused
                refused_at = snd.sent - unsent(s)
                received += refused_at
            else:
                received += len(payload)
            snd.halt.set()
            snd.join()
            requests += 1
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if early or not 200 <= status < 300 or wall >= FRAMING_MIN_S:
                break
    finally:
        s.close()
    # Refused: what the server read is the probe's to tell (the sender's
    # count at the answer says little once the server has reset the socket).
    mib = received / MIB if refused_at is None else None
    cpu = cpu1 - cpu0
    return {"case": name, "requests": requests, "statuses": statuses,
            "wire_mib": mib, "wall_s": wall, "server_cpu_s": cpu,
            "cpu_s_per_mib": cpu / mib if mib else None,
            "refused": refused_at is not None or any(k not in ("200", "201", "(capped)")
                                                     for k in statuses),
            "client_sent_at_answer": refused_at, "send_error": snd.error}


def framing_probe(srv, name, unit, max_units=64):
    """Sends the request one unit at a time (20 ms apart) until the server
    answers: how many wire bytes it read before answering."""
    s = connect(srv.port)
    head = (f"PUT /frame/probe.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    sent, status = 0, None
    try:
        s.sendall(head)
        s.settimeout(0.02)
        buf = bytearray()
        for _ in range(max_units):
            try:
                s.sendall(unit)
                sent += len(unit)
            except OSError:
                break
            status = poll_response(s, buf)
            if status is not None:
                break
    finally:
        s.close()
    return {"case": name, "status": status, "body_wire_bytes_before_answer": sent,
            "chunks_before_answer": sent // len(unit)}


def framing_case(rep, root, logdir):
    os.makedirs(os.path.join(root, "frame"), exist_ok=True)
    srv = Server("framing", [], root, logdir)
    out = []
    try:
        for name, unit in framing_bodies():
            r = framing_run(srv, name, unit)
            if r["refused"]:
                r["probe"] = framing_probe(srv, name, unit)
            r["rep"] = rep
            out.append(r)
            note(f"rep {rep} framing  {name:<40} {r['statuses']} {fmt(r['wire_mib'], 1, '{:.1f}')} MiB "
                 f"in {r['wall_s']:.1f} s, cpu {r['server_cpu_s']:.2f} s "
                 f"= {r['cpu_s_per_mib']} s/MiB" + (f" probe {r['probe']}" if 'probe' in r else ""))
    finally:
        srv.stop()
    return out


# ---------------------------------------------------------------- report

def mib(kib):
    return kib / 1024 if kib is not None else None


def report(crowd, timeouts, limits, framing, reps):
    rng, med = e2e.rng, e2e.med
    pct = "{:.0f}"
    out = ["### 1. A 64 MiB PUT alone and beside the crowd\n",
           f"Crowd: {IDLE:,} idle keep-alive + {STALLED:,} stalled + {TRICKLING:,} trickling "
           f"uploads ({len(TRICKLE_PIECE)} B every {TRICKLE_PERIOD_S * 1000:.0f} ms each). "
           "Control: the same trickle, from the same client threads, into a listener nobody "
           "accepts from (the client's and the kernel's share of the crowd, without the "
           f"server's). One measurement is {PUTS} PUTs of {PUT_SIZE}iB in a row on one "
           "connection; each server measures alone, control, crowd, crowd, control, alone "
           "(the crowd built once), and a rep's GiB/s is bytes over wall time of its two. "
           "CPU s/GiB includes whatever the server spent on the crowd meanwhile. "
           "Target: crowd ÷ alone ≥ 0.8.\n",
           "| durability | GiB/s alone | GiB/s beside control | GiB/s in crowd | "
           "control ÷ alone | crowd ÷ alone | CPU s/GiB alone | beside control | in crowd | fail |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    syncs = [s for s in ("durable", "no-sync") if any(r["sync"] == s for r in crowd)]
    for sync in syncs:
        rs = [r for r in crowd if r["sync"] == sync]
        out.append(
            f"| {sync} | " + " | ".join(rng([r[k]["gib_per_s"] for r in rs])
                                        for k in ("alone", "control", "crowd")) + " | "
            f"{rng([r['ratio_control'] for r in rs])} | {rng([r['ratio_crowd'] for r in rs])} | "
            + " | ".join(rng([r[k]["server_cpu_s_per_gib"] for r in rs])
                         for k in ("alone", "control", "crowd")) + " | "
            f"{sum(r[k]['failures'] for r in rs for k in ('alone', 'control', 'crowd'))} |")
    out += ["\nThe server with the crowd in place. RSS: VmRSS once the crowd is in place; "
            "peak: VmHWM over building the crowd and the PUTs beside it. CPU share: CPU "
            "seconds per second over 2 s before the PUT (100 % = one core), server / this "
            "client. Held: crowd connections still open after the PUT. "
            "Target: peak RSS ≤ pool + 64 MiB.\n",
            "| durability | RSS MiB | peak RSS MiB | pool MiB | pool + 64 MiB | "
            "server fds added | held | trickle sends/s | CPU with crowd % | "
            "CPU with control % |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for sync in syncs:
        rs = [r for r in crowd if r["sync"] == sync]
        held = [sum(st["open"] for st in r["crowd_states"].values()) for r in rs]
        pool = rs[0]["pool_bytes"] / MIB
        out.append(
            f"| {sync} | {rng([mib(r['rss_crowd_kib']) for r in rs], '{:.1f}')} | "
            f"{rng([mib(r['peak_rss_crowd_kib']) for r in rs], '{:.1f}')} | {pool:.0f} | "
            f"{pool + 64:.0f} | {rng([r['crowd_fds'] for r in rs], pct)} | "
            f"{min(held)}/{IDLE + STALLED + TRICKLING} | "
            f"{rng([r['trickle_sends_per_s'] for r in rs], pct)} | "
            f"{rng([100 * r['crowd_cpu_share'][0] for r in rs], pct)} / "
            f"{rng([100 * r['crowd_cpu_share'][1] for r in rs], pct)} | "
            f"{rng([100 * r['control_cpu_share'][0] for r in rs], pct)} / "
            f"{rng([100 * r['control_cpu_share'][1] for r in rs], pct)} |")

    out += ["\n### 2. Stalled uploads still time out\n",
            f"`--body-idle-timeout {BODY_IDLE_S}s`, {TIMEOUT_STALLED:,} uploads send a head "
            "declaring 1 GiB and 100 body bytes, then nothing. Seconds are from each one's "
            "last byte; 'last since all open' from the moment the last one was opened.\n",
            "| rep | 408 | other answers | first 408 s | last 408 s | last since all open s |",
            "|---|---|---|---|---|---|"]
    for r in timeouts:
        other = {k: v for k, v in r["statuses"].items() if k != "408"}
        out.append(f"| {r['rep']} | {r['n_408']}/{r['n']} | {other or '–'} | "
                   f"{fmt(r['first_408_after_s'])} | {fmt(r['last_408_after_s'])} | "
                   f"{fmt(r['last_since_crowd_s'])} |")

    out += ["\n### 3. Idle crowd at the connection limit\n",
            f"`--max-connections {LIMIT_CONNS}` filled with {LIMIT_CONNS:,} idle keep-alive "
            f"connections; then {NEWCOMERS} newcomers one after the other (each kept open), "
            "each timed from connect to its GET answered. Target ≤ 1 s.\n",
            "| rep | newcomer answers | median ms | max ms | idle closed by the server |",
            "|---|---|---|---|---|"]
    for r in limits:
        out.append(f"| {r['rep']} | {r['newcomer_statuses']} | "
                   f"{fmt(r['median_s'], 1000, '{:.1f}')} | {fmt(r['max_s'], 1000, '{:.1f}')} | "
                   f"{r['idle_closed']} (during fill: {r['idle_closed_during_fill']}) |")

    out += ["\n### 4. Framing: server CPU per MiB received\n",
            "Chunked PUTs on one connection, the bytes pre-built and sent at full speed; "
            "MiB = wire bytes the server took in. Target ≤ 0.05 CPU s/MiB, or refused.\n",
            "| framing | answers | MiB received | server CPU s | CPU s/MiB | ÷ 64 KiB chunks | "
            "read before the answer |",
            "|---|---|---|---|---|---|---|"]
    base = med([r["cpu_s_per_mib"] for r in framing if r["case"] == "64 KiB chunks"])
    for name in dict.fromkeys(r["case"] for r in framing):
        rs = [r for r in framing if r["case"] == name]
        answers = {}
        for r in rs:
            for k, v in r["statuses"].items():
                answers[k] = answers.get(k, 0) + v
        probes = [r["probe"] for r in rs if "probe" in r]
        read = "; ".join(f"{p['status']} after {p['chunks_before_answer']} chunks "
                         f"({p['body_wire_bytes_before_answer']:,} B)" for p in probes) or "–"
        out.append(f"| {name} | {answers} | {rng([r['wire_mib'] for r in rs], '{:.1f}')} | "
                   f"{rng([r['server_cpu_s'] for r in rs])} | "
                   f"{rng([r['cpu_s_per_mib'] for r in rs], '{:.4f}')} | "
                   f"{e2e.ratio(med([r['cpu_s_per_mib'] for r in rs]), base)} | {read} |")
    out.append(f"\nValues: median (min–max) over {reps} interleaved repetition(s).")
    return "\n".join(out) + "\n"


def fmt(x, scale=1, f="{:.2f}"):
    return f.format(x * scale) if x is not None else "–"


def summary(crowd, timeouts, limits, framing):
    med = e2e.med
    s = {"crowd": {}, "timeout": {}, "limit": {}, "framing": {}}
    for sync in ("durable", "no-sync"):
        rs = [r for r in crowd if r["sync"] == sync]
        if rs:
            pool = rs[0]["pool_bytes"]
            peak = max(r["peak_rss_crowd_kib"] for r in rs) * KIB
            s["crowd"][sync] = {
                "gib_per_s_alone": med([r["alone"]["gib_per_s"] for r in rs]),
                "gib_per_s_crowd": med([r["crowd"]["gib_per_s"] for r in rs]),
                "gib_per_s_control": med([r["control"]["gib_per_s"] for r in rs]),
                "ratio": med([r["ratio"] for r in rs]),
                "ratio_control": med([r["ratio_control"] for r in rs]),
                "cpu_s_per_gib_alone": med([r["alone"]["server_cpu_s_per_gib"] for r in rs]),
                "cpu_s_per_gib_crowd": med([r["crowd"]["server_cpu_s_per_gib"] for r in rs]),
                "rss_crowd_mib": med([mib(r["rss_crowd_kib"]) for r in rs]),
                "peak_rss_crowd_mib": peak / MIB, "pool_mib": pool / MIB,
                "ratio_min": min(r["ratio"] for r in rs),
                "ratio_ok": med([r["ratio"] for r in rs]) >= 0.8,
                "rss_ok": peak <= pool + 64 * MIB}
    if timeouts:
        s["timeout"] = {"n_408_min": min(r["n_408"] for r in timeouts), "n": TIMEOUT_STALLED,
                        "last_408_after_s_max": max((r["last_408_after_s"] or 0) for r in timeouts)}
        s["timeout"]["ok"] = s["timeout"]["n_408_min"] == TIMEOUT_STALLED and \
            s["timeout"]["last_408_after_s_max"] <= BODY_IDLE_S + 2
    if limits:
        lat = [x for r in limits for x in r["latency_s"]]
        ok = [x for x in lat if x is not None]
        s["limit"] = {"median_s": med(ok), "max_s": max(ok) if ok else None,
                      "unanswered": len(lat) - len(ok),
                      "idle_closed": [r["idle_closed"] for r in limits]}
        s["limit"]["ok"] = bool(not s["limit"]["unanswered"] and ok and max(ok) <= 1.0) and all(
            r["newcomer_statuses"] == {"200": NEWCOMERS} for r in limits)
    for name in dict.fromkeys(r["case"] for r in framing):
        rs = [r for r in framing if r["case"] == name]
        worst = max((r["cpu_s_per_mib"] or 0) for r in rs)
        refused = all(r["refused"] for r in rs)
        s["framing"][name] = {"cpu_s_per_mib": med([r["cpu_s_per_mib"] for r in rs]),
                              "refused": refused, "ok": refused or worst <= 0.05}
    return s


def publish(section, summary_, write):
    """Tables and the JSON line to stdout; the tables into BENCHMARKS.md
    with e2e.py's marker writer, given this script's markers."""
    print(section)
    print(json.dumps({"fair_share": summary_}))
    if write:
        e2e.BEGIN, e2e.END = BEGIN, END
        e2e.write_benchmarks_md(section)
        note("wrote BENCHMARKS.md")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--reps", type=int, default=2, help="interleaved repetitions (default 2)")
    ap.add_argument("--quick", action="store_true",
                    help="a tenth of the crowd, 4 PUTs, 4 MiB framing runs: a sanity run, "
                    "not numbers to quote")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    a = ap.parse_args()
    command = " ".join(["python3 benches/fair_share.py"] + [shlex.quote(x) for x in sys.argv[1:]])
    if a.quick:
        global PUTS, IDLE, STALLED, TRICKLING, TIMEOUT_STALLED, FRAMING_WIRE, FRAMING_MIN_S
        PUTS, IDLE, STALLED, TRICKLING, TIMEOUT_STALLED = 4, 1_000, 100, 100, 100
        FRAMING_WIRE, FRAMING_MIN_S = 4 * MIB, 0.0

    shared = os.path.abspath(os.environ.get("RINGDROP_SHARED") or os.path.join(REPO, "..", "shared"))
    binroot = os.path.abspath(os.environ.get("RINGDROP_BENCH_BIN")
                              or os.path.join(REPO, "target", "bench-bin"))
    if not os.path.exists(os.path.join(shared, "bench", "loadgen")):
        note(f"skipped: {shared}/bench/loadgen not found (../shared beside the repo, "
             "or RINGDROP_SHARED=path)")
        return 0
    e2e.build(SimpleNamespace(no_build=a.no_build), shared, binroot)
    loadgen = os.path.join(binroot, "release", "loadgen")

    need = IDLE + STALLED + TRICKLING + 500
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, soft), hard), hard))
        except (ValueError, OSError) as e:
            die(f"cannot raise RLIMIT_NOFILE to {need} (hard {hard}): {e}")
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < need:
        die(f"open-file hard limit {hard} < {need}: raise `ulimit -Hn`")

    base = os.path.join(REPO, "target", "fair-share")
    os.makedirs(base, exist_ok=True)
    if shutil.disk_usage(base).free < 4 * GIB:
        die(f"{base}: less than 4 GiB free")
    logdir = os.path.join(base, "logs")
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    root = tempfile.mkdtemp(prefix="root-", dir=base)
    ticks_before = e2e.cpu_ticks()
    crowd, timeouts, limits, framing = [], [], [], []
    jsonl = open(os.path.join(base, "results.jsonl"), "w")
    try:
        os.makedirs(os.path.join(root, "crowd"))
        with open(os.path.join(root, "small.txt"), "wb") as f:
            f.write(SMALL)
        for rep in range(a.reps):
            for sync in ("durable", "no-sync"):
                crowd.append(crowd_case(rep, sync, root, logdir, loadgen))
                jsonl.write(json.dumps({"kind": "crowd", **crowd[-1]}) + "\n")
            timeouts.append(timeout_case(rep, root, logdir))
            jsonl.write(json.dumps({"kind": "timeout", **timeouts[-1]}) + "\n")
            limits.append(limit_case(rep, root, logdir))
            jsonl.write(json.dumps({"kind": "limit", **limits[-1]}) + "\n")
            for r in framing_case(rep, root, logdir):
                framing.append(r)
                jsonl.write(json.dumps({"kind": "framing", **r}) + "\n")
            jsonl.flush()
    finally:
        jsonl.close()
        shutil.rmtree(root, ignore_errors=True)

    tables = report(crowd, timeouts, limits, framing, a.reps)
    steal = e2e.steal_line(ticks_before, e2e.cpu_ticks())
    desc = "\n".join(line for line in e2e.machine(base).splitlines()
                     if not line.startswith("- peers:"))
    section = "\n".join([f"### Run of {time.strftime('%Y-%m-%d %H:%M %Z')}", "",
                         f"Command: `{command}` (raw results: `target/fair-share/results.jsonl`, "
                         "server logs: `target/fair-share/logs/`)", "", desc, steal, "",
                         tables])
    publish(section, summary(crowd, timeouts, limits, framing), write=not a.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
