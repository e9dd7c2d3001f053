#!/usr/bin/env python3
"""A/B of two ringdrop builds, interleaved, one server at a time: did a
change keep every upload and download case within noise? Standard library
only; uses benches/e2e.py's helpers.

usage: python3 benches/ab.py --base REV [--reps N] [--cases a,b] [--no-build]
                             [--no-write]

  1. builds this checkout (cargo build --release) and REV (a git worktree in
     target/ab/src-REV, built into target/ab/build), and loadgen like e2e.py;
  2. runs every case on both builds, alternating which goes first from one
     rep to the next, each on a fresh server (2 workers, defaults otherwise)
     with its own folder under target/ab/data; small-file cases keep their
     files until the end (see e2e.py's small_requests_bench for why);
  3. prints a Markdown table (medians, min-max, new / base) and writes it
     between the ab markers of BENCHMARKS.md (unless --no-write).

Cases: PUT 4 GiB durable and --no-sync, PUT 256 MiB x8 in both modes,
multipart 1 GiB durable, chunked PUT 1 GiB durable, 20 000 x 4 KiB --no-sync
over 8 connections, GET 4 GiB (curl, file hot in the page cache).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

REPO = e2e.REPO
BEGIN = "<!-- ab:begin (written by benches/ab.py; edits here are overwritten) -->"
END = "<!-- ab:end -->"
GIB = 1 << 30

CASES = {
    "put-4g-durable": ([], ["--mode", "put", "--size", "4G"]),
    "put-4g-nosync": (["--no-sync"], ["--mode", "put", "--size", "4G"]),
    "put-256m-x8-durable": ([], ["--mode", "put", "--size", "256M", "--conns", "8"]),
    "put-256m-x8-nosync": (["--no-sync"], ["--mode", "put", "--size", "256M", "--conns", "8"]),
    "multipart-1g-durable": ([], ["--mode", "multipart", "--size", "1G"]),
    "chunked-1g-durable": ([], ["--mode", "put", "--size", "1G", "--chunked"]),
    "put-4k-x20000-nosync": (["--no-sync"],
                             ["--mode", "put", "--size", "4K", "--conns", "8", "--requests", "2500"]),
    "get-4g": ([], None),
}


def note(msg):
    print(f"ab: {msg}", file=sys.stderr, flush=True)


def build_base(rev):
    src = os.path.join(REPO, "target", "ab", "src")
    out = os.path.join(REPO, "target", "ab", "build")
    if os.path.exists(src):
        subprocess.run(["git", "-C", REPO, "worktree", "remove", "--force", src], check=False)
        shutil.rmtree(src, ignore_errors=True)
    subprocess.run(["git", "-C", REPO, "worktree", "add", "--detach", src, rev], check=True,
                   stdout=subprocess.DEVNULL)
    e2e.run(["cargo", "build", "--release", "--manifest-path", os.path.join(src, "Cargo.toml"),
             "--target-dir", out])
    label = subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(out, "release", "ringdrop"), label


def start(binary, flags, root):
    proc = subprocess.Popen([binary, "--port", "0", *flags, root], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    line = proc.stdout.readline()
    try:
        port = int(line.rsplit(":", 1)[1].strip().rstrip("/"))
    except (IndexError, ValueError):
        e2e.stop(proc)
        sys.exit(f"ab: {binary} did not start: {line!r}")
    return proc, port


def upload_case(binary, loadgen, flags, lg_args, root):
    proc, port = start(binary, flags, root)
    try:
        r = subprocess.run([loadgen, "--url", f"http://127.0.0.1:{port}/", "--server-pid",
                            str(proc.pid), *lg_args], capture_output=True, text=True, timeout=900)
    finally:
        e2e.stop(proc)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    if out.get("failures"):
        sys.exit(f"ab: {binary}: {out['failures']} failures")
    if "--requests" in lg_args:
        return out["requests"] / out["wall_s"], out["server_cpu_s"] / out["requests"] * 1e6, \
            out["server_peak_rss_kib"]
    return out["gib_per_s"], out["server_cpu_s_per_gib"], out["server_peak_rss_kib"]


def download_case(binary, root, size):
    proc, port = start(binary, [], root)
    try:
        cpu0 = e2e.cpu_s([proc.pid])
        began = time.monotonic()
        subprocess.run(["curl", "-sS", "-o", "/dev/null", f"http://127.0.0.1:{port}/big.bin"],
                       check=True)
        wall = time.monotonic() - began
        cpu = e2e.cpu_s([proc.pid]) - cpu0
        rss = e2e.status_kib([proc.pid], "VmHWM")
    finally:
        e2e.stop(proc)
    return size / GIB / wall, cpu / (size / GIB), rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="git revision to compare against")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    cases = args.cases.split(",")
    shared = os.environ.get("RINGDROP_SHARED", os.path.join(REPO, "..", "shared"))
    binroot = os.environ.get("RINGDROP_BENCH_BIN", os.path.join(REPO, "target", "bench-bin"))
    e2e.build(args, shared, binroot)
    loadgen = os.path.join(binroot, "release", "loadgen")
    base_bin, base_label = build_base(args.base)
    new_label = e2e.sh(f"git -C {REPO} rev-parse --short HEAD")
    bins = {"base": base_bin, "new": os.path.join(REPO, "target", "release", "ringdrop")}
    data = os.path.join(REPO, "target", "ab", "data")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    get_size = 4 * GIB
    if "get-4g" in cases:
        get_root = os.path.join(data, "get")
        os.makedirs(get_root)
        e2e.make_file(os.path.join(get_root, "big.bin"), get_size)
    steal0 = e2e.cpu_ticks()
    rows, kept, n = {}, [], 0
    for rep in range(args.reps):
        for case in cases:
            flags, lg = CASES[case]
            for side in (["base", "new"] if rep % 2 == 0 else ["new", "base"]):
                if lg is None:
                    got = download_case(bins[side], os.path.join(data, "get"), get_size)
                else:
                    n += 1
                    root = os.path.join(data, f"{n:03d}-{case}-{side}")
                    os.makedirs(root)
                    got = upload_case(bins[side], loadgen, flags, lg, root)
                    if "--requests" in lg:
                        kept.append(root)
                    else:
                        shutil.rmtree(root, ignore_errors=True)
                rows.setdefault((case, side), []).append(got)
                note(f"rep {rep} {case:22s} {side:4s} {got[0]:10.2f}  cpu {got[1]:.2f}  "
                     f"peak RSS {got[2] / 1024:.1f} MiB")
                time.sleep(2)
    for root in kept:
        shutil.rmtree(root, ignore_errors=True)
    steal = e2e.steal_line(steal0, e2e.cpu_ticks())

    def cell(vals, f="{:.2f}"):
        return f"{f.format(statistics.median(vals))} ({f.format(min(vals))}–{f.format(max(vals))})"

    lines = [
        f"A/B run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: base = {base_label}, "
        f"new = {new_label}. Command: `python3 benches/ab.py --base {args.base} --reps {args.reps}`.",
        "",
        "Rate: GiB/s, or requests/s for the 4 KiB case; CPU: server CPU s/GiB, or µs per request "
        "for the 4 KiB case. Median (min–max) over the reps.",
        "",
        "| case | base rate | new rate | new ÷ base | base CPU | new CPU | base peak RSS MiB | new peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        b, w = rows[(case, "base")], rows[(case, "new")]
        fmt = "{:.0f}" if case.startswith("put-4k") else "{:.2f}"
        ratio = statistics.median(r[0] for r in w) / statistics.median(r[0] for r in b)
        lines.append(
            f"| {case} | {cell([r[0] for r in b], fmt)} | {cell([r[0] for r in w], fmt)} | "
            f"{ratio:.2f}× | {cell([r[1] for r in b])} | {cell([r[1] for r in w])} | "
            f"{statistics.median(r[2] for r in b) / 1024:.1f} | "
            f"{statistics.median(r[2] for r in w) / 1024:.1f} |")
    section = "\n".join(lines) + "\n\n" + e2e.machine(data) + "\n" + steal + "\n"
    print(section)
    if not args.no_write:
        path = os.path.join(REPO, "BENCHMARKS.md")
        text = open(path).read()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            text = head + BEGIN + "\n" + section + rest[rest.index(END):]
        else:
            text += f"\n## A/B against an earlier build\n\n{BEGIN}\n{section}{END}\n"
        open(path, "w").write(text)
        note("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
