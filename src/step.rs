//! The one result shape shared by every sans-IO core (`http` body decoders,
//! `multipart`).
//!
//! A core is fed a slice of bytes and answers with a [`Step`]: how many bytes
//! of the slice it is finished with, and at most one event. The calling
//! contract is the same everywhere:
//!
//! * call `feed`/`decode` again with `input[consumed..]` while a call returns
//!   an event or `consumed > 0`;
//! * `Step { consumed: 0, event: None }` means "need more input": read more
//!   bytes, append them after `input[consumed..]`, and call again.
//!
//! Every call either consumes bytes, returns an event, or asks for input, so a
//! caller that follows the contract can never spin in place.

/// What one call to a core's `feed` did. See the module docs for the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<E> {
    /// Bytes at the front of the input the core is finished with
    /// (`0 <= consumed <= input.len()`).
    pub consumed: usize,
    /// At most one event produced by this call.
    pub event: Option<E>,
}

impl<E> Step<E> {
    /// A step that consumed `consumed` bytes and produced no event.
    pub fn consumed(consumed: usize) -> Self {
        Step {
            consumed,
            event: None,
        }
    }

    /// A step that produced `event` after consuming `consumed` bytes.
    pub fn event(consumed: usize, event: E) -> Self {
        Step {
            consumed,
            event: Some(event),
        }
    }

    /// The "need more input" step.
    pub fn need_more() -> Self {
        Step {
            consumed: 0,
            event: None,
        }
    }

    /// True for the "need more input" step.
    pub fn needs_more(&self) -> bool {
        self.consumed == 0 && self.event.is_none()
    }
}

/// The [`Step`] contract, checked by the test and fuzz drivers of every
/// core (`crate::fuzzing`, `multipart::fuzzing`): a bounded number of calls
/// for the input (no spin), `consumed <= input.len()`, and data ranges that
/// are non-empty and inside the consumed bytes. Panics on a violation.
#[doc(hidden)]
#[derive(Debug)]
pub struct ContractCheck {
    calls: usize,
    budget: usize,
    input_bytes: usize,
}

impl ContractCheck {
    /// For `input_bytes` fed in `pieces` pieces. Every call consumes a
    /// byte, emits an event that consumed bytes, or asks for input (once
    /// per piece), so bytes + pieces, doubled, plus slack bounds the calls.
    pub fn new(input_bytes: usize, pieces: usize) -> Self {
        let budget = input_bytes
            .saturating_add(pieces)
            .saturating_mul(2)
            .saturating_add(16);
        ContractCheck {
            calls: 0,
            budget,
            input_bytes,
        }
    }

    /// Checks one call's result against the input it was given.
    pub fn check<E>(&mut self, step: &Step<E>, input_len: usize) {
        self.calls += 1;
        assert!(
            self.calls <= self.budget,
            "spin: {} calls for {} bytes",
            self.calls,
            self.input_bytes
        );
        assert!(
            step.consumed <= input_len,
            "consumed {} of {}",
            step.consumed,
            input_len
        );
    }

    /// Checks a data event's range against the bytes its call consumed.
    pub fn check_data(range: &std::ops::Range<usize>, consumed: usize) {
        assert!(
            range.start < range.end && range.end <= consumed,
            "bad data range {range:?} (consumed {consumed})"
        );
    }
}
