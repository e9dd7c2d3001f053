//! The sweeper: one task for the process (on worker 0) that goes over the
//! staging area at start-up and then periodically, and does what each
//! record's [`UploadRecord::sweep`] says — keep it, free an expired upload
//! (record first, then data), or finish a commit that a crash interrupted.
//! It also removes what a crash can leave without a record (a data file
//! whose creation never got its record, a temporary record), and recounts
//! the [`StagingUsage`] the limits are checked against (which also takes
//! in what other processes serving the same ROOT did).
//!
//! It never waits for a lock: an upload that a request holds is left for
//! the next pass (the request itself refuses an expired upload).

use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::watch;

use super::commit::commit;
use super::{now_unix, Failure};
use crate::resumable::{
    ResumableLimits, StagingUsage, SweepAction, UploadId, UploadRecord, UploadState,
};
use crate::server::worker_state::Worker;
use crate::storage::staging::{scan, Staging, StagingEntry, UploadFiles};
use crate::storage::StagedFile;

/// A data file or temporary record without a record is left alone this
/// long (seconds since it was last written): its creator may be between
/// the two steps.
const ORPHAN_GRACE_SECS: u64 = 60;

/// How often the sweeper runs: a quarter of the expiry, between 1 s and
/// 60 s, so an expired upload is freed within a fraction of its lifetime.
pub(crate) fn interval(limits: &ResumableLimits) -> Duration {
    Duration::from_secs((limits.expiry_secs / 4).clamp(1, 60))
}

/// Starts the sweeper on the calling worker; it stops when `shutdown`
/// turns true.
pub(crate) fn spawn(worker: Rc<Worker>, mut shutdown: watch::Receiver<bool>) {
    tokio_uring::spawn(async move {
        let every = interval(&worker.config.resumable);
        loop {
            sweep_once(&worker).await;
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.wait_for(|down| *down) => break,
            }
        }
    });
}

/// The usage of the staging area of `staging` as its records say, read
/// without changing anything (at start-up, before the workers serve).
pub(crate) fn initial_usage(staging: &Staging) -> std::io::Result<StagingUsage> {
    let mut usage = StagingUsage::default();
    let Some(dir) = staging.existing_dir()? else {
        return Ok(usage);
    };
    for entry in scan(&dir)? {
        let StagingEntry::Record(id) = entry else {
            continue;
        };
        let files = UploadFiles::new(dir.clone(), id);
        if let Ok(Some(bytes)) = files.read_record() {
            if let Ok(record) = UploadRecord::decode(&bytes) {
                count(&mut usage, &record);
            }
        }
    }
    Ok(usage)
}

fn count(usage: &mut StagingUsage, record: &UploadRecord) {
    if record.is_unfinished() {
        usage.unfinished_uploads = usage.unfinished_uploads.saturating_add(1);
        usage.staged_bytes = usage.staged_bytes.saturating_add(record.offset);
    }
}

/// One pass over the staging area.
pub(crate) async fn sweep_once(worker: &Worker) {
    let staging = &worker.staging;
    let dir = match staging.existing_dir() {
        Ok(Some(dir)) => dir,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!("resumable uploads: cannot open the staging area: {err}");
            return;
        }
    };
    let entries = match scan(&dir) {
        Ok(entries) => entries,
        Err(err) => {
            tracing::warn!("resumable uploads: cannot read the staging area: {err}");
            return;
        }
    };
    let (mut records, mut data, mut tmps) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for entry in entries {
        match entry {
            StagingEntry::Record(id) => records.insert(id),
            StagingEntry::Data(id) => data.insert(id),
            StagingEntry::RecordTmp(id) => tmps.insert(id),
            StagingEntry::Other => false,
        };
    }
    let now = now_unix();
    let mut usage = StagingUsage::default();
    for &id in &records {
        let files = UploadFiles::new(dir.clone(), id);
        match sweep_record(worker, &files, now).await {
            Ok(Some(record)) => count(&mut usage, &record),
            Ok(None) => {}
            Err(err) => tracing::warn!(upload = %id, "resumable uploads: sweep: {err:?}"),
        }
        // One record at a time: the worker's connections go on meanwhile.
        crate::server::yield_to_worker().await;
    }
    for id in data.difference(&records) {
        remove_orphan(&UploadFiles::new(dir.clone(), *id), id, now, true);
    }
    for id in &tmps {
        remove_orphan(&UploadFiles::new(dir.clone(), *id), id, now, false);
    }
    staging.set_usage(usage);
}

/// Removes a data file without a record (`data`) or a stale temporary
/// record, once it is older than [`ORPHAN_GRACE_SECS`] and no request
/// holds the upload's lock.
fn remove_orphan(files: &UploadFiles, id: &UploadId, now: i64, data: bool) {
    let name = if data {
        id.data_file_name()
    } else {
        id.record_tmp_file_name()
    };
    match files.age_secs(&name, now) {
        Ok(Some(age)) if age >= ORPHAN_GRACE_SECS => {}
        _ => return,
    }
    let _lock = match files.lock() {
        Ok(Some(lock)) => Some(lock),
        Ok(None) => return,
        Err(err) if err.raw_os_error() == Some(libc::ENOENT) => None,
        Err(_) => return,
    };
    let result = if data {
        // Only while there is still no record (its creator may have
        // finished meanwhile).
        match files.read_record() {
            Ok(None) => files.remove_data(),
            _ => Ok(()),
        }
    } else {
        files.remove_record_tmp()
    };
    if let Err(err) = result {
        tracing::warn!(upload = %id, "resumable uploads: cannot remove a leftover: {err}");
    }
}

/// Sweeps one record; returns the record that stays (to count it).
async fn sweep_record(
    worker: &Worker,
    files: &UploadFiles,
    now: i64,
) -> Result<Option<UploadRecord>, Failure> {
    let Some(bytes) = files.read_record()? else {
        return Ok(None);
    };
    let record = match UploadRecord::decode(&bytes) {
        Ok(record) => record,
        Err(err) => {
            // A torn or foreign record is never an upload; once it is as
            // old as an upload may be, its files go.
            let name = files.id().record_file_name();
            let expiry = worker.config.resumable.expiry_secs;
            if files.age_secs(&name, now)?.is_some_and(|age| age >= expiry) {
                tracing::warn!(upload = %files.id(), "removing an unusable upload record: {err}");
                match files.lock() {
                    Ok(Some(lock)) => {
                        files.remove(true)?;
                        drop(lock);
                    }
                    Ok(None) => {}
                    // No data file: only the record is there.
                    Err(_) => files.remove(true)?,
                }
            }
            return Ok(None);
        }
    };
    match record.sweep(now) {
        SweepAction::Keep => {
            if let UploadState::Completed { .. } = record.state {
                // A crash between the completed record and the removal of
                // the staging name: only the name goes.
                files.remove_data()?;
            }
            Ok(Some(record))
        }
        SweepAction::Remove(_) => {
            let _lock = match files.lock() {
                Ok(Some(lock)) => Some(lock),
                // A request holds it; it finds the upload expired itself.
                Ok(None) => return Ok(Some(record)),
                Err(err) if err.raw_os_error() == Some(libc::ENOENT) => None,
                Err(err) => return Err(err.into()),
            };
            let Some(bytes) = files.read_record()? else {
                return Ok(None);
            };
            let record = UploadRecord::decode(&bytes)?;
            if let SweepAction::Remove(_) = record.sweep(now) {
                files.remove(true)?;
                if record.is_unfinished() {
                    worker
                        .metrics
                        .inc(crate::metrics::Counter::ResumableExpired);
                    tracing::info!(upload = %files.id(), offset = record.offset, "resumable upload expired; its bytes are freed");
                }
                return Ok(None);
            }
            Ok(Some(record))
        }
        SweepAction::ResumeCommit { .. } => {
            let lock = match files.lock() {
                Ok(Some(lock)) => lock,
                Ok(None) => return Ok(Some(record)),
                Err(err) if err.raw_os_error() == Some(libc::ENOENT) => {
                    // The data's staging name goes only after the link: the
                    // commit was done, its last record was lost in a crash.
                    let done = record
                        .finish_commit(now, &worker.config.resumable)
                        .ok_or(crate::resumable::ResumableError::UploadBusy)?;
                    files.write_record(&done.encode()?, false).await?;
                    return Ok(Some(done));
                }
                Err(err) => return Err(err.into()),
            };
            let record = super::load(files)?;
            if !matches!(record.state, UploadState::Committing { .. }) {
                return Ok(Some(record));
            }
            let dir = worker
                .open_target_dir(&record.target_dir)
                .map_err(Failure::from)?;
            let staged = StagedFile::resume(dir, lock.dup()?, record.offset, Default::default())?;
            let (done, _) = commit(worker, files, &lock, staged, record).await?;
            tracing::info!(upload = %files.id(), "finished a commit that was interrupted");
            Ok(Some(done))
        }
    }
}
