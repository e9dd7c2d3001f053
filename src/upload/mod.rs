//! Upload planning: which decoded body bytes go to which file, at which
//! offset — the sans-IO half of the upload pipeline.
//!
//! **Sans-IO.** Nothing here reads a socket, touches a file, reads a clock or
//! awaits. The server's body pump (`server::connection::receive`) owns the registered
//! buffers and the files; for every buffer of body bytes it calls
//! [`BodyPipeline::process`], which
//!
//! 1. runs the body decoder ([`crate::http::BodyDecoder`]) over the raw bytes
//!    and compacts the decoded body bytes to the front of the buffer (a
//!    chunked body's framing is squeezed out in place), then
//! 2. hands the decoded bytes to a [`BodyPlanner`] — [`PutPlanner`] for a
//!    PUT (the whole body is one file), [`MultipartPlanner`] for a
//!    multipart/form-data POST, an append planner for a resumable upload's
//!    PATCH (a `PutPlanner` that continues the data file) — which answers with [`PlannedWrite`]s
//!    (ranges of the buffer and the file offset each goes to) and the files
//!    it needs ([`NewFile`]).
//!
//! Bytes a core cannot use yet (a partial block of a file written with
//! `O_DIRECT`, a possible partial multipart delimiter, part headers not yet
//! complete, the bytes after the body) come back as the *carry*
//! ([`Processed::body_tail`], [`Processed::raw_tail`]): the pump presents
//! them again at the front of the next buffer, followed by new bytes. The
//! carry is bounded ([`BodyPlanner::max_carry_bytes`]) unless the planner
//! asks to see it again at once ([`Processed::again`]), so an upload waiting
//! for its client keeps a few KiB, never a buffer.
//!
//! # Alignment
//!
//! A file written with `O_DIRECT` wants whole blocks at block-aligned file
//! offsets from block-aligned memory. A planner built with an
//! [`Alignment`] of one block plans exactly that: every write of a file but
//! its last starts at a buffer offset and a file offset that are multiples
//! of the block, and is a whole number of blocks long. With
//! [`Alignment::NONE`] (page-cache writes) everything is planned at once.
//! The plan is a pure function of the bytes, the alignment and where the
//! buffers are cut; `tests.rs` checks it by cutting at every byte and every
//! buffer size.
#![forbid(unsafe_code)]

mod append;
mod multipart;
mod pipeline;
mod plan;
mod put;

pub(crate) use append::{AppendChecks, AppendPlanner};
pub use multipart::MultipartPlanner;
pub use pipeline::{BodyCheck, BodyPipeline, PipelineError, Processed};
pub use plan::{Absorbed, Alignment, BodyPlanner, NewFile, Plan, PlanError, PlannedWrite};
pub use put::PutPlanner;

#[cfg(test)]
mod tests;
