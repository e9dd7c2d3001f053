//! Resumable uploads: tus 1.0.0 and the IETF draft "Resumable Uploads for
//! HTTP" on one engine (SPEC "Resumable uploads").
//!
//! Every request is classified first ([`classify_request`], the sans-IO
//! [`crate::resumable::classify`]); what is not resumable goes on to the
//! ordinary routes. The protocol decisions are the core's
//! ([`UploadRecord`]'s transitions and the response builders); this module
//! does the I/O around them, in the order the core's docs give:
//!
//! ```text
//!  POST /dir/ (tus)  ─┐                      ┌─▶ 201 created / completed
//!  POST /dir/, PUT    ├─ create ─ record ──▶ append ─ data fdatasync ─ record ─┤
//!   /dir/name (IETF) ─┘  (lock)   (104)      │ (lock, re-read, begin_append,   └─▶ 204 appended
//!  PATCH /.ringdrop-uploads/<id> ────────────┘  receive_after, finish_append)
//!                                                        │ all bytes in
//!                                                        ▼
//!                            commit: record Committing{name} ─ linkat ─ fsync dir
//!                                    ─ record Completed ─ unlink <id>.data
//!  HEAD    (no lock) ─ record ─ 200/204 with the durable offset
//!  DELETE  (lock) ─ record ─ remove record, then data ─ 204
//!  sweeper (worker 0) ─ every record: keep / remove expired / finish a commit
//! ```
//!
//! **Offsets are promises.** In durable mode a request's bytes are
//! fdatasynced before the record that counts them is written (write a
//! temporary, fdatasync, rename, fsync the directory), and the answer that
//! reports the offset goes out after that. A crash in between leaves bytes
//! past the recorded offset: the next append writes over them, the commit
//! cuts them.
//!
//! **One writer per upload.** The data file's `flock` (exclusive,
//! non-blocking) is the upload's lock, across workers and processes: a
//! request that finds it taken tries again for up to [`LOCK_WAIT`] (a
//! request whose client just went away is recording what it received),
//! then is answered `423` with `Retry-After: 1`; never two writers. HEAD
//! waits the same way (so a client resuming right after a cut learns the
//! offset its cut request recorded), then answers from the record, which
//! is only ever replaced whole, whoever holds the lock.
//!
//! **Access control.** A creation needs `upload` on the target directory
//! (and `overwrite` for an IETF `PUT` over an existing file), decided from
//! the head as for PUT and POST. Every later request needs `upload` on the
//! record's target directory again (the rules may have changed) and must
//! come from the upload's creator ([`owner_of`]).

mod append;
mod commit;
pub(crate) mod sweep;

use std::io;
use std::time::Duration;

use crate::auth::{parse_authorization, token_digest, Action, Credentials, Identity};
use crate::config::Config;
use crate::http::StatusCode;
use crate::metrics::UploadFailure;
use crate::resumable::{
    answer_protocol, classify, error_response, head, path_shape, terminated, Field, IetfDraft,
    Operation, Protocol, RecordError, RequestHeaders, ResumableError, ResumableResponse, UploadId,
    UploadRecord, UploadState, MAX_OWNER_BYTES,
};
use crate::server::connection::Exchange;
use crate::server::error::RequestError;
use crate::server::request::Request;
use crate::storage::staging::{UploadFiles, UploadLock};

/// The `Allow` of a 405 when uploads are disabled for everyone.
const READ_ALLOW: &str = "GET, HEAD, OPTIONS";

/// How long a request waits for its upload's lock before it is answered
/// `423`: long enough for a request whose client just went away to record
/// what it received (a fdatasync, a record replaced), so a client that
/// resumes right after a cut is not refused; far shorter than any upload.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// How often a waiting request tries the lock again.
const LOCK_RETRY: Duration = Duration::from_millis(20);

/// Why a resumable request failed: a refusal the protocol defines (answered
/// with its headers, in the request's or the upload's protocol), or an
/// ordinary request error (answered as every route's are).
#[derive(Debug)]
pub(super) enum Failure {
    /// Answered with [`error_response`].
    Protocol(ResumableError),
    /// Answered by the connection.
    Request(RequestError),
}

impl From<ResumableError> for Failure {
    fn from(e: ResumableError) -> Self {
        Failure::Protocol(e)
    }
}

impl From<RequestError> for Failure {
    fn from(e: RequestError) -> Self {
        Failure::Request(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Request(RequestError::from_io(e))
    }
}

impl From<RecordError> for Failure {
    fn from(e: RecordError) -> Self {
        Failure::Request(RequestError::Io(io::Error::other(e)))
    }
}

/// Classifies a request for the resumable routes (see
/// [`crate::resumable::classify`]).
pub(super) fn classify_request(
    request: &Request,
    config: &Config,
) -> Result<Operation, ResumableError> {
    let shape = path_shape(&request.target);
    let pairs: Vec<(Field, &[u8])> = request
        .headers
        .resumable
        .iter()
        .map(|(field, value)| (*field, value.as_slice()))
        .collect();
    let headers = RequestHeaders::from_pairs(&pairs);
    classify(
        request.method_name.as_bytes(),
        &shape,
        &headers,
        request.info.framing,
        &config.resumable,
    )
}

/// The protocol a request names, if any (for the headers of a refusal that
/// comes before any upload is known).
fn request_protocol(request: &Request) -> Option<Protocol> {
    let value = |field| {
        request
            .headers
            .resumable
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_slice())
    };
    if let Some(v) = value(Field::UploadDraftInteropVersion) {
        return crate::resumable::headers::parse_u64(v)
            .and_then(IetfDraft::from_interop)
            .map(Protocol::Ietf);
    }
    if value(Field::TusResumable).is_some() {
        return Some(Protocol::Tus);
    }
    if value(Field::UploadComplete).is_some() || value(Field::UploadIncomplete).is_some() {
        return Some(Protocol::Ietf(IetfDraft::Final));
    }
    None
}

/// Serves a resumable operation (anything but `NotResumable` and
/// `Options`, which the caller handles).
pub(super) async fn serve(ex: &mut Exchange<'_>, op: Operation) -> Result<(), RequestError> {
    let request = ex.request();
    let mut protocol = request_protocol(&request);
    let mut answer = Answer::default();
    let result = match op {
        Operation::Create(create) => {
            protocol = Some(create.protocol);
            append::create(ex, &mut answer, create).await
        }
        Operation::Append(req) => {
            protocol = Some(req.protocol);
            append::append(ex, &mut answer, req).await
        }
        Operation::Head { id, protocol: p } => head_upload(ex, &mut answer, id, p).await,
        Operation::Terminate { id, protocol: p } => terminate(ex, &mut answer, id, p).await,
        Operation::NotResumable | Operation::Options => Ok(()),
    };
    match result {
        Ok(()) => Ok(()),
        Err(Failure::Protocol(err)) => {
            ex.upload_refused(upload_failure(&err));
            let protocol = answer.protocol.or(protocol);
            let resp = error_response(&err, protocol, &ex.worker().config.resumable);
            answer.send(ex, resp).await
        }
        Err(Failure::Request(err)) => Err(err),
    }
}

/// How a refused resumable request counts in the upload metrics (when it
/// had begun an upload).
fn upload_failure(err: &ResumableError) -> UploadFailure {
    match err {
        ResumableError::ChecksumMismatch => UploadFailure::DigestMismatch,
        ResumableError::TooLarge { .. } => UploadFailure::TooLarge,
        ResumableError::StagingFull { .. } => UploadFailure::DiskFull,
        ResumableError::InvalidHeader { .. }
        | ResumableError::MissingHeader { .. }
        | ResumableError::DuplicateHeader { .. }
        | ResumableError::AmbiguousLength
        | ResumableError::MetadataTooLarge { .. }
        | ResumableError::UnsupportedChecksumAlgorithm
        | ResumableError::InconsistentLength
        | ResumableError::InvalidFilename
        | ResumableError::TargetPathTooLong { .. } => UploadFailure::Malformed,
        ResumableError::UnsupportedTusVersion
        | ResumableError::UnsupportedInteropVersion
        | ResumableError::WrongContentType
        | ResumableError::OffsetMismatch { .. }
        | ResumableError::MethodNotAllowed
        | ResumableError::NotFound
        | ResumableError::Gone
        | ResumableError::UploadCompleted
        | ResumableError::UploadBusy
        | ResumableError::TooManyUploads { .. }
        | ResumableError::NotOwner => UploadFailure::Refused,
        ResumableError::InvalidOwner { .. } => UploadFailure::IoError,
    }
}

/// Answers a request that [`classify_request`] refused.
pub(super) async fn refuse(
    ex: &mut Exchange<'_>,
    err: &ResumableError,
) -> Result<(), RequestError> {
    let protocol = request_protocol(&ex.request());
    let resp = error_response(err, protocol, &ex.worker().config.resumable);
    Answer::default().send(ex, resp).await
}

/// How the answers of a resumable request go out.
#[derive(Debug, Default)]
pub(super) struct Answer {
    /// The protocol of the upload the request is about, once known (the
    /// record's when the request names none).
    protocol: Option<Protocol>,
}

impl Answer {
    /// Sends `104 (Upload Resumption Supported)` with the upload's URL
    /// before the body is read, so a client whose request is cut off knows
    /// where to resume.
    async fn send_interim(
        &mut self,
        ex: &mut Exchange<'_>,
        headers: &[(&str, &str)],
    ) -> Result<(), RequestError> {
        ex.send_interim(StatusCode(104), headers).await
    }

    /// Sends the final response.
    async fn send(
        &self,
        ex: &mut Exchange<'_>,
        resp: ResumableResponse,
    ) -> Result<(), RequestError> {
        let headers = resp.header_pairs();
        let body = resp.body.as_ref().map_or(&b""[..], |b| b.text.as_bytes());
        ex.respond(StatusCode(resp.status), &headers, body).await
    }
}

/// Unix seconds now.
pub(super) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The identity that owns an upload, as the record stores it:
/// `anonymous`, `user:NAME` (`user#<hash>` for a name that is long or has
/// control characters), or `token:<first 16 bytes of its SHA-256>`.
///
/// An identity other than anonymous is named from the `Authorization`
/// header it came from ([`Exchange::authenticate`] verified it before any
/// route runs), so the name stays the same across restarts and changes of
/// the access rules; without access rules everyone is anonymous.
pub(super) fn owner_of(ex: &Exchange<'_>) -> String {
    if ex.identity() == Identity::Anonymous {
        return "anonymous".to_owned();
    }
    let request = ex.request();
    let Some(header) = request.headers.authorization.as_deref() else {
        return "anonymous".to_owned();
    };
    match parse_authorization(header) {
        Ok(Credentials::Basic(basic)) => match std::str::from_utf8(basic.user()) {
            Ok(name)
                if name.len() + "user:".len() <= MAX_OWNER_BYTES
                    && !name.chars().any(char::is_control) =>
            {
                format!("user:{name}")
            }
            _ => format!("user#{}", hex16(&token_digest(basic.user()))),
        },
        Ok(Credentials::Bearer(token)) => format!("token:{}", hex16(&token_digest(token))),
        Err(_) => "anonymous".to_owned(),
    }
}

/// The first 16 bytes of a digest in hex.
fn hex16(digest: &[u8; 32]) -> String {
    let mut out = String::with_capacity(32);
    crate::syntax::encode_hex_into(&mut out, &digest[..16]);
    out
}

/// The record of upload `id`, read without the lock; `NotFound` when the
/// staging area, the record or a valid record is missing (a torn or
/// foreign record is logged and never becomes an upload's state).
pub(super) fn load(files: &UploadFiles) -> Result<UploadRecord, Failure> {
    let Some(bytes) = files.read_record()? else {
        return Err(ResumableError::NotFound.into());
    };
    UploadRecord::decode(&bytes).map_err(|err| {
        tracing::warn!(upload = %files.id(), "unusable upload record: {err}");
        Failure::Protocol(ResumableError::NotFound)
    })
}

/// Takes upload's lock, waiting up to [`LOCK_WAIT`] (never blocking the
/// worker): `Ok(None)` when another request still holds it (423);
/// `Err(NotFound)` without a data file.
pub(super) async fn lock_upload(files: &UploadFiles) -> io::Result<Option<UploadLock>> {
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    loop {
        if let Some(lock) = files.lock()? {
            return Ok(Some(lock));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(LOCK_RETRY).await;
    }
}

/// The files of upload `id`, if the staging area exists.
fn upload_files(ex: &Exchange<'_>, id: UploadId) -> Result<UploadFiles, Failure> {
    match ex.worker().staging.existing_dir()? {
        Some(dir) => Ok(UploadFiles::new(dir, id)),
        None => Err(ResumableError::NotFound.into()),
    }
}

/// May this request act on `record`: `upload` on its target directory
/// (decided as for any upload there, so 401/403/405 as usual), and the
/// upload's own creator (403 otherwise).
pub(super) fn check_access(ex: &Exchange<'_>, record: &UploadRecord) -> Result<(), Failure> {
    ex.authorize(Action::Create, &record.target_dir, READ_ALLOW)?;
    record.check_owner(&owner_of(ex))?;
    Ok(())
}

/// tus HEAD / IETF offset retrieval: the durable offset from the record,
/// read once no request holds the upload (or after [`LOCK_WAIT`]).
async fn head_upload(
    ex: &mut Exchange<'_>,
    answer: &mut Answer,
    id: UploadId,
    protocol: Option<Protocol>,
) -> Result<(), Failure> {
    let files = upload_files(ex, id)?;
    let record = load(&files)?;
    answer.protocol = Some(answer_protocol(protocol, &record));
    check_access(ex, &record)?;
    let record = if record.is_unfinished() {
        // A request that is still recording what it received (its client
        // went away and is now asking where to resume) finishes first; a
        // request that goes on uploading is not waited for longer than
        // that: the answer is then the durable offset of the moment.
        let settled = lock_upload(&files).await;
        let record = load(&files)?;
        drop(settled);
        record
    } else {
        record
    };
    let now = now_unix();
    record.check_live(now)?;
    let config = ex.worker().config.clone();
    let resp = head(
        &record,
        answer_protocol(protocol, &record),
        now,
        &config.resumable,
    );
    answer.send(ex, resp).await.map_err(Failure::Request)
}

/// tus termination / IETF cancellation: under the lock, the record goes
/// first, then the data (a completed upload's file is never touched).
async fn terminate(
    ex: &mut Exchange<'_>,
    answer: &mut Answer,
    id: UploadId,
    protocol: Option<Protocol>,
) -> Result<(), Failure> {
    if ex.worker().config.read_only {
        return Err(RequestError::ReadOnly.into());
    }
    let files = upload_files(ex, id)?;
    let record = load(&files)?;
    answer.protocol = Some(answer_protocol(protocol, &record));
    check_access(ex, &record)?;
    // A completed upload's data is its committed file now; only its
    // record (and a leftover name of it) goes, and no lock guards that.
    let lock = match lock_upload(&files).await {
        Ok(Some(lock)) => Some(lock),
        Ok(None) => return Err(ResumableError::UploadBusy.into()),
        Err(err) if err.raw_os_error() == Some(libc::ENOENT) => None,
        Err(err) => return Err(err.into()),
    };
    let record = load(&files)?;
    if lock.is_none() && matches!(record.state, UploadState::Active) {
        // No data file for an active upload: nothing sound to act on.
        return Err(ResumableError::NotFound.into());
    }
    record.terminate()?;
    files.remove(true)?;
    if record.is_unfinished() {
        ex.worker().staging.note_finished(record.offset);
    }
    drop(lock);
    let resp = terminated(answer_protocol(protocol, &record));
    answer.send(ex, resp).await.map_err(Failure::Request)
}
