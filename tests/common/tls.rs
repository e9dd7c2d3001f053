//! HTTPS helpers for the integration tests: a CA and a leaf certificate
//! generated per test (rcgen), the PEM files the server reads (replaced
//! atomically, for SIGHUP reloads), and a real rustls client over a std
//! `TcpStream` for the cases curl cannot express (a record cut in half, a
//! handshake then silence, a connection kept across a reload).

use std::fs;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use super::{parse_response, Parsed, Response, Server, TempDir, EVENT_DEADLINE};

/// A CA and a leaf certificate for `127.0.0.1` and `localhost` signed by it
/// (ECDSA P-256).
pub struct Pki {
    /// The CA certificate, PEM (what `curl --cacert` takes).
    pub ca_pem: String,
    /// The CA certificate, DER (a rustls root).
    pub ca_der: CertificateDer<'static>,
    /// Leaf then CA, PEM: a chain as `--tls-cert` takes it.
    pub chain_pem: String,
    /// The leaf's private key, PEM (PKCS#8).
    pub key_pem: String,
    /// The leaf's SubjectPublicKeyInfo, DER (what Chromium's
    /// `--ignore-certificate-errors-spki-list` pins, hashed).
    pub leaf_spki_der: Vec<u8>,
}

impl Pki {
    /// A fresh CA named `ca_name` and a leaf signed by it.
    pub fn generate(ca_name: &str) -> Pki {
        use rcgen::PublicKeyData;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, ca_name);
        let ca_key = rcgen::KeyPair::generate().expect("ca key");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca cert");
        let mut leaf_params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("leaf params");
        leaf_params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("ringdrop test leaf of {ca_name}"),
        );
        let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
        let leaf = leaf_params.signed_by(&leaf_key, &ca).expect("leaf cert");
        Pki {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            chain_pem: format!("{}{}", leaf.pem(), ca.pem()),
            key_pem: leaf_key.serialize_pem(),
            leaf_spki_der: leaf_key.subject_public_key_info(),
        }
    }
}

/// The files of one HTTPS server: `cert.pem` and `key.pem` (what the
/// server reads, at start and on SIGHUP) and `ca.pem` (what clients trust),
/// in a temp dir removed on drop.
pub struct TlsFiles {
    pub dir: TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl TlsFiles {
    /// Writes `pki`'s files into a fresh temp dir.
    pub fn new(pki: &Pki) -> TlsFiles {
        let dir = TempDir::new("tls");
        let files = TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            ca: dir.join("ca.pem"),
            dir,
        };
        files.install(pki);
        files
    }

    /// Replaces the three files with `pki`'s, each atomically (write
    /// beside, rename over): a reload never reads half a file.
    pub fn install(&self, pki: &Pki) {
        self.replace(&self.cert, pki.chain_pem.as_bytes());
        self.replace(&self.key, pki.key_pem.as_bytes());
        self.replace(&self.ca, pki.ca_pem.as_bytes());
    }

    /// Replaces one file atomically with `bytes`.
    pub fn replace(&self, path: &Path, bytes: &[u8]) {
        let tmp = path.with_extension("new");
        fs::write(&tmp, bytes).expect("write PEM");
        fs::rename(&tmp, path).expect("rename PEM into place");
    }

    /// `--tls-cert CERT --tls-key KEY`.
    pub fn args(&self) -> Vec<String> {
        vec![
            "--tls-cert".to_owned(),
            self.cert.display().to_string(),
            "--tls-key".to_owned(),
            self.key.display().to_string(),
        ]
    }

    /// `--cacert CA` for curl.
    pub fn ca_arg(&self) -> String {
        self.ca.display().to_string()
    }
}

/// Starts the real binary serving HTTPS with `files` (plus `extra` flags)
/// and checks that it says so.
pub fn start_https(root: &Path, files: &TlsFiles, extra: &[&str]) -> Server {
    let tls = files.args();
    let mut args: Vec<&str> = tls.iter().map(String::as_str).collect();
    args.extend_from_slice(extra);
    let server = Server::start(root, &args);
    assert!(
        server.https,
        "an HTTPS server's first stdout line names https://"
    );
    server
}

#[allow(deprecated)] // ring: the provider the server uses too
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// A rustls client config trusting `ca` only, offering `alpn`, TLS 1.3
/// and 1.2.
pub fn client_config(ca: &CertificateDer<'static>, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).expect("root certificate");
    let mut config = ClientConfig::builder_with_provider(Arc::new(ring_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    Arc::new(config)
}

/// A fresh rustls client for the server name `127.0.0.1`.
pub fn client_connection(config: Arc<ClientConfig>) -> ClientConnection {
    let name = ServerName::try_from("127.0.0.1").expect("server name");
    ClientConnection::new(config, name).expect("client connection")
}

/// A TLS client connection over a real socket, with a plaintext read
/// buffer for parsing responses.
pub struct TlsConn {
    pub tls: StreamOwned<ClientConnection, TcpStream>,
    buf: Vec<u8>,
    eof: bool,
}

impl TlsConn {
    /// Connects and completes the handshake; the error is rustls' (a bad
    /// certificate, no shared ALPN protocol, ...).
    pub fn try_connect(addr: SocketAddr, config: Arc<ClientConfig>) -> io::Result<TlsConn> {
        let sock = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        sock.set_nodelay(true)?;
        sock.set_read_timeout(Some(EVENT_DEADLINE))?;
        let mut conn = client_connection(config);
        let mut sock = sock;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock)?;
        }
        Ok(TlsConn {
            tls: StreamOwned::new(conn, sock),
            buf: Vec::new(),
            eof: false,
        })
    }

    /// [`try_connect`](Self::try_connect), panicking on failure.
    pub fn connect(addr: SocketAddr, config: Arc<ClientConfig>) -> TlsConn {
        TlsConn::try_connect(addr, config).unwrap_or_else(|e| panic!("TLS connect {addr}: {e}"))
    }

    /// Sends plaintext (sealed into records) and flushes it to the socket.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.tls.write_all(bytes)?;
        self.tls.flush()
    }

    /// Reads more plaintext; `Ok(false)` when the session or the socket
    /// ended (close_notify, EOF, reset).
    fn fill(&mut self, deadline: Instant) -> Result<bool, String> {
        let now = Instant::now();
        if now >= deadline {
            return Err("timed out".into());
        }
        self.tls
            .sock
            .set_read_timeout(Some(deadline - now))
            .unwrap();
        super::read_more(&mut self.tls, &mut self.buf, &mut self.eof)
    }

    /// Reads one response.
    pub fn try_read_response(&mut self, head_request: bool) -> Result<Response, String> {
        let deadline = Instant::now() + EVENT_DEADLINE;
        loop {
            match parse_response(&self.buf, head_request, self.eof)? {
                Parsed::Done(r, used) => {
                    self.buf.drain(..used);
                    return Ok(r);
                }
                Parsed::Partial if self.eof => {
                    return Err(format!(
                        "connection closed before a full response; got {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ))
                }
                Parsed::Partial => {
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

    /// Reads one response, panicking on failure.
    pub fn read_response(&mut self) -> Response {
        self.try_read_response(false)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits until the server ends the connection (plaintext received
    /// meanwhile stays in the buffer); false if it is still open after
    /// `timeout`.
    pub fn wait_closed(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.eof {
            if self.fill(deadline).is_err() {
                return false;
            }
        }
        true
    }

    /// Reads until at least `n` bytes of plaintext are buffered (kept for
    /// the response that follows); false if they do not come in time.
    pub fn wait_for_bytes(&mut self, n: usize) -> bool {
        let deadline = Instant::now() + EVENT_DEADLINE;
        while self.buf.len() < n {
            if !matches!(self.fill(deadline), Ok(true)) {
                return false;
            }
        }
        true
    }

    /// Plaintext received and not parsed as a response.
    pub fn leftover(&self) -> &[u8] {
        &self.buf
    }
}
