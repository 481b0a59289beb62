//! Files on local disk under the data directory, addressed by relative
//! names such as `videos/<id>.mp4` (the same names form their public URLs).
//! Writes go to a temporary file first and are renamed into place, so a
//! crash never leaves a half-written file under a real name.

use std::path::{Path, PathBuf};

pub(crate) struct FileStore {
    root: PathBuf,
}

impl FileStore {
    pub(crate) fn new(root: PathBuf) -> std::io::Result<FileStore> {
        for dir in ["assets", "rigs", "videos", "voices"] {
            std::fs::create_dir_all(root.join(dir))?;
        }
        Ok(FileStore { root })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Absolute path of a stored name.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// A fresh temporary path beside where `name` goes (same directory, so
    /// the rename into place is atomic; same extension, for tools that look
    /// at it).
    pub(crate) fn temporary(&self, name: &str) -> PathBuf {
        let target = self.path(name);
        let extension = target.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
        target.with_extension(format!("tmp-{}{extension}", uuid::Uuid::new_v4().simple()))
    }

    pub(crate) async fn put(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let (target, temporary) = (self.path(name), self.temporary(name));
        tokio::fs::write(&temporary, bytes).await?;
        tokio::fs::rename(&temporary, &target).await
    }

    pub(crate) async fn get(&self, name: &str) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(self.path(name)).await
    }

    /// Starts writing `name` piece by piece, refusing to go past `limit`
    /// bytes: uploads and fetched files go straight to disk instead of
    /// being held in memory. Nothing appears under `name` until
    /// [`Incoming::finish`]; dropped unfinished, the partial file is removed.
    pub(crate) async fn incoming(&self, name: &str, limit: u64) -> std::io::Result<Incoming> {
        let (target, temporary) = (self.path(name), self.temporary(name));
        let file = tokio::fs::File::create(&temporary).await?;
        Ok(Incoming { file, temporary, target, written: 0, limit })
    }
}

/// A file being written into the store; see [`FileStore::incoming`].
pub(crate) struct Incoming {
    file: tokio::fs::File,
    temporary: PathBuf,
    target: PathBuf,
    written: u64,
    limit: u64,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum IncomingError {
    #[error("larger than {} MB", .0 / (1024 * 1024))]
    TooLarge(u64),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Incoming {
    pub(crate) async fn write(&mut self, chunk: &[u8]) -> Result<(), IncomingError> {
        use tokio::io::AsyncWriteExt;
        self.written += chunk.len() as u64;
        if self.written > self.limit {
            return Err(IncomingError::TooLarge(self.limit));
        }
        Ok(self.file.write_all(chunk).await?)
    }

    /// Puts the file in place; returns its size.
    pub(crate) async fn finish(mut self) -> std::io::Result<u64> {
        use tokio::io::AsyncWriteExt;
        self.file.flush().await?;
        self.file.sync_all().await?;
        tokio::fs::rename(&self.temporary, &self.target).await?;
        // Renamed: nothing left for Drop to remove.
        self.temporary = PathBuf::new();
        Ok(self.written)
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if !self.temporary.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}
