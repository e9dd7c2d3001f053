//! The upload page over HTTPS in a real browser: headless Chromium through
//! WebDriver (chromedriver + fantoccini, `tests/common/browser_kit.rs`), against
//! the real `ringdrop` binary with a certificate generated for the test.
//!
//! Chromium trusts exactly that certificate and nothing else: it is started
//! with `--ignore-certificate-errors-spki-list=<base64 sha256 of the leaf's
//! SubjectPublicKeyInfo>` (which Chromium honours only with its own
//! `--user-data-dir`), not with `--ignore-certificate-errors` and not with
//! WebDriver's `acceptInsecureCerts`. A second server with another
//! certificate is refused, which shows that the checks are still on.
//!
//! Needs the Debian packages `chromium` and `chromium-driver`
//! (`scripts/browser-deps`). Without them these tests FAIL: they never skip.

mod common;

use base64::Engine;
use common::browser_kit::*;
use common::tls::*;
use common::*;
use fantoccini::Locator;
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

/// The value Chromium's `--ignore-certificate-errors-spki-list` takes for
/// a certificate: base64 of the sha256 of its SubjectPublicKeyInfo.
fn spki_pin(pki: &Pki) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&pki.leaf_spki_der))
}

/// Headless Chromium trusting the leaf certificates pinned by `pins` only
/// (certificate errors stay errors for WebDriver too: the kit does not
/// accept insecure certificates).
async fn browser_pinning(pins: &[String]) -> Browser {
    let pin = format!("--ignore-certificate-errors-spki-list={}", pins.join(","));
    Browser::start_with(UPLOADS_STATE, &[pin]).await
}

/// The upload list as the page shows it.
const UPLOADS_STATE: &str = "return [...document.querySelectorAll('#uploads .upload')].map(li => ({
    name: li.dataset.name, state: li.dataset.state, text: li.querySelector('.upload-stats').textContent }));";

#[test]
fn upload_through_the_page_over_https() {
    let root = TempDir::new("browser-https-root");
    let src = TempDir::new("browser-https-src");
    std::fs::write(root.join("already here.txt"), b"listed").unwrap();
    let file = src.join("over tls.bin");
    let want = write_random_file(&file, 6 * MIB + 123, 3);

    let pki = Pki::generate("ringdrop browser test CA");
    let files = TlsFiles::new(&pki);
    let server = start_https(&root.path, &files, &[]);
    // The pin is of the leaf's key as the certificate carries it.
    let leaf_der = rustls::pki_types::CertificateDer::from_pem_slice(pki.chain_pem.as_bytes());
    let leaf_der = leaf_der.expect("leaf certificate PEM");
    assert!(
        leaf_der
            .windows(pki.leaf_spki_der.len())
            .any(|w| w == pki.leaf_spki_der),
        "the SubjectPublicKeyInfo rcgen reports is not the one in the certificate"
    );

    // Another server with a certificate nobody pinned.
    let other_root = TempDir::new("browser-https-other");
    let other_pki = Pki::generate("ringdrop browser test CA (not trusted)");
    let other_files = TlsFiles::new(&other_pki);
    let other = start_https(&other_root.path, &other_files, &[]);

    run(async {
        let browser = browser_pinning(&[spki_pin(&pki)]).await;
        let c = &browser.client;

        // Not pinned: refused, as by any browser that does not trust it
        // (Chromium's interstitial, or WebDriver's "insecure certificate").
        match c.goto(&other.url("/")).await {
            Err(e) => assert!(
                e.to_string().contains("insecure certificate"),
                "loading the unpinned server failed, but not on its certificate: {e}"
            ),
            Ok(()) => {
                let page = browser
                    .js("return [location.href, document.body.innerText]")
                    .await;
                assert!(
                    page[0]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("chrome-error://")
                        && page[1]
                            .as_str()
                            .unwrap_or("")
                            .contains("ERR_CERT_AUTHORITY_INVALID"),
                    "Chromium loaded a page whose certificate it was not told to trust \
                     (the certificate checks are off): {page}"
                );
            }
        }

        c.goto(&server.url("/")).await.unwrap_or_else(|e| {
            panic!(
                "loading {} with the pinned certificate: {e}",
                server.url("/")
            )
        });
        assert_eq!(browser.js("return location.protocol").await, "https:");
        assert_eq!(browser.js("return window.isSecureContext").await, true);
        browser
            .wait_js(
                "the listing",
                "return [...document.querySelectorAll('#entries .name span')]
                    .some(s => s.textContent === 'already here.txt');",
            )
            .await;

        let input = c.find(Locator::Css("input[type=file]")).await.unwrap();
        input.send_keys(&file.display().to_string()).await.unwrap();
        browser
            .wait_js(
                "the upload to finish",
                "const u = [...document.querySelectorAll('#uploads .upload')];
                 return u.length === 1 && u[0].dataset.state === 'done';",
            )
            .await;
        let state = browser.js(UPLOADS_STATE).await;
        assert!(
            state[0]["text"].as_str().unwrap_or("").starts_with("Done"),
            "{state}"
        );
        browser
            .wait_js(
                "the listing to show the upload",
                "return [...document.querySelectorAll('#entries .name span')]
                    .some(s => s.textContent === 'over tls.bin');",
            )
            .await;
        browser.close().await;
    });

    // Done means on disk, byte for byte.
    assert_eq!(sha256_file(&root.join("over tls.bin")), want);
    assert_no_temp_files(&root.path, &["already here.txt", "over tls.bin"]);
    assert!(!other_root.join("over tls.bin").exists());
}
