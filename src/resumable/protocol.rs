//! [`Protocol`]: which resumable-upload protocol a request (or an upload)
//! speaks, and what differs between the IETF draft's interop versions.

/// A resumable-upload protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// tus 1.0.0 (`Tus-Resumable: 1.0.0`).
    Tus,
    /// The IETF draft "Resumable Uploads for HTTP", at one interop version.
    Ietf(IetfDraft),
}

impl Protocol {
    /// True for [`Protocol::Tus`].
    pub fn is_tus(self) -> bool {
        matches!(self, Protocol::Tus)
    }
}

/// An interop version of draft-ietf-httpbis-resumable-upload
/// (`Upload-Draft-Interop-Version`), or none (a client of the final RFC).
///
/// Only what this server's behaviour depends on differs between variants;
/// the table is in the module doc of [`resumable`](super).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IetfDraft {
    /// Interop 3, draft -01 (Apple URLSession on iOS 17): completeness is
    /// the inverse `Upload-Incomplete` field.
    Interop3,
    /// Interop 4, draft -02: `Upload-Complete`.
    Interop4,
    /// Interop 5, draft -03 (tus-js-client `ietf-draft-03`): progress 104s,
    /// HEAD may answer 200.
    Interop5,
    /// Interop 6, drafts -04/-05 (tus-js-client `ietf-draft-05`): PATCH as
    /// `application/partial-upload`, `Upload-Limit` with `expires`,
    /// `Upload-Length`, problem types.
    Interop6,
    /// Interop 7, drafts -06 to -08: `Upload-Limit` says `max-age`, append
    /// responses need only `Upload-Complete`.
    Interop7,
    /// Interop 8, drafts -09 to the current one: `Accept-Patch` in OPTIONS,
    /// `Upload-Limit` announced wherever limits apply.
    Interop8,
    /// No `Upload-Draft-Interop-Version` at all, but `Upload-Complete`: a
    /// client of the final RFC. Served like the newest draft, except that a
    /// draft server must not send `104` to it.
    Final,
}

impl IetfDraft {
    /// The interop version this server treats as current. Bump it (and add
    /// a variant) when the draft bumps its own.
    pub const CURRENT: IetfDraft = IetfDraft::Interop8;

    /// The draft for an `Upload-Draft-Interop-Version` value, if supported.
    ///
    /// ```
    /// use ringdrop::resumable::IetfDraft;
    /// assert_eq!(IetfDraft::from_interop(6), Some(IetfDraft::Interop6));
    /// assert_eq!(IetfDraft::from_interop(2), None);
    /// assert_eq!(IetfDraft::from_interop(9), None);
    /// ```
    pub fn from_interop(version: u64) -> Option<IetfDraft> {
        match version {
            3 => Some(IetfDraft::Interop3),
            4 => Some(IetfDraft::Interop4),
            5 => Some(IetfDraft::Interop5),
            6 => Some(IetfDraft::Interop6),
            7 => Some(IetfDraft::Interop7),
            8 => Some(IetfDraft::Interop8),
            _ => None,
        }
    }

    /// The `Upload-Draft-Interop-Version` value, `None` for [`IetfDraft::Final`].
    pub fn interop(self) -> Option<u8> {
        match self {
            IetfDraft::Interop3 => Some(3),
            IetfDraft::Interop4 => Some(4),
            IetfDraft::Interop5 => Some(5),
            IetfDraft::Interop6 => Some(6),
            IetfDraft::Interop7 => Some(7),
            IetfDraft::Interop8 => Some(8),
            IetfDraft::Final => None,
        }
    }

    /// Completeness travels as `Upload-Incomplete` (inverted) rather than
    /// `Upload-Complete`.
    pub fn uses_upload_incomplete(self) -> bool {
        self == IetfDraft::Interop3
    }

    /// A `104 (Upload Resumption Supported)` may be sent: every draft
    /// version, never to a request without one (draft "Draft Version
    /// Identification").
    pub fn sends_104(self) -> bool {
        self != IetfDraft::Final
    }

    /// How `Upload-Limit` names the remaining lifetime: `expires` in
    /// interop 6, `max-age` from 7; `None` before 6 (no `Upload-Limit`).
    pub fn lifetime_key(self) -> Option<&'static str> {
        match self {
            IetfDraft::Interop3 | IetfDraft::Interop4 | IetfDraft::Interop5 => None,
            IetfDraft::Interop6 => Some("expires"),
            IetfDraft::Interop7 | IetfDraft::Interop8 | IetfDraft::Final => Some("max-age"),
        }
    }

    /// The status of a successful offset retrieval (HEAD): 204 as in every
    /// draft's examples.
    pub fn head_status(self) -> u16 {
        204
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interop_round_trips() {
        for v in 0..=20u64 {
            if let Some(d) = IetfDraft::from_interop(v) {
                assert_eq!(d.interop().map(u64::from), Some(v));
                assert!(d.sends_104());
            }
        }
        assert_eq!(IetfDraft::Final.interop(), None);
        assert!(!IetfDraft::Final.sends_104());
        assert_eq!(IetfDraft::CURRENT.lifetime_key(), Some("max-age"));
        assert_eq!(IetfDraft::Interop6.lifetime_key(), Some("expires"));
        assert!(IetfDraft::Interop3.uses_upload_incomplete());
        assert!(!IetfDraft::Interop4.uses_upload_incomplete());
    }
}
