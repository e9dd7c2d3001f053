//! [`UploadRecord`]: one upload's durable state, and its state machine as
//! pure transitions. Each transition takes the record (and `now`, the
//! limits, the staging usage) and returns a new record or the error to
//! answer with; the server writes the new record (write + fsync + rename)
//! only after the data it describes is on disk.
//!
//! ```text
//!            create ──▶ Active ──begin_append/finish_append──▶ Active
//!                         │  └─ terminate / sweep (expired) ──▶ removed
//!                         ▼ begin_commit(name)
//!                     Committing{name} ──finish_commit──▶ Completed{name}
//!                         ▲ sweep: resume the commit          │ sweep (ttl) / terminate
//!                         └── (after a crash)                 ▼
//!                                                          record removed
//! ```

use super::checksum::Checksum;
use super::error::ResumableError;
use super::id::{UploadId, UPLOADS_DIR};
use super::limits::{ResumableLimits, MAX_OWNER_BYTES, MAX_TARGET_DIR_BYTES};
use super::metadata::Metadata;
use super::protocol::Protocol;
use crate::http::BodyFraming;
use crate::multipart::{sanitize_filename, MAX_NAME_BYTES};

/// One request's bytes for an upload, as its head describes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// `Upload-Offset` (0 for a creation).
    pub offset: u64,
    /// How the body is framed.
    pub body: BodyFraming,
    /// IETF `Upload-Complete`; `None` for tus.
    pub complete: Option<bool>,
    /// The upload length this request indicates (tus `Upload-Length` on a
    /// PATCH of a deferred upload; IETF `Upload-Length`, or offset +
    /// `Content-Length` with `Upload-Complete: ?1`).
    pub length: Option<u64>,
    /// tus `Upload-Checksum` of this request's body.
    pub checksum: Option<Checksum>,
}

/// The upload's total length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadLength {
    /// Declared (tus `Upload-Length`, IETF `Upload-Length` or completion).
    Known(u64),
    /// Not declared yet (tus `Upload-Defer-Length: 1`, or an IETF upload
    /// whose length the client did not indicate). May be set once.
    Deferred,
}

/// Where an upload is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadState {
    /// Receiving bytes.
    Active,
    /// All bytes are durable; the data file is being linked into the
    /// target directory as `name` (chosen collision-free). Written
    /// *before* the `linkat`, so that after a crash the commit is finished
    /// under the same name instead of linking the file twice.
    Committing {
        /// The final name in the target directory.
        name: String,
    },
    /// The file exists as `name`; the record stays for
    /// `completed_ttl_secs` so HEAD can tell a client that lost the final
    /// response that the upload is complete.
    Completed {
        /// The final name in the target directory.
        name: String,
    },
}

/// How the finished file is named in its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMode {
    /// Collision-free (`a.txt`, `a (1).txt`, …), as multipart POST does: tus
    /// creations and IETF `POST /dir/`.
    NewName,
    /// Exactly the requested name, replacing an existing file (an IETF
    /// resumable `PUT` by an identity with `overwrite`).
    Replace,
    /// Exactly the requested name, failing if it exists (an IETF resumable
    /// `PUT` with `If-None-Match: *`, or without `overwrite`).
    CreateOnly,
}

/// What the server counts across all unfinished uploads (from a scan of
/// the staging directory at startup, kept up to date as uploads change).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StagingUsage {
    /// Records in state `Active` or `Committing`.
    pub unfinished_uploads: u64,
    /// The sum of their offsets.
    pub staged_bytes: u64,
}

/// Everything a creation decides, before the record exists.
#[derive(Debug, Clone, Copy)]
pub struct NewUpload<'a> {
    /// Fresh random id.
    pub id: UploadId,
    /// The creating request's protocol.
    pub protocol: Protocol,
    /// ROOT-relative target directory (`""` for ROOT), as decoded from the
    /// request target; the server has checked it is a directory.
    pub target_dir: &'a str,
    /// The client's name for the file, unsanitized; `None` → the id.
    pub name: Option<&'a str>,
    /// How the final name is chosen.
    pub commit_mode: CommitMode,
    /// The declared length, or deferred.
    pub length: UploadLength,
    /// Who created it (the access-control identity), checked on every later
    /// request.
    pub owner: &'a str,
    /// The creation's `Upload-Metadata`.
    pub metadata: &'a Metadata,
}

/// One upload's state: what the record file holds.
///
/// Fields are public to read; change them only through the transitions,
/// which keep the invariants [`UploadRecord::encode`] checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    /// The upload's id (its URL and file names).
    pub id: UploadId,
    /// The protocol of the creating request (answers to requests that name
    /// none, e.g. a bare HEAD, use it).
    pub protocol: Protocol,
    /// ROOT-relative target directory, `""` for ROOT; no leading or
    /// trailing `/`.
    pub target_dir: String,
    /// The sanitized name asked for (before collision suffixes).
    pub filename: String,
    /// How the final name is chosen.
    pub commit_mode: CommitMode,
    /// Declared length, or deferred.
    pub length: UploadLength,
    /// Bytes durable in the data file: `[0, offset)` are the upload's
    /// first `offset` bytes. Never decreases.
    pub offset: u64,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// After this (Unix seconds) the upload is gone: 410 and swept.
    pub expires_at: i64,
    /// The creator's identity string.
    pub owner: String,
    /// Canonical `Upload-Metadata` of the creation (`""` for none).
    pub metadata: String,
    /// Life-cycle state.
    pub state: UploadState,
    /// Incremented by every transition that changes the record: a later
    /// record always has a larger `seq` (a check for lost updates, and a
    /// tie-break for tools).
    pub seq: u64,
}

/// What one append request may do, decided from its head before a body
/// byte is read (so a refusal can be answered before `100 Continue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendPlan {
    /// Where the request's bytes go in the data file (the durable offset).
    pub offset: u64,
    /// The length after this request's indication.
    pub length: UploadLength,
    /// The most body bytes this request may append; the server stops
    /// reading and answers [`AppendPlan::overflow`] when a body of unknown
    /// length goes past it.
    pub max_bytes: u64,
    /// The error that `max_bytes` stands for.
    pub overflow: ResumableError,
    /// IETF `Upload-Complete` of the request; `None` for tus (complete when
    /// the offset reaches the length).
    pub complete: Option<bool>,
    /// A repeated zero-byte request to an upload that is already
    /// complete: answer success again, change nothing.
    pub already_complete: bool,
}

impl AppendPlan {
    /// Call as body bytes arrive with the total so far: `Err(overflow)`
    /// once it passes [`AppendPlan::max_bytes`].
    pub fn check_received(&self, total: u64) -> Result<(), ResumableError> {
        if total > self.max_bytes {
            Err(self.overflow)
        } else {
            Ok(())
        }
    }
}

/// How an append's body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEnd {
    /// Every byte the framing promised arrived.
    Complete,
    /// The connection dropped or timed out mid-body: the bytes received
    /// are kept (IETF: "append as much as possible"), the upload is not
    /// complete.
    Interrupted,
}

/// The result of an `Upload-Checksum` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumOutcome {
    /// No `Upload-Checksum` on the request.
    NotRequested,
    /// The bytes match.
    Matched,
    /// The bytes differ (460).
    Mismatched,
    /// A checksum was requested but the body did not arrive whole, so it
    /// cannot be verified: nothing is appended.
    Unverifiable,
}

/// The record after an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    /// The new record (equal to the old one when nothing changed).
    pub record: UploadRecord,
    /// Whether the record changed and must be written.
    pub changed: bool,
    /// All bytes are in: commit now ([`UploadRecord::begin_commit`]).
    pub ready_to_commit: bool,
}

/// What to remove for a terminated or swept upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// An unfinished upload: remove the record (first), then the data.
    RecordAndData,
    /// A completed upload's record (its data is the committed file now:
    /// never touch it).
    RecordOnly,
}

/// What the sweeper does with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepAction {
    /// Not expired: leave it.
    Keep,
    /// Expired: remove (taking the upload's lock first; skip it if busy).
    Remove(Removal),
    /// A commit was interrupted (crash between the record and the link):
    /// finish it under the recorded name.
    ResumeCommit {
        /// The recorded final name.
        name: String,
    },
}

impl UploadRecord {
    /// Creates the record of a new upload, checking the creation limits:
    /// unfinished uploads (503), staged bytes (507), declared length (413),
    /// target path (414), names (400).
    ///
    /// ```
    /// use ringdrop::resumable::*;
    /// let meta = Metadata::parse(b"filename YS50eHQ=", 2048).unwrap();
    /// let rec = UploadRecord::create(
    ///     &NewUpload {
    ///         id: UploadId::from_random([7; 16]),
    ///         protocol: Protocol::Tus,
    ///         target_dir: "inbox",
    ///         name: meta.filename().as_deref(),
    ///         commit_mode: CommitMode::NewName,
    ///         length: UploadLength::Known(10),
    ///         owner: "anonymous",
    ///         metadata: &meta,
    ///     },
    ///     StagingUsage::default(),
    ///     1_000,
    ///     &ResumableLimits::default(),
    /// )
    /// .unwrap();
    /// assert_eq!((rec.filename.as_str(), rec.offset), ("a.txt", 0));
    /// assert_eq!(rec.expires_at, 1_000 + 24 * 3600);
    /// ```
    pub fn create(
        new: &NewUpload<'_>,
        usage: StagingUsage,
        now: i64,
        limits: &ResumableLimits,
    ) -> Result<UploadRecord, ResumableError> {
        if usage.unfinished_uploads >= limits.max_unfinished_uploads {
            return Err(ResumableError::TooManyUploads {
                limit: limits.max_unfinished_uploads,
            });
        }
        if usage.staged_bytes >= limits.max_staged_bytes {
            return Err(ResumableError::StagingFull {
                limit: limits.max_staged_bytes,
            });
        }
        if let UploadLength::Known(n) = new.length {
            if n > limits.max_upload_bytes {
                return Err(ResumableError::TooLarge {
                    limit: limits.max_upload_bytes,
                });
            }
        }
        if new.target_dir.len() > MAX_TARGET_DIR_BYTES {
            return Err(ResumableError::TargetPathTooLong {
                limit: MAX_TARGET_DIR_BYTES,
            });
        }
        if !is_valid_target_dir(new.target_dir) {
            return Err(ResumableError::NotFound);
        }
        if !is_valid_owner(new.owner) {
            return Err(ResumableError::InvalidOwner {
                limit: MAX_OWNER_BYTES,
            });
        }
        let filename = match new.name.map(sanitize_filename) {
            Some(Ok(Some(name))) => name,
            Some(Err(_)) => return Err(ResumableError::InvalidFilename),
            // No name, or nothing left of it: the id names the file.
            Some(Ok(None)) | None => new.id.to_string(),
        };
        let metadata = new.metadata.to_header();
        if metadata.len() > limits.max_metadata_bytes {
            return Err(ResumableError::MetadataTooLarge {
                limit: limits.max_metadata_bytes,
            });
        }
        Ok(UploadRecord {
            id: new.id,
            protocol: new.protocol,
            target_dir: new.target_dir.to_owned(),
            filename,
            commit_mode: new.commit_mode,
            length: new.length,
            offset: 0,
            created_at: now,
            expires_at: now.saturating_add(secs(limits.expiry_secs)),
            owner: new.owner.to_owned(),
            metadata,
            state: UploadState::Active,
            seq: 0,
        })
    }

    /// `Err(Gone)` (410) once `now` reached `expires_at`.
    pub fn check_live(&self, now: i64) -> Result<(), ResumableError> {
        if now >= self.expires_at {
            Err(ResumableError::Gone)
        } else {
            Ok(())
        }
    }

    /// `Err(NotOwner)` (403) unless `owner` is the identity that created
    /// the upload. Call on every request to an upload URL, after the
    /// access rules allowed the request's identity `upload` on
    /// [`UploadRecord::target_dir`] (they may have changed since creation).
    ///
    /// ```
    /// use ringdrop::resumable::*;
    /// # let meta = Metadata::default();
    /// # let new = NewUpload { id: UploadId::from_random([1; 16]), protocol: Protocol::Tus,
    /// #     target_dir: "", name: None, commit_mode: CommitMode::NewName,
    /// #     length: UploadLength::Deferred, owner: "user:alice", metadata: &meta };
    /// let rec = UploadRecord::create(&new, StagingUsage::default(), 0, &ResumableLimits::default()).unwrap();
    /// assert_eq!(rec.check_owner("user:alice"), Ok(()));
    /// assert_eq!(rec.check_owner("anonymous"), Err(ResumableError::NotOwner));
    /// ```
    pub fn check_owner(&self, owner: &str) -> Result<(), ResumableError> {
        if self.owner == owner {
            Ok(())
        } else {
            Err(ResumableError::NotOwner)
        }
    }

    /// True for an active tus upload whose offset reached its declared
    /// length: after a creation with `Upload-Length: 0` (no PATCH will
    /// come) the server commits right away.
    pub fn is_tus_complete(&self) -> bool {
        self.state == UploadState::Active
            && self.protocol.is_tus()
            && self.length == UploadLength::Known(self.offset)
    }

    /// Decides an append from its head (offset, length indication,
    /// declared body size, completeness), before reading the body.
    ///
    /// Errors: expired 410; commit in progress 423; already complete 400
    /// (`UploadCompleted`; a repeated empty request is answered as success
    /// instead, see [`AppendPlan::already_complete`]); wrong offset 409;
    /// a length that changes, is below the offset or disagrees 400; too
    /// many bytes for the declared length or the server maximum 413; no
    /// room in the staging area 507.
    ///
    /// ```
    /// use ringdrop::http::BodyFraming;
    /// use ringdrop::resumable::*;
    /// # let meta = Metadata::default();
    /// # let new = NewUpload { id: UploadId::from_random([1; 16]), protocol: Protocol::Tus,
    /// #     target_dir: "", name: Some("f"), commit_mode: CommitMode::NewName,
    /// #     length: UploadLength::Known(10), owner: "anonymous", metadata: &meta };
    /// let limits = ResumableLimits::default();
    /// let rec = UploadRecord::create(&new, StagingUsage::default(), 0, &limits).unwrap();
    /// let chunk = Chunk { offset: 0, body: BodyFraming::Length(4), complete: None, length: None, checksum: None };
    /// let plan = rec.begin_append(&chunk, StagingUsage::default(), 1, &limits).unwrap();
    /// assert_eq!(plan.max_bytes, 10);
    /// let out = rec.finish_append(&plan, 4, BodyEnd::Complete, ChecksumOutcome::NotRequested, 2, &limits).unwrap();
    /// assert_eq!((out.record.offset, out.ready_to_commit), (4, false));
    ///
    /// let late = Chunk { offset: 3, ..chunk };
    /// assert_eq!(
    ///     out.record.begin_append(&late, StagingUsage::default(), 3, &limits),
    ///     Err(ResumableError::OffsetMismatch { expected: 4, provided: 3 })
    /// );
    /// ```
    pub fn begin_append(
        &self,
        chunk: &Chunk,
        usage: StagingUsage,
        now: i64,
        limits: &ResumableLimits,
    ) -> Result<AppendPlan, ResumableError> {
        self.check_live(now)?;
        let declared = match chunk.body {
            BodyFraming::None => Some(0),
            BodyFraming::Length(n) => Some(n),
            BodyFraming::Chunked => None,
        };
        match &self.state {
            UploadState::Active => {}
            UploadState::Committing { .. } => return Err(ResumableError::UploadBusy),
            UploadState::Completed { .. } => {
                if chunk.offset == self.offset && declared == Some(0) {
                    return Ok(AppendPlan {
                        offset: self.offset,
                        length: self.length,
                        max_bytes: 0,
                        overflow: ResumableError::UploadCompleted,
                        complete: chunk.complete,
                        already_complete: true,
                    });
                }
                return Err(ResumableError::UploadCompleted);
            }
        }
        if chunk.offset != self.offset {
            return Err(ResumableError::OffsetMismatch {
                expected: self.offset,
                provided: chunk.offset,
            });
        }
        let length = match (self.length, chunk.length) {
            (UploadLength::Known(l), Some(n)) if l != n => {
                return Err(ResumableError::InconsistentLength)
            }
            (known @ UploadLength::Known(_), _) => known,
            (UploadLength::Deferred, Some(n)) if n < self.offset => {
                return Err(ResumableError::InconsistentLength)
            }
            (UploadLength::Deferred, Some(n)) if n > limits.max_upload_bytes => {
                return Err(ResumableError::TooLarge {
                    limit: limits.max_upload_bytes,
                })
            }
            (UploadLength::Deferred, Some(n)) => UploadLength::Known(n),
            (UploadLength::Deferred, None) => UploadLength::Deferred,
        };
        // The three bounds on this request's bytes; the smallest decides
        // both `max_bytes` and the error a larger body gets.
        let mut bounds = Vec::with_capacity(3);
        if let UploadLength::Known(l) = length {
            bounds.push((
                l.saturating_sub(self.offset),
                ResumableError::TooLarge { limit: l },
            ));
        }
        bounds.push((
            limits.max_upload_bytes.saturating_sub(self.offset),
            ResumableError::TooLarge {
                limit: limits.max_upload_bytes,
            },
        ));
        bounds.push((
            limits.max_staged_bytes.saturating_sub(usage.staged_bytes),
            ResumableError::StagingFull {
                limit: limits.max_staged_bytes,
            },
        ));
        let (max_bytes, overflow) = bounds
            .into_iter()
            .min_by_key(|&(room, _)| room)
            .unwrap_or((0, ResumableError::UploadBusy));
        if let Some(n) = declared {
            if n > max_bytes {
                return Err(overflow);
            }
        }
        Ok(AppendPlan {
            offset: self.offset,
            length,
            max_bytes,
            overflow,
            complete: chunk.complete,
            already_complete: false,
        })
    }

    /// The record after the append planned by `plan`, once its body ended
    /// (`received` bytes written at `plan.offset` and, in durable mode,
    /// synced) and its checksum, if any, was checked.
    ///
    /// A checksum mismatch is `Err(ChecksumMismatch)` (460) and an
    /// unverifiable checksum changes nothing: the offset does not move,
    /// and the bytes past it are overwritten by the next append. An
    /// interrupted body advances the offset by what arrived. An IETF
    /// request that completes the upload sets a deferred length to the
    /// final offset, and is `Err(InconsistentLength)` if a declared length
    /// differs.
    pub fn finish_append(
        &self,
        plan: &AppendPlan,
        received: u64,
        body: BodyEnd,
        checksum: ChecksumOutcome,
        now: i64,
        limits: &ResumableLimits,
    ) -> Result<AppendOutcome, ResumableError> {
        let unchanged = |ready| AppendOutcome {
            record: self.clone(),
            changed: false,
            ready_to_commit: ready,
        };
        if plan.already_complete {
            return Ok(unchanged(false));
        }
        plan.check_received(received)?;
        match checksum {
            ChecksumOutcome::Mismatched => return Err(ResumableError::ChecksumMismatch),
            ChecksumOutcome::Unverifiable => return Ok(unchanged(false)),
            ChecksumOutcome::NotRequested | ChecksumOutcome::Matched => {}
        }
        let offset = plan.offset.checked_add(received).ok_or(plan.overflow)?;
        let mut length = plan.length;
        let ready = match (body, self.protocol, plan.complete) {
            (BodyEnd::Interrupted, _, _) => false,
            (BodyEnd::Complete, Protocol::Ietf(_), Some(true)) => {
                match length {
                    UploadLength::Known(l) if l != offset => {
                        return Err(ResumableError::InconsistentLength)
                    }
                    UploadLength::Known(_) => {}
                    UploadLength::Deferred => length = UploadLength::Known(offset),
                }
                true
            }
            // Every declared byte is in: nothing more can be appended, so
            // the upload is complete even if the request said `?0`
            // (tus-js-client's `ietf-draft-05` does when its file source
            // has not signalled its end with the last chunk).
            (BodyEnd::Complete, Protocol::Ietf(_), _) => length == UploadLength::Known(offset),
            (BodyEnd::Complete, Protocol::Tus, _) => length == UploadLength::Known(offset),
        };
        if received == 0 && length == self.length && !ready {
            return Ok(unchanged(false));
        }
        let mut record = self.clone();
        record.offset = offset;
        record.length = length;
        record.expires_at = now.saturating_add(secs(limits.expiry_secs));
        record.seq = record.seq.saturating_add(1);
        Ok(AppendOutcome {
            record,
            changed: true,
            ready_to_commit: ready,
        })
    }

    /// The record to write before linking the data file into the target
    /// directory as `name` (the first free collision candidate, or the
    /// exact name for `Replace` / `CreateOnly`). Called again with the
    /// next candidate when `linkat` finds the name taken.
    ///
    /// Requires all bytes in (`length == Known(offset)`); else
    /// `Err(InconsistentLength)`. A name that is not a sanitized file name
    /// → `Err(InvalidFilename)`.
    pub fn begin_commit(&self, name: &str) -> Result<UploadRecord, ResumableError> {
        if self.length != UploadLength::Known(self.offset) {
            return Err(ResumableError::InconsistentLength);
        }
        match self.state {
            UploadState::Active | UploadState::Committing { .. } => {}
            UploadState::Completed { .. } => return Err(ResumableError::UploadCompleted),
        }
        if !is_valid_name(name) {
            return Err(ResumableError::InvalidFilename);
        }
        let mut record = self.clone();
        record.state = UploadState::Committing {
            name: name.to_owned(),
        };
        record.seq = record.seq.saturating_add(1);
        Ok(record)
    }

    /// The record after the link and the directory fsync: `Completed`,
    /// kept `completed_ttl_secs`. `None` unless the record is `Committing`
    /// (or already `Completed`, which is returned unchanged).
    pub fn finish_commit(&self, now: i64, limits: &ResumableLimits) -> Option<UploadRecord> {
        match &self.state {
            UploadState::Active => None,
            UploadState::Completed { .. } => Some(self.clone()),
            UploadState::Committing { name } => {
                let mut record = self.clone();
                record.state = UploadState::Completed { name: name.clone() };
                record.expires_at = now.saturating_add(secs(limits.completed_ttl_secs));
                record.seq = record.seq.saturating_add(1);
                Some(record)
            }
        }
    }

    /// What a DELETE removes (tus termination, IETF cancellation): an
    /// unfinished upload's record and data, or only a completed upload's
    /// record (never the committed file). A commit in progress → 423.
    pub fn terminate(&self) -> Result<Removal, ResumableError> {
        match self.state {
            UploadState::Active => Ok(Removal::RecordAndData),
            UploadState::Committing { .. } => Err(ResumableError::UploadBusy),
            UploadState::Completed { .. } => Ok(Removal::RecordOnly),
        }
    }

    /// What the sweeper does with this record at `now`. An interrupted
    /// commit is resumed whatever the time (run the sweep once at startup).
    ///
    /// ```
    /// use ringdrop::resumable::*;
    /// # let meta = Metadata::default();
    /// # let new = NewUpload { id: UploadId::from_random([1; 16]), protocol: Protocol::Tus,
    /// #     target_dir: "", name: None, commit_mode: CommitMode::NewName,
    /// #     length: UploadLength::Deferred, owner: "anonymous", metadata: &meta };
    /// let limits = ResumableLimits::default();
    /// let rec = UploadRecord::create(&new, StagingUsage::default(), 0, &limits).unwrap();
    /// assert_eq!(rec.sweep(rec.expires_at - 1), SweepAction::Keep);
    /// assert_eq!(rec.sweep(rec.expires_at), SweepAction::Remove(Removal::RecordAndData));
    /// ```
    pub fn sweep(&self, now: i64) -> SweepAction {
        match &self.state {
            UploadState::Committing { name } => SweepAction::ResumeCommit { name: name.clone() },
            _ if now < self.expires_at => SweepAction::Keep,
            UploadState::Active => SweepAction::Remove(Removal::RecordAndData),
            UploadState::Completed { .. } => SweepAction::Remove(Removal::RecordOnly),
        }
    }

    /// True while the upload counts against [`StagingUsage`] (not yet
    /// committed).
    pub fn is_unfinished(&self) -> bool {
        !matches!(self.state, UploadState::Completed { .. })
    }

    /// The ROOT-relative path of the final file, once a name is chosen.
    pub fn final_path(&self) -> Option<String> {
        let name = match &self.state {
            UploadState::Active => return None,
            UploadState::Committing { name } | UploadState::Completed { name } => name,
        };
        Some(if self.target_dir.is_empty() {
            name.clone()
        } else {
            format!("{}/{}", self.target_dir, name)
        })
    }
}

/// Seconds as `i64`, saturating (limits are `u64`).
fn secs(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}

/// A ROOT-relative directory path as [`decode_target`] produces it (no
/// leading or trailing `/`, no empty, `.` or `..` segment, no control
/// character or backslash), not inside the staging directory.
///
/// [`decode_target`]: crate::http::decode_target
pub(crate) fn is_valid_target_dir(dir: &str) -> bool {
    if dir.is_empty() {
        return true;
    }
    dir.len() <= MAX_TARGET_DIR_BYTES
        && dir.split('/').all(|s| !matches!(s, "" | "." | ".."))
        && !dir.chars().any(|c| c == '\\' || c.is_control())
        && dir.split('/').next() != Some(UPLOADS_DIR)
}

/// A file name that sanitizing leaves as it is.
pub(crate) fn is_valid_name(name: &str) -> bool {
    name.len() <= MAX_NAME_BYTES && matches!(sanitize_filename(name), Ok(Some(n)) if n == name)
}

/// An owner identity: at most [`MAX_OWNER_BYTES`], no control characters.
pub(crate) fn is_valid_owner(owner: &str) -> bool {
    owner.len() <= MAX_OWNER_BYTES && !owner.chars().any(char::is_control)
}

#[cfg(test)]
mod tests;
