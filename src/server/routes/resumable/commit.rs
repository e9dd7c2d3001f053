//! The commit of a complete upload: the data file's inode gets its final
//! name in the target directory with the same calls as a PUT or multipart
//! commit ([`StagedFile::sync_data`], [`StagedFile::link`],
//! [`sync_directory`], the multipart collision-free [`name_candidates`]),
//! with the record written around them so that a crash at any point is
//! finished, not repeated, by the next request or the sweeper.

use std::os::fd::AsFd;

use super::{now_unix, Failure};
use crate::resumable::{CommitMode, ResumableError, UploadRecord, UploadState};
use crate::server::error::RequestError;
use crate::server::worker_state::Worker;
use crate::storage::staged::{name_candidates, sync_directory, CommitMode as LinkMode};
use crate::storage::staging::{UploadFiles, UploadLock};
use crate::storage::StagedFile;
use crate::sys::fs as sysfs;

/// What is at `name` in the target directory, for a commit.
enum AtName {
    /// Nothing: the name is free.
    Free,
    /// The upload's own data file (a commit that a crash interrupted had
    /// linked it already).
    Ours,
    /// Something else.
    Taken,
}

fn at_name(staged: &StagedFile, lock: &UploadLock, name: &str) -> Result<AtName, Failure> {
    let c = sysfs::c_path(name)?;
    match sysfs::lstat_at(staged.dir().as_fd(), &c) {
        Ok(st) if (st.st_dev, st.st_ino) == lock.file_id()? => Ok(AtName::Ours),
        Ok(_) => Ok(AtName::Taken),
        Err(err) if err.raw_os_error() == Some(libc::ENOENT) => Ok(AtName::Free),
        Err(err) => Err(err.into()),
    }
}

/// Commits the complete upload of `record` (active, or committing after a
/// crash) whose data file `staged` continues, under `lock`: syncs the
/// data, writes the record `Committing{name}`, links the file as `name`,
/// syncs the directory, writes the record `Completed`, and removes the
/// staging name of the data. Returns the completed record and whether an
/// existing file was replaced.
///
/// The final name: for [`CommitMode::NewName`] the first of the multipart
/// collision candidates of the record's filename that is free; for
/// [`CommitMode::Replace`] the filename, replacing what is there; for
/// [`CommitMode::CreateOnly`] the filename, or 412 when it is taken (the
/// upload is then removed: it can never complete).
pub(super) async fn commit(
    worker: &Worker,
    files: &UploadFiles,
    lock: &UploadLock,
    mut staged: StagedFile,
    record: UploadRecord,
) -> Result<(UploadRecord, bool), Failure> {
    let config = &worker.config;
    let durable = config.durable;
    // A commit that a crash interrupted: finish it under the name it chose.
    let mut resumed: Option<(UploadRecord, bool)> = None;
    if let UploadState::Committing { name } = &record.state {
        if durable {
            staged.sync_data().await?;
        }
        let link_mode = match record.commit_mode {
            CommitMode::Replace => LinkMode::Replace,
            CommitMode::NewName | CommitMode::CreateOnly => LinkMode::NoReplace,
        };
        match at_name(&staged, lock, name)? {
            AtName::Ours => resumed = Some((record.clone(), false)),
            AtName::Free => {
                let committed = staged.link(name, link_mode)?;
                resumed = Some((record.clone(), committed.replaced));
            }
            AtName::Taken if record.commit_mode == CommitMode::Replace => {
                let committed = staged.link(name, link_mode)?;
                resumed = Some((record.clone(), committed.replaced));
            }
            AtName::Taken => {}
        }
    }
    let (committing, replaced) = match resumed {
        Some(done) => done,
        None => link_new(worker, files, lock, &mut staged, &record).await?,
    };
    if durable {
        sync_directory(staged.dir()).await?;
    }
    let done = committing
        .finish_commit(now_unix(), &config.resumable)
        .ok_or(ResumableError::UploadBusy)?;
    // Not synced: the file is named and durable already, and a committing
    // record that a crash brings back is finished again (same name, same
    // inode) by the next request or the sweeper.
    files.write_record(&done.encode()?, false).await?;
    // The inode lives on under its final name; the staging name goes.
    files.remove_data()?;
    worker.staging.note_finished(done.offset);
    Ok((done, replaced))
}

/// Chooses the final name, writes the `Committing` record, links.
async fn link_new(
    worker: &Worker,
    files: &UploadFiles,
    lock: &UploadLock,
    staged: &mut StagedFile,
    record: &UploadRecord,
) -> Result<(UploadRecord, bool), Failure> {
    let durable = worker.config.durable;
    let mut synced = false;
    match record.commit_mode {
        CommitMode::NewName => {
            for candidate in name_candidates(&record.filename) {
                match at_name(staged, lock, &candidate)? {
                    AtName::Free => {}
                    AtName::Ours => {
                        if durable {
                            staged.sync_data().await?;
                        }
                        return Ok((record.begin_commit(&candidate)?, false));
                    }
                    AtName::Taken => continue,
                }
                let committing = record.begin_commit(&candidate)?;
                write_committing(files, staged, &committing, durable, &mut synced).await?;
                match staged.link(&candidate, LinkMode::NoReplace) {
                    Ok(_) => return Ok((committing, false)),
                    // Taken since it was looked at: the next one.
                    Err(err) if err.raw_os_error() == Some(libc::EEXIST) => continue,
                    Err(err) => return Err(err.into()),
                }
            }
            Err(RequestError::Conflict("no free name for the file").into())
        }
        CommitMode::Replace => {
            let committing = record.begin_commit(&record.filename)?;
            write_committing(files, staged, &committing, durable, &mut synced).await?;
            let committed = staged.link(&record.filename, LinkMode::Replace)?;
            Ok((committing, committed.replaced))
        }
        CommitMode::CreateOnly => {
            let taken = || {
                // The upload can never complete under its name: remove it.
                let _ = files.remove(true);
                worker.staging.note_finished(record.offset);
                Failure::Request(RequestError::PreconditionFailed)
            };
            if let AtName::Taken = at_name(staged, lock, &record.filename)? {
                return Err(taken());
            }
            let committing = record.begin_commit(&record.filename)?;
            write_committing(files, staged, &committing, durable, &mut synced).await?;
            match staged.link(&record.filename, LinkMode::NoReplace) {
                Ok(_) => Ok((committing, false)),
                Err(err) if err.raw_os_error() == Some(libc::EEXIST) => Err(taken()),
                Err(err) => Err(err.into()),
            }
        }
    }
}

/// Puts the `Committing` record in place before the link. In durable mode
/// the data is synced first (`synced` remembers it), beside the record's
/// own fdatasync: once the record names the file, its bytes are on disk.
async fn write_committing(
    files: &UploadFiles,
    staged: &StagedFile,
    committing: &UploadRecord,
    durable: bool,
    synced: &mut bool,
) -> Result<(), Failure> {
    let record = files.stage_record(&committing.encode()?)?;
    if durable {
        if *synced {
            record.sync().await?;
        } else {
            let (data, own) = tokio::join!(staged.sync_data(), record.sync());
            data.and(own)?;
            *synced = true;
        }
    }
    record.install(durable).await?;
    Ok(())
}
