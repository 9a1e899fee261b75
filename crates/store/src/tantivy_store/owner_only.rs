//! The store's files are readable by their owner only: directories 0700, files 0600.
//!
//! A SIEM's index holds every event it received (user names, addresses, commands); other local
//! users must not read it. The store creates its directories with mode 0700 and its own files
//! with 0600; tantivy's files are created through [`OwnerOnlyDirectory`], which restricts each
//! file it creates (its atomic writes — `meta.json`, `.managed.json` — go through a temporary
//! file that is already 0600).

use std::fs::{DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::directory::error::{
    DeleteError, LockError, OpenDirectoryError, OpenReadError, OpenWriteError,
};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, WatchCallback, WatchHandle, WritePtr,
};

/// Mode of the store's directories.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the store's files.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and its missing parents with mode 0700.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Restricts an existing file or directory to its owner (0600 or 0700).
pub fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    std::fs::set_permissions(path, Permissions::from_mode(mode))
}

/// Writes a small file with mode 0600.
pub fn write_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

/// tantivy's memory-mapped directory, creating every file with mode 0600.
#[derive(Clone, Debug)]
pub struct OwnerOnlyDirectory {
    inner: MmapDirectory,
    root: PathBuf,
}

impl OwnerOnlyDirectory {
    /// Opens the existing directory `root`.
    pub fn open(root: &Path) -> Result<OwnerOnlyDirectory, OpenDirectoryError> {
        Ok(OwnerOnlyDirectory {
            inner: MmapDirectory::open(root)?,
            root: root.to_path_buf(),
        })
    }
}

impl Directory for OwnerOnlyDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.inner.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.inner.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let w = self.inner.open_write(path)?;
        // The file was just created (create_new) and is still empty: nothing was readable.
        restrict(&self.root.join(path), FILE_MODE)
            .map_err(|e| OpenWriteError::wrap_io_error(e, path.to_path_buf()))?;
        Ok(w)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.inner.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        // Through a temporary file created with mode 0600, renamed over `path`.
        self.inner.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.inner.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        let l = self.inner.acquire_lock(lock)?;
        // Lock files are empty; restricting them keeps the directory uniform.
        restrict(&self.root.join(&lock.filepath), FILE_MODE).map_err(LockError::wrap_io_error)?;
        Ok(l)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}
