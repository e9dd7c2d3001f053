//! The `--metrics ADDR:PORT` listener: plain blocking `std::net` on its own
//! threads, never on an io_uring worker. `GET /metrics` (or `HEAD`) → 200
//! with the exposition; anything else → 404. One request per connection.
//!
//! A scraper is trusted no more than any client: the request head is
//! bounded ([`MAX_METRICS_REQUEST_BYTES`]), the whole exchange has a
//! deadline ([`METRICS_CONNECTION_TIMEOUT`]), and at most
//! [`MAX_METRICS_CONNECTIONS`] are served at once (more are closed at
//! once), so a slow or silent client can neither hang the listener nor
//! pile up threads.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::exposition::CONTENT_TYPE;
use super::Registry;
use crate::http::{HeadLimits, HeadParser, Method, ResponseHead, StatusCode};

/// Bytes of a scrape's request head; a longer head gets 431 and the
/// connection is closed.
pub const MAX_METRICS_REQUEST_BYTES: usize = 8 * 1024;

/// Time for one connection: the request must arrive and the response be
/// taken within it, else the connection is closed without an answer.
pub const METRICS_CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once; a connection beyond this is closed unread.
pub const MAX_METRICS_CONNECTIONS: usize = 8;

/// Pause after a failed `accept` (e.g. `EMFILE`), so a persistent failure
/// does not spin the thread.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Binds `addr`, logs `metrics on http://ADDR:PORT/metrics`, and serves the
/// registry's exposition from a thread of its own until the process exits.
/// Returns the bound address (port 0 picks a free port).
///
/// ```no_run
/// let registry = ringdrop::metrics::Registry::new();
/// let addr = ringdrop::metrics::serve("127.0.0.1:0".parse().unwrap(), registry).unwrap();
/// assert_ne!(addr.port(), 0);
/// ```
pub fn serve(addr: SocketAddr, registry: Arc<Registry>) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || accept_loop(&listener, &registry))?;
    tracing::info!("metrics on http://{bound}/metrics");
    Ok(bound)
}

fn accept_loop(listener: &TcpListener, registry: &Arc<Registry>) {
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("metrics listener: accept failed: {e}");
                std::thread::sleep(ACCEPT_BACKOFF);
                continue;
            }
        };
        if active.fetch_add(1, Ordering::AcqRel) >= MAX_METRICS_CONNECTIONS {
            active.fetch_sub(1, Ordering::AcqRel);
            drop(stream);
            continue;
        }
        let registry = Arc::clone(registry);
        let done = Arc::clone(&active);
        let spawned = std::thread::Builder::new()
            .name("metrics-conn".into())
            .spawn(move || {
                if let Err(e) = handle(stream, &registry) {
                    tracing::debug!("metrics connection: {e}");
                }
                done.fetch_sub(1, Ordering::AcqRel);
            });
        if let Err(e) = spawned {
            active.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!("metrics listener: cannot start a thread: {e}");
        }
    }
}

/// What to answer a request (method and target, or the status of a head
/// that did not parse): the status, and whether to send the exposition.
fn route(request: Result<(Method, &[u8]), StatusCode>) -> (StatusCode, bool) {
    match request {
        Ok((Method::Get | Method::Head, target)) => {
            let path = target.split(|&b| b == b'?').next().unwrap_or(b"");
            if path == b"/metrics" {
                (StatusCode::OK, true)
            } else {
                (StatusCode::NOT_FOUND, false)
            }
        }
        Ok(_) => (StatusCode::NOT_FOUND, false),
        Err(status) => (status, false),
    }
}

/// Reads one request head within the deadline and answers it.
fn handle(mut stream: TcpStream, registry: &Registry) -> io::Result<()> {
    let deadline = Instant::now() + METRICS_CONNECTION_TIMEOUT;
    let limits = HeadLimits {
        max_request_line_bytes: MAX_METRICS_REQUEST_BYTES,
        max_head_bytes: MAX_METRICS_REQUEST_BYTES,
        max_header_count: 64,
    };
    let mut parser = HeadParser::new(limits);
    let mut buf = vec![0u8; MAX_METRICS_REQUEST_BYTES];
    let mut filled = 0;
    let head = loop {
        match parser.parse(&buf[..filled]) {
            Ok(Some(head)) => break Ok(head),
            Ok(None) => {}
            Err(e) => break Err(e.status()),
        }
        if filled == buf.len() {
            break Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        let n = stream.read(&mut buf[filled..])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
    };
    let request = head
        .as_ref()
        .map(|h| (h.method, buf.get(h.target.clone()).unwrap_or(b"")))
        .map_err(|&status| status);
    let (status, found) = route(request);
    let is_head = matches!(request, Ok((Method::Head, _)));
    let body = if found {
        registry.render().into_bytes()
    } else {
        format!("{}\n", status.reason()).into_bytes()
    };
    let content_type = if found {
        CONTENT_TYPE
    } else {
        "text/plain; charset=utf-8"
    };
    let mut out = Vec::with_capacity(body.len() + 256);
    ResponseHead {
        status,
        content_length: Some(u64::try_from(body.len()).unwrap_or(u64::MAX)),
        close: true,
        headers: &[("Content-Type", content_type)],
    }
    .encode(&mut out);
    if !is_head {
        out.extend_from_slice(&body);
    }
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::ErrorKind::TimedOut.into());
    }
    stream.set_write_timeout(Some(left))?;
    stream.write_all(&out)?;
    stream.flush()
}
