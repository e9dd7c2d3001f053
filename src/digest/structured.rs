//! RFC 8941 Structured Field Dictionaries, parsed as far as the digest
//! fields need: every member's key and, for a bare item, its type and
//! value; parameters and inner lists are checked for syntax and skipped.
//!
//! The parser is strict (a field that is not a valid Dictionary is
//! refused as a whole, as RFC 8941 §4.2 asks) and bounded: it never
//! allocates more than one [`Member`] per member, up to a caller-given
//! count, and it looks at every byte once.
#![forbid(unsafe_code)]

use crate::syntax::is_ows;

/// A bare item (RFC 8941 §3.3), with the values the digest fields use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BareItem<'a> {
    /// An Integer (at most 15 digits).
    Integer(i64),
    /// A Decimal (value not needed).
    Decimal,
    /// A String (value not needed).
    String,
    /// A Token (value not needed).
    Token,
    /// A Byte Sequence: the base64 text between the colons, not decoded.
    ByteSequence(&'a [u8]),
    /// A Boolean; also the value of a member without `=`.
    Boolean(bool),
}

/// A dictionary member's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberValue<'a> {
    /// A single item (its parameters skipped).
    Item(BareItem<'a>),
    /// An inner list (skipped).
    InnerList,
}

/// One dictionary member, borrowing the field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member<'a> {
    /// The key: `( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )`.
    pub key: &'a [u8],
    /// The value.
    pub value: MemberValue<'a>,
}

/// Why a dictionary did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SfError {
    /// Not RFC 8941 Dictionary syntax.
    Malformed,
    /// More members than the caller allows.
    TooManyMembers,
}

/// Digits of an Integer (RFC 8941 §3.3.1).
const MAX_INTEGER_DIGITS: usize = 15;
/// Digits before the point of a Decimal (RFC 8941 §3.3.2).
const MAX_DECIMAL_INTEGER_DIGITS: usize = 12;
/// Digits after the point of a Decimal (RFC 8941 §3.3.2).
const MAX_DECIMAL_FRACTION_DIGITS: usize = 3;

/// A read position in a field value.
///
/// INVARIANT: `pos <= input.len()`.
struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn bump(&mut self) {
        if self.pos < self.input.len() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// Advances over bytes matching `f`; returns them.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.bump();
        }
        &self.input[start..self.pos]
    }

    fn skip_sp(&mut self) {
        self.take_while(|b| b == b' ');
    }

    fn skip_ows(&mut self) {
        self.take_while(is_ows);
    }
}

/// Parses one field line's value as a Dictionary and appends its members
/// to `out`, refusing to hold more than `max_members` in `out`. An empty
/// value (after OWS) is an empty dictionary. Duplicate keys are all
/// returned, in order: the caller lets the last one win (RFC 8941 §3.2).
pub(crate) fn parse_dictionary<'a>(
    input: &'a [u8],
    max_members: usize,
    out: &mut Vec<Member<'a>>,
) -> Result<(), SfError> {
    let mut c = Cursor {
        input: crate::syntax::trim_ows(input),
        pos: 0,
    };
    if c.at_end() {
        return Ok(());
    }
    loop {
        let key = parse_key(&mut c)?;
        let value = if c.eat(b'=') {
            parse_member_value(&mut c)?
        } else {
            skip_parameters(&mut c)?;
            MemberValue::Item(BareItem::Boolean(true))
        };
        if out.len() >= max_members {
            return Err(SfError::TooManyMembers);
        }
        out.push(Member { key, value });
        c.skip_ows();
        if c.at_end() {
            return Ok(());
        }
        if !c.eat(b',') {
            return Err(SfError::Malformed);
        }
        c.skip_ows();
        if c.at_end() {
            // A trailing comma.
            return Err(SfError::Malformed);
        }
    }
}

fn is_key_start(b: u8) -> bool {
    b.is_ascii_lowercase() || b == b'*'
}

fn is_key_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b)
}

/// RFC 9110 §5.6.2 tchar, plus `:` and `/` (RFC 8941 §3.3.4 tokens).
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&b)
}

fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+/=".contains(&b)
}

fn parse_key<'a>(c: &mut Cursor<'a>) -> Result<&'a [u8], SfError> {
    if !c.peek().is_some_and(is_key_start) {
        return Err(SfError::Malformed);
    }
    Ok(c.take_while(is_key_char))
}

fn parse_member_value<'a>(c: &mut Cursor<'a>) -> Result<MemberValue<'a>, SfError> {
    if c.eat(b'(') {
        parse_inner_list(c)?;
        return Ok(MemberValue::InnerList);
    }
    let item = parse_bare_item(c)?;
    skip_parameters(c)?;
    Ok(MemberValue::Item(item))
}

/// After the `(`: items separated by SP, then `)` and parameters.
fn parse_inner_list(c: &mut Cursor<'_>) -> Result<(), SfError> {
    loop {
        c.skip_sp();
        if c.eat(b')') {
            return skip_parameters(c);
        }
        parse_bare_item(c)?;
        skip_parameters(c)?;
        match c.peek() {
            Some(b' ') | Some(b')') => {}
            _ => return Err(SfError::Malformed),
        }
    }
}

fn skip_parameters(c: &mut Cursor<'_>) -> Result<(), SfError> {
    while c.eat(b';') {
        c.skip_sp();
        parse_key(c)?;
        if c.eat(b'=') {
            parse_bare_item(c)?;
        }
    }
    Ok(())
}

fn parse_bare_item<'a>(c: &mut Cursor<'a>) -> Result<BareItem<'a>, SfError> {
    match c.peek() {
        Some(b'-') | Some(b'0'..=b'9') => parse_number(c),
        Some(b'"') => parse_string(c),
        Some(b':') => parse_byte_sequence(c),
        Some(b'?') => parse_boolean(c),
        Some(b) if b.is_ascii_alphabetic() || b == b'*' => {
            c.take_while(is_token_char);
            Ok(BareItem::Token)
        }
        _ => Err(SfError::Malformed),
    }
}

/// RFC 8941 §4.2.4, with its digit limits, so the value of an Integer
/// always fits an `i64`.
fn parse_number<'a>(c: &mut Cursor<'a>) -> Result<BareItem<'a>, SfError> {
    let negative = c.eat(b'-');
    let integer = c.take_while(|b| b.is_ascii_digit());
    if integer.is_empty() {
        return Err(SfError::Malformed);
    }
    if c.eat(b'.') {
        let fraction = c.take_while(|b| b.is_ascii_digit());
        if integer.len() > MAX_DECIMAL_INTEGER_DIGITS
            || fraction.is_empty()
            || fraction.len() > MAX_DECIMAL_FRACTION_DIGITS
        {
            return Err(SfError::Malformed);
        }
        return Ok(BareItem::Decimal);
    }
    if integer.len() > MAX_INTEGER_DIGITS {
        return Err(SfError::Malformed);
    }
    let mut value: i64 = 0;
    for &d in integer {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(d - b'0')))
            .ok_or(SfError::Malformed)?;
    }
    Ok(BareItem::Integer(if negative { -value } else { value }))
}

fn parse_string<'a>(c: &mut Cursor<'a>) -> Result<BareItem<'a>, SfError> {
    c.bump(); // the opening DQUOTE
    loop {
        let b = c.peek().ok_or(SfError::Malformed)?;
        c.bump();
        match b {
            b'"' => return Ok(BareItem::String),
            b'\\' => {
                if !(c.eat(b'"') || c.eat(b'\\')) {
                    return Err(SfError::Malformed);
                }
            }
            0x20..=0x7e => {}
            _ => return Err(SfError::Malformed),
        }
    }
}

fn parse_byte_sequence<'a>(c: &mut Cursor<'a>) -> Result<BareItem<'a>, SfError> {
    c.bump(); // the opening colon
    let text = c.take_while(is_base64_char);
    if !c.eat(b':') {
        return Err(SfError::Malformed);
    }
    Ok(BareItem::ByteSequence(text))
}

fn parse_boolean<'a>(c: &mut Cursor<'a>) -> Result<BareItem<'a>, SfError> {
    c.bump(); // the `?`
    let value = match c.peek() {
        Some(b'1') => true,
        Some(b'0') => false,
        _ => return Err(SfError::Malformed),
    };
    c.bump();
    Ok(BareItem::Boolean(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Result<Vec<Member<'_>>, SfError> {
        let mut out = Vec::new();
        parse_dictionary(input.as_bytes(), 8, &mut out).map(|()| out)
    }

    fn item(key: &'static str, item: BareItem<'static>) -> Member<'static> {
        Member {
            key: key.as_bytes(),
            value: MemberValue::Item(item),
        }
    }

    /// Named vectors, most from RFC 8941's examples and the
    /// structured-field-tests suite's dictionary cases.
    #[test]
    fn dictionary_vectors() {
        use BareItem::*;
        let ok: &[(&str, &str, Vec<Member<'static>>)] = &[
            ("empty", "", vec![]),
            ("only ows", " \t ", vec![]),
            (
                "digest pair",
                "sha-256=:AAA=:, sha-512=:BB==:",
                vec![
                    item("sha-256", ByteSequence(b"AAA=")),
                    item("sha-512", ByteSequence(b"BB==")),
                ],
            ),
            (
                "no spaces",
                "a=1,b=2",
                vec![item("a", Integer(1)), item("b", Integer(2))],
            ),
            (
                "tabs around comma",
                "a=1\t,\tb=-2",
                vec![item("a", Integer(1)), item("b", Integer(-2))],
            ),
            (
                "boolean shorthand",
                "a, b;x=1",
                vec![item("a", Boolean(true)), item("b", Boolean(true))],
            ),
            (
                "explicit booleans",
                "a=?0, b=?1",
                vec![item("a", Boolean(false)), item("b", Boolean(true))],
            ),
            (
                "duplicate keys kept",
                "a=1, a=2",
                vec![item("a", Integer(1)), item("a", Integer(2))],
            ),
            (
                "string with escapes",
                r#"a="x\"y\\z""#,
                vec![item("a", String)],
            ),
            ("token", "a=foo/bar:baz", vec![item("a", Token)]),
            (
                "decimal",
                "a=1.5, b=-0.125",
                vec![item("a", Decimal), item("b", Decimal)],
            ),
            (
                "parameters",
                "a=1;q=\"x\";r, b",
                vec![item("a", Integer(1)), item("b", Boolean(true))],
            ),
            (
                "inner list",
                "a=(1 2 \"x\");p=1, b=()",
                vec![
                    Member {
                        key: b"a",
                        value: MemberValue::InnerList,
                    },
                    Member {
                        key: b"b",
                        value: MemberValue::InnerList,
                    },
                ],
            ),
            (
                "star key",
                "*a.b_c-d=:: ",
                vec![item("*a.b_c-d", ByteSequence(b""))],
            ),
            (
                "fifteen digits",
                "a=999999999999999",
                vec![item("a", Integer(999_999_999_999_999))],
            ),
        ];
        for (name, input, expected) in ok {
            assert_eq!(parse(input).as_ref(), Ok(expected), "{name}");
        }
        let bad: &[(&str, &str)] = &[
            ("trailing comma", "a=1,"),
            ("leading comma", ",a=1"),
            ("uppercase key", "SHA-256=:AA==:"),
            ("digit first key", "1a=1"),
            ("missing value", "a="),
            ("unterminated bytes", "a=:AAAA"),
            ("bad base64 char", "a=:AA.A:"),
            ("sixteen digits", "a=1234567890123456"),
            ("decimal too long", "a=1234567890123.1"),
            ("decimal fraction too long", "a=1.1234"),
            ("decimal without fraction", "a=1."),
            ("minus alone", "a=-"),
            ("bad escape", r#"a="\x""#),
            ("unterminated string", "a=\"x"),
            ("control in string", "a=\"\x01\""),
            ("bad boolean", "a=?2"),
            ("no separator", "a=1 b=2"),
            ("inner list unterminated", "a=(1 2"),
            ("inner list no space", "a=(1\"x\")"),
            ("space before =", "a =1"),
            ("semicolon no key", "a=1;"),
            ("non-ascii", "a=\"é\""),
        ];
        for (name, input) in bad {
            assert_eq!(parse(input), Err(SfError::Malformed), "{name}: {input:?}");
        }
    }

    #[test]
    fn member_limit_is_exact() {
        let mut out = Vec::new();
        assert_eq!(parse_dictionary(b"a, b, c", 3, &mut out), Ok(()));
        out.clear();
        assert_eq!(
            parse_dictionary(b"a, b, c, d", 3, &mut out),
            Err(SfError::TooManyMembers)
        );
    }

    proptest::proptest! {
        /// No input panics, and a successful parse never returns more
        /// members than allowed.
        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut out = Vec::new();
            if parse_dictionary(&input, 4, &mut out).is_ok() {
                proptest::prop_assert!(out.len() <= 4);
            }
        }
    }
}
