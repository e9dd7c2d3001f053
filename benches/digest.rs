//! Hash throughput over 1 MiB buffers (the registered buffer size), per
//! algorithm and implementation: what `Content-Digest` verification costs
//! per core, and the measurement behind the choice of implementation.
//!
//! * `ringdrop` — `ringdrop::digest::Hasher`, the library's choice:
//!   RustCrypto `sha2` / `sha1` in their default build (on x86_64 they
//!   detect the SHA extensions at run time through `cpufeatures`; SHA-512
//!   uses AVX2 when present). The `sha2/asm` feature only replaces the
//!   fallback used on CPUs without SHA-NI, so it is not measured here.
//! * `ring` — `ring::digest`.
//! * `aws-lc-rs` — `aws_lc_rs::digest` (AWS-LC's assembly).
//!
//! Every iteration hashes 16 MiB as 16 updates of 1 MiB (a streamed
//! upload), and checks the digest against the one computed once up front.
//! Time is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not
//! wall time, so the throughput is per core even on a shared machine.
//! BENCHMARKS.md has the figures.
//!
//! Run: `cargo bench --bench digest`.

use std::hint::black_box;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ringdrop::digest::{Algorithm, Hasher};

const MIB: usize = 1 << 20;
const BUFFERS: usize = 16;

/// Criterion measurement: CPU time of the calling thread, in nanoseconds.
struct ThreadCpuTime;

/// Formats values as durations (they are nanoseconds, as wall time's are).
static WALL: WallTime = WallTime;

fn thread_cpu_nanos() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime only
    // writes it.
    let ret = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(ret, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_nanos()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_nanos().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

/// 1 MiB of pseudo-random bytes.
fn buffer() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..MIB)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect()
}

fn ours(algorithm: Algorithm, buf: &[u8]) -> Vec<u8> {
    let mut h = Hasher::new(algorithm);
    for _ in 0..BUFFERS {
        h.update(black_box(buf));
    }
    h.finish().as_bytes().to_vec()
}

fn ring(algorithm: Algorithm, buf: &[u8]) -> Vec<u8> {
    let alg = match algorithm {
        Algorithm::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        Algorithm::Sha256 => &ring::digest::SHA256,
        Algorithm::Sha512 => &ring::digest::SHA512,
    };
    let mut ctx = ring::digest::Context::new(alg);
    for _ in 0..BUFFERS {
        ctx.update(black_box(buf));
    }
    ctx.finish().as_ref().to_vec()
}

fn aws_lc(algorithm: Algorithm, buf: &[u8]) -> Vec<u8> {
    let alg = match algorithm {
        Algorithm::Sha1 => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        Algorithm::Sha256 => &aws_lc_rs::digest::SHA256,
        Algorithm::Sha512 => &aws_lc_rs::digest::SHA512,
    };
    let mut ctx = aws_lc_rs::digest::Context::new(alg);
    for _ in 0..BUFFERS {
        ctx.update(black_box(buf));
    }
    ctx.finish().as_ref().to_vec()
}

/// One implementation: hashes `BUFFERS` updates of the buffer.
type HashFn = fn(Algorithm, &[u8]) -> Vec<u8>;

fn bench(c: &mut Criterion<ThreadCpuTime>) {
    let buf = buffer();
    let mut group = c.benchmark_group("digest");
    group.throughput(Throughput::Bytes((BUFFERS * MIB) as u64));
    group.sample_size(20);
    let impls: [(&str, HashFn); 3] = [("ringdrop", ours), ("ring", ring), ("aws-lc-rs", aws_lc)];
    for algorithm in Algorithm::ALL {
        let expected = ours(algorithm, &buf);
        for (name, f) in impls {
            assert_eq!(f(algorithm, &buf), expected, "{name} {algorithm:?}");
            group.bench_with_input(
                BenchmarkId::new(name, algorithm.tus_name()),
                &buf,
                |b, buf| b.iter(|| assert_eq!(f(algorithm, buf), expected)),
            );
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = bench
}
criterion_main!(benches);
