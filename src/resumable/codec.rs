//! The upload record's on-disk encoding: compact, versioned, self-checking.
//!
//! ```text
//! offset size  field (integers little-endian)
//!      0    8  magic "RDUPLD\r\n" (the CR LF catches text-mode mangling)
//!      8    2  format version = 1
//!     10    2  total length of the encoding, digest included
//!     12   16  upload id
//!     28    1  protocol: 0 tus, 1 IETF
//!     29    1  IETF interop version (0: none / tus)
//!     30    1  state: 0 active, 1 committing, 2 completed
//!     31    1  commit mode: 0 new name, 1 replace, 2 create-only
//!     32    1  length kind: 0 deferred, 1 known
//!     33    7  reserved, zero
//!     40    8  length (0 when deferred)
//!     48    8  offset
//!     56    8  created_at (i64, Unix seconds)
//!     64    8  expires_at (i64, Unix seconds)
//!     72    8  seq
//!     80   10  byte lengths of the five strings below (u16 each)
//!     90    …  target_dir, filename, final name (empty while active),
//!              owner, metadata — UTF-8, in that order
//!    end-32 32  SHA-256 of every byte before it
//! ```
//!
//! [`decode`](UploadRecord::decode) checks, in order: length, magic,
//! version, digest, then every field's invariants, and never panics; a
//! torn write, a foreign file or a flipped bit is an error, never a
//! record. The largest record is under [`RECORD_MAX_BYTES`].

use sha2::{Digest as _, Sha256};

use super::error::RecordError;
use super::id::UploadId;
use super::limits::{MAX_METADATA_BYTES, MAX_OWNER_BYTES, MAX_TARGET_DIR_BYTES, RECORD_MAX_BYTES};
use super::metadata::Metadata;
use super::protocol::{IetfDraft, Protocol};
use super::record::{
    is_valid_name, is_valid_owner, is_valid_target_dir, CommitMode, UploadLength, UploadRecord,
    UploadState,
};

/// The first 8 bytes of every record file.
pub const RECORD_MAGIC: [u8; 8] = *b"RDUPLD\r\n";

/// The format version this build writes and reads.
pub const RECORD_VERSION: u16 = 1;

/// Bytes before the strings.
const FIXED_BYTES: usize = 90;
/// The SHA-256 at the end.
const DIGEST_BYTES: usize = 32;

impl UploadRecord {
    /// Encodes the record. `Err` if it breaks an invariant (which the
    /// transitions never produce) or would exceed [`RECORD_MAX_BYTES`].
    ///
    /// ```
    /// use ringdrop::resumable::*;
    /// # let meta = Metadata::default();
    /// # let new = NewUpload { id: UploadId::from_random([1; 16]), protocol: Protocol::Tus,
    /// #     target_dir: "d", name: Some("a.txt"), commit_mode: CommitMode::NewName,
    /// #     length: UploadLength::Known(5), owner: "anonymous", metadata: &meta };
    /// let rec = UploadRecord::create(&new, StagingUsage::default(), 0, &ResumableLimits::default()).unwrap();
    /// let bytes = rec.encode().unwrap();
    /// assert_eq!(UploadRecord::decode(&bytes), Ok(rec));
    /// let mut torn = bytes.clone();
    /// torn[50] ^= 1;
    /// assert_eq!(UploadRecord::decode(&torn), Err(RecordError::DigestMismatch));
    /// ```
    pub fn encode(&self) -> Result<Vec<u8>, RecordError> {
        self.validate()?;
        let final_name = match &self.state {
            UploadState::Active => "",
            UploadState::Committing { name } | UploadState::Completed { name } => name,
        };
        let strings: [&str; 5] = [
            &self.target_dir,
            &self.filename,
            final_name,
            &self.owner,
            &self.metadata,
        ];
        let total = FIXED_BYTES + strings.iter().map(|s| s.len()).sum::<usize>() + DIGEST_BYTES;
        if total > RECORD_MAX_BYTES {
            return Err(RecordError::TooLarge);
        }
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&RECORD_MAGIC);
        out.extend_from_slice(&RECORD_VERSION.to_le_bytes());
        out.extend_from_slice(
            &u16::try_from(total)
                .map_err(|_| RecordError::TooLarge)?
                .to_le_bytes(),
        );
        out.extend_from_slice(self.id.as_bytes());
        let (protocol, interop) = match self.protocol {
            Protocol::Tus => (0u8, 0u8),
            Protocol::Ietf(draft) => (1, draft.interop().unwrap_or(0)),
        };
        out.push(protocol);
        out.push(interop);
        out.push(match self.state {
            UploadState::Active => 0,
            UploadState::Committing { .. } => 1,
            UploadState::Completed { .. } => 2,
        });
        out.push(match self.commit_mode {
            CommitMode::NewName => 0,
            CommitMode::Replace => 1,
            CommitMode::CreateOnly => 2,
        });
        let (kind, length) = match self.length {
            UploadLength::Deferred => (0u8, 0u64),
            UploadLength::Known(n) => (1, n),
        };
        out.push(kind);
        out.extend_from_slice(&[0; 7]);
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.created_at.to_le_bytes());
        out.extend_from_slice(&self.expires_at.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        for s in strings {
            // Every string is bounded far below 64 KiB (validate).
            let len = u16::try_from(s.len()).map_err(|_| RecordError::TooLarge)?;
            out.extend_from_slice(&len.to_le_bytes());
        }
        for s in strings {
            out.extend_from_slice(s.as_bytes());
        }
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        debug_assert_eq!(out.len(), total);
        Ok(out)
    }

    /// Decodes a record file's bytes. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<UploadRecord, RecordError> {
        if bytes.len() < FIXED_BYTES + DIGEST_BYTES {
            return Err(if bytes.starts_with(&RECORD_MAGIC[..bytes.len().min(8)]) {
                RecordError::Truncated
            } else {
                RecordError::BadMagic
            });
        }
        if bytes[..8] != RECORD_MAGIC {
            return Err(RecordError::BadMagic);
        }
        let mut r = Reader { bytes, at: 8 };
        let version = r.u16()?;
        if version != RECORD_VERSION {
            return Err(RecordError::UnsupportedVersion { found: version });
        }
        let total = usize::from(r.u16()?);
        if total != bytes.len() || total > RECORD_MAX_BYTES {
            return Err(RecordError::Truncated);
        }
        let (body, digest) = bytes.split_at(total - DIGEST_BYTES);
        if Sha256::digest(body)[..] != digest[..] {
            return Err(RecordError::DigestMismatch);
        }
        let invalid = |field| RecordError::InvalidField { field };
        let id = UploadId::from_random(r.array::<16>()?);
        let protocol_byte = r.u8()?;
        let interop = r.u8()?;
        let protocol = match (protocol_byte, interop) {
            (0, 0) => Protocol::Tus,
            (1, 0) => Protocol::Ietf(IetfDraft::Final),
            (1, v) => {
                Protocol::Ietf(IetfDraft::from_interop(u64::from(v)).ok_or(invalid("interop"))?)
            }
            _ => return Err(invalid("protocol")),
        };
        let state_byte = r.u8()?;
        let commit_mode = match r.u8()? {
            0 => CommitMode::NewName,
            1 => CommitMode::Replace,
            2 => CommitMode::CreateOnly,
            _ => return Err(invalid("commit_mode")),
        };
        let length_kind = r.u8()?;
        if r.array::<7>()? != [0; 7] {
            return Err(invalid("reserved"));
        }
        let length_value = r.u64()?;
        let length = match (length_kind, length_value) {
            (0, 0) => UploadLength::Deferred,
            (1, n) => UploadLength::Known(n),
            _ => return Err(invalid("length")),
        };
        let offset = r.u64()?;
        let created_at = r.i64()?;
        let expires_at = r.i64()?;
        let seq = r.u64()?;
        let mut lens = [0usize; 5];
        for len in &mut lens {
            *len = usize::from(r.u16()?);
        }
        let strings_end =
            r.at.checked_add(lens.iter().sum::<usize>())
                .ok_or(RecordError::Truncated)?;
        if strings_end != body.len() {
            return Err(RecordError::Truncated);
        }
        let mut strings: [String; 5] = Default::default();
        let names = ["target_dir", "filename", "final_name", "owner", "metadata"];
        for ((slot, len), name) in strings.iter_mut().zip(lens).zip(names) {
            *slot = String::from_utf8(r.take(len)?.to_vec()).map_err(|_| invalid(name))?;
        }
        let [target_dir, filename, final_name, owner, metadata] = strings;
        let state = match state_byte {
            0 if final_name.is_empty() => UploadState::Active,
            1 => UploadState::Committing { name: final_name },
            2 => UploadState::Completed { name: final_name },
            _ => return Err(invalid("state")),
        };
        let record = UploadRecord {
            id,
            protocol,
            target_dir,
            filename,
            commit_mode,
            length,
            offset,
            created_at,
            expires_at,
            owner,
            metadata,
            state,
            seq,
        };
        record.validate()?;
        Ok(record)
    }

    /// The invariants every encoded record satisfies.
    fn validate(&self) -> Result<(), RecordError> {
        let invalid = |field| Err(RecordError::InvalidField { field });
        if !is_valid_target_dir(&self.target_dir) || self.target_dir.len() > MAX_TARGET_DIR_BYTES {
            return invalid("target_dir");
        }
        if !is_valid_name(&self.filename) {
            return invalid("filename");
        }
        match &self.state {
            UploadState::Active => {}
            UploadState::Committing { name } | UploadState::Completed { name } => {
                if !is_valid_name(name) {
                    return invalid("final_name");
                }
                if self.length != UploadLength::Known(self.offset) {
                    return invalid("state");
                }
            }
        }
        if !is_valid_owner(&self.owner) || self.owner.len() > MAX_OWNER_BYTES {
            return invalid("owner");
        }
        if self.metadata.len() > MAX_METADATA_BYTES
            || Metadata::parse(self.metadata.as_bytes(), MAX_METADATA_BYTES).is_err()
        {
            return invalid("metadata");
        }
        if let UploadLength::Known(l) = self.length {
            if self.offset > l {
                return invalid("offset");
            }
        }
        Ok(())
    }
}

/// A bounds-checked cursor over the record's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        let end = self.at.checked_add(n).ok_or(RecordError::Truncated)?;
        let slice = self.bytes.get(self.at..end).ok_or(RecordError::Truncated)?;
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, RecordError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, RecordError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, RecordError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
}
