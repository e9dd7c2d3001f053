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
