//! The upload page in a real browser: headless Chromium, driven through
//! WebDriver (chromedriver + fantoccini), against the real `ringdrop` binary
//! on loopback, through `tests/common/browser_kit.rs`.
//!
//! Needs the Debian packages `chromium` and `chromium-driver`
//! (`scripts/browser-deps` installs them). Without them these tests FAIL:
//! they never skip.
//!
//! Screenshots land in `target/browser-test/` (`listing.png`,
//! `listing-phone.png`, `uploading.png`) for a person to look at.

mod common;

use common::browser_kit::*;
use common::*;
use fantoccini::Locator;
use serde_json::Value;

/// The upload list as the page shows it: name, state, percent, status text.
const UPLOADS_STATE: &str = "return [...document.querySelectorAll('#uploads .upload')].map(li => ({
    name: li.dataset.name, state: li.dataset.state,
    pct: Number(li.querySelector('[role=progressbar]').getAttribute('aria-valuenow')),
    text: li.querySelector('.upload-stats').textContent }));";

/// Names in the listing table, in order.
const LISTED_NAMES: &str =
    "return [...document.querySelectorAll('#entries tr:not(.parent) .name span')].map(s => s.textContent);";

fn names(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

const EVIL: &str = "<img src=x onerror=alert(1)>.txt";

#[test]
fn upload_two_files_through_the_page() {
    let root = TempDir::new("browser-root");
    let src = TempDir::new("browser-src");
    std::fs::create_dir(root.join("photos")).unwrap();
    std::fs::write(root.join(EVIL), b"not markup").unwrap();
    let a = src.join("notes from the field.txt");
    let b = src.join("data-é.bin");
    let sha_a = write_random_file(&a, 300 * KIB, 1);
    let sha_b = write_random_file(&b, 6 * MIB + 123, 2);
    let server = Server::start(&root.path, &["--allow-delete"]);

    run(async {
        let browser = Browser::start(UPLOADS_STATE).await;
        let c = &browser.client;
        c.goto(&server.url("/")).await.unwrap();

        // The hostile name is text, in the server's HTML: no <img> element.
        assert_eq!(
            browser
                .js("return document.querySelectorAll('img').length")
                .await,
            0
        );
        let listed = names(&browser.js(LISTED_NAMES).await);
        assert_eq!(listed, vec!["photos".to_owned(), EVIL.to_owned()]);
        assert_eq!(
            browser.js("return document.body.dataset.allowDelete").await,
            "true"
        );

        // Two files through the real file input, as a person picking them.
        let input = c.find(Locator::Css("input[type=file]")).await.unwrap();
        let multiple = input.attr("multiple").await.unwrap();
        assert!(multiple.is_some(), "the file input takes several files");
        input
            .send_keys(&format!("{}\n{}", a.display(), b.display()))
            .await
            .unwrap();
        browser
            .wait_js(
                "both uploads to finish",
                "const u = [...document.querySelectorAll('#uploads .upload')];
                 return u.length === 2 && u.every(li => li.dataset.state === 'done');",
            )
            .await;
        let state = browser.js(UPLOADS_STATE).await;
        for item in state.as_array().unwrap() {
            assert_eq!(item["pct"], 100, "{state}");
            assert!(
                item["text"].as_str().unwrap().starts_with("Done"),
                "{state}"
            );
        }

        // Done means on disk: the bytes are there, exactly.
        assert_eq!(sha256_file(&root.join("notes from the field.txt")), sha_a);
        assert_eq!(sha256_file(&root.join("data-é.bin")), sha_b);

        // The listing re-rendered from ?json, still escaping the hostile name.
        browser
            .wait_js(
                "the listing to show the uploads",
                "return [...document.querySelectorAll('#entries .name span')]
                    .some(s => s.textContent === 'notes from the field.txt')
                  && [...document.querySelectorAll('#entries .name span')]
                    .some(s => s.textContent === 'data-é.bin');",
            )
            .await;
        let listed = names(&browser.js(LISTED_NAMES).await);
        assert_eq!(
            listed,
            vec![
                "photos".to_owned(),
                EVIL.to_owned(),
                "data-é.bin".to_owned(),
                "notes from the field.txt".to_owned(),
            ]
        );
        assert_eq!(
            browser
                .js("return document.querySelectorAll('img').length")
                .await,
            0
        );
        let size_cell = browser
            .js("return [...document.querySelectorAll('#entries tr')]
                   .find(tr => tr.dataset.name === 'data-é.bin').querySelector('.size').textContent")
            .await;
        assert_eq!(size_cell, "6.0 MiB");

        // Uploading the same name again asks before replacing.
        input.send_keys(&a.display().to_string()).await.unwrap();
        browser
            .wait_js(
                "the existing-name question",
                "return [...document.querySelectorAll('#uploads .upload')]
                    .some(li => li.dataset.state === 'exists');",
            )
            .await;

        // A folder from the page (MKCOL), and the listing shows it.
        c.find(Locator::Id("new-folder"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let field = c.find(Locator::Id("folder-name")).await.unwrap();
        field.send_keys("new stuff").await.unwrap();
        c.find(Locator::Css("#folder-form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        browser
            .wait_js(
                "the new folder in the listing",
                "return [...document.querySelectorAll('#entries tr.dir .name span')]
                    .some(s => s.textContent === 'new stuff');",
            )
            .await;
        assert!(root.join("new stuff").is_dir());

        let shot = browser.screenshot("listing.png").await;
        eprintln!("screenshot: {}", shot.display());

        // The same page on a phone-sized window.
        c.set_window_size(390, 844).await.unwrap();
        browser.screenshot("listing-phone.png").await;

        // Delete needs two clicks (the first arms the button).
        let delete = c
            .find(Locator::Css(
                "#entries tr[data-name='notes from the field.txt'] button[data-delete]",
            ))
            .await
            .unwrap();
        delete.click().await.unwrap();
        delete.click().await.unwrap();
        browser
            .wait_js(
                "the deleted file to leave the listing",
                "return ![...document.querySelectorAll('#entries .name span')]
                    .some(s => s.textContent === 'notes from the field.txt');",
            )
            .await;
        assert!(!root.join("notes from the field.txt").exists());
        browser.close().await;
    });
}

#[test]
fn cancelling_a_large_upload_leaves_nothing_behind() {
    let root = TempDir::new("browser-cancel-root");
    let src = TempDir::new("browser-cancel-src");
    // 1 GiB, sparse: instant to make, and long enough to upload that the
    // test sees it midway on a fast machine.
    let big = src.join("big.iso");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(GIB).unwrap();
    drop(file);
    let server = Server::start(&root.path, &["--no-sync"]);

    run(async {
        let browser = Browser::start(UPLOADS_STATE).await;
        let c = &browser.client;
        c.goto(&server.url("/")).await.unwrap();
        let input = c.find(Locator::Css("input[type=file]")).await.unwrap();
        input.send_keys(&big.display().to_string()).await.unwrap();
        browser
            .wait_js(
                "the upload to make progress",
                "const li = document.querySelector('#uploads .upload');
                 if (!li) return false;
                 const pct = Number(li.querySelector('[role=progressbar]').getAttribute('aria-valuenow'));
                 return li.dataset.state === 'active' && pct > 0;",
            )
            .await;
        browser.screenshot("uploading.png").await;
        c.find(Locator::Css("#uploads .upload button.cancel"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        browser
            .wait_js(
                "the upload to show as cancelled",
                "const li = document.querySelector('#uploads .upload');
                 return li.dataset.state === 'cancelled';",
            )
            .await;
        let state = browser.js(UPLOADS_STATE).await;
        let pct = state[0]["pct"].as_u64().unwrap();
        assert!(pct > 0 && pct < 100, "cancelled at {pct}%: {state}");
        browser.close().await;
    });

    // Nothing in ROOT but the staging directory of resumable uploads (a
    // 1 GiB file goes through tus), and nothing in that: Cancel terminated
    // the upload. No unlinked O_TMPFILE still open in the server either.
    let left = || {
        let mut tree = list_tree(&root.path);
        tree.remove(".ringdrop-uploads/");
        tree
    };
    let clean = wait_until(EVENT_DEADLINE, || {
        left().is_empty() && tmpfile_fds(server.pid(), &root.path).is_empty()
    });
    assert!(
        clean,
        "left behind: {:?}, open temp files: {:?}",
        list_tree(&root.path),
        tmpfile_fds(server.pid(), &root.path)
    );
    assert!(server_is_alive(&server));
}

#[test]
fn read_only_page_has_no_upload_ui() {
    let root = TempDir::new("browser-ro-root");
    std::fs::write(root.join("a.txt"), b"a").unwrap();
    let server = Server::start(&root.path, &["--read-only", "--allow-delete"]);
    run(async {
        let browser = Browser::start(UPLOADS_STATE).await;
        let c = &browser.client;
        c.goto(&server.url("/")).await.unwrap();
        assert_eq!(
            browser.js("return document.body.dataset.readOnly").await,
            "true"
        );
        let uploads = browser
            .js("return document.querySelectorAll('input[type=file], #new-folder, button[data-delete]').length")
            .await;
        assert_eq!(uploads, 0);
        assert_eq!(
            names(&browser.js(LISTED_NAMES).await),
            vec!["a.txt".to_owned()]
        );
        browser.close().await;
    });
}
