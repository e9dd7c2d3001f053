//! Byte-level syntax shared by every sans-IO core: hexadecimal digits and
//! strings, optional whitespace, tokens, comma-separated lists and
//! `;`-separated parameters (RFC 9110 §5.6). Pure functions, no allocation
//! unless the result is a new string, no panic on any input.
#![forbid(unsafe_code)]

use std::borrow::Cow;

/// The value of one hexadecimal digit (`0-9`, `a-f`, `A-F`).
///
/// ```
/// use ringdrop::syntax::hex_value;
/// assert_eq!(hex_value(b'a'), Some(10));
/// assert_eq!(hex_value(b'F'), Some(15));
/// assert_eq!(hex_value(b'g'), None);
/// ```
pub fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes a string of hexadecimal digit pairs (either case) into exactly
/// `N` bytes. `None` for any other length or any non-hex character.
///
/// ```
/// use ringdrop::syntax::decode_hex_array;
/// assert_eq!(decode_hex_array::<2>(b"0aFf"), Some([0x0a, 0xff]));
/// assert_eq!(decode_hex_array::<2>(b"0aF"), None);
/// ```
pub fn decode_hex_array<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *byte = hex_value(pair[0])? << 4 | hex_value(pair[1])?;
    }
    Some(out)
}

/// Lowercase hexadecimal of `bytes`, appended to `out`.
///
/// ```
/// use ringdrop::syntax::encode_hex_into;
/// let mut s = String::new();
/// encode_hex_into(&mut s, &[0x00, 0xab]);
/// assert_eq!(s, "00ab");
/// ```
pub fn encode_hex_into(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// Optional whitespace (RFC 9110 §5.6.3 OWS): SP or HTAB.
pub fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A control character other than HTAB: RFC 5234 `CTL` (C0 and DEL)
/// without the one that counts as whitespace. What may not appear in a
/// chunk extension or trailer, and what is dropped from a multipart
/// `Content-Disposition`.
///
/// ```
/// use ringdrop::syntax::is_control_except_tab;
/// assert!(is_control_except_tab(0) && is_control_except_tab(b'\r') && is_control_except_tab(0x7f));
/// assert!(!is_control_except_tab(b'\t') && !is_control_except_tab(b' ') && !is_control_except_tab(0x80));
/// ```
pub fn is_control_except_tab(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// Strips optional whitespace (SP, HTAB) from both ends.
///
/// ```
/// use ringdrop::syntax::trim_ows;
/// assert_eq!(trim_ows(b" \ta b\t "), b"a b");
/// assert_eq!(trim_ows(b"\r\n"), b"\r\n");
/// ```
pub fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_ows(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_ows(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// RFC 9110 §5.6.2 `tchar`: the characters of a token (field names,
/// methods, media types, parameter names).
///
/// ```
/// use ringdrop::syntax::is_tchar;
/// assert!(is_tchar(b'a') && is_tchar(b'-') && is_tchar(b'~'));
/// assert!(!is_tchar(b' ') && !is_tchar(b':') && !is_tchar(b'"'));
/// ```
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 §5.6.2 `token = 1*tchar`.
///
/// ```
/// use ringdrop::syntax::is_token;
/// assert!(is_token(b"Content-Disposition"));
/// assert!(!is_token(b"") && !is_token(b"a b"));
/// ```
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// How a backslash inside a quoted-string is read. The two rules differ
/// only for a backslash before a character other than `"` and `\`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escapes {
    /// RFC 9110 §5.6.4 `quoted-pair`: `\` escapes any character, and is
    /// dropped (`"a\bc"` is `abc`). For header fields in general.
    QuotedPair,
    /// What browsers (the HTML form-data encoding) and curl write into a
    /// multipart `filename`: `\` escapes only `"` and `\`; any other
    /// backslash is an ordinary character, so `"C:\fakepath\x.txt"`
    /// keeps its backslashes.
    QuoteAndBackslash,
}

impl Escapes {
    /// Bytes taken by a backslash inside a quoted-string, given the byte
    /// after it: 2 for an escape pair, 1 for a literal backslash, `None`
    /// when the input ends after it (the string is unterminated).
    fn backslash_len(self, next: Option<u8>) -> Option<usize> {
        match (self, next) {
            (_, None) => None,
            (Escapes::QuotedPair, Some(_)) => Some(2),
            (Escapes::QuoteAndBackslash, Some(b'"' | b'\\')) => Some(2),
            (Escapes::QuoteAndBackslash, Some(_)) => Some(1),
        }
    }
}

/// Length of the quoted-string at the start of `s` (which starts with
/// `"`), closing quote included; `None` when it is not terminated.
fn quoted_len(s: &[u8], escapes: Escapes) -> Option<usize> {
    let mut i = 1usize;
    loop {
        let at = i + memchr::memchr2(b'"', b'\\', s.get(i..)?)?;
        if s.get(at) == Some(&b'"') {
            return Some(at + 1);
        }
        i = at + escapes.backslash_len(s.get(at + 1).copied())?;
    }
}

/// Where the element that starts at `s[0]` ends: the index of the first
/// `separator` outside a quoted-string, or `s.len()`. An unterminated
/// quoted-string runs to the end.
fn element_end(s: &[u8], separator: u8, escapes: Escapes) -> usize {
    let mut i = 0usize;
    while let Some(found) = s
        .get(i..)
        .and_then(|rest| memchr::memchr2(separator, b'"', rest))
    {
        let at = i + found;
        if s.get(at) == Some(&separator) {
            return at;
        }
        match s.get(at..).and_then(|q| quoted_len(q, escapes)) {
            Some(len) => i = at + len,
            None => return s.len(),
        }
    }
    s.len()
}

/// The elements of a comma-separated list (RFC 9110 §5.6.1), each without
/// surrounding OWS; empty elements are skipped. A comma inside a
/// quoted-string does not split (`a;x="1,2", b` is two elements).
///
/// ```
/// use ringdrop::syntax::{list_elements, Escapes};
/// let v: Vec<&[u8]> = list_elements(b" a, ,b;q=\"x,y\" ,", Escapes::QuotedPair).collect();
/// assert_eq!(v, [&b"a"[..], b"b;q=\"x,y\""]);
/// ```
pub fn list_elements(value: &[u8], escapes: Escapes) -> ListElements<'_> {
    ListElements {
        rest: value,
        escapes,
    }
}

/// Iterator of [`list_elements`].
#[derive(Debug, Clone)]
pub struct ListElements<'a> {
    rest: &'a [u8],
    escapes: Escapes,
}

impl<'a> Iterator for ListElements<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.rest.is_empty() {
            let end = element_end(self.rest, b',', self.escapes);
            let (element, rest) = self.rest.split_at(end);
            self.rest = rest.get(1..).unwrap_or_default();
            let element = trim_ows(element);
            if !element.is_empty() {
                return Some(element);
            }
        }
        None
    }
}

/// A parameter list whose quoted-string does not end (400 wherever it
/// appears: no parameter after it can be read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnterminatedQuote;

/// One parameter value as written: a token (or whatever runs to the next
/// separator), or the inside of a quoted-string with its escapes in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamValue<'a> {
    raw: &'a [u8],
    quoted: bool,
    escapes: Escapes,
}

impl<'a> ParamValue<'a> {
    /// The bytes as written: for a quoted-string, between the quotes,
    /// escapes not applied.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the value was a quoted-string.
    pub fn is_quoted(&self) -> bool {
        self.quoted
    }

    /// The value with its escapes applied. Borrowed from the input unless
    /// an escape had to be removed.
    ///
    /// ```
    /// use ringdrop::syntax::{params, Escapes};
    /// let p = params(br#"a="x\"y\z""#, b';', Escapes::QuotedPair).next().unwrap().unwrap();
    /// assert_eq!(&*p.value.unwrap().unescape(), b"x\"yz");
    /// let p = params(br#"a="x\"y\z""#, b';', Escapes::QuoteAndBackslash).next().unwrap().unwrap();
    /// assert_eq!(&*p.value.unwrap().unescape(), b"x\"y\\z");
    /// ```
    pub fn unescape(&self) -> Cow<'a, [u8]> {
        if !self.quoted {
            return Cow::Borrowed(self.raw);
        }
        let mut out: Option<Vec<u8>> = None;
        let mut copied = 0usize;
        let mut i = 0usize;
        while let Some(found) = self.raw.get(i..).and_then(|r| memchr::memchr(b'\\', r)) {
            let at = i + found;
            let next = self.raw.get(at + 1).copied();
            match self.escapes.backslash_len(next) {
                Some(2) => {
                    let buf = out.get_or_insert_with(|| Vec::with_capacity(self.raw.len()));
                    buf.extend_from_slice(self.raw.get(copied..at).unwrap_or_default());
                    copied = at + 1;
                    i = at + 2;
                }
                Some(_) | None => i = at + 1,
            }
        }
        match out {
            None => Cow::Borrowed(self.raw),
            Some(mut buf) => {
                buf.extend_from_slice(self.raw.get(copied..).unwrap_or_default());
                Cow::Owned(buf)
            }
        }
    }
}

/// One `name[=value]` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The name, without surrounding OWS (compare it case-insensitively:
    /// parameter names are case-insensitive, RFC 9110 §5.6.6).
    pub name: &'a [u8],
    /// `None` for a parameter written without `=`.
    pub value: Option<ParamValue<'a>>,
}

impl Param<'_> {
    /// Whether the parameter is named `name` (ASCII case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }
}

/// Splits a field value of the form `first *( OWS ";" OWS parameter )`
/// (media types, `Content-Disposition`, media ranges) into its first part
/// (OWS trimmed) and its parameters. See [`params`] for how parameters are
/// read.
///
/// ```
/// use ringdrop::syntax::{split_params, Escapes};
/// let (kind, mut ps) = split_params(b"form-data; name=\"a;b\"; flag", Escapes::QuoteAndBackslash);
/// assert_eq!(kind, b"form-data");
/// let p = ps.next().unwrap().unwrap();
/// assert!(p.is("NAME") && p.value.unwrap().raw() == b"a;b");
/// let flag = ps.next().unwrap().unwrap();
/// assert_eq!((flag.name, flag.value), (&b"flag"[..], None));
/// assert!(ps.next().is_none());
/// ```
pub fn split_params(value: &[u8], escapes: Escapes) -> (&[u8], Params<'_>) {
    let end = memchr::memchr(b';', value).unwrap_or(value.len());
    let (first, rest) = value.split_at(end);
    (trim_ows(first), params(rest, b';', escapes))
}

/// The parameters of `list`: `*( OWS separator OWS [ name [ OWS "=" OWS
/// value ] ] )`, where `separator` is `;` for media types and
/// `Content-Disposition`, or `,` for lists such as auth-params. A value is a
/// quoted-string (read with `escapes`; anything between its closing quote
/// and the next separator is ignored) or else runs to the next separator,
/// OWS trimmed (it is not checked to be a token: browsers send unquoted
/// values with spaces). Empty elements are skipped; a parameter without
/// `=` is yielded with no value.
///
/// Yields `Err(UnterminatedQuote)` once, and then nothing, when a
/// quoted-string does not end. Never allocates.
pub fn params(list: &[u8], separator: u8, escapes: Escapes) -> Params<'_> {
    Params {
        rest: list,
        separator,
        escapes,
    }
}

/// Iterator of [`params`] and [`split_params`].
#[derive(Debug, Clone)]
pub struct Params<'a> {
    /// The unread parameters (empty after an error).
    rest: &'a [u8],
    separator: u8,
    escapes: Escapes,
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<Param<'a>, UnterminatedQuote>;

    fn next(&mut self) -> Option<Self::Item> {
        let sep = self.separator;
        // Skip separators and whitespace: empty elements are not parameters.
        let start = self.rest.iter().position(|&b| b != sep && !is_ows(b))?;
        let rest = self.rest.get(start..).unwrap_or_default();
        let name_end = rest
            .iter()
            .position(|&b| b == b'=' || b == sep)
            .unwrap_or(rest.len());
        let (name, after_name) = rest.split_at(name_end);
        let name = trim_ows(name);
        let Some(after_eq) = after_name.strip_prefix(b"=") else {
            self.rest = after_name;
            return Some(Ok(Param { name, value: None }));
        };
        let after_eq = trim_ows_start(after_eq);
        let value = if after_eq.first() == Some(&b'"') {
            let Some(len) = quoted_len(after_eq, self.escapes) else {
                self.rest = &[];
                return Some(Err(UnterminatedQuote));
            };
            let after = after_eq.get(len..).unwrap_or_default();
            let next = memchr::memchr(sep, after).unwrap_or(after.len());
            self.rest = after.get(next..).unwrap_or_default();
            ParamValue {
                raw: after_eq.get(1..len - 1).unwrap_or_default(),
                quoted: true,
                escapes: self.escapes,
            }
        } else {
            let end = memchr::memchr(sep, after_eq).unwrap_or(after_eq.len());
            let (raw, rest) = after_eq.split_at(end);
            self.rest = rest;
            ParamValue {
                raw: trim_ows(raw),
                quoted: false,
                escapes: self.escapes,
            }
        };
        Some(Ok(Param {
            name,
            value: Some(value),
        }))
    }
}

/// Strips optional whitespace from the start only.
fn trim_ows_start(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
    s.get(start..).unwrap_or_default()
}

/// [`trim_ows`] for text already known to be UTF-8 (header values a core
/// reads as `&str`). Only SP and HTAB are trimmed, not every Unicode
/// whitespace as `str::trim` would.
///
/// ```
/// use ringdrop::syntax::trim_ows_str;
/// assert_eq!(trim_ows_str(" \tbytes=0-1 "), "bytes=0-1");
/// assert_eq!(trim_ows_str("\u{a0}x\u{b}"), "\u{a0}x\u{b}");
/// ```
pub fn trim_ows_str(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_value_matches_the_naive_table_for_all_bytes() {
        for b in 0..=255u8 {
            let naive = (b as char).to_digit(16).map(|d| d as u8);
            assert_eq!(hex_value(b), naive, "{b:#x}");
        }
    }

    #[test]
    fn hex_round_trip() {
        let bytes: Vec<u8> = (0..=255).collect();
        let mut text = String::new();
        encode_hex_into(&mut text, &bytes);
        let back: [u8; 256] = decode_hex_array(text.as_bytes()).unwrap();
        assert_eq!(&back[..], &bytes[..]);
        assert_eq!(decode_hex_array::<1>(b"zz"), None);
        assert_eq!(decode_hex_array::<1>(b""), None);
    }

    #[test]
    fn trim_ows_strips_both_ends_only() {
        assert_eq!(trim_ows(b""), b"");
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(trim_ows(b" a \t b "), b"a \t b");
        assert_eq!(trim_ows(b"\x0ba\x0b"), b"\x0ba\x0b");
    }

    #[test]
    fn tchar_matches_the_rfc_list() {
        let rfc = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for b in 0..=255u8 {
            assert_eq!(is_tchar(b), rfc.contains(&b), "{b:#x}");
        }
    }

    /// What [`params`] yields, owned: `(name, unescaped value)` or the error.
    type Parsed = Vec<Result<(String, Option<String>), UnterminatedQuote>>;

    fn parse(list: &str, separator: u8, escapes: Escapes) -> Parsed {
        params(list.as_bytes(), separator, escapes)
            .map(|p| {
                p.map(|p| {
                    let name = String::from_utf8_lossy(p.name).into_owned();
                    let value = p
                        .value
                        .map(|v| String::from_utf8_lossy(&v.unescape()).into_owned());
                    (name, value)
                })
            })
            .collect()
    }

    fn ok(pairs: &[(&str, Option<&str>)]) -> Parsed {
        pairs
            .iter()
            .map(|(n, v)| Ok(((*n).to_owned(), v.map(str::to_owned))))
            .collect()
    }

    /// `(name, list, under QuotedPair, under QuoteAndBackslash)`: where the
    /// rules agree both columns are the same.
    #[test]
    fn params_table_both_escape_rules() {
        let err = |before: &[(&str, Option<&str>)]| {
            let mut v = ok(before);
            v.push(Err(UnterminatedQuote));
            v
        };
        let table: Vec<(&str, &str, Parsed, Parsed)> = vec![
            ("empty", "", ok(&[]), ok(&[])),
            ("only separators", " ; ;; ", ok(&[]), ok(&[])),
            (
                "token",
                "; a=b",
                ok(&[("a", Some("b"))]),
                ok(&[("a", Some("b"))]),
            ),
            (
                "bws around =, value trimmed",
                ";a = b c ;x",
                ok(&[("a", Some("b c")), ("x", None)]),
                ok(&[("a", Some("b c")), ("x", None)]),
            ),
            (
                "no leading separator",
                "a=1;b=2",
                ok(&[("a", Some("1")), ("b", Some("2"))]),
                ok(&[("a", Some("1")), ("b", Some("2"))]),
            ),
            (
                "quoted with separator inside",
                "; n=\"a;b\"; m=c",
                ok(&[("n", Some("a;b")), ("m", Some("c"))]),
                ok(&[("n", Some("a;b")), ("m", Some("c"))]),
            ),
            (
                "junk after the closing quote is ignored",
                "; n=\"a\"junk ; m=c",
                ok(&[("n", Some("a")), ("m", Some("c"))]),
                ok(&[("n", Some("a")), ("m", Some("c"))]),
            ),
            (
                "escaped quote and backslash",
                r#"; n="q\"\\x""#,
                ok(&[("n", Some(r#"q"\x"#))]),
                ok(&[("n", Some(r#"q"\x"#))]),
            ),
            (
                "backslash before another char",
                r#"; f="C:\fakepath\x.txt""#,
                ok(&[("f", Some("C:fakepathx.txt"))]),
                ok(&[("f", Some(r"C:\fakepath\x.txt"))]),
            ),
            (
                "escaped separator",
                r#"; a="x\;y"; b=1"#,
                ok(&[("a", Some("x;y")), ("b", Some("1"))]),
                ok(&[("a", Some(r"x\;y")), ("b", Some("1"))]),
            ),
            ("backslash at the end", r#"; a="x\"#, err(&[]), err(&[])),
            (
                "escaped closing quote",
                r#"; a="x\"; b=1"#,
                err(&[]),
                err(&[]),
            ),
            (
                "unterminated after good ones",
                "; a=1; b=\"x",
                err(&[("a", Some("1"))]),
                err(&[("a", Some("1"))]),
            ),
            (
                "empty quoted and empty token",
                "; a=\"\"; b=",
                ok(&[("a", Some("")), ("b", Some(""))]),
                ok(&[("a", Some("")), ("b", Some(""))]),
            ),
            (
                "unquoted value with a quote inside",
                "; a=x\"y; b=\"1\"",
                ok(&[("a", Some("x\"y")), ("b", Some("1"))]),
                ok(&[("a", Some("x\"y")), ("b", Some("1"))]),
            ),
            (
                "raw controls are kept",
                "; f=\"a\u{1}b\u{7f}\"",
                ok(&[("f", Some("a\u{1}b\u{7f}"))]),
                ok(&[("f", Some("a\u{1}b\u{7f}"))]),
            ),
            (
                "escaped backslash before a quote-like tail",
                r#"; a="x\\"; b=2"#,
                ok(&[("a", Some(r"x\")), ("b", Some("2"))]),
                ok(&[("a", Some(r"x\")), ("b", Some("2"))]),
            ),
        ];
        for (name, list, quoted_pair, browser) in &table {
            assert_eq!(
                &parse(list, b';', Escapes::QuotedPair),
                quoted_pair,
                "{name}: QuotedPair"
            );
            assert_eq!(
                &parse(list, b';', Escapes::QuoteAndBackslash),
                browser,
                "{name}: QuoteAndBackslash"
            );
        }
    }

    #[test]
    fn params_comma_separated() {
        assert_eq!(
            parse(r#"realm="a,b", charset=UTF-8"#, b',', Escapes::QuotedPair),
            ok(&[("realm", Some("a,b")), ("charset", Some("UTF-8"))])
        );
    }

    #[test]
    fn unescape_borrows_unless_an_escape_is_removed() {
        let value = |list: &'static [u8], escapes| {
            params(list, b';', escapes)
                .next()
                .and_then(Result::ok)
                .and_then(|p| p.value)
                .expect("a value")
        };
        let plain = value(b"a=\"plain\"", Escapes::QuotedPair);
        assert!(plain.is_quoted());
        assert!(matches!(plain.unescape(), Cow::Borrowed(b"plain")));
        let path = value(br#"a="C:\x""#, Escapes::QuoteAndBackslash);
        assert!(matches!(path.unescape(), Cow::Borrowed(br"C:\x")));
        let token = value(b"a=tok", Escapes::QuotedPair);
        assert!(!token.is_quoted());
        assert!(matches!(token.unescape(), Cow::Borrowed(b"tok")));
        assert!(matches!(
            value(br#"a="\"""#, Escapes::QuotedPair).unescape(),
            Cow::Owned(v) if v == b"\""
        ));
    }

    #[test]
    fn split_params_takes_the_first_part() {
        let (first, rest) =
            split_params(b"  Multipart/Form-Data ; boundary=x", Escapes::QuotedPair);
        assert_eq!(first, b"Multipart/Form-Data");
        assert_eq!(rest.count(), 1);
        let (first, mut rest) = split_params(b"", Escapes::QuotedPair);
        assert_eq!(first, b"");
        assert!(rest.next().is_none());
    }

    #[test]
    fn list_elements_table() {
        let table: &[(&str, &[&str])] = &[
            ("", &[]),
            (" , ,", &[]),
            ("a", &["a"]),
            (" a ,b,, c ", &["a", "b", "c"]),
            (r#"a;x="1,2", b"#, &[r#"a;x="1,2""#, "b"]),
            (r#""a\",b", c"#, &[r#""a\",b""#, "c"]),
            (r#""unterminated, x"#, &[r#""unterminated, x"#]),
            ("\"q\"\"r,s\",t", &["\"q\"\"r,s\"", "t"]),
        ];
        for (value, want) in table {
            let got: Vec<&[u8]> = list_elements(value.as_bytes(), Escapes::QuotedPair).collect();
            let want: Vec<&[u8]> = want.iter().map(|w| w.as_bytes()).collect();
            assert_eq!(got, want, "{value:?}");
        }
    }

    proptest::proptest! {
        /// Never panics; a parameter list built from names and values with
        /// any escapes round-trips under both rules.
        #[test]
        fn params_round_trip(
            pairs in proptest::collection::vec(("[a-zA-Z*-]{1,8}", "[ -~]{0,12}"), 0..6),
            junk in "[ -~\t]{0,40}",
        ) {
            for escapes in [Escapes::QuotedPair, Escapes::QuoteAndBackslash] {
                let _ = parse(&junk, b';', escapes);
                let _ = list_elements(junk.as_bytes(), escapes).count();
                let mut list = String::new();
                for (name, value) in &pairs {
                    list.push_str("; ");
                    list.push_str(name);
                    list.push_str("=\"");
                    for c in value.chars() {
                        if c == '"' || c == '\\' {
                            list.push('\\');
                        }
                        list.push(c);
                    }
                    list.push('"');
                }
                let want: Parsed = pairs
                    .iter()
                    .map(|(n, v)| Ok((n.clone(), Some(v.clone()))))
                    .collect();
                proptest::prop_assert_eq!(parse(&list, b';', escapes), want);
            }
        }
    }
}
