#!/usr/bin/env bash
# A 4 GiB GET from a cold page cache, and what it does to the other
# connections of the same worker. Not a test.
#
#   benches/get-cold.sh BIN [BIN...]     (e.g. target/release/ringdrop)
#
# Uses the files of benches/get-vs-nginx.sh (BENCH_DIR, default
# /tmp/ringdrop-get-bench/data: big.bin 4 GiB, small.bin 4 MiB). Per binary,
# 2 repetitions, interleaved: start it with --workers 1, evict big.bin from
# the page cache (posix_fadvise DONTNEED: this file only), GET it with curl
# while a loop GETs the cached small.bin every 100 ms; prints GiB/s, the
# server's CPU ticks, and the small GETs' median and worst time.
set -euo pipefail
data="${BENCH_DIR:-/tmp/ringdrop-get-bench}/data"
evict() { python3 -c "import os; fd = os.open('$data/big.bin', os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)"; }
probe="$(mktemp)"
trap 'rm -f "$probe"' EXIT
cat "$data/small.bin" >/dev/null
for rep in 1 2; do
    for b in "$@"; do
        p=$((20000 + RANDOM % 20000))
        "$b" --port "$p" --no-sync --workers 1 "$data" >/dev/null 2>&1 & pid=$!
        sleep 0.5
        evict
        t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
        ( for _ in $(seq 20); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$p/small.bin"; sleep 0.1; done ) >"$probe" &
        loop=$!
        r=$(curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$p/big.bin")
        wait "$loop"
        t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
        echo "$b GiB/s=$(python3 -c "print(round($r / 2**30, 2))") cpu_ticks=$((t1 - t0)) small_median_s=$(sort -n "$probe" | sed -n 10p) small_max_s=$(sort -n "$probe" | tail -1)"
        kill "$pid"; wait "$pid" 2>/dev/null || true
    done
done
