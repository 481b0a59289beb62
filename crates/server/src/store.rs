//! Where the service keeps files — uploads, rigs, videos, voice previews —
//! addressed by relative names such as `videos/<id>.mp4`. Two places sit
//! behind `object_store`'s `ObjectStore` trait: a local directory (the
//! embedded default) and an S3-compatible bucket (distributed mode, shared
//! by every front end and worker).
//!
//! Work in progress never enters the store: uploads are received and
//! checked, and videos are encoded, in a local scratch directory; a
//! finished file goes in with one put (or a multipart upload for large
//! ones), so nobody ever reads half a file under a real name.

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::signer::Signer;
use object_store::{BackoffConfig, GetOptions, GetRange, ObjectStore, ObjectStoreExt, RetryConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long a pre-signed URL handed to a client stays valid.
pub const PRESIGNED_URL_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Where files go, as configured.
#[derive(Debug, Clone, Default)]
pub enum StoreConfig {
    /// `files/` under the data directory.
    #[default]
    Local,
    S3(S3Config),
}

/// An S3-compatible bucket.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub bucket: String,
    /// The server's URL, for S3-compatible servers other than AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Hand clients pre-signed URLs of the bucket instead of URLs of this
    /// server (which then streams the files from the bucket itself).
    pub presigned_urls: bool,
}

pub(crate) struct Store {
    objects: Arc<dyn ObjectStore>,
    /// The bucket, when files are handed out as pre-signed URLs.
    signer: Option<Arc<AmazonS3>>,
    /// The directory of a local store (served directly, with ranges).
    local_root: Option<PathBuf>,
    scratch: PathBuf,
}

/// Requests to the bucket are retried for about a minute (0.2 s, 0.4 s, …
/// up to 10 s apart) before a job sees an error: long enough to ride out
/// an S3 server restarting, short enough that a job then fails over to
/// its own retries.
fn patient_retries() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            base: 2.0,
        },
        max_retries: 10,
        retry_timeout: Duration::from_secs(90),
    }
}

fn object_path(name: &str) -> ObjectPath {
    ObjectPath::from(name)
}

/// The store's errors as I/O errors, so a missing file stays recognisable.
fn io_error(error: object_store::Error) -> std::io::Error {
    match error {
        object_store::Error::NotFound { .. } => std::io::Error::new(std::io::ErrorKind::NotFound, error.to_string()),
        other => std::io::Error::other(other.to_string()),
    }
}

impl Store {
    /// Opens the configured store; `data_dir` holds the local store and,
    /// in both cases, the scratch directory.
    pub(crate) fn open(config: &StoreConfig, data_dir: &Path) -> Result<Store, crate::ServerError> {
        let scratch = data_dir.join("scratch");
        std::fs::create_dir_all(&scratch)?;
        match config {
            StoreConfig::Local => {
                let root = data_dir.join("files");
                std::fs::create_dir_all(&root)?;
                let objects = LocalFileSystem::new_with_prefix(&root)
                    .map_err(|e| crate::ServerError::Config(format!("file store at {}: {e}", root.display())))?;
                Ok(Store { objects: Arc::new(objects), signer: None, local_root: Some(root), scratch })
            }
            StoreConfig::S3(s3) => {
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_retry(patient_retries());
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(id) = &s3.access_key_id {
                    builder = builder.with_access_key_id(id);
                }
                if let Some(secret) = &s3.secret_access_key {
                    builder = builder.with_secret_access_key(secret);
                }
                let bucket = Arc::new(
                    builder.build().map_err(|e| crate::ServerError::Config(format!("S3 bucket {}: {e}", s3.bucket)))?,
                );
                let signer = s3.presigned_urls.then(|| bucket.clone());
                Ok(Store { objects: bucket, signer, local_root: None, scratch })
            }
        }
    }

    /// The directory of a local store, if this is one.
    pub(crate) fn local_root(&self) -> Option<&Path> {
        self.local_root.as_deref()
    }

    /// A fresh directory for one piece of work (an upload, a render),
    /// removed with the returned guard.
    pub(crate) fn scratch_dir(&self) -> std::io::Result<tempfile::TempDir> {
        tempfile::Builder::new().prefix("work-").tempdir_in(&self.scratch)
    }

    pub(crate) async fn put(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.objects.put(&object_path(name), Bytes::copy_from_slice(bytes).into()).await.map(|_| ()).map_err(io_error)
    }

    /// Stores the local file at `path` as `name`, streamed (in parts for a
    /// large file, so it is never held whole in memory).
    pub(crate) async fn put_file(&self, name: &str, path: &Path) -> std::io::Result<()> {
        let mut file = tokio::fs::File::open(path).await?;
        let mut writer = object_store::buffered::BufWriter::new(self.objects.clone(), object_path(name));
        match tokio::io::copy(&mut file, &mut writer).await {
            Ok(_) => {
                use tokio::io::AsyncWriteExt;
                writer.shutdown().await
            }
            Err(error) => {
                let _ = writer.abort().await;
                Err(error)
            }
        }
    }

    pub(crate) async fn get(&self, name: &str) -> std::io::Result<Vec<u8>> {
        let result = self.objects.get(&object_path(name)).await.map_err(io_error)?;
        Ok(result.bytes().await.map_err(io_error)?.to_vec())
    }

    /// Copies `name` to the local file `path` (for tools that read files).
    pub(crate) async fn download(&self, name: &str, path: &Path) -> std::io::Result<()> {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        let mut stream = self.objects.get(&object_path(name)).await.map_err(io_error)?.into_stream();
        let mut file = tokio::fs::File::create(path).await?;
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk.map_err(io_error)?).await?;
        }
        file.flush().await
    }

    /// Removes `name`; a file already gone is not an error.
    pub(crate) async fn delete(&self, name: &str) -> std::io::Result<()> {
        match self.objects.delete(&object_path(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(io_error(error)),
        }
    }

    /// A part of `name` (all of it without a range), to be read as a
    /// stream of chunks; its `meta.size` is the whole file's size. How this
    /// server hands out files of a bucket.
    pub(crate) async fn read_range(
        &self,
        name: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> std::io::Result<object_store::GetResult> {
        let options = GetOptions { range: range.map(GetRange::Bounded), ..GetOptions::default() };
        self.objects.get_opts(&object_path(name), options).await.map_err(io_error)
    }

    /// Size of `name` in bytes.
    pub(crate) async fn size(&self, name: &str) -> std::io::Result<u64> {
        Ok(self.objects.head(&object_path(name)).await.map_err(io_error)?.size)
    }

    /// The URL a client downloads `name` from: a pre-signed URL of the
    /// bucket when so configured, else this server's `/files/` route.
    pub(crate) async fn url(&self, public_url: &str, name: &str) -> String {
        if let Some(signer) = &self.signer {
            match signer.signed_url(object_store::signer::Method::GET, &object_path(name), PRESIGNED_URL_LIFETIME).await
            {
                Ok(url) => return url.to_string(),
                Err(error) => tracing::warn!(%error, name, "cannot pre-sign; handing out this server's URL"),
            }
        }
        format!("{public_url}/files/{name}")
    }
}

/// Files received from clients (uploads, fetched URLs) are written here
/// piece by piece, refusing to go past `limit` bytes, before they are
/// checked and put into the store. Dropped, the partial file is removed.
pub(crate) struct Incoming {
    file: tokio::fs::File,
    /// The scratch directory holding the file; removed on drop.
    directory: tempfile::TempDir,
    path: PathBuf,
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

/// A received file, whole, in scratch; removed when dropped.
pub(crate) struct Received {
    _directory: tempfile::TempDir,
    pub path: PathBuf,
    pub size: u64,
}

impl Incoming {
    /// Starts receiving a file whose name ends in `.{extension}` (for tools
    /// that look at it).
    pub(crate) async fn start(store: &Store, extension: &str, limit: u64) -> std::io::Result<Incoming> {
        let directory = store.scratch_dir()?;
        let path = directory.path().join(format!("incoming.{extension}"));
        let file = tokio::fs::File::create(&path).await?;
        Ok(Incoming { file, directory, path, written: 0, limit })
    }

    pub(crate) async fn write(&mut self, chunk: &[u8]) -> Result<(), IncomingError> {
        use tokio::io::AsyncWriteExt;
        self.written += chunk.len() as u64;
        if self.written > self.limit {
            return Err(IncomingError::TooLarge(self.limit));
        }
        Ok(self.file.write_all(chunk).await?)
    }

    pub(crate) async fn finish(mut self) -> std::io::Result<Received> {
        use tokio::io::AsyncWriteExt;
        self.file.flush().await?;
        Ok(Received { _directory: self.directory, path: self.path, size: self.written })
    }
}
