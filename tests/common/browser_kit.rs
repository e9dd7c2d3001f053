//! Headless Chromium through WebDriver (chromedriver + fantoccini) for the
//! browser tests (`tests/browser*.rs`): the driver, the session and its
//! helpers, Chrome DevTools Protocol commands (network conditions), a
//! slow proxy, and the server's access log read back as records.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/browser-deps`).
//! Without them the tests that use this FAIL: they never skip.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

use super::{wait_until, Server, TempDir};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Longest wait for anything the browser does, generous for a loaded
/// machine (each test's own budget is far below it).
pub const BROWSER_DEADLINE: Duration = Duration::from_secs(60);

/// Where screenshots go: `target/browser-test/`.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-test");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs an async test body on a current-thread tokio runtime.
pub fn run<F: std::future::Future>(test: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test)
}

/// A running chromedriver on a free loopback port; killed on drop.
pub struct Driver {
    child: Child,
    pub port: u16,
}

impl Driver {
    pub fn start() -> Driver {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: the browser tests need Debian's `chromium` and \
                 `chromium-driver`; run scripts/browser-deps"
            );
        }
        // chromedriver has no "port 0": ask the kernel for a free port.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {CHROMEDRIVER}: {e}"));
        let mut driver = Driver { child, port };
        let up = wait_until(Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if !up {
            let status = driver.child.try_wait();
            panic!("chromedriver did not listen on port {port} ({status:?})");
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session with its own fresh profile directory.
pub struct Browser {
    pub client: Client,
    profile: TempDir,
    driver: Driver,
    /// A script whose value a timed-out wait prints (the page's state).
    state_script: &'static str,
}

impl Browser {
    /// Starts chromedriver and a session; `state_script` describes the page
    /// when a wait times out.
    pub async fn start(state_script: &'static str) -> Browser {
        Browser::start_with(state_script, &[]).await
    }

    /// [`Browser::start`] with more Chromium arguments (such as
    /// `--ignore-certificate-errors-spki-list=…` for a test's certificate).
    pub async fn start_with(state_script: &'static str, extra_args: &[String]) -> Browser {
        let driver = Driver::start();
        let profile = TempDir::new("chromium-profile");
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=1200,860".to_owned(),
            format!("--user-data-dir={}", profile.path.display()),
        ];
        args.extend_from_slice(extra_args);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        // A reload while an upload runs meets the page's `beforeunload`
        // question: leave, as a person answering it would.
        caps.insert("unhandledPromptBehavior".into(), json!("accept"));
        // Certificate errors stay errors (a test trusts its own certificate
        // by pinning it, never by turning the checks off).
        caps.insert("acceptInsecureCerts".into(), json!(false));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("WebDriver session with {CHROMIUM}: {e}"));
        Browser {
            client,
            profile,
            driver,
            state_script,
        }
    }

    /// Runs `script` (a function body) and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `script` until it returns `true`; panics with `what` and the
    /// page's state after `deadline`.
    pub async fn wait_js_for(&self, deadline: Duration, what: &str, script: &str) {
        let until = Instant::now() + deadline;
        loop {
            if self.js(script).await == Value::Bool(true) {
                return;
            }
            if Instant::now() > until {
                let state = self.js(self.state_script).await;
                panic!("timed out waiting for {what}; page: {state}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// [`Browser::wait_js_for`] with [`BROWSER_DEADLINE`].
    pub async fn wait_js(&self, what: &str, script: &str) {
        self.wait_js_for(BROWSER_DEADLINE, what, script).await;
    }

    /// Sends a Chrome DevTools Protocol command through chromedriver's
    /// `goog/cdp/execute` endpoint: one plain HTTP request to the local
    /// chromedriver (fantoccini has no typed call for it, and its
    /// `issue_cmd` needs crates this package does not depend on).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let session = self
            .client
            .session_id()
            .await
            .unwrap()
            .expect("a WebDriver session");
        let body = json!({ "cmd": cmd, "params": params }).to_string();
        let port = self.driver.port;
        let path = format!("/session/{session}/goog/cdp/execute");
        let reply = tokio::task::spawn_blocking(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(
                s,
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            // chromedriver keeps the connection open whatever the request
            // says: read the head, then Content-Length bytes.
            let mut out = Vec::new();
            let mut buf = [0u8; 16 * 1024];
            loop {
                let n = s.read(&mut buf).unwrap();
                assert!(
                    n > 0,
                    "chromedriver closed: {:?}",
                    String::from_utf8_lossy(&out)
                );
                out.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&out);
                let Some((head, body)) = text.split_once("\r\n\r\n") else {
                    continue;
                };
                let len = head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                });
                if len.is_some_and(|len| body.len() >= len) {
                    return out;
                }
            }
        })
        .await
        .unwrap();
        let text = String::from_utf8_lossy(&reply).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        assert!(
            head.starts_with("HTTP/1.1 200"),
            "CDP {cmd}: {head}\n{body}"
        );
        serde_json::from_str(body).unwrap_or_else(|e| panic!("CDP {cmd}: {e}: {body}"))
    }

    /// Takes the browser off the network, or puts it back (DevTools
    /// `Network.emulateNetworkConditions`; `Network.enable` first).
    pub async fn set_offline(&self, offline: bool) {
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({
                "offline": offline,
                "latency": 0,
                "downloadThroughput": -1,
                "uploadThroughput": -1,
            }),
        )
        .await;
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let path = screenshot_dir().join(name);
        std::fs::write(&path, png).unwrap();
        path
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// A test that panics never reaches `close()`, and killing chromedriver
/// leaves the Chromium it started running: kill the processes that use
/// this session's own profile directory (they are ours, by that path), by
/// their process id.
impl Drop for Browser {
    fn drop(&mut self) {
        let marker = format!("--user-data-dir={}", self.profile.path.display());
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return;
        };
        let mut killed = Vec::new();
        for entry in procs.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let uses_profile = cmdline
                .split(|&b| b == 0)
                .any(|arg| arg == marker.as_bytes());
            if uses_profile {
                let _ = Command::new("kill").args(["-9", pid]).status();
                killed.push(entry.path());
            }
        }
        // Gone (or a zombie) before the profile directory is removed: a
        // dying Chromium would write into it again.
        let gone = |proc_dir: &PathBuf| {
            std::fs::read_to_string(proc_dir.join("stat")).map_or(true, |stat| {
                stat.rsplit_once(") ")
                    .is_some_and(|(_, rest)| rest.starts_with('Z'))
            })
        };
        wait_until(Duration::from_secs(5), || killed.iter().all(gone));
    }
}

/// One line of the server's access log (stderr):
/// `… INFO METHOD TARGET STATUS in=N out=N …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLine {
    pub method: String,
    pub target: String,
    /// `0` when the request ended without a response (the client went away).
    pub status: u16,
    /// Body bytes the server received.
    pub bytes_in: u64,
}

impl AccessLine {
    pub fn parse(line: &str) -> Option<AccessLine> {
        let (_, rest) = line.split_once(" INFO ")?;
        let mut words = rest.split(' ');
        let method = words.next()?.to_owned();
        let target = words.next()?.to_owned();
        let status = words.next()?.parse().ok()?;
        let bytes_in = words.next()?.strip_prefix("in=")?.parse().ok()?;
        Some(AccessLine {
            method,
            target,
            status,
            bytes_in,
        })
    }
}

/// The server's access log so far.
pub fn access_log(server: &Server) -> Vec<AccessLine> {
    server
        .stderr_lines()
        .iter()
        .filter_map(|l| AccessLine::parse(l))
        .collect()
}

/// A TCP proxy on loopback in front of the server, standing in for the
/// network between browser and server: it slows the bytes going to the
/// server (the browser's uploads) to a rate the test sets, so a test can
/// act while an upload is midway (DevTools' `uploadThroughput` does not
/// reliably slow an XHR's body); it can cut every connection through it at
/// once, and refuse new ones for a while, as a network that drops does.
/// Its threads end with their connections; `Drop` stops accepting.
pub struct SlowProxy {
    pub addr: std::net::SocketAddr,
    shared: Arc<ProxyState>,
}

struct ProxyState {
    /// Bytes per second towards the server; `0`: as fast as they come.
    rate: AtomicU64,
    /// Bytes forwarded to the server so far, over all connections.
    forwarded: AtomicU64,
    /// New connections are closed at once.
    down: AtomicBool,
    stop: AtomicBool,
    /// Both ends of every open connection, by connection number.
    open: Mutex<Vec<(u64, TcpStream, TcpStream)>>,
}

impl ProxyState {
    /// Ends connection `id` on both sides and forgets it (its sockets close
    /// when its two threads drop their handles).
    fn end(&self, id: u64) {
        let mut open = self.open.lock().unwrap();
        for (_, client, server) in open.iter().filter(|(i, _, _)| *i == id) {
            let _ = client.shutdown(std::net::Shutdown::Both);
            let _ = server.shutdown(std::net::Shutdown::Both);
        }
        open.retain(|(i, _, _)| *i != id);
    }
}

impl SlowProxy {
    /// Forwards to `target`, `rate` bytes per second towards it (`0`:
    /// unlimited).
    pub fn start(target: std::net::SocketAddr, rate: u64) -> SlowProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(ProxyState {
            rate: AtomicU64::new(rate),
            forwarded: AtomicU64::new(0),
            down: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
        });
        let state = Arc::clone(&shared);
        std::thread::spawn(move || {
            for (id, client) in (0u64..).zip(listener.incoming()) {
                if state.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if state.down.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                state.open.lock().unwrap().push((
                    id,
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                ));
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (up, down) = (Arc::clone(&state), Arc::clone(&state));
                std::thread::spawn(move || pump(client, server, id, &up, true));
                std::thread::spawn(move || pump(s2, c2, id, &down, false));
            }
        });
        SlowProxy { addr, shared }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `https://127.0.0.1:PORT` + `path` (the proxy passes TLS through).
    pub fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    pub fn set_rate(&self, bytes_per_sec: u64) {
        self.shared.rate.store(bytes_per_sec, Ordering::SeqCst);
    }

    /// Bytes forwarded to the server so far.
    pub fn forwarded(&self) -> u64 {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// Ends every connection open through the proxy: both sides see it end
    /// mid-request.
    pub fn cut(&self) {
        let ids: Vec<u64> = self
            .shared
            .open
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _, _)| *id)
            .collect();
        for id in ids {
            self.shared.end(id);
        }
    }

    /// While down, a new connection is closed as soon as it is accepted.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }
}

impl Drop for SlowProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Copies `from` to `to` until either ends, paced by the proxy's rate and
/// counted when `upstream`; then ends the connection on both sides (a cut
/// or a close on one side is one on the other, and a peer still sending
/// is not left waiting).
fn pump(mut from: TcpStream, mut to: TcpStream, id: u64, state: &ProxyState, upstream: bool) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let rate = state.rate.load(Ordering::SeqCst);
        if upstream && rate > 0 {
            std::thread::sleep(Duration::from_secs_f64(n as f64 / rate as f64));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        if upstream {
            state.forwarded.fetch_add(n as u64, Ordering::SeqCst);
        }
    }
    if upstream {
        state.end(id);
    } else {
        // The server's answer is all out: end the connection once the
        // client has had a moment to read it.
        let _ = to.shutdown(std::net::Shutdown::Write);
        std::thread::sleep(Duration::from_millis(200));
        state.end(id);
    }
}
