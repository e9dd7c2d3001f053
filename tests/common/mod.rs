//! Shared harness for the integration tests: the real `ringdrop` binary on a
//! loopback port, real clients (`curl` as a subprocess, raw `TcpStream`s for
//! malformed input), and checks of the bytes on disk by sha256.
//!
//! Nothing here mocks the network or the filesystem. Every wait is a poll of
//! a real condition with a deadline (`wait_until`), never a bare sleep.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::ffi::CString;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

pub mod browser_kit;
/// HTTPS helpers: certificates per test, a rustls client.
pub mod tls;

pub const BIN: &str = env!("CARGO_BIN_EXE_ringdrop");
pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * 1024;
pub const GIB: u64 = 1024 * 1024 * 1024;

/// How long any single expected event may take before a test gives up.
pub const EVENT_DEADLINE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// polling
// ---------------------------------------------------------------------------

/// Polls `cond` every 10 ms until it is true or `timeout` passed. Returns
/// whether it became true. This is how tests await events (a file appears, a
/// log line is written, a port is closed) without sleeping a fixed time.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------
// temp dirs and mounts
// ---------------------------------------------------------------------------

static UNIQUE: AtomicUsize = AtomicUsize::new(0);

fn unique_name(label: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "ringdrop-test-{label}-{}-{}-{nanos}",
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::SeqCst)
    )
}

/// A directory under `std::env::temp_dir()` with a unique name, removed
/// (recursively) on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let path = std::env::temp_dir().join(unique_name(label));
        fs::create_dir_all(&path).expect("create temp dir");
        let path = fs::canonicalize(&path).expect("canonicalize temp dir");
        TempDir { path }
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A tmpfs of a fixed size mounted on a fresh temp dir; unmounted (lazily, so
/// a still-dying server cannot block it) and removed on drop. Declare it
/// *before* the `Server` that uses it so the server is killed first.
pub struct TmpfsMount {
    pub path: PathBuf,
}

impl TmpfsMount {
    /// Mounts a tmpfs of `size` (a mount option such as `8m`). Panics loudly if
    /// the mount fails: the full-disk tests need it and must not be skipped.
    pub fn new(size: &str) -> TmpfsMount {
        let path = std::env::temp_dir().join(unique_name("tmpfs"));
        fs::create_dir_all(&path).expect("create mount point");
        let path = fs::canonicalize(&path).expect("canonicalize mount point");
        let src = CString::new("tmpfs").unwrap();
        let target = CString::new(path.as_os_str().as_bytes()).unwrap();
        let opts = CString::new(format!("size={size},mode=0755")).unwrap();
        // SAFETY: all pointers are valid NUL-terminated C strings that outlive the call.
        let rc = unsafe {
            libc::mount(
                src.as_ptr(),
                target.as_ptr(),
                src.as_ptr(),
                0,
                opts.as_ptr() as *const libc::c_void,
            )
        };
        if rc != 0 {
            let err = io::Error::last_os_error();
            let _ = fs::remove_dir(&path);
            panic!(
                "mount -t tmpfs -o size={size} tmpfs {} failed: {err} \
                 (the full-disk tests need root / CAP_SYS_ADMIN; they are not skipped)",
                path.display()
            );
        }
        TmpfsMount { path }
    }

    /// Free bytes available to an unprivileged writer (statvfs f_bavail * f_frsize).
    pub fn free_bytes(&self) -> u64 {
        statvfs_free_bytes(&self.path)
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let target = CString::new(self.path.as_os_str().as_bytes()).unwrap();
        // SAFETY: valid NUL-terminated path.
        unsafe {
            libc::umount2(target.as_ptr(), libc::MNT_DETACH);
        }
        let _ = fs::remove_dir(&self.path);
    }
}

pub fn statvfs_free_bytes(path: &Path) -> u64 {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: zeroed statvfs is a valid value for an out-parameter.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `st` a valid out-pointer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    assert_eq!(
        rc,
        0,
        "statvfs {}: {}",
        path.display(),
        io::Error::last_os_error()
    );
    st.f_bavail as u64 * st.f_frsize as u64
}

// ---------------------------------------------------------------------------
// the server under test
// ---------------------------------------------------------------------------

/// The real `ringdrop` binary, started on `127.0.0.1` with `--port 0`.
/// Killed (SIGKILL) on drop unless it already exited. When the test is
/// panicking, the captured stderr is printed so the failure shows the server's
/// own account of what happened.
pub struct Server {
    pub addr: SocketAddr,
    pub child: Child,
    pub root: PathBuf,
    pub stderr: Arc<Mutex<Vec<String>>>,
    pub stdout_rest: Arc<Mutex<Vec<String>>>,
    /// The listening line said `https://` (`--tls-cert`/`--tls-key`).
    pub https: bool,
    exit: Option<ExitStatus>,
}

impl Server {
    /// `ringdrop --port 0 [extra...] ROOT`; waits (with a deadline) for the
    /// `listening on http://ADDR:PORT/` (or `https://`) line.
    pub fn start(root: &Path, extra: &[&str]) -> Server {
        match Server::try_start(root, extra) {
            Ok(s) => s,
            Err(e) => panic!("server failed to start: {e}"),
        }
    }

    pub fn try_start(root: &Path, extra: &[&str]) -> Result<Server, String> {
        let mut cmd = Command::new(BIN);
        cmd.arg("--port").arg("0").args(extra).arg(root);
        Server::spawn(cmd, root)
    }

    /// Spawns a fully prepared command (used by tests that need `pre_exec`).
    pub fn spawn(mut cmd: Command, root: &Path) -> Result<Server, String> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("spawn {BIN}: {e}"))?;

        let stderr_lines = Arc::new(Mutex::new(Vec::new()));
        let err_pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr_lines);
        thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines() {
                match line {
                    Ok(l) => sink.lock().unwrap().push(l),
                    Err(_) => break,
                }
            }
        });

        let stdout_rest = Arc::new(Mutex::new(Vec::new()));
        let out_pipe = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let rest = Arc::clone(&stdout_rest);
        thread::spawn(move || {
            let mut first = true;
            for line in BufReader::new(out_pipe).lines() {
                match line {
                    Ok(l) if first => {
                        first = false;
                        let _ = tx.send(l);
                    }
                    Ok(l) => rest.lock().unwrap().push(l),
                    Err(_) => break,
                }
            }
        });

        let first = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                // give the stderr reader a moment to collect what was written
                let _ = wait_until(Duration::from_secs(2), || {
                    !stderr_lines.lock().unwrap().is_empty()
                });
                return Err(format!(
                    "no `listening on` line on stdout (exit: {status:?}); stderr:\n{}",
                    stderr_lines.lock().unwrap().join("\n")
                ));
            }
        };
        let addr = parse_listening_line(&first).map_err(|e| {
            let _ = child.kill();
            format!("{e}; stderr:\n{}", stderr_lines.lock().unwrap().join("\n"))
        })?;
        Ok(Server {
            addr,
            child,
            root: root.to_path_buf(),
            stderr: stderr_lines,
            stdout_rest,
            https: first.starts_with("listening on https://"),
            exit: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Host` header value / authority: `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT` (`https://` for an HTTPS server) + `path`
    /// (which must start with `/`).
    pub fn url(&self, path: &str) -> String {
        assert!(path.starts_with('/'), "url path must start with /: {path}");
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{}", self.addr, path)
    }

    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until some stderr line satisfies `pred`.
    pub fn wait_for_stderr(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> bool {
        wait_until(timeout, || {
            self.stderr.lock().unwrap().iter().any(|l| pred(l))
        })
    }

    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: plain kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(
            rc,
            0,
            "kill({}, {sig}): {}",
            self.child.id(),
            io::Error::last_os_error()
        );
    }

    /// Polls for the process to exit; `None` if it is still running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.exit {
            return Some(s);
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                self.exit = Some(s);
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the process is still running (does not reap it).
    pub fn is_running(&mut self) -> bool {
        if self.exit.is_some() {
            return false;
        }
        match self.child.try_wait() {
            Ok(Some(s)) => {
                self.exit = Some(s);
                false
            }
            _ => true,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if thread::panicking() {
            let lines = self.stderr.lock().unwrap();
            let from = lines.len().saturating_sub(80);
            eprintln!(
                "---- ringdrop stderr (last {} lines) ----",
                lines.len() - from
            );
            for l in &lines[from..] {
                eprintln!("{l}");
            }
            eprintln!("---- end of ringdrop stderr ----");
        }
    }
}

/// Parses `listening on http://127.0.0.1:PORT/` (or `https://`) exactly.
pub fn parse_listening_line(line: &str) -> Result<SocketAddr, String> {
    let rest = line
        .strip_prefix("listening on http://")
        .or_else(|| line.strip_prefix("listening on https://"))
        .ok_or_else(|| {
            format!("first stdout line is not `listening on http(s)://ADDR:PORT/`: {line:?}")
        })?;
    let hostport = rest
        .strip_suffix('/')
        .ok_or_else(|| format!("listening line does not end with `/`: {line:?}"))?;
    hostport
        .parse::<SocketAddr>()
        .map_err(|e| format!("listening line address {hostport:?}: {e}"))
}

// ---------------------------------------------------------------------------
// /proc probes
// ---------------------------------------------------------------------------

fn proc_status_kib(pid: u32, key: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix(key) {
            let num: String = rest.chars().filter(|c| c.is_ascii_digit()).collect();
            return num.parse().expect("kB number");
        }
    }
    panic!("{key} not in /proc/{pid}/status");
}

/// Peak resident set size (VmHWM) in KiB.
pub fn vm_hwm_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmHWM:")
}

/// Current resident set size (VmRSS) in KiB.
pub fn vm_rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS:")
}

/// Resets VmHWM to the current RSS (`echo 5 > /proc/PID/clear_refs`).
pub fn reset_hwm(pid: u32) {
    fs::write(format!("/proc/{pid}/clear_refs"), b"5").expect("write 5 to /proc/PID/clear_refs");
}

/// utime + stime of the process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // fields after the `(comm)`; comm may contain spaces, so split after the last ')'
    let after = &stat[stat.rfind(')').expect("comm end") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // after ')' the first field is state (field 3); utime is field 14, stime 15
    let utime: u64 = fields[11].parse().unwrap();
    let stime: u64 = fields[12].parse().unwrap();
    utime + stime
}

/// Targets of the server's open file descriptors.
pub fn open_fd_targets(pid: u32) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(format!("/proc/{pid}/fd")) {
        for e in rd.flatten() {
            if let Ok(t) = fs::read_link(e.path()) {
                out.push(t.to_string_lossy().into_owned());
            }
        }
    }
    out
}

/// The status flags (`O_*`, from the octal `flags:` line of
/// /proc/PID/fdinfo/FD) of one of a process's descriptors.
pub fn fd_flags(pid: u32, fd: &str) -> Option<u32> {
    let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let octal = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
    u32::from_str_radix(octal.trim(), 8).ok()
}

/// Open descriptors of unlinked files inside `root`: the server's in-flight
/// O_TMPFILE uploads (shown by the kernel as `ROOT/dir/#123 (deleted)`).
pub fn tmpfile_fds(pid: u32, root: &Path) -> Vec<String> {
    let prefix = root.to_string_lossy().into_owned();
    open_fd_targets(pid)
        .into_iter()
        .filter(|t| t.starts_with(&prefix) && t.ends_with("(deleted)"))
        .collect()
}

/// Sizes of the server's in-flight O_TMPFILE uploads inside `root` (the
/// inodes behind `tmpfile_fds`, read through `/proc/PID/fd`).
pub fn staged_file_sizes(pid: u32, root: &Path) -> Vec<u64> {
    let prefix = root.to_string_lossy().into_owned();
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter(|e| {
            fs::read_link(e.path()).is_ok_and(|t| {
                let t = t.to_string_lossy();
                t.starts_with(&prefix) && t.ends_with("(deleted)")
            })
        })
        .filter_map(|e| fs::metadata(e.path()).ok().map(|m| m.len()))
        .collect()
}

// ---------------------------------------------------------------------------
// deterministic pseudo-random content
// ---------------------------------------------------------------------------

const POOL_LEN: usize = 1 << 20;
const BLOCK_LEN: usize = 4096;

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// A stream of `size` pseudo-random bytes determined by `seed`, produced in
/// constant memory. Fast even in debug builds: a 1 MiB xorshift pool per
/// stream, then each 4 KiB block is a copy of the pool at an xorshift-chosen
/// offset, stamped with its block index (so no two blocks are equal and a
/// reordered or duplicated block changes the hash). Optionally hashes what it
/// hands out.
pub struct RandomReader {
    pool: Vec<u8>,
    state: u64,
    seed: u64,
    remaining: u64,
    block: Box<[u8; BLOCK_LEN]>,
    block_pos: usize,
    block_index: u64,
    hasher: Option<Sha256>,
}

impl RandomReader {
    pub fn new(size: u64, seed: u64) -> RandomReader {
        let mut state = splitmix64(seed) | 1;
        let mut pool = vec![0u8; POOL_LEN];
        for chunk in pool.chunks_exact_mut(8) {
            chunk.copy_from_slice(&xorshift(&mut state).to_le_bytes());
        }
        RandomReader {
            pool,
            state,
            seed,
            remaining: size,
            block: Box::new([0u8; BLOCK_LEN]),
            block_pos: BLOCK_LEN,
            block_index: 0,
            hasher: None,
        }
    }

    /// Also compute the sha256 of everything read; get it with `sha256_hex`.
    pub fn hashing(mut self) -> RandomReader {
        self.hasher = Some(Sha256::new());
        self
    }

    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// The sha256 (hex) of the bytes read so far. Panics without `hashing()`.
    pub fn sha256_hex(self) -> String {
        hex(&self
            .hasher
            .expect("RandomReader::hashing() not enabled")
            .finalize())
    }

    fn next_block(&mut self) {
        let off = (xorshift(&mut self.state) % (POOL_LEN - BLOCK_LEN) as u64) as usize;
        self.block.copy_from_slice(&self.pool[off..off + BLOCK_LEN]);
        let tag = self.block_index ^ self.seed.rotate_left(32);
        self.block[..8].copy_from_slice(&tag.to_le_bytes());
        self.block_index += 1;
        self.block_pos = 0;
    }
}

impl Read for RandomReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < out.len() && self.remaining > 0 {
            if self.block_pos == BLOCK_LEN {
                self.next_block();
            }
            let n = (BLOCK_LEN - self.block_pos)
                .min(out.len() - filled)
                .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
            out[filled..filled + n]
                .copy_from_slice(&self.block[self.block_pos..self.block_pos + n]);
            self.block_pos += n;
            filled += n;
            self.remaining -= n as u64;
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(&out[..filled]);
        }
        Ok(filled)
    }
}

/// `random_body_reader(size, seed)`: the stream as an `impl Read`.
pub fn random_body_reader(size: u64, seed: u64) -> RandomReader {
    RandomReader::new(size, seed)
}

/// The whole stream in memory (only for small sizes).
/// The argon2id PHC string `ringdrop hash-password` prints for `password`.
pub fn hash_password(password: &str) -> String {
    let mut child = Command::new(BIN)
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ringdrop hash-password");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "hash-password: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// One worker with two small registered buffers and a body idle timeout
/// far above what a test waits: for tests that show a client cannot hold
/// the pool (anything that waits for a buffer would wait 30 s).
pub const TINY_POOL_FLAGS: [&str; 8] = [
    "--workers",
    "1",
    "--buffers",
    "2",
    "--buffer-size",
    "256K",
    "--body-idle-timeout",
    "30s",
];

pub fn random_bytes(size: usize, seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(size);
    RandomReader::new(size as u64, seed)
        .read_to_end(&mut v)
        .unwrap();
    v
}

/// sha256 (hex) of the stream, without storing it.
pub fn random_sha256(size: u64, seed: u64) -> String {
    let mut r = RandomReader::new(size, seed).hashing();
    let mut buf = vec![0u8; 1 << 20];
    while r.read(&mut buf).unwrap() > 0 {}
    r.sha256_hex()
}

/// Streams the pseudo-random content to `path`; returns its sha256 (hex),
/// computed while generating.
pub fn write_random_file(path: &Path, size: u64, seed: u64) -> String {
    let mut r = RandomReader::new(size, seed).hashing();
    let mut f = fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        f.write_all(&buf[..n]).unwrap();
    }
    r.sha256_hex()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// sha256 (hex) of a file on disk, read in 1 MiB pieces.
pub fn sha256_file(path: &Path) -> String {
    let mut f = fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------
// the tree on disk
// ---------------------------------------------------------------------------

/// Every entry under `root`, relative, with `/` separators; directories end in
/// `/`. Symlinks are listed, not followed.
pub fn list_tree(root: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let rd = match fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(_) => return,
        };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                out.insert(format!("{rel}/"));
                walk(base, &p, out);
            } else {
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

/// Asserts that `root` holds exactly `expected` (relative paths, directories
/// with a trailing `/`): no temporary file, nothing starting with `.ringdrop`,
/// nothing half-written under another name.
pub fn assert_no_temp_files(root: &Path, expected: &[&str]) {
    let found = list_tree(root);
    for name in &found {
        let base = name.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        assert!(
            !base.starts_with(".ringdrop"),
            "temporary file left in ROOT: {name} (tree: {found:?})"
        );
    }
    let want: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        found,
        want,
        "unexpected contents of ROOT {}",
        root.display()
    );
}

// ---------------------------------------------------------------------------
// raw HTTP
// ---------------------------------------------------------------------------

/// A parsed HTTP/1.x response.
#[derive(Debug, Clone)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Json {
        Json::parse(&self.body_str())
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {:?}", self.body_str()))
    }

    /// Whether the response says the connection will close.
    pub fn says_close(&self) -> bool {
        self.header("connection")
            .map(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
            .unwrap_or(false)
    }
}

/// Outcome of trying to parse one response from the front of a buffer.
pub enum Parsed {
    /// A full response and how many bytes it used.
    Done(Response, usize),
    /// More bytes are needed.
    Partial,
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Parses one response from the front of `buf`. `head_request`: the request
/// was HEAD (no body follows). `eof`: the peer closed, so a body delimited by
/// the close is complete.
pub fn parse_response(buf: &[u8], head_request: bool, eof: bool) -> Result<Parsed, String> {
    let head_end = match find_head_end(buf) {
        Some(e) => e,
        None => return Ok(Parsed::Partial),
    };
    let head =
        std::str::from_utf8(&buf[..head_end - 4]).map_err(|e| format!("head not UTF-8: {e}"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("").to_string();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("bad status line {status_line:?}"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status code in {status_line:?}"))?;
    let reason = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    for l in lines {
        let (k, v) = l
            .split_once(':')
            .ok_or_else(|| format!("bad header line {l:?}"))?;
        headers.push((k.to_string(), v.trim().to_string()));
    }
    let mut resp = Response {
        version,
        status,
        reason,
        headers,
        body: Vec::new(),
    };
    let rest = &buf[head_end..];
    let no_body = head_request || (100..200).contains(&status) || status == 204 || status == 304;
    if no_body {
        return Ok(Parsed::Done(resp, head_end));
    }
    let chunked = resp
        .header("transfer-encoding")
        .map(|v| v.to_ascii_lowercase().contains("chunked"))
        .unwrap_or(false);
    if chunked {
        let mut pos = 0;
        let mut body = Vec::new();
        loop {
            let line_end = match rest[pos..].windows(2).position(|w| w == b"\r\n") {
                Some(e) => pos + e,
                None => return Ok(Parsed::Partial),
            };
            let line = std::str::from_utf8(&rest[pos..line_end]).map_err(|e| e.to_string())?;
            let size_txt = line.split(';').next().unwrap().trim();
            let size = usize::from_str_radix(size_txt, 16)
                .map_err(|e| format!("chunk size {line:?}: {e}"))?;
            pos = line_end + 2;
            if size == 0 {
                // trailers until an empty line
                loop {
                    let e = match rest[pos..].windows(2).position(|w| w == b"\r\n") {
                        Some(e) => pos + e,
                        None => return Ok(Parsed::Partial),
                    };
                    let empty = e == pos;
                    pos = e + 2;
                    if empty {
                        resp.body = body;
                        return Ok(Parsed::Done(resp, head_end + pos));
                    }
                }
            }
            if rest.len() < pos + size + 2 {
                return Ok(Parsed::Partial);
            }
            body.extend_from_slice(&rest[pos..pos + size]);
            pos += size + 2;
        }
    }
    if let Some(cl) = resp.header("content-length") {
        let n: usize = cl
            .trim()
            .parse()
            .map_err(|e| format!("content-length {cl:?}: {e}"))?;
        if rest.len() < n {
            return Ok(Parsed::Partial);
        }
        resp.body = rest[..n].to_vec();
        return Ok(Parsed::Done(resp, head_end + n));
    }
    // delimited by close
    if eof {
        resp.body = rest.to_vec();
        Ok(Parsed::Done(resp, buf.len()))
    } else {
        Ok(Parsed::Partial)
    }
}

/// Parses every response in `buf` (the bytes of a connection read to its end).
/// `head_flags[i]` says whether the i-th request was HEAD (missing = false).
pub fn parse_responses(buf: &[u8], head_flags: &[bool]) -> Vec<Response> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let is_head = head_flags.get(out.len()).copied().unwrap_or(false);
        match parse_response(&buf[pos..], is_head, true) {
            Ok(Parsed::Done(r, used)) => {
                out.push(r);
                pos += used;
            }
            Ok(Parsed::Partial) => panic!(
                "truncated response after {} complete ones: {:?}",
                out.len(),
                String::from_utf8_lossy(&buf[pos..])
            ),
            Err(e) => panic!(
                "unparseable response ({e}): {:?}",
                String::from_utf8_lossy(&buf[pos..])
            ),
        }
    }
    out
}

/// A raw client connection with a read buffer, for precise control of what is
/// sent and when.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
            eof: false,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("send: {e}"));
    }

    /// Sends, reporting errors instead of panicking (the server may have
    /// answered and closed already).
    pub fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads more bytes into the buffer; Ok(false) at EOF (or reset).
    fn fill(&mut self, deadline: Instant) -> Result<bool, String> {
        let now = Instant::now();
        if now >= deadline {
            return Err("timed out".into());
        }
        self.stream.set_read_timeout(Some(deadline - now)).unwrap();
        read_more(&mut self.stream, &mut self.buf, &mut self.eof)
    }

    /// Reads until at least `n` bytes are buffered (kept for the response
    /// that follows); false if they do not come in time.
    pub fn wait_for_bytes(&mut self, n: usize) -> bool {
        let deadline = Instant::now() + EVENT_DEADLINE;
        while self.buf.len() < n {
            if !matches!(self.fill(deadline), Ok(true)) {
                return false;
            }
        }
        true
    }

    /// Reads one response (an interim `100 Continue` counts as one).
    pub fn try_read_response_for(
        &mut self,
        head_request: bool,
        timeout: Duration,
    ) -> Result<Response, String> {
        let deadline = Instant::now() + timeout;
        loop {
            match parse_response(&self.buf, head_request, self.eof)? {
                Parsed::Done(r, used) => {
                    self.buf.drain(..used);
                    return Ok(r);
                }
                Parsed::Partial => {
                    if self.eof {
                        return Err(format!(
                            "connection closed before a full response; got {:?}",
                            String::from_utf8_lossy(&self.buf)
                        ));
                    }
                    if let Err(e) = self.fill(deadline) {
                        return Err(format!(
                            "{e} waiting for a response; got {:?}",
                            String::from_utf8_lossy(&self.buf)
                        ));
                    }
                }
            }
        }
    }

    pub fn read_response(&mut self) -> Response {
        self.try_read_response_for(false, EVENT_DEADLINE)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn read_head_response(&mut self) -> Response {
        self.try_read_response_for(true, EVENT_DEADLINE)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_read_response(&mut self) -> Result<Response, String> {
        self.try_read_response_for(false, EVENT_DEADLINE)
    }

    /// Waits for the server to close the connection. Returns true if it closed
    /// (EOF or reset) within `timeout`; bytes received meanwhile stay in the
    /// buffer (`leftover`).
    pub fn wait_closed(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.eof {
            if self.fill(deadline).is_err() {
                return false;
            }
        }
        true
    }

    /// Whether the server has closed the connection (as seen so far).
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// Bytes received but not consumed by a parsed response.
    pub fn leftover(&self) -> &[u8] {
        &self.buf
    }

    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

/// Sends `bytes` on a fresh connection and reads until the server closes it
/// or `timeout` passes. Returns what was received and whether it closed.
pub fn raw_exchange(addr: SocketAddr, bytes: &[u8], timeout: Duration) -> (Vec<u8>, bool) {
    let mut c = Conn::connect(addr);
    // the server may answer and close before it read everything: not an error here
    let _ = c.try_send(bytes);
    let closed = c.wait_closed(timeout);
    (c.buf, closed)
}

/// `raw_request(addr, bytes)`: the response bytes, read until close or a 5 s timeout.
pub fn raw_request(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    raw_exchange(addr, bytes, Duration::from_secs(5)).0
}

/// A `GET` of `path` with `Connection: close`, parsed.
pub fn get(server: &Server, path: &str, extra_headers: &str) -> Response {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\n{extra_headers}Connection: close\r\n\r\n",
        server.host()
    );
    let mut c = Conn::connect(server.addr);
    c.send(req.as_bytes());
    c.read_response()
}

/// A `PUT` of `body` with Content-Length on a fresh connection, parsed.
pub fn put(server: &Server, path: &str, extra_headers: &str, body: &[u8]) -> Response {
    let req = format!(
        "PUT {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n{extra_headers}Connection: close\r\n\r\n",
        server.host(),
        body.len()
    );
    let mut c = Conn::connect(server.addr);
    c.send(req.as_bytes());
    let _ = c.try_send(body);
    c.read_response()
}

/// Streams `body` as a PUT body from a writer thread while the caller's
/// thread reads the response (so an early answer is seen even if the server
/// stops reading). `headers` must carry the framing (`Content-Length: N\r\n`
/// or `Transfer-Encoding: chunked\r\n` with a `ChunkedReader` body).
/// `Connection: close` is added. Returns the response and the body reader
/// (e.g. to get the hash of what was sent).
pub fn put_streaming<R: Read + Send + 'static>(
    server: &Server,
    path: &str,
    headers: &str,
    body: R,
) -> (Response, R) {
    send_streaming(server, "PUT", path, headers, body)
}

/// [`put_streaming`] for any method (e.g. a multipart POST).
pub fn send_streaming<R: Read + Send + 'static>(
    server: &Server,
    method: &str,
    path: &str,
    headers: &str,
    body: R,
) -> (Response, R) {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\n{headers}Connection: close\r\n\r\n",
        server.host()
    );
    let mut c = Conn::connect(server.addr);
    c.send(head.as_bytes());
    let mut w = c.stream.try_clone().unwrap();
    let writer = thread::spawn(move || {
        let mut body = body;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = body.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            if w.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        body
    });
    let resp = c
        .try_read_response_for(false, Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    // an early answer (error before the body was read): stop the writer
    if !writer.is_finished() {
        let _ = c.stream.shutdown(Shutdown::Both);
    }
    let body = writer.join().unwrap();
    (resp, body)
}

/// Wraps a reader and emits its bytes as a chunked body (chunks of at most
/// `piece` bytes, then `0\r\n\r\n`).
pub struct ChunkedReader<R> {
    inner: R,
    piece: usize,
    out: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: Read> ChunkedReader<R> {
    pub fn new(inner: R, piece: usize) -> ChunkedReader<R> {
        ChunkedReader {
            inner,
            piece,
            out: Vec::new(),
            pos: 0,
            done: false,
        }
    }

    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for ChunkedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.out.len() {
            if self.done {
                return Ok(0);
            }
            let mut data = vec![0u8; self.piece];
            let n = self.inner.read(&mut data)?;
            self.out.clear();
            self.pos = 0;
            if n == 0 {
                self.out.extend_from_slice(b"0\r\n\r\n");
                self.done = true;
            } else {
                self.out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                self.out.extend_from_slice(&data[..n]);
                self.out.extend_from_slice(b"\r\n");
            }
        }
        let n = (self.out.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Encodes `data` as a chunked body with pieces of `piece` bytes.
pub fn chunked_body(data: &[u8], piece: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in data.chunks(piece) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// Asserts an error response per SPEC: the status, a JSON content type and a
/// JSON body `{"error": "...", "message": "..."}` with non-empty strings.
pub fn assert_json_error(resp: &Response, status: u16) {
    assert_eq!(
        resp.status,
        status,
        "status; response: {resp:?} body {:?}",
        resp.body_str()
    );
    assert_json_error_body(resp);
}

/// The JSON error shape, for any status.
pub fn assert_json_error_body(resp: &Response) {
    let ct = resp.header("content-type").unwrap_or("");
    assert!(
        ct.to_ascii_lowercase().starts_with("application/json"),
        "error {} has Content-Type {ct:?}, want application/json; body {:?}",
        resp.status,
        resp.body_str()
    );
    let j = resp.json();
    let err = j.get("error").and_then(Json::as_str).unwrap_or("");
    let msg = j.get("message").and_then(Json::as_str).unwrap_or("");
    assert!(
        !err.is_empty(),
        "error body lacks a non-empty \"error\": {}",
        resp.body_str()
    );
    assert!(
        !msg.is_empty(),
        "error body lacks a non-empty \"message\": {}",
        resp.body_str()
    );
}

/// Whether the server still answers: `GET /?json` (JSON listing of ROOT) → 200 + JSON.
pub fn server_is_alive(server: &Server) -> bool {
    let stream = match TcpStream::connect_timeout(&server.addr, Duration::from_secs(5)) {
        Ok(s) => s,
        Err(_) => return false,
    };
    let mut c = Conn {
        stream,
        buf: Vec::new(),
        eof: false,
    };
    let req = format!(
        "GET /?json HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.host()
    );
    if c.try_send(req.as_bytes()).is_err() {
        return false;
    }
    match c.try_read_response_for(false, EVENT_DEADLINE) {
        Ok(r) => r.status == 200 && Json::parse(&r.body_str()).is_ok(),
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------
// curl
// ---------------------------------------------------------------------------

/// `curl -sS --noproxy '*' ARGS...`.
pub fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-sS", "--noproxy", "*"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run curl")
}

/// What a curl run produced, from `-D` (headers), `-o` (body) and `-w %{http_code}`.
#[derive(Debug)]
pub struct CurlResult {
    pub status: u16,
    pub headers: String,
    pub body: Vec<u8>,
    pub exit: ExitStatus,
    pub stderr: String,
}

impl CurlResult {
    pub fn json(&self) -> Json {
        let s = String::from_utf8_lossy(&self.body);
        Json::parse(&s).unwrap_or_else(|e| panic!("curl body is not JSON ({e}): {s:?}"))
    }
}

fn curl_run(args: &[&str], stdin: Option<Box<dyn Read + Send>>) -> CurlResult {
    let tmp = TempDir::new("curl");
    let hdr = tmp.join("headers");
    let body = tmp.join("body");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--noproxy", "*", "-D"])
        .arg(&hdr)
        .arg("-o")
        .arg(&body)
        .args(["-w", "%{http_code}"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = match stdin {
        None => cmd.stdin(Stdio::null()).output().expect("run curl"),
        Some(mut reader) => {
            cmd.stdin(Stdio::piped());
            let mut child = cmd.spawn().expect("spawn curl");
            let mut pipe = child.stdin.take().unwrap();
            let feeder = thread::spawn(move || {
                let _ = io::copy(&mut reader, &mut pipe);
            });
            let out = child.wait_with_output().expect("wait curl");
            feeder.join().unwrap();
            out
        }
    };
    let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
    CurlResult {
        status: code.parse().unwrap_or(0),
        headers: fs::read_to_string(&hdr).unwrap_or_default(),
        body: fs::read(&body).unwrap_or_default(),
        exit: out.status,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs curl capturing status, headers and body.
pub fn curl_capture(args: &[&str]) -> CurlResult {
    curl_run(args, None)
}

/// Runs curl with `reader` streamed into its stdin (for `-T -`).
pub fn curl_capture_stdin<R: Read + Send + 'static>(args: &[&str], reader: R) -> CurlResult {
    curl_run(args, Some(Box::new(reader)))
}

// ---------------------------------------------------------------------------
// a small JSON reader (no serde in dev-dependencies)
// ---------------------------------------------------------------------------

/// A parsed JSON value. Numbers keep their text so large integers are exact.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(s: &str) -> Result<Json, String> {
        let b = s.as_bytes();
        let mut p = JsonParser { b, i: 0 };
        p.ws();
        let v = p.value(0)?;
        p.ws();
        if p.i != b.len() {
            return Err(format!("trailing bytes at {}", p.i));
        }
        Ok(v)
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Num(n) => n.parse().ok(),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Json>> {
        match self {
            Json::Arr(a) => Some(a),
            _ => None,
        }
    }

    pub fn keys(&self) -> Vec<&str> {
        match self {
            Json::Obj(kv) => kv.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

struct JsonParser<'a> {
    b: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", c as char, self.i))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 64 {
            return Err("nesting too deep".into());
        }
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                let mut kv = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(kv));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    self.expect(b':')?;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    kv.push((k, v));
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(kv));
                        }
                        _ => return Err(format!("expected , or }} at {}", self.i)),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(format!("expected , or ] at {}", self.i)),
                    }
                }
            }
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b't') => self.lit("true", Json::Bool(true)),
            Some(b'f') => self.lit("false", Json::Bool(false)),
            Some(b'n') => self.lit("null", Json::Null),
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E') {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                Ok(Json::Num(
                    String::from_utf8_lossy(&self.b[start..self.i]).into_owned(),
                ))
            }
            _ => Err(format!("unexpected byte at {}", self.i)),
        }
    }

    fn lit(&mut self, word: &str, v: Json) -> Result<Json, String> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(format!("bad literal at {}", self.i))
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.b.get(self.i..self.i + 4).ok_or("short \\u escape")?;
        let s = std::str::from_utf8(h).map_err(|e| e.to_string())?;
        self.i += 4;
        u32::from_str_radix(s, 16).map_err(|e| e.to_string())
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek().ok_or("unterminated string")?;
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.peek().ok_or("unterminated escape")?;
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) {
                                if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return Err("lone high surrogate".into());
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            }
                            let ch = char::from_u32(cp).ok_or("bad code point")?;
                            let mut tmp = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                        }
                        _ => return Err(format!("bad escape at {}", self.i)),
                    }
                }
                c if c < 0x20 => return Err(format!("control byte in string at {}", self.i)),
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|e| e.to_string())
    }
}

/// Percent-decodes a URL path (for comparing encoded `path` fields).
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let pair = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
            if let Ok(v) = u8::from_str_radix(pair, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Whether `s` looks like an RFC 3339 UTC timestamp: `YYYY-MM-DDTHH:MM:SS[.frac]Z`.
pub fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || !s.ends_with('Z') {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let ok_fixed = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !ok_fixed {
        return false;
    }
    let tail = &s[19..s.len() - 1];
    tail.is_empty()
        || (tail.starts_with('.')
            && tail.len() > 1
            && tail[1..].bytes().all(|c| c.is_ascii_digit()))
}

// ---------------------------------------------------------------------------
// one-shot runs of the binary
// ---------------------------------------------------------------------------

/// What a one-shot run of the binary did.
#[derive(Debug)]
pub struct RunOutput {
    /// `None`: still running at the deadline (then killed).
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to completion with a deadline; kills it if it overruns.
pub fn run_with_deadline(mut cmd: Command, timeout: Duration) -> RunOutput {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_t = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out_pipe.read_to_end(&mut s);
        s
    });
    let err_t = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err_pipe.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    RunOutput {
        status,
        stdout: String::from_utf8_lossy(&out_t.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err_t.join().unwrap()).into_owned(),
    }
}

/// Chunked encoding of `data` with chunk sizes cycling through `sizes`;
/// also returns where each chunk's data ends in `data`.
pub fn chunk_with_sizes(data: &[u8], sizes: &[usize]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut cuts = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < data.len() {
        let n = sizes[i % sizes.len()].min(data.len() - pos);
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&data[pos..pos + n]);
        out.extend_from_slice(b"\r\n");
        pos += n;
        cuts.push(pos);
        i += 1;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    (out, cuts)
}

/// One read from `reader` (whose read timeout is set) appended to `buf`:
/// `Ok(true)` if bytes came (or the read was interrupted), `Ok(false)` at
/// EOF or when the connection is over (ECONNRESET and friends, which also
/// set `eof`), `Err` when the timeout passed.
pub fn read_more(
    reader: &mut impl Read,
    buf: &mut Vec<u8>,
    eof: &mut bool,
) -> Result<bool, String> {
    let mut tmp = [0u8; 64 * 1024];
    match reader.read(&mut tmp) {
        Ok(0) => {
            *eof = true;
            Ok(false)
        }
        Ok(n) => {
            buf.extend_from_slice(&tmp[..n]);
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
            Err("timed out".into())
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
        Err(_) => {
            *eof = true;
            Ok(false)
        }
    }
}
