//! Framing rules: one named vector per rule, each smuggling rule included.

use super::*;
use crate::http::{HeadLimits, HeadParser};

fn analyze_raw(input: &[u8]) -> Result<RequestInfo, HeadError> {
    let head = HeadParser::new(HeadLimits::default())
        .parse(input)?
        .expect("vector is a complete head");
    analyze(&head, input)
}

const fn info(framing: BodyFraming, keep_alive: bool, expect_continue: bool) -> RequestInfo {
    RequestInfo {
        framing,
        keep_alive,
        expect_continue,
    }
}

type Vector = (&'static str, &'static [u8], Result<RequestInfo, HeadError>);

const VECTORS: &[Vector] = &[
    ("get no body", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Ok(info(BodyFraming::None, true, false))),
    (
        "content-length",
        b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n",
        Ok(info(BodyFraming::Length(42), true, false)),
    ),
    (
        "content-length zero",
        b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        Ok(info(BodyFraming::Length(0), true, false)),
    ),
    (
        "content-length 19 digits",
        b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n",
        Ok(info(BodyFraming::Length(9_999_999_999_999_999_999), true, false)),
    ),
    (
        "identical repeated content-length",
        b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        Ok(info(BodyFraming::Length(5), true, false)),
    ),
    (
        "identical content-length list",
        b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
        Ok(info(BodyFraming::Length(5), true, false)),
    ),
    (
        "chunked",
        b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        Ok(info(BodyFraming::Chunked, true, false)),
    ),
    (
        "chunked mixed case",
        b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n",
        Ok(info(BodyFraming::Chunked, true, false)),
    ),
    (
        "connection close",
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n",
        Ok(info(BodyFraming::None, false, false)),
    ),
    (
        "connection list with close",
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n",
        Ok(info(BodyFraming::None, false, false)),
    ),
    ("http/1.0 default close", b"GET / HTTP/1.0\r\n\r\n", Ok(info(BodyFraming::None, false, false))),
    (
        "http/1.0 keep-alive",
        b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
        Ok(info(BodyFraming::None, true, false)),
    ),
    (
        "expect 100-continue",
        b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 100-Continue\r\n\r\n",
        Ok(info(BodyFraming::Length(1), true, true)),
    ),
    (
        "expect ignored on http/1.0",
        b"PUT / HTTP/1.0\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n",
        Ok(info(BodyFraming::Length(1), false, false)),
    ),
    ("missing host", b"GET / HTTP/1.1\r\n\r\n", Err(HeadError::MissingHost)),
    ("repeated host", b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", Err(HeadError::RepeatedHost)),
    ("repeated host http/1.0", b"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", Err(HeadError::RepeatedHost)),
    (
        "cl and te",
        b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        Err(HeadError::LengthWithTransferEncoding),
    ),
    (
        "te and cl",
        b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        Err(HeadError::LengthWithTransferEncoding),
    ),
    (
        "differing content-lengths",
        b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        Err(HeadError::ConflictingContentLength),
    ),
    (
        "differing content-length list",
        b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,6\r\n\r\n",
        Err(HeadError::ConflictingContentLength),
    ),
    ("negative content-length", b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", Err(HeadError::InvalidContentLength)),
    ("plus content-length", b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", Err(HeadError::InvalidContentLength)),
    ("space inside content-length", b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", Err(HeadError::InvalidContentLength)),
    ("hex content-length", b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", Err(HeadError::InvalidContentLength)),
    ("empty content-length", b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", Err(HeadError::InvalidContentLength)),
    ("empty list element", b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,,5\r\n\r\n", Err(HeadError::InvalidContentLength)),
    (
        "20 digit content-length",
        b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000000000000000\r\n\r\n",
        Err(HeadError::InvalidContentLength),
    ),
    (
        "te not chunked",
        b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
        Err(HeadError::TransferEncodingNotChunked),
    ),
    (
        "te chunked then gzip",
        b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        Err(HeadError::TransferEncodingNotChunked),
    ),
    (
        "te empty",
        b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n",
        Err(HeadError::TransferEncodingNotChunked),
    ),
    (
        "te chunked with parameter",
        b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
        Err(HeadError::TransferEncodingNotChunked),
    ),
    (
        "te chunked twice in list",
        b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        Err(HeadError::RepeatedChunked),
    ),
    (
        "te chunked twice in fields",
        b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        Err(HeadError::RepeatedChunked),
    ),
    (
        "te gzip then chunked",
        b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        Err(HeadError::UnsupportedTransferEncoding),
    ),
    (
        "te split over fields",
        b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        Err(HeadError::UnsupportedTransferEncoding),
    ),
    (
        "te in http/1.0",
        b"PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        Err(HeadError::TransferEncodingInHttp10),
    ),
    (
        "unknown expectation",
        b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n",
        Err(HeadError::UnsupportedExpectation),
    ),
    (
        "expectation list",
        b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x\r\n\r\n",
        Err(HeadError::UnsupportedExpectation),
    ),
];

#[test]
fn framing_vectors() {
    for (name, input, want) in VECTORS {
        assert_eq!(&analyze_raw(input), want, "{name}");
    }
}

#[test]
fn statuses_of_framing_errors() {
    use crate::http::StatusCode;
    assert_eq!(
        HeadError::UnsupportedTransferEncoding.status(),
        StatusCode::NOT_IMPLEMENTED
    );
    assert_eq!(
        HeadError::UnsupportedExpectation.status(),
        StatusCode::EXPECTATION_FAILED
    );
    assert_eq!(
        HeadError::LengthWithTransferEncoding.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        HeadError::UnsupportedVersion.status(),
        StatusCode::HTTP_VERSION_NOT_SUPPORTED
    );
    assert_eq!(
        HeadError::RequestLineTooLong { limit: 1 }.status(),
        StatusCode::URI_TOO_LONG
    );
}
