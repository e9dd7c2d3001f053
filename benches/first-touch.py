#!/usr/bin/env python3
"""How dear is memory the kernel has not touched lately? (the page-cache swings)

Why: on this VM the blocking sinks, Go and nginx write 4 GiB into the page
cache at 0.4-0.6 GiB/s in one run and 1.4-2.1 GiB/s in the next, with 82 % of
their CPU in the kernel's copy into fresh page-cache pages. The guest runs
virtio free-page reporting (/sys/module/page_reporting): free memory that
stays free for a moment is handed back to the host, and the first write to
such a page after the guest reuses it faults on the host. This probe shows it
without any file: it maps anonymous memory, writes every page once (first
touch), frees it, and does it again - once right away (the pages just freed
come back, not yet reported) and once after a pause long enough for the
reporting pass. Standard library only.

usage: python3 benches/first-touch.py [--mib 2048] [--pause 5] [--rounds 3]
"""

import argparse
import mmap
import time

PAGE = 4096
CHUNK = 1 << 20


def first_touch_gib_per_s(size):
    region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    chunk = b"\x01" * CHUNK
    start = time.perf_counter()
    for offset in range(0, size, CHUNK):
        region[offset : offset + CHUNK] = chunk
    elapsed = time.perf_counter() - start
    region.close()
    return size / elapsed / (1 << 30), elapsed * 1e6 / (size // PAGE)


def page_reporting():
    base = "/sys/module/page_reporting/parameters/"
    try:
        with open(base + "reported_kib") as f:
            reported = int(f.read())
        with open(base + "page_reporting_order") as f:
            order = int(f.read())
    except OSError:
        return None
    return reported, order


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=2048, help="memory per round")
    ap.add_argument("--pause", type=float, default=5.0, help="seconds between rounds in the paused series")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    size = args.mib << 20

    reporting = page_reporting()
    if reporting is None:
        print("free-page reporting: not active here (no /sys/module/page_reporting)")
    else:
        print(f"free-page reporting: active, order {reporting[1]}, {reporting[0] >> 20} GiB reported since boot")

    for label, pause in (("back to back", 0.0), (f"after {args.pause:g} s", args.pause)):
        before = page_reporting()
        rates = []
        for _ in range(args.rounds):
            time.sleep(pause)
            rates.append(first_touch_gib_per_s(size))
        after = page_reporting()
        reported = "" if before is None else f", {(after[0] - before[0]) >> 10} MiB reported meanwhile"
        shown = ", ".join(f"{gib:.2f} GiB/s ({us:.1f} us/page)" for gib, us in rates)
        print(f"first touch of {args.mib} MiB, {label}: {shown}{reported}")


if __name__ == "__main__":
    main()
