//! One function from a request head to a resumable operation:
//! [`classify`]. The server routes on its result and nothing else.

use super::checksum::Checksum;
use super::error::{Field, ResumableError};
use super::headers::{
    is_supported_tus_version, is_valid_defer_length, media_type_is, parse_sf_boolean, parse_u64,
    TUS_CONTENT_TYPE,
};
use super::id::{UploadId, UPLOADS_DIR};
use super::limits::{ResumableLimits, MAX_METADATA_BYTES};
use super::metadata::Metadata;
use super::protocol::{IetfDraft, Protocol};
use super::record::{Chunk, CommitMode, NewUpload, UploadLength};
use crate::http::{BodyFraming, RequestHead, TargetPath};
use crate::syntax::trim_ows;

/// `Allow` for a 405 on an upload URL.
pub const UPLOAD_URL_ALLOW: &str = "HEAD, PATCH, DELETE, OPTIONS";

/// What a decoded request path is, for resumable routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathShape<'a> {
    /// A directory URL (`/dir/`, `/`): a tus creation endpoint, an IETF
    /// `POST` target. `dir` is ROOT-relative, `""` for ROOT.
    Directory {
        /// The directory's ROOT-relative path.
        dir: &'a str,
    },
    /// A file URL (`/dir/name`): an IETF resumable `PUT` target.
    File {
        /// The parent directory's ROOT-relative path.
        dir: &'a str,
        /// The last segment.
        name: &'a str,
    },
    /// `/.ringdrop-uploads/<id>`: an upload URL.
    Upload(UploadId),
    /// Anything else inside the staging directory: 404 for every method
    /// (the staging area is never listed, served or written through HTTP).
    StagingArea,
}

/// The shape of a decoded request target.
///
/// ```
/// use ringdrop::http::decode_target;
/// use ringdrop::resumable::{path_shape, PathShape, UploadId};
/// let t = decode_target(b"/in/box/").unwrap();
/// assert_eq!(path_shape(&t), PathShape::Directory { dir: "in/box" });
/// let t = decode_target(b"/in/a.txt").unwrap();
/// assert_eq!(path_shape(&t), PathShape::File { dir: "in", name: "a.txt" });
/// let t = decode_target(b"/.ringdrop-uploads/000102030405060708090a0b0c0d0e0f").unwrap();
/// assert!(matches!(path_shape(&t), PathShape::Upload(_)));
/// let t = decode_target(b"/.ringdrop-uploads/").unwrap();
/// assert_eq!(path_shape(&t), PathShape::StagingArea);
/// ```
pub fn path_shape(target: &TargetPath) -> PathShape<'_> {
    let path = target.path.as_str();
    let (first, rest) = match path.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (path, None),
    };
    if first == UPLOADS_DIR {
        return match (rest, target.trailing_slash) {
            (Some(id), false) => {
                UploadId::parse(id).map_or(PathShape::StagingArea, PathShape::Upload)
            }
            _ => PathShape::StagingArea,
        };
    }
    if target.trailing_slash || path.is_empty() {
        return PathShape::Directory { dir: path };
    }
    match path.rsplit_once('/') {
        Some((dir, name)) => PathShape::File { dir, name },
        None => PathShape::File {
            dir: "",
            name: path,
        },
    }
}

/// The raw values of the header fields the resumable codecs read (the first
/// of each), taken from a parsed head.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestHeaders<'a> {
    values: [Option<&'a [u8]>; 11],
    /// The first field that appeared more than once (an error only for a
    /// resumable request).
    duplicated: Option<Field>,
}

impl<'a> RequestHeaders<'a> {
    /// Collects the fields from a parsed head and its buffer.
    pub fn from_head(head: &RequestHead, buf: &'a [u8]) -> RequestHeaders<'a> {
        let mut h = RequestHeaders::default();
        for field in Field::ALL {
            let mut values = head.headers_named(buf, field.name());
            h.values[field as usize] = values.next();
            if values.next().is_some() && h.duplicated.is_none() {
                h.duplicated = Some(field);
            }
        }
        h
    }

    /// Builds the set from `(field, value)` pairs (tests, fuzzing).
    pub fn from_pairs(pairs: &[(Field, &'a [u8])]) -> RequestHeaders<'a> {
        let mut h = RequestHeaders::default();
        for &(field, value) in pairs {
            let slot = &mut h.values[field as usize];
            if slot.is_some() {
                h.duplicated.get_or_insert(field);
            } else {
                *slot = Some(value);
            }
        }
        h
    }

    /// The first value of `field`.
    pub fn get(&self, field: Field) -> Option<&'a [u8]> {
        self.values[field as usize]
    }
}

/// A request to create an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest {
    /// The request's protocol.
    pub protocol: Protocol,
    /// The target directory, ROOT-relative.
    pub dir: String,
    /// The client's name for the file (URL's last segment for a `PUT`,
    /// else `Upload-Metadata` `filename` / `name`), unsanitized.
    pub name: Option<String>,
    /// The name came from the URL (`PUT /dir/name`): the server chooses
    /// [`CommitMode::Replace`] or [`CommitMode::CreateOnly`] as for a PUT;
    /// otherwise [`CommitMode::NewName`].
    pub named_by_url: bool,
    /// The declared length, or deferred.
    pub length: UploadLength,
    /// `Upload-Metadata` (empty if none).
    pub metadata: Metadata,
    /// Data sent with the creation (tus creation-with-upload; every IETF
    /// creation, possibly empty), to append at offset 0 right after the
    /// record is created.
    pub chunk: Option<Chunk>,
}

impl CreateRequest {
    /// The [`NewUpload`] for [`UploadRecord::create`](super::UploadRecord::create).
    pub fn new_upload<'a>(
        &'a self,
        id: UploadId,
        owner: &'a str,
        commit_mode: CommitMode,
    ) -> NewUpload<'a> {
        NewUpload {
            id,
            protocol: self.protocol,
            target_dir: &self.dir,
            name: self.name.as_deref(),
            commit_mode,
            length: self.length,
            owner,
            metadata: &self.metadata,
        }
    }
}

/// A request to append to an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendRequest {
    /// Which upload.
    pub id: UploadId,
    /// The request's protocol.
    pub protocol: Protocol,
    /// The bytes.
    pub chunk: Chunk,
}

/// What a request is, for the resumable routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// Not a resumable-upload request: route it as before.
    NotResumable,
    /// `OPTIONS` on a directory, file or upload URL: add the discovery
    /// headers of both protocols to the usual 204.
    Options,
    /// tus creation (`POST /dir/` with `Tus-Resumable`), IETF creation
    /// (`POST /dir/` or `PUT /dir/name` with `Upload-Complete`).
    Create(CreateRequest),
    /// tus `PATCH` (or `POST` with `X-HTTP-Method-Override: PATCH`), IETF
    /// append: `PATCH` an upload URL.
    Append(AppendRequest),
    /// tus HEAD, IETF offset retrieval. `protocol` is `None` when the
    /// request names none: answer in the upload's own protocol.
    Head {
        /// Which upload.
        id: UploadId,
        /// The request's protocol, if it names one.
        protocol: Option<Protocol>,
    },
    /// tus termination, IETF cancellation: `DELETE` an upload URL.
    Terminate {
        /// Which upload.
        id: UploadId,
        /// The request's protocol, if it names one.
        protocol: Option<Protocol>,
    },
}

/// Which protocol the headers speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detected {
    None,
    Tus,
    UnsupportedTus,
    Ietf(IetfDraft),
    UnsupportedInterop,
}

fn detect(h: &RequestHeaders<'_>) -> Detected {
    if let Some(v) = h.get(Field::UploadDraftInteropVersion) {
        return match parse_u64(v).and_then(IetfDraft::from_interop) {
            Some(draft) => Detected::Ietf(draft),
            None => Detected::UnsupportedInterop,
        };
    }
    if let Some(v) = h.get(Field::TusResumable) {
        return if is_supported_tus_version(v) {
            Detected::Tus
        } else {
            Detected::UnsupportedTus
        };
    }
    if h.get(Field::UploadComplete).is_some() || h.get(Field::UploadIncomplete).is_some() {
        return Detected::Ietf(IetfDraft::Final);
    }
    Detected::None
}

/// Classifies a request for the resumable routes.
///
/// `method` is the request-line token; `shape` comes from [`path_shape`];
/// `headers` from [`RequestHeaders::from_head`]; `body` from
/// [`analyze`](crate::http::analyze). Header values are parsed and checked
/// here, so an `Ok` operation is well-formed; what needs the upload's
/// record (offset match, lengths, expiry) is checked by the record's
/// transitions.
///
/// Rules, in order:
/// * a path in the staging area → `Err(NotFound)`, whatever the method;
/// * `OPTIONS` → [`Operation::Options`];
/// * an upload URL: `HEAD` → `Head`, `DELETE` → `Terminate`, `PATCH` (or
///   `POST` with `X-HTTP-Method-Override`) → `Append`, others → 405;
/// * `POST` to a directory with `Tus-Resumable` → tus `Create`; with
///   `Upload-Complete` (and not `multipart/form-data`) → IETF `Create`;
/// * `PUT` to a file with `Upload-Complete` → IETF `Create`;
/// * anything else → `NotResumable`. An unsupported interop version with
///   `Upload-Complete: ?1` on a creation is a plain upload too (the draft
///   lets a server ignore the header); with `?0` it is 400.
///
/// ```
/// use ringdrop::http::BodyFraming;
/// use ringdrop::resumable::*;
/// let h = RequestHeaders::from_pairs(&[
///     (Field::TusResumable, b"1.0.0"),
///     (Field::UploadLength, b"100"),
///     (Field::UploadMetadata, b"filename YS50eHQ="),
/// ]);
/// let shape = PathShape::Directory { dir: "inbox" };
/// let op = classify(b"POST", &shape, &h, BodyFraming::None, &ResumableLimits::default()).unwrap();
/// let Operation::Create(create) = op else { panic!() };
/// assert_eq!(create.length, UploadLength::Known(100));
/// assert_eq!(create.name.as_deref(), Some("a.txt"));
/// assert_eq!(create.chunk, None);
/// ```
pub fn classify(
    method: &[u8],
    shape: &PathShape<'_>,
    headers: &RequestHeaders<'_>,
    body: BodyFraming,
    limits: &ResumableLimits,
) -> Result<Operation, ResumableError> {
    let detected = detect(headers);
    let op = match *shape {
        PathShape::StagingArea => return Err(ResumableError::NotFound),
        _ if method == b"OPTIONS" => return Ok(Operation::Options),
        PathShape::Upload(id) => {
            let method = match (method, headers.get(Field::MethodOverride)) {
                (b"POST", Some(over)) => trim_ows(over),
                _ => method,
            };
            upload_url_op(id, method, detected, headers, body)?
        }
        PathShape::Directory { dir } if method == b"POST" => match detected {
            Detected::Tus => tus_create(dir, headers, body, limits)?,
            Detected::UnsupportedTus => return Err(ResumableError::UnsupportedTusVersion),
            Detected::Ietf(draft) => {
                let multipart = headers
                    .get(Field::ContentType)
                    .is_some_and(|v| media_type_is(v, "multipart/form-data"));
                if multipart {
                    return Ok(Operation::NotResumable);
                }
                ietf_create(draft, dir, None, headers, body, limits)?
            }
            Detected::UnsupportedInterop => return unsupported_interop_creation(headers),
            Detected::None => return Ok(Operation::NotResumable),
        },
        PathShape::File { dir, name } if method == b"PUT" => match detected {
            Detected::Ietf(draft) => ietf_create(draft, dir, Some(name), headers, body, limits)?,
            Detected::UnsupportedInterop => return unsupported_interop_creation(headers),
            Detected::Tus | Detected::UnsupportedTus | Detected::None => {
                return Ok(Operation::NotResumable)
            }
        },
        PathShape::Directory { .. } | PathShape::File { .. } => return Ok(Operation::NotResumable),
    };
    if let Some(field) = headers.duplicated {
        return Err(ResumableError::DuplicateHeader { field });
    }
    Ok(op)
}

/// An IETF creation whose interop version this server does not speak:
/// `Upload-Complete: ?1` carries the whole representation, so it falls
/// back to a plain upload; anything else cannot.
fn unsupported_interop_creation(h: &RequestHeaders<'_>) -> Result<Operation, ResumableError> {
    match h.get(Field::UploadComplete).and_then(parse_sf_boolean) {
        Some(true) => Ok(Operation::NotResumable),
        _ => Err(ResumableError::UnsupportedInteropVersion),
    }
}

fn upload_url_op(
    id: UploadId,
    method: &[u8],
    detected: Detected,
    h: &RequestHeaders<'_>,
    body: BodyFraming,
) -> Result<Operation, ResumableError> {
    let protocol = match detected {
        Detected::None => None,
        Detected::Tus => Some(Protocol::Tus),
        Detected::Ietf(draft) => Some(Protocol::Ietf(draft)),
        Detected::UnsupportedTus => return Err(ResumableError::UnsupportedTusVersion),
        Detected::UnsupportedInterop => return Err(ResumableError::UnsupportedInteropVersion),
    };
    match method {
        b"HEAD" => Ok(Operation::Head { id, protocol }),
        b"DELETE" => Ok(Operation::Terminate { id, protocol }),
        b"PATCH" => {
            let chunk = match protocol {
                // tus requires `Tus-Resumable` on every request but OPTIONS.
                None => return Err(ResumableError::UnsupportedTusVersion),
                Some(Protocol::Tus) => tus_chunk(h, body)?,
                Some(Protocol::Ietf(draft)) => {
                    let offset = required_u64(h, Field::UploadOffset)?;
                    ietf_chunk(draft, offset, h, body)?
                }
            };
            Ok(Operation::Append(AppendRequest {
                id,
                protocol: protocol.unwrap_or(Protocol::Tus),
                chunk,
            }))
        }
        _ => Err(ResumableError::MethodNotAllowed),
    }
}

fn required_u64(h: &RequestHeaders<'_>, field: Field) -> Result<u64, ResumableError> {
    let value = h
        .get(field)
        .ok_or(ResumableError::MissingHeader { field })?;
    parse_u64(value).ok_or(ResumableError::InvalidHeader { field })
}

fn optional_u64(h: &RequestHeaders<'_>, field: Field) -> Result<Option<u64>, ResumableError> {
    h.get(field)
        .map(|v| parse_u64(v).ok_or(ResumableError::InvalidHeader { field }))
        .transpose()
}

fn has_body(body: BodyFraming) -> bool {
    !matches!(body, BodyFraming::None | BodyFraming::Length(0))
}

fn checksum(h: &RequestHeaders<'_>) -> Result<Option<Checksum>, ResumableError> {
    h.get(Field::UploadChecksum)
        .map(Checksum::parse)
        .transpose()
}

fn metadata(h: &RequestHeaders<'_>, limits: &ResumableLimits) -> Result<Metadata, ResumableError> {
    let max = limits.max_metadata_bytes.min(MAX_METADATA_BYTES);
    match h.get(Field::UploadMetadata) {
        Some(v) => Metadata::parse(v, max),
        None => Ok(Metadata::default()),
    }
}

/// A tus PATCH: `application/offset+octet-stream`, `Upload-Offset`,
/// optional `Upload-Length` (setting a deferred length) and
/// `Upload-Checksum`.
fn tus_chunk(h: &RequestHeaders<'_>, body: BodyFraming) -> Result<Chunk, ResumableError> {
    let content_type = h.get(Field::ContentType).unwrap_or(b"");
    if !media_type_is(content_type, TUS_CONTENT_TYPE) {
        return Err(ResumableError::WrongContentType);
    }
    Ok(Chunk {
        offset: required_u64(h, Field::UploadOffset)?,
        body,
        complete: None,
        length: optional_u64(h, Field::UploadLength)?,
        checksum: checksum(h)?,
    })
}

fn tus_create(
    dir: &str,
    h: &RequestHeaders<'_>,
    body: BodyFraming,
    limits: &ResumableLimits,
) -> Result<Operation, ResumableError> {
    let length = match (h.get(Field::UploadLength), h.get(Field::UploadDeferLength)) {
        (Some(_), Some(_)) => return Err(ResumableError::AmbiguousLength),
        (Some(_), None) => UploadLength::Known(required_u64(h, Field::UploadLength)?),
        (None, Some(d)) if is_valid_defer_length(d) => UploadLength::Deferred,
        (None, Some(_)) => {
            return Err(ResumableError::InvalidHeader {
                field: Field::UploadDeferLength,
            })
        }
        (None, None) => {
            return Err(ResumableError::MissingHeader {
                field: Field::UploadLength,
            })
        }
    };
    let metadata = metadata(h, limits)?;
    let chunk = if has_body(body) {
        let content_type = h.get(Field::ContentType).unwrap_or(b"");
        if !media_type_is(content_type, TUS_CONTENT_TYPE) {
            return Err(ResumableError::WrongContentType);
        }
        Some(Chunk {
            offset: 0,
            body,
            complete: None,
            length: None,
            checksum: checksum(h)?,
        })
    } else {
        None
    };
    Ok(Operation::Create(CreateRequest {
        protocol: Protocol::Tus,
        dir: dir.to_owned(),
        name: metadata.filename(),
        named_by_url: false,
        length,
        metadata,
        chunk,
    }))
}

/// `Upload-Complete` (or the inverse `Upload-Incomplete` of interop 3):
/// required on IETF creations and appends.
fn ietf_complete(draft: IetfDraft, h: &RequestHeaders<'_>) -> Result<bool, ResumableError> {
    let (primary, secondary) = if draft.uses_upload_incomplete() {
        (Field::UploadIncomplete, Field::UploadComplete)
    } else {
        (Field::UploadComplete, Field::UploadIncomplete)
    };
    let (field, value) = match (h.get(primary), h.get(secondary)) {
        (Some(v), _) => (primary, v),
        (None, Some(v)) => (secondary, v),
        (None, None) => {
            return Err(ResumableError::MissingHeader {
                field: Field::UploadComplete,
            })
        }
    };
    let b = parse_sf_boolean(value).ok_or(ResumableError::InvalidHeader { field })?;
    Ok(if field == Field::UploadIncomplete {
        !b
    } else {
        b
    })
}

/// An IETF request's data at `offset`: completeness, and the length from
/// `Upload-Length` and from completion + `Content-Length`, which must agree.
/// An `Upload-Length` that is not a valid integer is ignored, as the draft
/// says.
fn ietf_chunk(
    draft: IetfDraft,
    offset: u64,
    h: &RequestHeaders<'_>,
    body: BodyFraming,
) -> Result<Chunk, ResumableError> {
    let complete = ietf_complete(draft, h)?;
    let declared = h.get(Field::UploadLength).and_then(parse_u64);
    let implied = match (complete, body) {
        (true, BodyFraming::Length(n)) => {
            Some(offset.checked_add(n).ok_or(ResumableError::InvalidHeader {
                field: Field::UploadOffset,
            })?)
        }
        (true, BodyFraming::None) => Some(offset),
        _ => None,
    };
    let length = match (declared, implied) {
        (Some(a), Some(b)) if a != b => return Err(ResumableError::InconsistentLength),
        (a, b) => a.or(b),
    };
    Ok(Chunk {
        offset,
        body,
        complete: Some(complete),
        length,
        checksum: None,
    })
}

fn ietf_create(
    draft: IetfDraft,
    dir: &str,
    url_name: Option<&str>,
    h: &RequestHeaders<'_>,
    body: BodyFraming,
    limits: &ResumableLimits,
) -> Result<Operation, ResumableError> {
    let chunk = ietf_chunk(draft, 0, h, body)?;
    let metadata = metadata(h, limits)?;
    let name = match url_name {
        Some(name) => Some(name.to_owned()),
        None => metadata.filename(),
    };
    Ok(Operation::Create(CreateRequest {
        protocol: Protocol::Ietf(draft),
        dir: dir.to_owned(),
        name,
        named_by_url: url_name.is_some(),
        length: chunk
            .length
            .map_or(UploadLength::Deferred, UploadLength::Known),
        metadata,
        chunk: Some(chunk),
    }))
}

#[cfg(test)]
mod tests;
