//! The RFC 9530 fields: `Content-Digest` / `Repr-Digest` (a Dictionary of
//! algorithm → Byte Sequence) and `Want-Content-Digest` / `Want-Repr-Digest`
//! (a Dictionary of algorithm → Integer preference 0–10), parsed and
//! formatted.
//!
//! Rules (RFC 9530 §2–4, and where it leaves the choice to the recipient):
//!
//! * Field lines with the same name are joined with `", "` and parsed as one
//!   value (RFC 8941 §4.2, RFC 9110 §5.3); empty lines add nothing; a key
//!   given twice keeps its last value (RFC 8941 §3.2).
//! * Keys other than `sha-256` and `sha-512` are ignored, whatever their
//!   value — including the algorithms RFC 9530 registers as insecure (`md5`,
//!   `sha`, `crc32c`, …). A `Content-Digest` naming only such algorithms is
//!   therefore an empty set: the body is stored unchecked, as it would be
//!   without the field (RFC 9530 §2: "A recipient MAY ignore any or all
//!   digests").
//! * Every supported digest a request gives is verified (not only the
//!   strongest): a client that sent two digests meant both, and the extra
//!   hash costs nothing when the client sends one.
//! * A field that is not a valid Dictionary, or a supported key whose value
//!   is not a Byte Sequence of the right length, is refused (400) rather
//!   than ignored: the client asked for an integrity check it would not get.
//! * A preference field (`Want-…`) that does not parse is ignored by the
//!   callers here: a download is not refused over a preference.
#![forbid(unsafe_code)]

use std::borrow::Cow;

use base64::Engine as _;

use super::algorithm::{Algorithm, MAX_DIGEST_BYTES};
use super::error::{DigestError, DigestField};
use super::hasher::DigestValue;
use super::structured::{parse_dictionary, BareItem, Member, MemberValue, SfError};

/// Bytes of one digest field, its lines joined: a `sha-256` plus a
/// `sha-512` member take under 150 bytes, so this leaves room for a few
/// unknown algorithms and parameters. Longer → 431.
pub const MAX_DIGEST_FIELD_BYTES: usize = 4096;

/// Members of one digest field, its lines joined (RFC 9530 registers
/// ten algorithm keys). More → 431.
pub const MAX_DIGEST_FIELD_MEMBERS: usize = 16;

/// The highest preference a `Want-…-Digest` member may carry (RFC 9530 §4).
pub const MAX_PREFERENCE: i64 = 10;

/// Standard base64 as RFC 8941 §4.2.7 asks parsers to read it: padding
/// optional, non-zero trailing bits tolerated.
const BASE64_LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes base64 text that must hold exactly one `algorithm` digest.
pub(crate) fn decode_digest(algorithm: Algorithm, text: &[u8]) -> Option<DigestValue> {
    // Room for one more byte than the longest digest, so a too-long value
    // is reported as a wrong length rather than cut.
    let mut out = [0u8; MAX_DIGEST_BYTES + 3];
    // Base64 of a 64-byte digest is 88 characters; anything much longer
    // cannot be a digest, so it is not decoded at all.
    if text.len() > 4 * out.len() / 3 + 4 {
        return None;
    }
    let n = BASE64_LENIENT.decode_slice(text, &mut out).ok()?;
    DigestValue::new(algorithm, out.get(..n)?)
}

/// Standard padded base64 of `bytes`, appended to `out`.
pub(crate) fn encode_base64_into(out: &mut String, bytes: &[u8]) {
    base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
}

/// At most one digest per [`Algorithm`], held inline.
///
/// ```
/// use ringdrop::digest::{Algorithm, DigestSet, Hasher};
/// let mut set = DigestSet::default();
/// set.insert(Hasher::new(Algorithm::Sha256).finish());
/// assert_eq!(
///     set.to_field_value(),
///     "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
/// );
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestSet {
    /// Indexed by [`slot`].
    slots: [Option<DigestValue>; 3],
}

fn slot(algorithm: Algorithm) -> usize {
    match algorithm {
        Algorithm::Sha1 => 0,
        Algorithm::Sha256 => 1,
        Algorithm::Sha512 => 2,
    }
}

impl DigestSet {
    /// Adds `value`, replacing any digest of the same algorithm.
    pub fn insert(&mut self, value: DigestValue) {
        self.slots[slot(value.algorithm())] = Some(value);
    }

    /// The digest of `algorithm`, if held.
    pub fn get(&self, algorithm: Algorithm) -> Option<&DigestValue> {
        self.slots[slot(algorithm)].as_ref()
    }

    /// The digests held, weakest algorithm first.
    pub fn iter(&self) -> impl Iterator<Item = &DigestValue> {
        self.slots.iter().flatten()
    }

    /// True when no digest is held.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// The `Content-Digest` / `Repr-Digest` value listing every held digest
    /// of an HTTP algorithm (`sha-256=:…:, sha-512=:…:`); empty when there
    /// is none.
    pub fn to_field_value(&self) -> String {
        let mut out = String::new();
        for value in self.iter() {
            let Some(key) = value.algorithm().http_key() else {
                continue;
            };
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(key);
            out.push_str("=:");
            encode_base64_into(&mut out, value.as_bytes());
            out.push(':');
        }
        out
    }
}

/// The field value RFC 8941 §4.2 parses: every line of `field` joined with
/// `", "` (RFC 9110 §5.3), so a member may not be split across lines but a
/// string may contain what looks like a line's end. Lines that are empty
/// (or only whitespace) add no member. One line is used in place; more are
/// copied into one buffer, at most [`MAX_DIGEST_FIELD_BYTES`] long.
fn combine<'a>(
    field: DigestField,
    lines: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Cow<'a, [u8]>, DigestError> {
    let too_large = DigestError::FieldTooLarge {
        field,
        limit: MAX_DIGEST_FIELD_BYTES,
    };
    let mut value: Cow<'a, [u8]> = Cow::Borrowed(&[]);
    for line in lines {
        let line = crate::syntax::trim_ows(line);
        if line.is_empty() {
            continue;
        }
        if value.is_empty() {
            value = Cow::Borrowed(line);
        } else {
            let joined = value.to_mut();
            joined.extend_from_slice(b", ");
            joined.extend_from_slice(line);
        }
        if value.len() > MAX_DIGEST_FIELD_BYTES {
            return Err(too_large);
        }
    }
    Ok(value)
}

/// The members of a combined field value, with the field's limits.
fn members(field: DigestField, value: &[u8]) -> Result<Vec<Member<'_>>, DigestError> {
    let mut members = Vec::new();
    parse_dictionary(value, MAX_DIGEST_FIELD_MEMBERS, &mut members).map_err(|e| match e {
        SfError::Malformed => DigestError::Malformed { field },
        SfError::TooManyMembers => DigestError::TooManyMembers {
            field,
            limit: MAX_DIGEST_FIELD_MEMBERS,
        },
    })?;
    Ok(members)
}

/// Parses a `Content-Digest` or `Repr-Digest` field (all its lines, in
/// order) into the digests of the supported algorithms it gives. Unknown
/// algorithms are ignored; no line at all, or only unknown algorithms, is
/// an empty set.
///
/// ```
/// use ringdrop::digest::{parse_digest_field, Algorithm, DigestError, DigestField};
/// let f = DigestField::ContentDigest;
/// let set = parse_digest_field(f, [&b"md5=:AAAA:, sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"[..]]).unwrap();
/// assert_eq!(set.get(Algorithm::Sha256).unwrap().as_bytes()[0], 0xe3);
/// assert!(parse_digest_field(f, [&b"md5=:AAAA:"[..]]).unwrap().is_empty());
/// assert_eq!(parse_digest_field(f, [&b"sha-256=:AAAA:"[..]]), Err(DigestError::Malformed { field: f }));
/// ```
pub fn parse_digest_field<'a>(
    field: DigestField,
    lines: impl IntoIterator<Item = &'a [u8]>,
) -> Result<DigestSet, DigestError> {
    let value = combine(field, lines)?;
    let mut set = DigestSet::default();
    for member in members(field, &value)? {
        let Some(algorithm) = Algorithm::from_http_key(member.key) else {
            continue;
        };
        let MemberValue::Item(BareItem::ByteSequence(text)) = member.value else {
            return Err(DigestError::Malformed { field });
        };
        let value = decode_digest(algorithm, text).ok_or(DigestError::Malformed { field })?;
        set.insert(value);
    }
    Ok(set)
}

/// The preferences of a `Want-Content-Digest` or `Want-Repr-Digest` field
/// for the supported algorithms: 1 (least) to 10 (most preferred); 0 and
/// absent both mean "not acceptable".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Preferences {
    /// Indexed by [`slot`]; SHA-1 always 0.
    weights: [u8; 3],
}

impl Preferences {
    /// The preference for `algorithm` (0 = not acceptable).
    pub fn weight(&self, algorithm: Algorithm) -> u8 {
        self.weights[slot(algorithm)]
    }

    /// True when no supported algorithm is acceptable.
    pub fn is_empty(&self) -> bool {
        self.weights.iter().all(|&w| w == 0)
    }

    /// The digest to answer with: of the held `available` digests, the one
    /// with the highest non-zero preference; on a tie, SHA-256 (listed first
    /// in [`Algorithm::HTTP`]). `None` when no held digest is acceptable:
    /// the response then carries no digest field (RFC 9530 §4 lets a server
    /// ignore the preference).
    ///
    /// ```
    /// use ringdrop::digest::{parse_want_field, Algorithm, DigestField, DigestSet, Hasher};
    /// let mut held = DigestSet::default();
    /// held.insert(Hasher::new(Algorithm::Sha256).finish());
    /// let want = parse_want_field(DigestField::WantReprDigest, [&b"sha-512=10, sha-256=1"[..]]).unwrap();
    /// assert_eq!(want.choose(&held).unwrap().algorithm(), Algorithm::Sha256);
    /// let want = parse_want_field(DigestField::WantReprDigest, [&b"sha-512=3"[..]]).unwrap();
    /// assert!(want.choose(&held).is_none());
    /// ```
    pub fn choose<'s>(&self, available: &'s DigestSet) -> Option<&'s DigestValue> {
        let mut best: Option<(u8, &DigestValue)> = None;
        for algorithm in Algorithm::HTTP {
            let weight = self.weight(algorithm);
            let Some(value) = available.get(algorithm) else {
                continue;
            };
            if weight > 0 && best.map_or(true, |(w, _)| weight > w) {
                best = Some((weight, value));
            }
        }
        best.map(|(_, value)| value)
    }
}

/// Parses a `Want-Content-Digest` or `Want-Repr-Digest` field (all its
/// lines, in order). Unknown algorithms are ignored; a supported key whose
/// value is not an Integer 0–10 makes the field malformed.
pub fn parse_want_field<'a>(
    field: DigestField,
    lines: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Preferences, DigestError> {
    let value = combine(field, lines)?;
    let mut preferences = Preferences::default();
    for member in members(field, &value)? {
        let Some(algorithm) = Algorithm::from_http_key(member.key) else {
            continue;
        };
        let MemberValue::Item(BareItem::Integer(weight)) = member.value else {
            return Err(DigestError::Malformed { field });
        };
        if !(0..=MAX_PREFERENCE).contains(&weight) {
            return Err(DigestError::Malformed { field });
        }
        preferences.weights[slot(algorithm)] =
            u8::try_from(weight).map_err(|_| DigestError::Malformed { field })?;
    }
    Ok(preferences)
}

/// The digest field value to send in answer to a `Want-…-Digest` request
/// field (its lines, possibly none) for a representation whose digests
/// `held` are known: one member, `sha-256=:…:` or `sha-512=:…:`, or `None`
/// (no preference sent, a preference that does not parse, or no held
/// digest acceptable).
///
/// ```
/// use ringdrop::digest::{answer_want, Algorithm, DigestSet, Hasher};
/// let mut held = DigestSet::default();
/// held.insert(Hasher::new(Algorithm::Sha256).finish());
/// assert_eq!(
///     answer_want([&b"sha-256=5"[..]], &held).as_deref(),
///     Some("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
/// );
/// assert_eq!(answer_want([], &held), None);
/// ```
pub fn answer_want<'a>(
    want_lines: impl IntoIterator<Item = &'a [u8]>,
    held: &DigestSet,
) -> Option<String> {
    let mut lines = want_lines.into_iter().peekable();
    lines.peek()?;
    // The field kind only names the field in errors, which are ignored here.
    let preferences = parse_want_field(DigestField::WantReprDigest, lines).ok()?;
    let chosen = preferences.choose(held)?;
    let mut one = DigestSet::default();
    one.insert(*chosen);
    Some(one.to_field_value())
}

#[cfg(test)]
mod tests;
