//! Integrity: RFC 9530 digest fields and the streaming hashes that check
//! them, plus the tus checksum extension.
//!
//! Pure and synchronous: no I/O, no clock. The server hands this module the
//! request's header lines and the decoded body slices as they pass through
//! the registered buffers; nothing is buffered and nothing is read twice.
//! Without a digest field nothing is hashed.
//!
//! ```text
//!   request head ──▶ UploadDigest::from_head ── Err ──▶ 400 / 431, body not read
//!                           │ Ok(Some)
//!   decoded body slices ──▶ update (each byte once)
//!                           │
//!   before commit ────────▶ finish ── Err(Mismatch) ──▶ 400 digest_mismatch, nothing stored
//!                           │ Ok(DigestSet)
//!                           ▼
//!             storage::xattr::store(staged fd, &set)     (encode_stored)
//!
//!   GET/HEAD head ─▶ DownloadWants::from_head ── is_empty ──▶ nothing read, nothing sent
//!                           │
//!   response ─▶ storage::xattr::load(fd, stamp) ─▶ wants.response_fields(&set, whole)
//!                                                   └─▶ "Repr-Digest: sha-256=:…:"
//! ```
//!
//! Choices where RFC 9530 leaves them to the recipient are listed in
//! [`fields`]; the hash implementation and why it was chosen in
//! [`hasher`].
#![forbid(unsafe_code)]

pub mod algorithm;
pub mod download;
pub mod error;
pub mod fields;
pub mod hasher;
pub mod stored;
mod structured;
pub mod tus;
pub mod upload;

pub use algorithm::Algorithm;
pub use download::DownloadWants;
pub use error::{DigestError, DigestField};
pub use fields::{
    answer_want, parse_digest_field, parse_want_field, DigestSet, Preferences,
    MAX_DIGEST_FIELD_BYTES, MAX_DIGEST_FIELD_MEMBERS,
};
pub use hasher::{DigestValue, Hasher};
pub use stored::{decode_stored, encode_stored, FileStamp};
pub use tus::ChunkChecksum;
pub use upload::UploadDigest;
