#!/usr/bin/env bash
# GET of a cached 4 GiB file over one connection (curl), ringdrop next to
# nginx, interleaved. Not a test: numbers depend on the machine.
#
#   cargo build --release && benches/get-vs-nginx.sh [REPS]
#
# Servers (all started once, serving the same directory):
#   ringdrop            target/release/ringdrop --no-sync DIR (sendfile)
#   ringdrop-buffers    the same with --no-sendfile (registered buffers)
#   nginx               ../shared/peers/start-nginx.sh PORT DIR (its config
#                       does not set `sendfile`, so nginx's default: off)
#   nginx-sendfile      that config plus `sendfile on;`
# Per run: `cat` the file first (the page cache may have been dropped by
# other work), then curl -o /dev/null; server CPU (utime+stime from
# /proc/PID/stat, the nginx worker for nginx) and VmHWM (reset with
# clear_refs before each GET), for a 4 MiB and a 4 GiB GET. A run is flagged
# when the server read more than 64 MiB from disk (read_bytes in /proc/PID/io:
# the cache was dropped under it).
set -euo pipefail
reps="${1:-3}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
shared="${RINGDROP_SHARED:-$repo/../shared}"
work="${BENCH_DIR:-/tmp/ringdrop-get-bench}"
data="$work/data"
bin="$repo/target/release/ringdrop"
mkdir -p "$data" "$work/nginx-sendfile"
[ -f "$data/big.bin" ] || head -c 4G /dev/urandom >"$data/big.bin"
[ -f "$data/small.bin" ] || head -c 4M /dev/urandom >"$data/small.bin"
out="$work/runs.tsv"
: >"$out"

port() { echo $((20000 + RANDOM % 20000)); }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

p1=$(port); "$bin" --port "$p1" --no-sync "$data" >/dev/null 2>"$work/rd.log" & rd=$!; pids+=("$rd")
p2=$(port); "$bin" --port "$p2" --no-sync --no-sendfile "$data" >/dev/null 2>"$work/rdb.log" & rdb=$!; pids+=("$rdb")
p3=$(port); "$shared/peers/start-nginx.sh" "$p3" "$data" >/dev/null 2>&1 & ng=$!; pids+=("$ng")
sleep 1
state="$(dirname "$data")/.$(basename "$data").nginx-state"
p4=$(port)
sed -e "s/listen 127.0.0.1:$p3;/listen 127.0.0.1:$p4;/" \
    -e "s#^pid .*#pid $work/nginx-sendfile/nginx.pid;#" \
    -e "s#^error_log .*#error_log $work/nginx-sendfile/error.log warn;#" \
    -e "s/access_log off;/access_log off;\n    sendfile on;/" \
    "$state/nginx.conf" >"$work/nginx-sendfile/nginx.conf"
mkdir -p "$work/nginx-sendfile/tmp"
nginx -e "$work/nginx-sendfile/error.log" -p "$work/nginx-sendfile" -c "$work/nginx-sendfile/nginx.conf" & ngs=$!; pids+=("$ngs")
sleep 1
worker_of() { pgrep -P "$1" | head -1; }

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
disk_read() { awk '/^read_bytes:/ {print $2}' "/proc/$1/io"; }

one() { # name port pid file
    local name=$1 p=$2 pid=$3 file=$4
    cat "$data/$file" >/dev/null
    echo 5 >"/proc/$pid/clear_refs"
    local t0 d0; t0=$(ticks "$pid"); d0=$(disk_read "$pid")
    local r; r=$(curl -s -o /dev/null -w '%{speed_download} %{size_download}' "http://127.0.0.1:$p/$file")
    local t1 d1; t1=$(ticks "$pid"); d1=$(disk_read "$pid")
    local flag=ok; [ $((d1 - d0)) -le $((64 << 20)) ] || flag="disk-read:$((d1 - d0))"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$file" "$r" "$((t1 - t0))" "$(hwm "$pid")" "$flag" | tee -a "$out"
}

names=(ringdrop ringdrop-buffers nginx nginx-sendfile)
for rep in $(seq "$reps"); do
    for i in 0 1 2 3; do
        k=$(((i + rep) % 4))
        case ${names[$k]} in
            ringdrop) p=$p1; pid=$rd ;;
            ringdrop-buffers) p=$p2; pid=$rdb ;;
            nginx) p=$p3; pid=$(worker_of "$ng") ;;
            nginx-sendfile) p=$p4; pid=$(worker_of "$ngs") ;;
        esac
        one "${names[$k]}" "$p" "$pid" small.bin
        one "${names[$k]}" "$p" "$pid" big.bin
    done
done

python3 - "$out" "$(getconf CLK_TCK)" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
hz = float(sys.argv[2])
print("\n| server | GiB/s 4 GiB | server CPU s/GiB | VmHWM 4 MiB GET KiB | VmHWM 4 GiB GET KiB | runs |")
print("|---|---|---|---|---|---|")
def fmt(v, f="{:.2f}"):
    return f"{f.format(statistics.median(v))} ({f.format(min(v))}–{f.format(max(v))})"
for name in ("ringdrop", "ringdrop-buffers", "nginx", "nginx-sendfile"):
    big = [r for r in rows if r[0] == name and r[1] == "big.bin"]
    small = [r for r in rows if r[0] == name and r[1] == "small.bin"]
    if not big:
        continue
    gib = [float(r[2].split()[0]) / 2**30 for r in big]
    cpu = [int(r[3]) / hz / (int(r[2].split()[1]) / 2**30) for r in big]
    h4g = [int(r[4]) for r in big]
    h4m = [int(r[4]) for r in small]
    flagged = sum(1 for r in big if r[5] != "ok")
    note = f", {flagged} read from disk" if flagged else ""
    print(f"| {name} | {fmt(gib)} | {fmt(cpu)} | {fmt(h4m, '{:.0f}')} | {fmt(h4g, '{:.0f}')} | {len(big)}{note} |")
PY
