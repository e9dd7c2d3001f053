//! Certificate and key loading (`--tls-cert`, `--tls-key`) and the
//! reloadable holder of the rustls `ServerConfig`.
//!
//! PEM is decoded with `rustls::pki_types::pem::PemObject` (rustls-pki-types;
//! the older `rustls-pemfile` crate is now a thin, archived wrapper around
//! it). The certificate file holds the leaf first, then its chain; the key
//! file one private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
//!
//! What every config says (rustls defaults unless noted):
//! * TLS 1.3 and TLS 1.2, ring's cipher suites (AES-128/256-GCM,
//!   ChaCha20-Poly1305; ECDHE only) and key exchanges (X25519, P-256, P-384);
//! * ALPN `http/1.1` only: a client that offers ALPN without it (say only
//!   `h2`) fails the handshake with `no_application_protocol`; a client that
//!   offers no ALPN is served HTTP/1.1;
//! * no client certificates; no 0-RTT (early data off);
//! * resumption: TLS 1.3 sends 2 tickets per connection, backed by an
//!   in-memory cache of 256 sessions per config (stateful resumption, no
//!   ticket encryption key to rotate); TLS 1.2 resumes by session ID from the
//!   same cache. A reload starts a new cache, so sessions made with the old
//!   certificate are not resumed with the new one;
//! * `enable_secret_extraction`: needed to take the record layer over after
//!   the handshake (user space or kTLS, see `super::session`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use super::error::TlsConfigError;

/// The ALPN protocol we speak.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The two files of `--tls-cert FILE --tls-key FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// Builds the server config from PEM text (`cert_path`/`key_path` only
/// name the sources in errors).
pub fn server_config_from_pem(
    cert_pem: &[u8],
    cert_path: &Path,
    key_pem: &[u8],
    key_path: &Path,
) -> Result<ServerConfig, TlsConfigError> {
    let bad_pem = |path: &Path, e: rustls::pki_types::pem::Error| TlsConfigError::BadPem {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_pem(cert_path, e))?;
    if chain.is_empty() {
        return Err(TlsConfigError::NoCertificate {
            path: cert_path.to_path_buf(),
        });
    }
    let key = match PrivateKeyDer::from_pem_slice(key_pem) {
        Ok(key) => key,
        Err(rustls::pki_types::pem::Error::NoItemsFound) => {
            return Err(TlsConfigError::NoKey {
                path: key_path.to_path_buf(),
            })
        }
        Err(e) => return Err(bad_pem(key_path, e)),
    };
    // rustls 0.23.48 deprecates the ring provider because it has no
    // post-quantum key exchange (X25519MLKEM768, which aws-lc-rs has but
    // which needs a C/cmake build). Clients that offer it offer X25519
    // too, so every browser and curl still connects.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TlsConfigError::Rejected)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsConfigError::Rejected)?;
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    config.enable_secret_extraction = true;
    Ok(config)
}

/// Reads both files and builds the server config.
pub fn load_server_config(files: &TlsFiles) -> Result<ServerConfig, TlsConfigError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|error| TlsConfigError::Read {
            path: path.to_path_buf(),
            error,
        })
    };
    let cert = read(&files.cert)?;
    let key = read(&files.key)?;
    server_config_from_pem(&cert, &files.cert, &key, &files.key)
}

/// The current server config, replaced as a whole on reload. Each new
/// connection takes [`TlsAcceptorConfig::current`] once, at accept; a
/// connection in progress keeps the `Arc` it took, so a reload never
/// disturbs it.
///
/// ```no_run
/// # use ringdrop::tls::{TlsAcceptorConfig, TlsFiles};
/// let files = TlsFiles { cert: "cert.pem".into(), key: "key.pem".into() };
/// let tls = TlsAcceptorConfig::load(files)?;
/// let config = tls.current(); // per accepted connection
/// // on SIGHUP (a bad file keeps the old config and says why):
/// if let Err(e) = tls.reload() { eprintln!("TLS reload: {e}") }
/// # Ok::<(), ringdrop::tls::TlsConfigError>(())
/// ```
#[derive(Debug)]
pub struct TlsAcceptorConfig {
    files: Option<TlsFiles>,
    current: RwLock<Arc<ServerConfig>>,
}

impl TlsAcceptorConfig {
    /// Loads the files (a start-up error if they are bad).
    pub fn load(files: TlsFiles) -> Result<Self, TlsConfigError> {
        let config = load_server_config(&files)?;
        Ok(TlsAcceptorConfig {
            files: Some(files),
            current: RwLock::new(Arc::new(config)),
        })
    }

    /// A fixed config with no files behind it (tests, fuzzing): `reload`
    /// keeps it.
    pub fn fixed(config: ServerConfig) -> Self {
        TlsAcceptorConfig {
            files: None,
            current: RwLock::new(Arc::new(config)),
        }
    }

    /// The config for a new connection.
    pub fn current(&self) -> Arc<ServerConfig> {
        let guard = self.current.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&guard)
    }

    /// Re-reads the files and swaps the config in for new connections. On
    /// any error the old config stays, a warning says why, and the error
    /// is returned.
    pub fn reload(&self) -> Result<(), TlsConfigError> {
        let Some(files) = &self.files else {
            return Ok(());
        };
        match load_server_config(files) {
            Ok(config) => {
                let mut guard = self.current.write().unwrap_or_else(|p| p.into_inner());
                *guard = Arc::new(config);
                tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                Ok(())
            }
            Err(e) => {
                tracing::warn!("TLS reload failed, keeping the previous certificate: {e}");
                Err(e)
            }
        }
    }
}
