#!/usr/bin/env python3
"""HTTPS end-to-end benchmark: ringdrop with --tls-cert/--tls-key against
nginx with ssl (Debian's nginx, dav module, tuned as benches/e2e.py's
nginx-w2-bb1m case), plain-HTTP ringdrop (for the peak-memory comparison) and
the physical-limit sinks of ../shared/bench, in one run, interleaved.
Standard library only; reuses benches/e2e.py's helpers.

usage: python3 benches/https.py [--quick] [--reps N] [--cases a,b]
                                [--bench-dir DIR] [--no-build] [--no-write]

Cases (4 GiB each; --quick: 1 GiB, 1 rep):
  put-nosync  PUT x1, --no-sync: ringdrop-tls-nosync, nginx-ssl,
              ringdrop-http-nosync, and the sink tcp-to-disk-1m (raw TCP)
  put-durable PUT x1, durable:   ringdrop-tls, ringdrop-http, and the fsync
              loop tcp-to-disk-1m-fsync (raw TCP)
  get         GET x1 of a file hot in the page cache: ringdrop-tls,
              nginx-ssl, ringdrop-http

The client. loadgen speaks plain HTTP only, so the HTTP(S) cases use the
small client in this file: Python's ssl module (OpenSSL, AES-NI) over one
socket, sending a pre-filled 1 MiB pseudo-random buffer over and over like
loadgen (no disk read on the client), reading a download into a 1 MiB
buffer and discarding it. On this machine it costs less client CPU per GiB
than `curl -T` of a file on tmpfs (0.52 against 0.70 s/GiB at 2 GiB in a
trial), and the same client is used without TLS for the ringdrop-http rows,
so HTTP and HTTPS differ only in TLS. The sinks are driven by loadgen
--mode raw, as in e2e.py.

Same certificate and cipher for both servers: an ECDSA P-256 certificate
made with openssl for 127.0.0.1; TLS 1.3 only; nginx pins
TLS_AES_256_GCM_SHA384 (`ssl_conf_command Ciphersuites`), which is also
what ringdrop (rustls, client's order) picks with OpenSSL's default client
order. Every run records the version and cipher the client negotiated.

Server CPU: utime+stime of the server's process tree from /proc before and
after the transfer; peak RSS: VmHWM after `echo 5 > clear_refs` at the
start (summed over nginx's master and workers), as loadgen and e2e.py do.

Writes a Markdown report to stdout and, unless --no-write, into
BENCHMARKS.md between the https markers (in the "## HTTPS" section).
benches/e2e.py (plain HTTP) is separate: run both for the full picture.
"""

import argparse
import grp
import json
import os
import pwd
import resource
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e as E  # noqa: E402  (benches/e2e.py: process, /proc and report helpers)

REPO = E.REPO
GIB, MIB = E.GIB, E.MIB
BEGIN = "<!-- https:begin (written by benches/https.py; edits here are overwritten) -->"
END = "<!-- https:end -->"
CIPHER = "TLS_AES_256_GCM_SHA384"

PORTS = {
    "ringdrop-tls": 18130, "ringdrop-tls-nosync": 18131,
    "ringdrop-http": 18132, "ringdrop-http-nosync": 18133,
    "nginx-ssl": 18134, "tcp-to-disk-1m": 18135, "tcp-to-disk-1m-fsync": 18136,
}


# ---------------------------------------------------------------- servers

def make_cert(state):
    """An ECDSA P-256 certificate for 127.0.0.1 and localhost (self-signed:
    the client trusts it as its own root)."""
    cert, key = os.path.join(state, "cert.pem"), os.path.join(state, "key.pem")
    if not (os.path.exists(cert) and os.path.exists(key)):
        E.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=127.0.0.1",
               "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def nginx_ssl_start(state, cert, key):
    """start-nginx.sh's config (2 workers, client_body_buffer_size 1m: the
    tuned case) with `listen ... ssl`, TLS 1.3 only and the cipher pinned.
    Returns the start command; {port} and {dir} are filled per run."""
    conf = os.path.join(state, "nginx-ssl.conf.in")
    with open(conf, "w") as f:
        f.write(f"""# benches/https.py: nginx dav with ssl (generated)
user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};
worker_processes 2;
daemon off;
pid {{state}}/nginx.pid;
error_log {{state}}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_max_body_size 0;
    client_body_temp_path {{body}};
    client_body_buffer_size 1m;
    proxy_temp_path {{state}}/tmp;
    fastcgi_temp_path {{state}}/tmp;
    uwsgi_temp_path {{state}}/tmp;
    scgi_temp_path {{state}}/tmp;
    sendfile on;
    server {{
        listen 127.0.0.1:{{port}} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.3;
        ssl_conf_command Ciphersuites {CIPHER};
        root {{dir}};
        location / {{
            dav_methods PUT DELETE MKCOL;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }}
    }}
}}
""")
    # A small shell wrapper, as start-nginx.sh: temp dirs beside DIR (same
    # filesystem, so nginx renames the spooled body into place).
    script = os.path.join(state, "start-nginx-ssl.sh")
    with open(script, "w") as f:
        f.write(f"""#!/usr/bin/env bash
set -euo pipefail
port="$1"; dir="$(cd "$2" && pwd)"
body="$(dirname "$dir")/.$(basename "$dir").nginx-body"
state="$(dirname "$dir")/.$(basename "$dir").nginx-state"
mkdir -p "$body" "$state/tmp"
sed -e "s|{{port}}|$port|g" -e "s|{{dir}}|$dir|g" -e "s|{{body}}|$body|g" -e "s|{{state}}|$state|g" \\
    {shlex.quote(conf)} > "$state/nginx.conf"
exec nginx -e "$state/error.log" -p "$state" -c "$state/nginx.conf"
""")
    os.chmod(script, 0o755)
    return f"{shlex.quote(script)} {{port}} {{dir}}"


def servers(binroot, state, cert, key):
    ringdrop = shlex.quote(os.path.join(REPO, "target", "release", "ringdrop"))
    tls = f"--tls-cert {shlex.quote(cert)} --tls-key {shlex.quote(key)}"
    sinks = os.path.join(binroot, "release")
    out = {
        "ringdrop-tls": {"start": f"{ringdrop} --port {{port}} --workers 2 {tls} {{dir}}",
                         "tls": True, "sync": "durable"},
        "ringdrop-tls-nosync": {"start": f"{ringdrop} --port {{port}} --workers 2 --no-sync {tls} {{dir}}",
                                "tls": True, "sync": "no-sync"},
        "ringdrop-http": {"start": f"{ringdrop} --port {{port}} --workers 2 {{dir}}",
                          "tls": False, "sync": "durable"},
        "ringdrop-http-nosync": {"start": f"{ringdrop} --port {{port}} --workers 2 --no-sync {{dir}}",
                                 "tls": False, "sync": "no-sync"},
        "tcp-to-disk-1m": {"start": f"{shlex.quote(os.path.join(sinks, 'tcp-to-disk'))} "
                                    "--addr 127.0.0.1:{port} --dir {dir} --buf 1048576",
                           "raw": True, "sync": "no-sync"},
        "tcp-to-disk-1m-fsync": {"start": f"{shlex.quote(os.path.join(sinks, 'tcp-to-disk'))} "
                                          "--addr 127.0.0.1:{port} --dir {dir} --buf 1048576 --fsync",
                                 "raw": True, "sync": "durable"},
    }
    if shutil.which("nginx"):
        v = subprocess.run(["nginx", "-V"], capture_output=True, text=True)
        if "http_dav_module" in v.stdout + v.stderr and "http_ssl_module" in v.stdout + v.stderr:
            out["nginx-ssl"] = {"start": nginx_ssl_start(state, cert, key), "tls": True,
                                "sync": "no-sync"}
    for name, s in out.items():
        s["name"], s["port"] = name, PORTS[name]
    return out


CASES = {
    "put-nosync": ["ringdrop-tls-nosync", "nginx-ssl", "ringdrop-http-nosync", "tcp-to-disk-1m"],
    "put-durable": ["ringdrop-tls", "ringdrop-http", "tcp-to-disk-1m-fsync"],
    "get": ["ringdrop-tls", "nginx-ssl", "ringdrop-http"],
}


# ---------------------------------------------------------------- the client

def client_context(cert):
    ctx = ssl.create_default_context(cafile=cert)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def connect(port, ctx):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if ctx is None:
        return s, "plain TCP"
    s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    return s, f"{s.version()} {s.cipher()[0]}"


def read_response(s, limit=1 << 20):
    """The status code of a response read to the server's close."""
    data = b""
    while len(data) < limit:
        try:
            d = s.recv(65536)
        except (ssl.SSLEOFError, ConnectionResetError):
            break
        if not d:
            break
        data += d
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def put(port, ctx, name, size):
    """PUT /NAME with Content-Length, the body a 1 MiB buffer over and over.
    Returns (status, negotiated, wall seconds, client CPU seconds)."""
    block = memoryview(os.urandom(MIB))
    s, negotiated = connect(port, ctx)
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    s.sendall(f"PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {size}\r\n"
              "Connection: close\r\n\r\n".encode())
    left = size
    while left:
        n = min(left, MIB)
        s.sendall(block[:n])
        left -= n
    status = read_response(s)
    wall, r1 = time.monotonic() - t0, resource.getrusage(resource.RUSAGE_SELF)
    s.close()
    return status, negotiated, wall, (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)


def get(port, ctx, name, size):
    """GET /NAME read into a 1 MiB buffer and dropped. Returns (status and
    body length as 'status/bytes', negotiated, wall seconds, client CPU s)."""
    buf = bytearray(MIB)
    view = memoryview(buf)
    s, negotiated = connect(port, ctx)
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    s.sendall(f"GET /{name} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
              .encode())
    got, head, status = 0, b"", 0
    while True:
        try:
            n = s.recv_into(view)
        except (ssl.SSLEOFError, ConnectionResetError):
            break
        if n == 0:
            break
        if status == 0:
            head += bytes(view[:n])
            if b"\r\n\r\n" in head:
                h, rest = head.split(b"\r\n\r\n", 1)
                status = int(h.split(b" ", 2)[1])
                got = len(rest)
        else:
            got += n
    wall, r1 = time.monotonic() - t0, resource.getrusage(resource.RUSAGE_SELF)
    s.close()
    ok = 200 if status == 200 and got == size else status or 0
    return ok, negotiated, wall, (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)


# ---------------------------------------------------------------- runs

def measured(srv, data_dir, out, label, transfer):
    """Starts `srv` on `data_dir`, runs `transfer()` while measuring the
    server's CPU and peak RSS, stops it."""
    cmd = srv["start"].replace("{port}", str(srv["port"])).replace("{dir}", shlex.quote(data_dir))
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    log = open(os.path.join(out, "logs", f"https-{srv['name']}.log"), "a")
    log.write(f"\n=== {label}: {cmd}\n")
    log.flush()
    proc = subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if not E.wait_port(srv["port"], proc):
            E.die(f"{srv['name']} did not open port {srv['port']}; see {log.name}")
        time.sleep(0.3)
        pids = E.descendants(proc.pid)
        for p in pids:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")
        cpu0 = E.cpu_s(pids)
        result = transfer()
        cpu1 = E.cpu_s(pids)
        hwm = E.status_kib(pids, "VmHWM:")
    finally:
        E.stop(proc)
        log.close()
    return result, cpu1 - cpu0, hwm


def run_case(case, srv, size, data_dir, dl_dir, cert, loadgen, out, rep):
    label = f"rep {rep} {case}"
    if srv.get("raw"):
        # The sinks: loadgen measures the server itself.
        cmd = srv["start"].replace("{port}", str(srv["port"])).replace("{dir}", shlex.quote(data_dir))
        log = open(os.path.join(out, "logs", f"https-{srv['name']}.log"), "a")
        log.write(f"\n=== {label}: {cmd}\n")
        log.flush()
        proc = subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            if not E.wait_port(srv["port"], proc):
                E.die(f"{srv['name']} did not open port {srv['port']}")
            time.sleep(0.3)
            r = subprocess.run([loadgen, "--url", f"http://127.0.0.1:{srv['port']}/", "--mode", "raw",
                                "--size", f"{size // MIB}M",
                                "--server-pid", ",".join(map(str, E.descendants(proc.pid)))],
                               capture_output=True, text=True)
        finally:
            E.stop(proc)
            log.close()
        res = json.loads((r.stdout.strip().splitlines() or ["{}"])[-1])
        return {"gib_per_s": res.get("gib_per_s"), "server_cpu_s_per_gib": res.get("server_cpu_s_per_gib"),
                "server_peak_rss_kib": res.get("server_peak_rss_kib"),
                "client_cpu_s_per_gib": res["client_cpu_s"] / (size / GIB) if "client_cpu_s" in res else None,
                "failures": res.get("failures", 1), "negotiated": "raw TCP (loadgen)"}
    ctx = client_context(cert) if srv["tls"] else None
    if case == "get":
        (status, neg, wall, ccpu), scpu, hwm = measured(
            srv, dl_dir, out, label, lambda: get(srv["port"], ctx, "big.bin", size))
        ok = status == 200
    else:
        (status, neg, wall, ccpu), scpu, hwm = measured(
            srv, data_dir, out, label, lambda: put(srv["port"], ctx, "up.bin", size))
        path = os.path.join(data_dir, "up.bin")
        ok = status in (200, 201, 204) and os.path.exists(path) and os.path.getsize(path) == size
    if not ok:
        E.note(f"{label} {srv['name']}: status {status}")
    gib = size / GIB
    return {"gib_per_s": gib / wall, "server_cpu_s_per_gib": scpu / gib, "server_peak_rss_kib": hwm,
            "client_cpu_s_per_gib": ccpu / gib, "failures": 0 if ok else 1, "negotiated": neg}


def empty(path):
    for entry in os.listdir(path):
        p = os.path.join(path, entry)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        else:
            os.unlink(p)


# ---------------------------------------------------------------- report

def report(results, size, reps):
    def rows(case, server):
        return [r for r in results if r["case"] == case and r["server"] == server]

    def med(case, server, key):
        return E.med([r[key] for r in rows(case, server)])

    gname = f"{size // GIB} GiB"
    out = []
    titles = {"put-nosync": f"PUT {gname} x1, --no-sync (no peer syncs)",
              "put-durable": f"PUT {gname} x1, durable (fdatasync + directory fsync)",
              "get": f"GET {gname} x1 (file hot in the page cache)"}
    for case, names in CASES.items():
        present = [n for n in names if rows(case, n)]
        if not present:
            continue
        out.append(f"\n### {titles[case]}\n")
        out.append("| system | GiB/s | server CPU s/GiB | server peak RSS MiB | client CPU s/GiB "
                   "| fail | negotiated |")
        out.append("|---|---|---|---|---|---|---|")
        for n in present:
            rs = rows(case, n)
            out.append(
                f"| {n} | {E.rng([r['gib_per_s'] for r in rs])} | "
                f"{E.rng([r['server_cpu_s_per_gib'] for r in rs])} | "
                f"{E.rng([r['server_peak_rss_kib'] / 1024 if r['server_peak_rss_kib'] else None for r in rs], '{:.1f}')} | "
                f"{E.rng([r['client_cpu_s_per_gib'] for r in rs])} | "
                f"{sum(r['failures'] for r in rs)} | {rs[0]['negotiated']} |")

    out.append("\n### Targets (ratios of medians, this run)\n")
    out.append("| target | measured | met |")
    out.append("|---|---|---|")

    def line(what, value, ok):
        out.append(f"| {what} | {value} | {'yes' if ok else ('no' if ok is not None else 'n/a')} |")

    a, b = med("put-nosync", "ringdrop-tls-nosync", "gib_per_s"), med("put-nosync", "nginx-ssl", "gib_per_s")
    ca, cb = (med("put-nosync", "ringdrop-tls-nosync", "server_cpu_s_per_gib"),
              med("put-nosync", "nginx-ssl", "server_cpu_s_per_gib"))
    if a and b:
        line("HTTPS PUT --no-sync ≥ 1.3× nginx-ssl", f"{a / b:.2f}×", a / b >= 1.3)
    if ca and cb:
        line("… at ≤ nginx-ssl's server CPU per GiB", f"{ca:.2f} vs {cb:.2f} s/GiB", ca <= cb)
    a, b = med("put-durable", "ringdrop-tls", "gib_per_s"), med("put-durable", "tcp-to-disk-1m-fsync", "gib_per_s")
    if a and b:
        line("HTTPS PUT durable ≥ 1.2× the fsync loop (HTTP sink)", f"{a / b:.2f}×", a / b >= 1.2)
    for case, tls_name, http_name in (("put-nosync", "ringdrop-tls-nosync", "ringdrop-http-nosync"),
                                      ("put-durable", "ringdrop-tls", "ringdrop-http"),
                                      ("get", "ringdrop-tls", "ringdrop-http")):
        t, h = med(case, tls_name, "server_peak_rss_kib"), med(case, http_name, "server_peak_rss_kib")
        if t and h:
            line(f"{case}: HTTPS peak RSS ≤ HTTP + 8 MiB",
                 f"{t / 1024:.1f} vs {h / 1024:.1f} MiB ({(t - h) / 1024:+.1f})", t <= h + 8 * 1024)
    a, b = med("get", "ringdrop-tls", "gib_per_s"), med("get", "nginx-ssl", "gib_per_s")
    if a and b:
        line("GET (no target): ringdrop-tls ÷ nginx-ssl", f"{a / b:.2f}×", None)
    out.append(f"\nValues: median (min–max) over {reps} interleaved repetition(s).")
    return "\n".join(out) + "\n"


def write_benchmarks_md(section):
    path = os.path.join(REPO, "BENCHMARKS.md")
    text = open(path).read()
    block = f"{BEGIN}\n{section}{END}\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n## HTTPS\n\n" + block
    with open(path, "w") as f:
        f.write(text)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--quick", action="store_true", help="1 GiB, 1 rep by default")
    ap.add_argument("--reps", type=int, help="interleaved repetitions (default 3; quick: 1)")
    ap.add_argument("--cases", help=f"comma list of {', '.join(CASES)}")
    ap.add_argument("--bench-dir", default=os.path.join(REPO, "target", "https-bench", "data"),
                    help="upload folder (emptied between runs; default target/https-bench/data)")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    a = ap.parse_args()
    reps = a.reps or (1 if a.quick else 3)
    size = GIB if a.quick else 4 * GIB
    command = "python3 benches/https.py " + " ".join(shlex.quote(x) for x in sys.argv[1:])
    cases = a.cases.split(",") if a.cases else list(CASES)
    unknown = set(cases) - set(CASES)
    if unknown:
        E.die(f"unknown case(s) {sorted(unknown)}; cases: {list(CASES)}")

    shared = os.path.abspath(os.environ.get("RINGDROP_SHARED") or os.path.join(REPO, "..", "shared"))
    binroot = os.path.abspath(os.environ.get("RINGDROP_BENCH_BIN")
                              or os.path.join(REPO, "target", "bench-bin"))
    E.build(a, shared, binroot)
    loadgen = os.path.join(binroot, "release", "loadgen")
    base = os.path.join(REPO, "target", "https-bench")
    state = os.path.join(base, "state")
    out = os.path.join(base, "results")
    bench_dir = os.path.abspath(a.bench_dir)
    dl_dir = os.path.join(os.path.dirname(bench_dir), "download")
    for d in (state, out, bench_dir, dl_dir):
        os.makedirs(d, exist_ok=True)
    cert, key = make_cert(state)
    srvs = servers(binroot, state, cert, key)
    notes = []
    if "nginx-ssl" not in srvs:
        notes.append("nginx-ssl skipped: no nginx with the dav and ssl modules "
                     "(apt-get install -y nginx-extras)")
    need = size * (2 if "get" in cases else 1) + 2 * GIB
    free = shutil.disk_usage(bench_dir).free
    if free < need:
        E.die(f"{bench_dir}: {free / GIB:.1f} GiB free, need {need / GIB:.1f} GiB")
    if "get" in cases:
        E.make_file(os.path.join(dl_dir, "big.bin"), size)
        subprocess.run(["cat", os.path.join(dl_dir, "big.bin")], stdout=subprocess.DEVNULL)

    ticks_before = E.cpu_ticks()
    results = []
    jsonl = open(os.path.join(out, "results.jsonl"), "w")
    try:
        for rep in range(reps):
            for case in cases:
                for name in CASES[case]:
                    srv = srvs.get(name)
                    if srv is None:
                        continue
                    empty(bench_dir)
                    subprocess.run(["sync"])
                    time.sleep(2)
                    res = run_case(case, srv, size, bench_dir, dl_dir, cert, loadgen, out, rep)
                    res.update(case=case, server=name, rep=rep, sync=srv["sync"])
                    results.append(res)
                    jsonl.write(json.dumps(res) + "\n")
                    jsonl.flush()
                    E.note(f"rep {rep} {case:<12} {name:<22} {res['gib_per_s'] or 0:.3f} GiB/s  "
                           f"cpu {res['server_cpu_s_per_gib'] or 0:.2f} s/GiB  "
                           f"rss {res['server_peak_rss_kib']} KiB  {res['negotiated']}  "
                           f"fail {res['failures']}")
    finally:
        jsonl.close()
        empty(bench_dir)
        shutil.rmtree(dl_dir, ignore_errors=True)
        for extra in (".data.nginx-body", ".data.nginx-state", ".download.nginx-body",
                      ".download.nginx-state"):
            shutil.rmtree(os.path.join(os.path.dirname(bench_dir), extra), ignore_errors=True)

    steal = E.steal_line(ticks_before, E.cpu_ticks())
    header = [f"HTTPS run ({'quick sanity run' if a.quick else 'full run'}, "
              f"{time.strftime('%Y-%m-%d %H:%M %Z')}). Command: `{command}` "
              f"(raw results: `target/https-bench/results/`).", "",
              E.machine(bench_dir), f"- client: {sys.version.split()[0]} ssl, {ssl.OPENSSL_VERSION}",
              steal, ""]
    if notes:
        header += [f"- {n}" for n in notes] + [""]
    section = "\n".join(header) + report(results, size, reps)
    print(section)
    if not a.no_write:
        write_benchmarks_md(section)
        E.note("wrote BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
