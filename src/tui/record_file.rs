//! The recording's file on disk, opened and rotated so that `--record` can never be
//! turned against the machine: a symbolic link is never followed, nothing but a
//! regular file is ever opened (a device or a FIFO is refused before it is opened: an
//! open alone may start a watchdog or block), an existing file is written only when
//! it is a recording already (its first line a recording header), and an exclusive
//! `flock` keeps two consoles out of one file. Rotation renames only the file this
//! process opened (device and inode compared first) and only over an older part that
//! is itself a recording.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::model::recording::{Entry, What};

/// The longest first line read to check a file's header (a header is a few hundred bytes).
const HEADER_PEEK: u64 = 64 << 10;

/// An open recording, locked against other consoles.
pub struct RecordFile {
    file: Flock<File>,
    /// What it held when opened (appended to from there).
    pub len: u64,
    /// Its device and inode: rotation renames the path only while it is still this file.
    identity: (u64, u64),
}

/// Why a recording file cannot be used; each a line naming the path and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RecordFileError {
    #[error("{0}: is a symbolic link; give the path of the recording itself")]
    Symlink(PathBuf),
    #[error("{0}: is {1}, not a regular file; record to a file")]
    NotAFile(PathBuf, &'static str),
    #[error("{0}: has {1} hard links; record to a file of its own")]
    HardLinked(PathBuf, u64),
    #[error("{0}: exists and is not a recording ({1}); choose a new file name or remove it")]
    NotARecording(PathBuf, String),
    #[error("{0}: another console is recording to it; give each console its own file")]
    Busy(PathBuf),
    #[error("{0}: was readable by others (mode {1:o}) and could not be made private ({2}); chmod 600 it")]
    Exposed(PathBuf, u32, String),
    #[error("{0}: was moved or replaced since it was opened; nothing was renamed")]
    Replaced(PathBuf),
    #[error("{0}: cannot open it ({1})")]
    Io(PathBuf, std::io::Error),
}

impl RecordFile {
    /// Opens `path` for appending, creating it 0600 when it does not exist.
    pub fn open(path: &Path) -> Result<Self, RecordFileError> {
        let io = |e: std::io::Error| RecordFileError::Io(path.to_path_buf(), e);
        let file = match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_new(path)?,
            Err(e) => return Err(io(e)),
            Ok(meta) => {
                check_kind(path, &meta)?;
                let file = open_existing(path)?;
                let opened = file.metadata().map_err(io)?;
                // Swapped between the look and the open: refuse rather than guess.
                if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
                    return Err(RecordFileError::Replaced(path.to_path_buf()));
                }
                file
            }
        };
        let meta = file.metadata().map_err(io)?;
        check_kind(path, &meta)?;
        let file = lock(path, file)?;
        if meta.len() > 0 {
            check_is_recording(path, &file)?;
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| RecordFileError::Exposed(path.to_path_buf(), mode, e.to_string()))?;
            tracing::warn!("{}: was readable by others (mode {mode:o}); made it 0600", path.display());
        }
        Ok(Self { file, len: meta.len(), identity: (meta.dev(), meta.ino()) })
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// `path` → `path.1` (replacing an older part), then a new, empty, locked `path`.
    /// Refused when `path` is no longer the file this process opened, or `path.1`
    /// exists and is not an older part of a recording.
    /// On a refusal nothing was renamed and this file stays open; a failure after the
    /// rename leaves this (now older) part open.
    pub fn rotate(&mut self, path: &Path) -> Result<(), RecordFileError> {
        let io = |e: std::io::Error| RecordFileError::Io(path.to_path_buf(), e);
        match std::fs::symlink_metadata(path) {
            Ok(meta) if (meta.dev(), meta.ino()) == self.identity && meta.file_type().is_file() => {}
            Ok(_) => return Err(RecordFileError::Replaced(path.to_path_buf())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RecordFileError::Replaced(path.to_path_buf()));
            }
            Err(e) => return Err(io(e)),
        }
        let older = older_part(path);
        match std::fs::symlink_metadata(&older) {
            Ok(meta) => {
                check_kind(&older, &meta)?;
                check_is_recording(&older, &open_for_reading(&older)?)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RecordFileError::Io(older, e)),
        }
        std::fs::rename(path, &older).map_err(io)?;
        // The new file is locked from its creation; the old one's lock goes when it is dropped.
        let file = lock(path, create_new(path)?)?;
        let meta = file.metadata().map_err(io)?;
        *self = Self { file, len: 0, identity: (meta.dev(), meta.ino()) };
        Ok(())
    }
}

/// `FILE.1`: where the earlier part goes at a rotation.
pub fn older_part(path: &Path) -> PathBuf {
    let mut older = path.as_os_str().to_owned();
    older.push(".1");
    PathBuf::from(older)
}

/// Opens a recording for reading (replay): the same refusals of links, devices and
/// FIFOs, so that a read can neither block nor run without end.
pub fn open_for_reading(path: &Path) -> Result<File, RecordFileError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| RecordFileError::Io(path.to_path_buf(), e))?;
    check_kind(path, &meta)?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| open_error(path, e))?;
    let opened = file.metadata().map_err(|e| RecordFileError::Io(path.to_path_buf(), e))?;
    check_kind(path, &opened)?;
    Ok(file)
}

fn create_new(path: &Path) -> Result<File, RecordFileError> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| open_error(path, e))
}

fn open_existing(path: &Path) -> Result<File, RecordFileError> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| open_error(path, e))
}

fn open_error(path: &Path, e: std::io::Error) -> RecordFileError {
    if e.raw_os_error() == Some(Errno::ELOOP as i32) {
        RecordFileError::Symlink(path.to_path_buf())
    } else {
        RecordFileError::Io(path.to_path_buf(), e)
    }
}

fn check_kind(path: &Path, meta: &std::fs::Metadata) -> Result<(), RecordFileError> {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    let what = if kind.is_symlink() {
        return Err(RecordFileError::Symlink(path.to_path_buf()));
    } else if kind.is_file() {
        if meta.nlink() > 1 {
            return Err(RecordFileError::HardLinked(path.to_path_buf(), meta.nlink()));
        }
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(RecordFileError::NotAFile(path.to_path_buf(), what))
}

fn lock(path: &Path, file: File) -> Result<Flock<File>, RecordFileError> {
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| match errno {
        Errno::EWOULDBLOCK => RecordFileError::Busy(path.to_path_buf()),
        other => RecordFileError::Io(path.to_path_buf(), std::io::Error::from(other)),
    })
}

/// The first line must be a recording header.
fn check_is_recording(path: &Path, file: &File) -> Result<(), RecordFileError> {
    let not = |why: &str| RecordFileError::NotARecording(path.to_path_buf(), why.to_string());
    let mut first = Vec::new();
    let mut reader = BufReader::new(file.take(HEADER_PEEK));
    // A fresh descriptor on the file reads from its start (appends go to the end whatever the offset).
    reader.read_until(b'\n', &mut first).map_err(|e| RecordFileError::Io(path.to_path_buf(), e))?;
    let text = std::str::from_utf8(&first).map_err(|_| not("its first line is not text"))?;
    match serde_json::from_str::<Entry>(text.trim_end()) {
        Ok(Entry { what: What::Header(_), .. }) => Ok(()),
        _ => Err(not("it does not start with a recording header")),
    }
}
