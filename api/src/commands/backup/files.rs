//! Writing a file atomically: a temporary file beside the target (same directory, so the final
//! rename stays on one filesystem), synced before it is renamed, and the directory synced after.

use std::path::{Path, PathBuf};

use super::BackupError;

/// A temporary file beside a target, removed when dropped unless it was installed.
pub(crate) struct Temp {
    pub(crate) path: PathBuf,
}

impl Temp {
    /// `DIR/.NAME.PID.tmp` beside `target`, with any stale one of an earlier run removed.
    pub(crate) fn beside(target: &Path) -> Result<Self, BackupError> {
        let name = target.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let path = directory_of(target).join(format!(".{name}.{}.tmp", std::process::id()));
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(BackupError::io(&path)(error)),
            _ => {}
        }
        Ok(Self { path })
    }

    /// Syncs the file, makes it private (a backup holds password hashes and session tokens), and
    /// moves it to `target`: replacing it when `overwrite`, else failing if it appeared meanwhile.
    pub(crate) fn install(self, target: &Path, overwrite: bool) -> Result<(), BackupError> {
        let file = std::fs::File::open(&self.path).map_err(BackupError::io(&self.path))?;
        file.sync_all().map_err(BackupError::io(&self.path))?;
        set_private(&self.path)?;
        if overwrite {
            std::fs::rename(&self.path, target).map_err(BackupError::io(target))?;
        } else {
            // A hard link is created only where no file is: the no-clobber rename.
            std::fs::hard_link(&self.path, target).map_err(|error| match error.kind() {
                std::io::ErrorKind::AlreadyExists => exists(target),
                _ => BackupError::io(target)(error),
            })?;
            std::fs::remove_file(&self.path).map_err(BackupError::io(&self.path))?;
        }
        sync_directory(target)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        // Gone already once installed; after a failure, nothing half-written stays behind.
        let _ = std::fs::remove_file(&self.path);
        for suffix in ["-journal", "-wal", "-shm"] {
            let mut side = self.path.clone().into_os_string();
            side.push(suffix);
            let _ = std::fs::remove_file(side);
        }
    }
}

/// Refuses an existing backup file unless `overwrite`, before any work is done.
pub(crate) fn check_target(target: &Path, overwrite: bool) -> Result<(), BackupError> {
    if target.exists() && !overwrite {
        return Err(exists(target));
    }
    let directory = directory_of(target);
    if !directory.is_dir() {
        return Err(BackupError::Refused(format!("{}: no such directory", directory.display())));
    }
    Ok(())
}

fn exists(target: &Path) -> BackupError {
    BackupError::Refused(format!(
        "{} exists: choose another name, or pass --force to replace it (with a copy that passed its check)",
        target.display()
    ))
}

/// The directory a path lives in (`.` for a bare name).
pub(crate) fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Syncs the directory holding `path`, so that a rename into it survives a power cut.
fn sync_directory(path: &Path) -> Result<(), BackupError> {
    let directory = directory_of(path);
    let handle = std::fs::File::open(&directory).map_err(BackupError::io(&directory))?;
    handle.sync_all().map_err(BackupError::io(&directory))
}

fn set_private(path: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(BackupError::io(path))?;
    }
    Ok(())
}
