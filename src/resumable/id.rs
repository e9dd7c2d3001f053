//! [`UploadId`]: 128 random bits naming one upload, its URL and its files
//! in the staging directory.

use std::fmt;

use crate::syntax::{decode_hex_array, encode_hex_into};

/// The hidden staging directory directly under ROOT. The server never
/// lists, serves or writes it through ordinary routes; its URL path is the
/// prefix of every upload URL (`/.ringdrop-uploads/<id>`), which only the
/// resumable routes answer.
pub const UPLOADS_DIR: &str = ".ringdrop-uploads";

/// One upload's identity: 16 random bytes (the caller draws them from the
/// OS; the core takes them as an argument), written as 32 lowercase hex
/// digits in URLs and file names. Unguessable, so the URL itself is not a
/// capability anyone can forge; access rules still apply on every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UploadId([u8; 16]);

impl UploadId {
    /// Bytes in an id.
    pub const BYTES: usize = 16;

    /// The id made of these random bytes.
    ///
    /// ```
    /// use ringdrop::resumable::UploadId;
    /// let id = UploadId::from_random([0xab; 16]);
    /// assert_eq!(id.to_string(), "abababababababababababababababab");
    /// ```
    pub fn from_random(bytes: [u8; 16]) -> Self {
        UploadId(bytes)
    }

    /// Parses the 32-digit lowercase hex form. `None` for anything else
    /// (uppercase too: one id has one spelling, so one URL and one file).
    ///
    /// ```
    /// use ringdrop::resumable::UploadId;
    /// let id = UploadId::parse("000102030405060708090a0b0c0d0e0f").unwrap();
    /// assert_eq!(id.as_bytes()[15], 15);
    /// assert!(UploadId::parse("000102030405060708090A0B0C0D0E0F").is_none());
    /// assert!(UploadId::parse("00").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        decode_hex_array::<16>(text.as_bytes()).map(UploadId)
    }

    /// The random bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// `<id>.record`: the upload's state, replaced atomically (write a
    /// temporary, fsync, rename).
    pub fn record_file_name(&self) -> String {
        self.file_name(".record")
    }

    /// `<id>.record.tmp`: where a new record is written before the rename.
    /// Only the request holding the upload's lock writes it.
    pub fn record_tmp_file_name(&self) -> String {
        self.file_name(".record.tmp")
    }

    /// `<id>.data`: the bytes received so far; also the file whose `flock`
    /// is the upload's lock.
    pub fn data_file_name(&self) -> String {
        self.file_name(".data")
    }

    /// The upload URL's path: `/.ringdrop-uploads/<id>` (sent as
    /// `Location`, a relative reference both tus clients resolve).
    ///
    /// ```
    /// use ringdrop::resumable::UploadId;
    /// let id = UploadId::from_random([0; 16]);
    /// assert_eq!(id.url_path(), "/.ringdrop-uploads/00000000000000000000000000000000");
    /// ```
    pub fn url_path(&self) -> String {
        let mut out = String::with_capacity(UPLOADS_DIR.len() + 34);
        out.push('/');
        out.push_str(UPLOADS_DIR);
        out.push('/');
        encode_hex_into(&mut out, &self.0);
        out
    }

    fn file_name(&self, suffix: &str) -> String {
        let mut out = String::with_capacity(32 + suffix.len());
        encode_hex_into(&mut out, &self.0);
        out.push_str(suffix);
        out
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(32);
        encode_hex_into(&mut out, &self.0);
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names() {
        let id = UploadId::from_random(
            *b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff",
        );
        let text = id.to_string();
        assert_eq!(text, "00112233445566778899aabbccddeeff");
        assert_eq!(UploadId::parse(&text), Some(id));
        assert_eq!(id.record_file_name(), format!("{text}.record"));
        assert_eq!(id.record_tmp_file_name(), format!("{text}.record.tmp"));
        assert_eq!(id.data_file_name(), format!("{text}.data"));
        for bad in [
            "",
            "0",
            &text[1..],
            &format!("{text}0"),
            "zz112233445566778899aabbccddeeff",
        ] {
            assert_eq!(UploadId::parse(bad), None, "{bad:?}");
        }
    }
}
