//! Property tests of the multipart core against two oracles: a naive
//! whole-buffer splitter (`memmem::find` over the complete body) and
//! `multer`, driven by a single-thread executor over the same pieces.
//! Also: mutated bodies give the same result however they are split.
//!
//! Generated bodies have a random RFC 2046 boundary (1..=70 `bchars`), an
//! optional preamble, transport padding, parts with names, filenames (only
//! names that sanitizing leaves alone) and content types, and content built
//! from arbitrary bytes, delimiter-dense bytes, partial delimiters
//! (`\r\n--` + a proper prefix of the boundary) and lone CRs; then an
//! arbitrary epilogue.

use std::convert::Infallible;

use memchr::memmem;
use proptest::prelude::*;
use ringdrop::multipart::{drive_all, MultipartLimits, MultipartParser, OwnedEvent};

fn limits() -> MultipartLimits {
    MultipartLimits::default()
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

/// One piece of generated part content.
#[derive(Debug, Clone)]
enum Segment {
    /// Arbitrary bytes.
    Bytes(Vec<u8>),
    /// Bytes from an alphabet dense in delimiter characters.
    Tricky(Vec<u8>),
    /// `\r\n--` + a proper prefix of the boundary (length mod boundary len).
    Partial(usize),
    /// A lone CR.
    Cr,
}

#[derive(Debug, Clone)]
struct GenPart {
    name: String,
    filename: Option<String>,
    content_type: Option<&'static str>,
    content: Vec<Segment>,
}

#[derive(Debug, Clone)]
struct GenBody {
    boundary: String,
    preamble: Option<String>,
    padding: Vec<String>,
    parts: Vec<GenPart>,
    epilogue: Vec<u8>,
}

/// A part as the oracles see it: (name, filename, content type, content).
type Part = (Option<String>, Option<String>, Option<String>, Vec<u8>);

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Segment::Bytes),
        prop::collection::vec(prop::sample::select(b"\r\n-bx0".to_vec()), 0..12)
            .prop_map(Segment::Tricky),
        (0usize..80).prop_map(Segment::Partial),
        Just(Segment::Cr),
    ]
}

fn gen_part() -> impl Strategy<Value = GenPart> {
    (
        "[a-z][a-z0-9_]{0,8}",
        prop::option::of("[a-zA-Z0-9_][a-zA-Z0-9_ .-]{0,12}"),
        prop::option::of(prop::sample::select(vec![
            "text/plain",
            "application/octet-stream",
            "image/png",
        ])),
        prop::collection::vec(segment(), 0..8),
    )
        .prop_map(|(name, filename, content_type, content)| GenPart {
            name,
            filename,
            content_type,
            content,
        })
}

fn gen_body() -> impl Strategy<Value = GenBody> {
    (
        "[0-9a-zA-Z'()+_,./:=? -]{0,69}[0-9a-zA-Z'()+_,./:=?-]",
        prop::option::of("[a-zA-Z0-9 ]{0,20}"),
        prop::collection::vec("[ \t]{0,2}", 8),
        prop::collection::vec(gen_part(), 0..5),
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(|(boundary, preamble, padding, parts, epilogue)| GenBody {
            boundary,
            preamble,
            padding,
            parts,
            epilogue,
        })
}

impl GenBody {
    fn delimiter(&self) -> Vec<u8> {
        format!("\r\n--{}", self.boundary).into_bytes()
    }

    /// A part's content: segments joined, with any full delimiter broken
    /// (and a leading dash-boundary defused, where RFC 2046 and multer
    /// disagree).
    fn content(&self, part: &GenPart) -> Vec<u8> {
        let delim = self.delimiter();
        let mut c = Vec::new();
        for s in &part.content {
            match s {
                Segment::Bytes(b) | Segment::Tricky(b) => c.extend_from_slice(b),
                Segment::Partial(k) => c.extend_from_slice(&delim[..4 + k % self.boundary.len()]),
                Segment::Cr => c.push(b'\r'),
            }
        }
        while let Some(i) = memmem::find(&c, &delim) {
            c[i + 1] = b'X';
        }
        if c.starts_with(&delim[2..]) {
            c.insert(0, b'X');
        }
        c
    }

    fn expected(&self) -> Vec<Part> {
        self.parts
            .iter()
            .map(|p| {
                (
                    Some(p.name.clone()),
                    p.filename.clone(),
                    p.content_type.map(str::to_owned),
                    self.content(p),
                )
            })
            .collect()
    }

    fn bytes(&self) -> Vec<u8> {
        let b = &self.boundary;
        let mut out = Vec::new();
        if let Some(p) = &self.preamble {
            out.extend_from_slice(p.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(format!("--{b}{}\r\n", self.padding[i % 8]).as_bytes());
            out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{}\"", part.name).as_bytes(),
            );
            if let Some(f) = &part.filename {
                out.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            if let Some(ct) = part.content_type {
                out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&self.content(part));
        }
        if !self.parts.is_empty() {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{b}--").as_bytes());
        out.extend_from_slice(&self.epilogue);
        out
    }
}

/// The naive oracle: the whole body in one buffer, split with `memmem::find`.
fn naive_parse(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let dash = format!("--{boundary}").into_bytes();
    let delim = format!("\r\n--{boundary}").into_bytes();
    let mut pos = if body.starts_with(&dash) {
        dash.len()
    } else {
        memmem::find(body, &delim)? + delim.len()
    };
    let mut parts = Vec::new();
    loop {
        while matches!(body.get(pos), Some(b' ' | b'\t')) {
            pos += 1;
        }
        if body[pos..].starts_with(b"--") {
            return Some(parts);
        }
        if !body[pos..].starts_with(b"\r\n") {
            return None;
        }
        pos += 2;
        let header_end = pos + memmem::find(&body[pos..], b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&body[pos..header_end]).ok()?;
        let (mut name, mut filename, mut content_type) = (None, None, None);
        for line in headers.split("\r\n") {
            let (k, v) = line.split_once(':')?;
            let v = v.trim();
            if k.eq_ignore_ascii_case("content-type") {
                content_type = Some(v.to_owned());
            } else if k.eq_ignore_ascii_case("content-disposition") {
                for param in v.split("; ").skip(1) {
                    let (pk, pv) = param.split_once('=')?;
                    let pv = pv.trim_matches('"').to_owned();
                    match pk {
                        "name" => name = Some(pv),
                        "filename" => filename = Some(pv),
                        _ => {}
                    }
                }
            }
        }
        let start = header_end + 4;
        let (content, next) = if body[start..].starts_with(&dash) {
            (Vec::new(), start + dash.len())
        } else {
            let at = start + memmem::find(&body[start..], &delim)?;
            (body[start..at].to_vec(), at + delim.len())
        };
        parts.push((
            name,
            filename.filter(|f| !f.is_empty()),
            content_type,
            content,
        ));
        pos = next;
    }
}

/// Our events, folded into parts.
fn parts_of(events: &[OwnedEvent]) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    for e in events {
        match e {
            OwnedEvent::PartStart(h) => parts.push((
                h.name.clone(),
                h.filename.clone(),
                h.content_type.clone(),
                Vec::new(),
            )),
            OwnedEvent::Data(d) => parts
                .last_mut()
                .expect("data in a part")
                .3
                .extend_from_slice(d),
            OwnedEvent::PartEnd | OwnedEvent::End => {}
        }
    }
    parts
}

/// `multer`, driven by a single-thread executor over the same pieces.
fn multer_parse(body: &[u8], boundary: &str, splits: &[usize]) -> Result<Vec<Part>, multer::Error> {
    let mut cuts: Vec<usize> = splits.iter().map(|&s| s.min(body.len())).collect();
    cuts.sort_unstable();
    cuts.push(body.len());
    let mut prev = 0;
    let mut chunks: Vec<Result<bytes::Bytes, Infallible>> = Vec::new();
    for c in cuts {
        chunks.push(Ok(bytes::Bytes::copy_from_slice(&body[prev..c])));
        prev = c;
    }
    let stream = futures_util::stream::iter(chunks);
    let mut mp = multer::Multipart::new(stream, boundary);
    futures_executor::block_on(async {
        let mut parts = Vec::new();
        while let Some(mut field) = mp.next_field().await? {
            let name = field.name().map(str::to_owned);
            let filename = field
                .file_name()
                .filter(|f| !f.is_empty())
                .map(str::to_owned);
            let content_type = field.content_type().map(|m| m.to_string());
            let mut content = Vec::new();
            while let Some(chunk) = field.chunk().await? {
                content.extend_from_slice(&chunk);
            }
            parts.push((name, filename, content_type, content));
        }
        Ok(parts)
    })
}

fn splits_for(len: usize, fractions: &[u16]) -> Vec<usize> {
    fractions
        .iter()
        .map(|&f| len * usize::from(f) / usize::from(u16::MAX))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn matches_naive_oracle_and_multer(
        g in gen_body(),
        fractions in prop::collection::vec(any::<u16>(), 0..12),
    ) {
        let body = g.bytes();
        let splits = splits_for(body.len(), &fractions);
        let expected = g.expected();

        let naive = naive_parse(&body, &g.boundary);
        prop_assert_eq!(naive.as_ref(), Some(&expected), "naive oracle disagrees with the generator");

        let mut p = MultipartParser::new(g.boundary.as_bytes(), limits()).unwrap();
        let ours = drive_all(&mut p, &body, &splits).map(|e| parts_of(&e));
        prop_assert_eq!(ours.as_ref(), Ok(&expected));

        let mut p = MultipartParser::new(g.boundary.as_bytes(), limits()).unwrap();
        let whole = drive_all(&mut p, &body, &[]).map(|e| parts_of(&e));
        prop_assert_eq!(whole.as_ref(), Ok(&expected));

        let theirs = multer_parse(&body, &g.boundary, &splits);
        prop_assert!(theirs.is_ok(), "multer failed: {:?}", theirs);
        prop_assert_eq!(theirs.ok(), Some(expected));
    }

    #[test]
    fn mutated_bodies_are_split_invariant(
        g in gen_body(),
        flips in prop::collection::vec((any::<u16>(), any::<u8>()), 1..4),
        fractions in prop::collection::vec(any::<u16>(), 0..12),
    ) {
        let mut body = g.bytes();
        for (at, byte) in flips {
            let i = usize::from(at) % body.len();
            body[i] = byte;
        }
        let small = MultipartLimits {
            max_part_header_bytes: 120,
            max_part_headers: 3,
            max_parts: 3,
            max_files: 2,
            max_preamble_bytes: 16,
            };
        let run = |splits: &[usize]| {
            let mut p = MultipartParser::new(g.boundary.as_bytes(), small).unwrap();
            drive_all(&mut p, &body, splits)
        };
        let whole = run(&[]);
        prop_assert_eq!(run(&splits_for(body.len(), &fractions)), whole.clone());
        let every: Vec<usize> = (1..body.len()).collect();
        prop_assert_eq!(run(&every), whole);
    }
}
