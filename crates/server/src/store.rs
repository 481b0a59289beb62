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

    pub(crate) async fn put(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let target = self.path(name);
        let temporary = target.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&temporary, bytes).await?;
        tokio::fs::rename(&temporary, &target).await
    }

    pub(crate) async fn get(&self, name: &str) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(self.path(name)).await
    }
}
