//! The process from the outside: the startup line, `--help`, bad arguments,
//! a kernel without io_uring (simulated with a seccomp filter), the access
//! log, and shutdown on SIGTERM / SIGINT.

mod common;

use std::io::{self, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;

#[test]
fn startup_line_names_the_bound_address() {
    let root = TempDir::new("root");
    let mut cmd = Command::new(BIN);
    cmd.args(["--bind", "127.0.0.1", "--port", "0"])
        .arg(&root.path);
    let server = Server::spawn(cmd, &root.path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(server.addr.ip().to_string(), "127.0.0.1");
    assert_ne!(
        server.addr.port(),
        0,
        "--port 0 must print the port actually bound"
    );
    assert!(
        server_is_alive(&server),
        "nothing answers at the printed address"
    );
    // exactly one line on stdout: everything else goes to stderr
    assert!(
        server.stdout_rest.lock().unwrap().is_empty(),
        "more than one stdout line: {:?}",
        server.stdout_rest.lock().unwrap()
    );

    // another loopback address is honoured and printed
    let mut cmd = Command::new(BIN);
    cmd.args(["-b", "127.0.0.2", "-p", "0"]).arg(&root.path);
    let other = Server::spawn(cmd, &root.path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(other.addr.ip().to_string(), "127.0.0.2");
    assert!(server_is_alive(&other));
}

#[test]
fn root_defaults_to_the_current_directory() {
    let root = TempDir::new("cwd");
    std::fs::write(root.join("here.txt"), b"cwd file").unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["--port", "0"]).current_dir(&root.path);
    let server = Server::spawn(cmd, &root.path).unwrap_or_else(|e| panic!("{e}"));
    let r = get(&server, "/here.txt", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"cwd file");
}

#[test]
fn help_lists_every_option() {
    let mut cmd = Command::new(BIN);
    cmd.arg("--help");
    let out = run_with_deadline(cmd, EVENT_DEADLINE);
    assert!(
        out.status.map(|s| s.success()).unwrap_or(false),
        "--help: {out:?}"
    );
    for opt in [
        "-b, --bind",
        "-p, --port",
        "-w, --workers",
        "--max-file-size",
        "--read-only",
        "--allow-delete",
        "--no-sync",
        "--no-sendfile",
        "--head-timeout",
        "--body-idle-timeout",
        "--keepalive-timeout",
        "--shutdown-timeout",
        "--max-connections",
        "--buffer-size",
        "--buffers",
        "--log-level",
        "--max-connections-per-ip",
        "--direct-io",
        "--no-inline-writes",
        "--user",
        "--allow",
        "--token-file",
        "--auth-threads",
        "--tls-cert",
        "--tls-key",
        "--metrics",
        "hash-password",
        "ROOT",
    ] {
        assert!(
            out.stdout.contains(opt),
            "--help does not mention {opt}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn bad_arguments_fail_cleanly() {
    let root = TempDir::new("root");
    let missing = root.join("does-not-exist");
    let cases: Vec<Vec<String>> = vec![
        vec![
            "--max-file-size".into(),
            "12Q".into(),
            root.path.display().to_string(),
        ],
        vec![
            "--head-timeout".into(),
            "soon".into(),
            root.path.display().to_string(),
        ],
        vec!["--port".into(), "0".into(), missing.display().to_string()],
    ];
    for args in cases {
        let mut cmd = Command::new(BIN);
        cmd.args(&args);
        let out = run_with_deadline(cmd, EVENT_DEADLINE);
        let status = out
            .status
            .unwrap_or_else(|| panic!("{args:?}: still running at the deadline"));
        assert!(!status.success(), "{args:?}: exit 0");
        assert!(
            !out.stderr.contains("panicked"),
            "{args:?}: panic: {}",
            out.stderr
        );
        assert!(
            !out.stdout.contains("listening on"),
            "{args:?}: claims to listen"
        );
        assert!(!out.stderr.trim().is_empty(), "{args:?}: no error message");
    }
}

// --- io_uring unavailable -------------------------------------------------

#[cfg(target_arch = "x86_64")]
fn deny_io_uring_setup(cmd: &mut Command, errno: u32) {
    use std::os::unix::process::CommandExt;

    const BPF_LD: u16 = 0x00;
    const BPF_W: u16 = 0x00;
    const BPF_ABS: u16 = 0x20;
    const BPF_JMP: u16 = 0x05;
    const BPF_JEQ: u16 = 0x10;
    const BPF_K: u16 = 0x00;
    const BPF_RET: u16 = 0x06;
    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    // struct seccomp_data { int nr; __u32 arch; ... }
    const OFF_NR: u32 = 0;
    const OFF_ARCH: u32 = 4;

    let stmt = |code: u16, k: u32| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u16, k: u32, jt: u8, jf: u8| libc::sock_filter { code, jt, jf, k };
    let filter: [libc::sock_filter; 7] = [
        stmt(BPF_LD | BPF_W | BPF_ABS, OFF_ARCH),
        jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        stmt(BPF_LD | BPF_W | BPF_ABS, OFF_NR),
        jump(
            BPF_JMP | BPF_JEQ | BPF_K,
            libc::SYS_io_uring_setup as u32,
            0,
            1,
        ),
        stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (errno & 0xffff)),
        stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    ];
    // SAFETY: the closure runs in the forked child before exec; it only calls
    // prctl(2) and seccomp(2) on data captured by value (no allocation, no locks).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            if libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &prog as *const libc::sock_fprog,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(target_arch = "x86_64")]
fn check_io_uring_unavailable(errno: i32) {
    let root = TempDir::new("root");
    let mut cmd = Command::new(BIN);
    cmd.args(["--port", "0"]).arg(&root.path);
    deny_io_uring_setup(&mut cmd, errno as u32);
    let out = run_with_deadline(cmd, Duration::from_secs(20));
    let status = out.status.unwrap_or_else(|| {
        panic!("errno {errno}: still running 20 s after io_uring_setup failed: {out:?}")
    });
    assert!(
        !status.success(),
        "errno {errno}: exit 0 without io_uring: {out:?}"
    );
    assert!(
        status.code().is_some(),
        "errno {errno}: killed by a signal ({status:?}) instead of exiting: {}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("panicked"),
        "errno {errno}: panic:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("backtrace"),
        "errno {errno}: backtrace:\n{}",
        out.stderr
    );
    assert!(
        !out.stdout.contains("listening on"),
        "errno {errno}: claims to listen: {}",
        out.stdout
    );
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "errno {errno}: want exactly one stderr line, got:\n{}",
        out.stderr
    );
    assert!(
        lines[0].contains("io_uring"),
        "errno {errno}: the error does not say io_uring: {:?}",
        lines[0]
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
fn io_uring_enosys_exits_with_one_line() {
    check_io_uring_unavailable(libc::ENOSYS);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn io_uring_eperm_exits_with_one_line() {
    check_io_uring_unavailable(libc::EPERM);
}

// --- logs ------------------------------------------------------------------

#[test]
fn one_access_log_line_per_request() {
    let root = TempDir::new("root");
    std::fs::write(root.join("f.txt"), b"x").unwrap();
    let server = Server::start(&root.path, &[]);
    assert_eq!(get(&server, "/f.txt", "").status, 200);
    assert_eq!(get(&server, "/missing-file", "").status, 404);
    assert!(
        server.wait_for_stderr(EVENT_DEADLINE, |l| l.contains("GET")
            && l.contains("/f.txt")
            && l.contains("200")),
        "no access-log line for GET /f.txt 200:\n{}",
        server.stderr_lines().join("\n")
    );
    assert!(
        server.wait_for_stderr(EVENT_DEADLINE, |l| l.contains("/missing-file")
            && l.contains("404")),
        "no access-log line for GET /missing-file 404:\n{}",
        server.stderr_lines().join("\n")
    );
    let n = server
        .stderr_lines()
        .iter()
        .filter(|l| l.contains("/f.txt"))
        .count();
    assert_eq!(
        n,
        1,
        "want one log line for one request:\n{}",
        server.stderr_lines().join("\n")
    );
}

// --- shutdown ---------------------------------------------------------------

/// A client that sends a PUT head and then its body slowly (100 bytes every
/// 100 ms) until told to stop or the connection fails.
struct SlowUpload {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
    /// Held so the connection stays open while the body drips.
    _conn: Conn,
}

impl SlowUpload {
    fn start(server: &Server, path: &str, len: u64) -> SlowUpload {
        let mut conn = Conn::connect(server.addr);
        conn.send(
            format!(
                "PUT {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {len}\r\n\r\n",
                server.host()
            )
            .as_bytes(),
        );
        conn.send(&[b'a'; 1000]);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let mut w = conn.stream.try_clone().unwrap();
        let mut left = len - 1000;
        let thread = thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) && left > 100 {
                if w.write_all(&[b'b'; 100]).is_err() {
                    break;
                }
                left -= 100;
                thread::sleep(Duration::from_millis(100));
            }
        });
        SlowUpload {
            stop,
            thread: Some(thread),
            _conn: conn,
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for SlowUpload {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn sigterm_during_slow_put_exits_0_and_leaves_nothing() {
    let root = TempDir::new("root");
    let mut server = Server::start(&root.path, &["--shutdown-timeout", "2"]);
    let pid = server.pid();
    let mut up = SlowUpload::start(&server, "/slow.bin", 10 * MIB);
    // "Leaves nothing" is only claimed for an upload that was really in
    // flight: its staged file must exist before the signal.
    assert!(
        wait_until(EVENT_DEADLINE, || !tmpfile_fds(pid, &root.path).is_empty()),
        "the upload never reached its staged file: the test would prove nothing"
    );

    server.signal(libc::SIGTERM);
    let status = server
        .wait_exit(Duration::from_secs(2 + 8))
        .unwrap_or_else(|| panic!("still running 10 s after SIGTERM with --shutdown-timeout 2"));
    up.stop();
    assert_eq!(status.code(), Some(0), "exit after SIGTERM: {status:?}");
    assert!(!server.stderr_lines().iter().any(|l| l.contains("panicked")));
    assert_no_temp_files(&root.path, &[]);
}

#[test]
fn sigint_refuses_new_connections_and_lets_inflight_finish() {
    let root = TempDir::new("root");
    let mut server = Server::start(&root.path, &["--shutdown-timeout", "20"]);
    let pid = server.pid();
    let data = random_bytes(64 * 1024, 9);
    let mut c = Conn::connect(server.addr);
    c.send(
        format!(
            "PUT /late.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
            server.host(),
            data.len()
        )
        .as_bytes(),
    );
    c.send(&data[..32 * 1024]);
    // "Leaves nothing" is only claimed for an upload that was really in
    // flight: its staged file must exist before the signal.
    assert!(
        wait_until(EVENT_DEADLINE, || !tmpfile_fds(pid, &root.path).is_empty()),
        "the upload never reached its staged file: the test would prove nothing"
    );

    server.signal(libc::SIGINT);
    let addr = server.addr;
    let refused = wait_until(EVENT_DEADLINE, || {
        matches!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)),
                 Err(e) if e.kind() == io::ErrorKind::ConnectionRefused)
    });
    assert!(refused, "new connections still accepted after SIGINT");
    assert!(
        server.is_running(),
        "exited while a request was still in flight (shutdown timeout 20 s)"
    );

    c.send(&data[32 * 1024..]);
    let r = c.read_response();
    assert_eq!(
        r.status,
        201,
        "in-flight upload after SIGINT: {:?}",
        r.body_str()
    );
    assert_eq!(sha256_file(&root.join("late.bin")), sha256_hex(&data));
    drop(c);

    let status = server
        .wait_exit(EVENT_DEADLINE)
        .unwrap_or_else(|| panic!("still running after its last request finished"));
    assert_eq!(status.code(), Some(0), "exit after SIGINT: {status:?}");
    assert_no_temp_files(&root.path, &["late.bin"]);
}

#[test]
fn sigint_when_idle_exits_0_and_port_is_closed() {
    let root = TempDir::new("root");
    let mut server = Server::start(&root.path, &[]);
    assert!(server_is_alive(&server));
    server.signal(libc::SIGINT);
    let status = server
        .wait_exit(EVENT_DEADLINE)
        .unwrap_or_else(|| panic!("idle server still running 10 s after SIGINT"));
    assert_eq!(status.code(), Some(0), "exit after SIGINT: {status:?}");
    match TcpStream::connect_timeout(&server.addr, Duration::from_secs(2)) {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}"),
        Ok(_) => panic!("port still accepts connections after exit"),
    }
}

// --- registered buffers vs RLIMIT_MEMLOCK ----------------------------------

/// As an unprivileged user (no CAP_IPC_LOCK) with `ulimit -l` of 1 MiB, an
/// explicit pool of 2 workers x 16 x 1 MiB cannot be pinned: ringdrop must
/// say so in one line naming the limit and what to change, and exit
/// non-zero. With a pool that fits (2 x 2 x 64 KiB = 256 KiB) it starts, and
/// without `--buffers` it shrinks the default pool to fit an 8 MiB limit
/// (fewer than 16 buffers per worker) instead of refusing to start.
#[test]
fn registered_buffers_are_sized_against_memlock() {
    use std::os::unix::fs::PermissionsExt;
    let root = TempDir::new("memlock");
    let bin_dir = TempDir::new("memlock-bin");
    // The unprivileged user must be able to reach the binary and ROOT,
    // wherever the build tree lives.
    let bin = bin_dir.join("ringdrop");
    std::fs::copy(BIN, &bin).unwrap();
    for dir in [&root.path, &bin_dir.path] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let unprivileged = |extra: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        cmd.args(["prlimit", "--memlock=1048576", "--"]);
        cmd.arg(&bin);
        cmd.args(["--port", "0", "--workers", "2"]);
        cmd.args(extra);
        cmd.arg(&root.path);
        cmd
    };
    let out = run_with_deadline(unprivileged(&["--buffers", "16"]), EVENT_DEADLINE);
    let status = out
        .status
        .expect("still running with a pool that cannot fit");
    assert!(
        !status.success(),
        "started although the pool exceeds RLIMIT_MEMLOCK"
    );
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {}", out.stderr);
    assert!(
        lines[0].contains("RLIMIT_MEMLOCK") && lines[0].contains("--buffers"),
        "unclear message: {}",
        lines[0]
    );
    assert!(!out.stderr.contains("panicked"));

    let mut fits = Server::spawn(
        unprivileged(&["--buffers", "2", "--buffer-size", "64K"]),
        &root.path,
    )
    .expect("a pool under RLIMIT_MEMLOCK must start");
    let response = get(&fits, "/?json", "");
    assert_eq!(response.status, 200, "{response:?}");
    fits.signal(libc::SIGTERM);
    assert!(fits.wait_exit(EVENT_DEADLINE).is_some_and(|s| s.success()));

    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
    cmd.args(["prlimit", "--memlock=8388608", "--"]);
    cmd.arg(&bin)
        .args(["--port", "0", "--workers", "2"])
        .arg(&root.path);
    let mut default_pool =
        Server::spawn(cmd, &root.path).expect("the default pool must shrink to fit");
    assert!(
        default_pool.wait_for_stderr(EVENT_DEADLINE, |l| {
            ["2 x", "3 x", "4 x"]
                .iter()
                .any(|n| l.contains(&format!("{n} 1024 KiB per worker")))
        }),
        "expected a pool shrunk to 2..=4 x 1 MiB buffers per worker: {:?}",
        default_pool.stderr_lines()
    );
    default_pool.signal(libc::SIGTERM);
    assert!(default_pool
        .wait_exit(EVENT_DEADLINE)
        .is_some_and(|s| s.success()));
}
