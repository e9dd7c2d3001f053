//! Resumable uploads: tus 1.0.0 and the IETF draft "Resumable Uploads for
//! HTTP" on one engine — header codecs, request classification, the upload
//! record (state + on-disk encoding) and its state machine.
//!
//! **Sans-IO.** Nothing here touches a socket or a file, reads a clock or
//! draws randomness: time (`now`, Unix seconds), random id bytes and the
//! staging usage are arguments. The server does the I/O around it.
//!
//! # What the protocols require (and what the clients really send)
//!
//! **tus 1.0.0.** Every request and response but OPTIONS carries
//! `Tus-Resumable: 1.0.0`; another version → 412 with `Tus-Version`.
//! OPTIONS → 204 with `Tus-Version`, `Tus-Extension`, `Tus-Max-Size`,
//! `Tus-Checksum-Algorithm`. *Creation*: `POST` to the endpoint (here the
//! directory URL) with `Upload-Length` or `Upload-Defer-Length: 1` (both →
//! 400), optional `Upload-Metadata`; 201 + `Location`; over `Tus-Max-Size`
//! → 413. *creation-with-upload*: the POST carries data as
//! `application/offset+octet-stream`; the 201 has `Upload-Offset`.
//! *Core*: `HEAD` → 200, `Upload-Offset` always, `Upload-Length` if known
//! else `Upload-Defer-Length: 1`, `Upload-Metadata` if given,
//! `Cache-Control: no-store`; gone → 404/410 without `Upload-Offset`.
//! `PATCH` with `Upload-Offset` and `application/offset+octet-stream`
//! (else 415); offset ≠ current → 409, unchanged; success → 204 +
//! `Upload-Offset`. *defer-length*: a later PATCH sets `Upload-Length`
//! once. *expiration*: `Upload-Expires` (HTTP-date) on creation and every
//! PATCH response; afterwards 410 (or 404). *checksum*: `Upload-Checksum:
//! <algo> <base64>` per PATCH; unknown algo → 400; mismatch → 460 and the
//! chunk is not appended. *termination*: `DELETE` → 204, then 404/410.
//! `X-HTTP-Method-Override: PATCH` on a POST stands for PATCH.
//!
//! **IETF draft** (text read: -12, interop 8; the -15 text was not at
//! hand, so [`IetfDraft::CURRENT`] is 8 and is one constant to bump).
//! Creation is any request with `Upload-Complete` (sf-boolean): the server
//! may answer `104 Upload Resumption Supported` + `Location` (+
//! `Upload-Limit`, + `Upload-Draft-Interop-Version`, and only when the
//! request sent a supported interop version) before reading the body; a
//! `?0` creation answers 201 + `Location`. `HEAD` on the upload URL → 204
//! (200 allowed) with `Upload-Offset`, `Upload-Complete`, `Upload-Length`
//! if known, `Upload-Limit`, `Cache-Control: no-store`. Append = `PATCH`
//! with `Upload-Offset`, `Upload-Complete` and `Content-Type:
//! application/partial-upload`; wrong offset → 409 with the right
//! `Upload-Offset` (problem type `mismatching-upload-offset`); data past a
//! known length → rejected; completed upload → 400 `completed-upload`; the
//! completing response is what the original request would have answered,
//! plus `Upload-Complete: ?1`. `DELETE` cancels. Offsets never decrease.
//! Concurrent requests: the draft recommends terminating the older one,
//! or "exclusive access … through an access lock" (what ringdrop does,
//! see [`ResumableError::UploadBusy`]).
//!
//! **The clients.** tus-js-client 4.3.1 (`protocol: 'tus-v1'`): POST with
//! `Tus-Resumable`, `Upload-Length` (or `Upload-Defer-Length: 1`),
//! `Upload-Metadata` (`key base64`, js-base64, padded); PATCH with
//! `Upload-Offset` + `application/offset+octet-stream`; reads
//! `Upload-Offset` of every 2xx; resumes with HEAD (needs `Upload-Offset`,
//! and `Upload-Length` unless deferred; `offset == length` means done);
//! retries 5xx, 409 and 423; DELETE expects exactly 204. Its
//! `protocol: 'ietf-draft-05'` sends `Upload-Draft-Interop-Version: 6`
//! instead of `Tus-Resumable` on every request, the *tus* creation headers
//! (`Upload-Length` / `Upload-Defer-Length`, `Upload-Metadata`) plus
//! `Upload-Complete: ?0` on an empty POST to the endpoint, and PATCHes
//! with `Upload-Offset`, `Upload-Complete: ?0`/`?1` and
//! `application/partial-upload`; it still reads `Upload-Offset` from every
//! response, so ringdrop sends it in IETF responses too. (`ietf-draft-03`
//! sends interop 5 and no PATCH `Content-Type`.) tuspy 1.1.0: lowercase
//! headers, `Tus-Resumable: 1.0.0`, POST with `upload-length` and an
//! `upload-metadata` that is *empty* without metadata, PATCH with
//! `upload-offset` + `application/offset+octet-stream` and optionally
//! `upload-checksum: sha1 …`; HEAD must return `upload-offset`; `Location`
//! resolved with `urljoin`, so a path is enough.
//!
//! # Header by header
//!
//! | field | tus 1.0 | interop 6 (-04/-05, tus-js-client) | interop 8 (current) |
//! | --- | --- | --- | --- |
//! | protocol marker | `Tus-Resumable: 1.0.0` on all but OPTIONS | `Upload-Draft-Interop-Version: 6` | `Upload-Draft-Interop-Version: 8` (none in the final RFC) |
//! | creation | `POST` endpoint + `Upload-Length` / `Upload-Defer-Length: 1` | any request with `Upload-Complete`; `Upload-Length` optional | same |
//! | completeness | offset = length | `Upload-Complete: ?1` (`Upload-Incomplete` in interop 3) | same |
//! | append body type | `application/offset+octet-stream` | `application/partial-upload` | same |
//! | `Upload-Offset` | decimal | sf-integer | sf-integer; not required in append responses |
//! | `Upload-Length` | creation, or one later PATCH | creation or append; must agree with `Content-Length` + `?1` | same, problem type `inconsistent-upload-length` |
//! | metadata | `Upload-Metadata` | (not in the draft; tus-js-client sends it) | `Content-Disposition` (filename) |
//! | expiry | `Upload-Expires` (HTTP-date) | `Upload-Limit: expires=<s>` | `Upload-Limit: max-age=<s>` |
//! | limits | `Tus-Max-Size` (OPTIONS) | `Upload-Limit` dictionary | `Upload-Limit`, MUST on 104, 201, 413, HEAD; OPTIONS adds `Accept-Patch` |
//! | interim | — | `104` + `Location` | `104` + `Location` + `Upload-Limit` + interop version |
//! | HEAD | 200 | 204 | 204 (200 allowed) |
//! | wrong offset | 409 | 409 + `Upload-Offset` + problem | same |
//! | checksum | `Upload-Checksum`, 460 | `Content-Digest` (RFC 9530) | same |
//! | delete | 204 | 204 | 2xx |
//!
//! # ringdrop's choices
//!
//! * Upload URLs are `/.ringdrop-uploads/<32 hex>` ([`UploadId`]), the
//!   staging directory's own name: no file route ever answers under it
//!   ([`PathShape::StagingArea`] → 404).
//! * The file's name: the URL's last segment for a resumable `PUT`, else
//!   `Upload-Metadata` `filename` (or `name`), sanitized as a multipart
//!   filename and made collision-free at commit; without one, the upload
//!   id. (IETF `Content-Disposition` filenames wait for the shared
//!   `;`-parameter parser.)
//! * One writer per upload: a request that finds the upload's lock taken
//!   is answered `423 upload_busy` + `Retry-After: 1` at once (tus-js-client
//!   retries 423); HEAD takes no lock and reports the durable offset.
//! * Expiry is 24 h after the last successful request; a completed
//!   upload's record answers HEAD for one more hour.
//!
//! # Calling order (for the server)
//!
//! 1. [`path_shape`] of the decoded target, [`RequestHeaders::from_head`],
//!    then [`classify`] → [`Operation`] (or an error →
//!    [`error_response`]).
//! 2. `Create`: [`UploadRecord::create`] (limits), write the record, send
//!    [`interim_104`] if any, then, when the request carries a
//!    [`Chunk`], run it as an append at offset 0; else answer [`created`]
//!    (a tus upload of length 0 is complete at once:
//!    [`UploadRecord::is_tus_complete`]).
//!    Every later request: access rules on the record's `target_dir`, then
//!    [`UploadRecord::check_owner`].
//! 3. `Append`: take the lock, re-read the record, [`UploadRecord::begin_append`]
//!    (before `100 Continue`), re-read [`realign_range`] into the first
//!    buffer, stream (checking [`AppendPlan::check_received`], feeding
//!    [`Checksum::verifier`]), sync, [`UploadRecord::finish_append`], write
//!    the record, answer [`appended`] — or commit when `ready_to_commit`:
//!    [`UploadRecord::begin_commit`], write, `linkat`,
//!    [`UploadRecord::finish_commit`], write, answer [`completed`].
//! 4. `Head`: read the record, [`UploadRecord::check_live`], answer [`head`].
//! 5. `Terminate`: lock, [`UploadRecord::terminate`], remove, [`terminated`].
//! 6. The sweeper: [`UploadRecord::sweep`] on every record, at startup and
//!    periodically.
#![forbid(unsafe_code)]

mod align;
mod checksum;
mod classify;
mod codec;
mod error;
pub mod headers;
mod id;
mod limits;
mod metadata;
mod protocol;
mod record;
mod response;

pub use align::realign_range;
pub use checksum::Checksum;
pub use classify::{
    classify, path_shape, AppendRequest, CreateRequest, Operation, PathShape, RequestHeaders,
    UPLOAD_URL_ALLOW,
};
pub use codec::{RECORD_MAGIC, RECORD_VERSION};
pub use error::{
    Field, RecordError, ResumableError, PROBLEM_COMPLETED_UPLOAD, PROBLEM_INCONSISTENT_LENGTH,
    PROBLEM_MISMATCHING_OFFSET,
};
pub use id::{UploadId, UPLOADS_DIR};
pub use limits::{
    ResumableLimits, MAX_METADATA_BYTES, MAX_OWNER_BYTES, MAX_TARGET_DIR_BYTES, RECORD_MAX_BYTES,
};
pub use metadata::Metadata;
pub use protocol::{IetfDraft, Protocol};
pub use record::{
    AppendOutcome, AppendPlan, BodyEnd, ChecksumOutcome, Chunk, CommitMode, NewUpload, Removal,
    StagingUsage, SweepAction, UploadLength, UploadRecord, UploadState,
};
pub use response::{
    answer_protocol, appended, completed, created, error_response, head, interim_104,
    options_headers, terminated, ResponseBody, ResumableResponse,
};
