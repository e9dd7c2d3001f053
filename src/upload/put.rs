//! A PUT: the whole body is one file, written in order.

use super::plan::{Absorbed, Alignment, BodyPlanner, Plan, PlanError};

/// Plans a PUT body: every byte to file 0, in order, at most
/// `max_file_size_bytes` of them.
///
/// ```
/// use ringdrop::upload::{Alignment, BodyPlanner, Plan, PutPlanner};
/// let mut planner = PutPlanner::new(Alignment::BLOCK, 1 << 20);
/// let mut plan = Plan::default();
/// // 5000 bytes, more to come: one whole block now, the rest waits.
/// let absorbed = planner.absorb(&[7u8; 5000], false, &mut plan).unwrap();
/// assert_eq!(absorbed.consumed, 4096);
/// assert_eq!(plan.writes[0].range, 0..4096);
/// ```
#[derive(Debug, Clone)]
pub struct PutPlanner {
    align: Alignment,
    max_file_size_bytes: u64,
    /// Bytes planned so far: the file offset of the next write.
    planned_bytes: u64,
}

impl PutPlanner {
    /// A planner for a new file.
    pub fn new(align: Alignment, max_file_size_bytes: u64) -> PutPlanner {
        PutPlanner {
            align,
            max_file_size_bytes,
            planned_bytes: 0,
        }
    }

    /// A planner that continues a file already `offset` bytes long (a
    /// resumed upload): the first byte it is given goes to `offset`. With
    /// block alignment `offset` must be a block boundary (re-present the
    /// file's partial last block in front of the new bytes, see
    /// [`BodyPipeline::with_held`](super::BodyPipeline::with_held)).
    pub fn starting_at(align: Alignment, max_file_size_bytes: u64, offset: u64) -> PutPlanner {
        PutPlanner {
            align,
            max_file_size_bytes,
            planned_bytes: offset,
        }
    }

    /// Bytes planned so far (the file's size once the body is complete).
    pub fn size_bytes(&self) -> u64 {
        self.planned_bytes
    }
}

impl BodyPlanner for PutPlanner {
    fn absorb(
        &mut self,
        body: &[u8],
        body_complete: bool,
        plan: &mut Plan,
    ) -> Result<Absorbed, PlanError> {
        let limit = self.max_file_size_bytes;
        if self.planned_bytes.saturating_add(body.len() as u64) > limit {
            return Err(PlanError::FileTooLarge { limit });
        }
        let take = if body_complete {
            body.len()
        } else {
            self.align.round_down(body.len())
        };
        plan.push_write(0, 0..take, self.planned_bytes);
        self.planned_bytes += take as u64;
        Ok(Absorbed {
            consumed: take,
            realign: false,
        })
    }

    fn finish(&mut self) -> Result<(), PlanError> {
        Ok(())
    }

    fn max_carry_bytes(&self) -> usize {
        self.align.bytes() - 1
    }
}
