//! Fuzz entry point for the request-head parser ([`HeadParser`]), the
//! framing rules ([`analyze`]) and target decoding on complete heads.

use super::target::check_target;
use super::{data_splits, prefix_ends, BYTE_AT_A_TIME_MAX};
use crate::http::{
    analyze, decode_target, BodyFraming, HeadError, HeadLimits, HeadParser, RequestHead,
};

/// Small limits, so a fuzzer reaches every limit with short inputs.
const SMALL_HEAD_LIMITS: HeadLimits = HeadLimits {
    max_request_line_bytes: 64,
    max_head_bytes: 256,
    max_header_count: 8,
};

/// Fuzz entry point for [`HeadParser`]: parses `data` whole, as growing
/// prefixes one byte at a time, and as prefixes cut at points taken from the
/// data, with small and default limits, and asserts every way gives the same
/// result. A complete head is checked (offsets inside the head, limits
/// respected) and run through [`analyze`] and [`decode_target`].
pub fn fuzz_http_head(data: &[u8]) {
    for limits in [SMALL_HEAD_LIMITS, HeadLimits::default()] {
        let whole = HeadParser::new(limits).parse(data);
        match &whole {
            Ok(Some(head)) => check_head(data, head, limits),
            Ok(None) => assert!(
                data.len() < limits.max_head_bytes,
                "asks for more input while holding {} bytes (limit {})",
                data.len(),
                limits.max_head_bytes
            ),
            Err(e) => assert!((400..600).contains(&e.status().as_u16()), "{e:?}"),
        }
        if data.len() <= BYTE_AT_A_TIME_MAX {
            let every: Vec<usize> = (0..data.len()).collect();
            assert_eq!(
                parse_prefixes(data, limits, &every),
                whole,
                "byte-at-a-time result differs"
            );
        }
        assert_eq!(
            parse_prefixes(data, limits, &data_splits(data, 0)),
            whole,
            "split-dependent result"
        );
    }
}

/// Feeds the growing prefixes `data[..end]` for each end in `splits` (and
/// finally all of `data`) to one parser, as a connection does, until it
/// completes or fails.
fn parse_prefixes(
    data: &[u8],
    limits: HeadLimits,
    splits: &[usize],
) -> Result<Option<RequestHead>, HeadError> {
    let mut parser = HeadParser::new(limits);
    let mut result = Ok(None);
    for end in prefix_ends(splits, data.len()) {
        let prefix = &data[..end];
        result = parser.parse(prefix);
        match &result {
            Ok(None) => assert!(
                end < limits.max_head_bytes,
                "asks for more input while holding {end} bytes (limit {})",
                limits.max_head_bytes
            ),
            Ok(Some(head)) => {
                assert!(head.head_len <= end, "head_len {} > {end}", head.head_len);
                // A complete head stays complete (and identical).
                assert_eq!(parser.parse(prefix), result, "complete head changed");
                return result;
            }
            Err(_) => {
                assert_eq!(parser.parse(prefix), result, "error is not sticky");
                return result;
            }
        }
    }
    result
}

/// A complete head: every offset inside the head, limits respected, and the
/// later cores run on it without panicking.
fn check_head(data: &[u8], head: &RequestHead, limits: HeadLimits) {
    let n = head.head_len;
    assert!(
        n <= data.len() && n <= limits.max_head_bytes,
        "head_len {n}"
    );
    assert!(
        data[..n].ends_with(b"\r\n\r\n"),
        "head does not end in CRLFCRLF"
    );
    assert!(head.headers.len() <= limits.max_header_count);
    let in_head = |r: &core::ops::Range<usize>| r.start <= r.end && r.end <= n;
    assert!(in_head(&head.method_bytes) && !head.method_bytes.is_empty());
    assert!(in_head(&head.target) && !head.target.is_empty());
    for h in &head.headers {
        assert!(in_head(&h.name) && !h.name.is_empty(), "{h:?}");
        assert!(in_head(&h.value), "{h:?}");
    }
    let target = &data[head.target.clone()];
    assert!(target.len() <= limits.max_request_line_bytes);
    match analyze(head, data) {
        Ok(info) => {
            if info.framing == BodyFraming::Chunked {
                assert!(head.header(data, "transfer-encoding").is_some());
            }
        }
        Err(e) => assert!((400..600).contains(&e.status().as_u16()), "{e:?}"),
    }
    if let Ok(decoded) = decode_target(target) {
        check_target(&decoded);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::replay;

    #[test]
    fn http_head_seeds() {
        replay(
            "http_head",
            fuzz_http_head,
            &[
                b"",
                b"\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET / HTTP/1.1\nHost: x\n\n",
                b"PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
                b"GET / HTTP/1.1\r\n Host: x\r\n\r\n",
            ],
        );
    }

    #[test]
    fn http_head_line_limit_is_split_invariant() {
        // A request line over the limit that ends in a bare LF: parsed
        // whole or byte by byte, the same error.
        let mut data = vec![b'A'; 100];
        data.extend_from_slice(b"\n\r\n");
        fuzz_http_head(&data);
    }
}
