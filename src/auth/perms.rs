//! Permission sets: `read`, `upload`, `overwrite`, `delete`, as a small
//! `Copy` bit set, and the `PERMS` syntax of `--allow` and the token file.
#![forbid(unsafe_code)]

use core::fmt;

/// A set of permissions. Combine with `|`, intersect with `&`.
///
/// ```
/// use ringdrop::auth::Perms;
/// let p = Perms::parse("read,upload").unwrap();
/// assert!(p.contains(Perms::READ) && p.contains(Perms::UPLOAD));
/// assert!(!p.contains(Perms::DELETE));
/// assert_eq!(Perms::parse("all"), Some(Perms::ALL));
/// assert_eq!(p.to_string(), "read,upload");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Perms(u8);

impl Perms {
    /// No permission at all.
    pub const NONE: Perms = Perms(0);
    /// GET and HEAD of files, listings.
    pub const READ: Perms = Perms(1);
    /// Create new files and directories: PUT of a new name, POST, MKCOL,
    /// resumable uploads.
    pub const UPLOAD: Perms = Perms(1 << 1);
    /// PUT over an existing file.
    pub const OVERWRITE: Perms = Perms(1 << 2);
    /// DELETE of a file or an empty directory.
    pub const DELETE: Perms = Perms(1 << 3);
    /// Every permission (`all`).
    pub const ALL: Perms = Perms(0b1111);
    /// The permissions that change the tree (everything but `read`).
    pub const WRITE: Perms = Perms(0b1110);

    /// The names in `PERMS` syntax, in display order.
    const NAMES: [(&'static str, Perms); 4] = [
        ("read", Perms::READ),
        ("upload", Perms::UPLOAD),
        ("overwrite", Perms::OVERWRITE),
        ("delete", Perms::DELETE),
    ];

    /// True if every permission of `other` is in `self`.
    pub const fn contains(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }

    /// True for the empty set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `self` without the permissions of `other`.
    pub const fn without(self, other: Perms) -> Perms {
        Perms(self.0 & !other.0)
    }

    /// Parses a comma list of `read`, `upload`, `overwrite`, `delete` and
    /// `all` (case-insensitive, blanks around names allowed, repeats
    /// allowed). `None` for an empty list, an empty item or an unknown name.
    pub fn parse(text: &str) -> Option<Perms> {
        let mut perms = Perms::NONE;
        for item in text.split(',') {
            let item = item.trim_matches(|c| c == ' ' || c == '\t');
            if item.eq_ignore_ascii_case("all") {
                perms |= Perms::ALL;
                continue;
            }
            let (_, p) = Perms::NAMES
                .iter()
                .find(|(name, _)| item.eq_ignore_ascii_case(name))?;
            perms |= *p;
        }
        Some(perms)
    }
}

impl core::ops::BitOr for Perms {
    type Output = Perms;
    fn bitor(self, rhs: Perms) -> Perms {
        Perms(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for Perms {
    fn bitor_assign(&mut self, rhs: Perms) {
        self.0 |= rhs.0;
    }
}

impl core::ops::BitAnd for Perms {
    type Output = Perms;
    fn bitand(self, rhs: Perms) -> Perms {
        Perms(self.0 & rhs.0)
    }
}

/// The `PERMS` syntax: `read,upload`; `none` for the empty set.
impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let mut first = true;
        for (name, p) in Perms::NAMES {
            if self.contains(p) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Perms({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let cases: &[(&str, Option<Perms>)] = &[
            ("read", Some(Perms::READ)),
            ("upload", Some(Perms::UPLOAD)),
            ("overwrite", Some(Perms::OVERWRITE)),
            ("delete", Some(Perms::DELETE)),
            ("all", Some(Perms::ALL)),
            ("ALL", Some(Perms::ALL)),
            ("read,upload", Some(Perms::READ | Perms::UPLOAD)),
            (" read , delete ", Some(Perms::READ | Perms::DELETE)),
            ("read,read", Some(Perms::READ)),
            ("upload,all", Some(Perms::ALL)),
            ("", None),
            ("read,", None),
            (",read", None),
            ("write", None),
            ("none", None),
            ("read;upload", None),
            ("rea", None),
        ];
        for (text, want) in cases {
            assert_eq!(Perms::parse(text), *want, "{text:?}");
        }
    }

    #[test]
    fn display_round_trips_every_set() {
        for bits in 1..=0b1111u8 {
            let p = Perms(bits);
            assert_eq!(Perms::parse(&p.to_string()), Some(p), "{p:?}");
        }
        assert_eq!(Perms::NONE.to_string(), "none");
        assert_eq!(Perms::ALL.to_string(), "read,upload,overwrite,delete");
    }

    #[test]
    fn set_operations() {
        assert!(Perms::ALL.contains(Perms::WRITE));
        assert_eq!(Perms::ALL.without(Perms::WRITE), Perms::READ);
        assert_eq!((Perms::READ | Perms::UPLOAD) & Perms::UPLOAD, Perms::UPLOAD);
        assert!(Perms::READ.contains(Perms::NONE));
        assert!(Perms::NONE.is_empty());
    }
}
