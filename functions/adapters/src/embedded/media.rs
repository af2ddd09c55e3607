//! `FolderMedia`: the media store as plain files under `<root>/<key>`, each with a
//! sidecar `<file>.meta.json` holding its content type and sha256 (what S3 keeps as metadata).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shikayat_core::ports::{MediaStore, PortError, PortResult};

use super::db::join_err;

const META_SUFFIX: &str = ".meta.json";

#[derive(Debug, Clone)]
pub struct FolderMedia {
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    content_type: String,
    sha256: String,
    bytes: u64,
}

impl FolderMedia {
    /// Files go under `root` (`<data_dir>/media` in local mode), created on first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Where `key` is (or would be) stored. Keys come from our own code, but they embed wamids
    /// and file extensions that came from outside, so they are checked rather than trusted:
    /// no absolute paths, no `.`/`..` or other dot-led segments (temporary files start with a
    /// dot), no empty segments, no names ending in `.meta.json`; any character outside
    /// `[A-Za-z0-9._=-/]` becomes `_`.
    pub fn path_of(&self, key: &str) -> PortResult<PathBuf> {
        let bad = |why: &str| PortError::Permanent(format!("media key {key:?}: {why}"));
        if key.is_empty() {
            return Err(bad("empty"));
        }
        if key.starts_with('/') || key.starts_with('\\') {
            return Err(bad("absolute path"));
        }
        let cleaned: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._=-/".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut path = self.root.clone();
        for segment in cleaned.split('/') {
            if segment.is_empty() {
                return Err(bad("empty path segment"));
            }
            if segment.starts_with('.') {
                return Err(bad("segment starting with a dot"));
            }
            path.push(segment);
        }
        if cleaned.ends_with(META_SUFFIX) {
            return Err(bad("names ending in .meta.json are reserved"));
        }
        Ok(path)
    }
}

fn sidecar(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(META_SUFFIX);
    PathBuf::from(s)
}

fn io_err(what: &Path, e: io::Error) -> PortError {
    let msg = format!("{}: {e}", what.display());
    match e.kind() {
        io::ErrorKind::NotFound => PortError::NotFound(msg),
        io::ErrorKind::PermissionDenied | io::ErrorKind::InvalidInput => PortError::Permanent(msg),
        _ => PortError::Transient(msg),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it into place: a
/// reader sees the old file or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> PortResult<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .ok_or_else(|| PortError::Permanent(format!("{}: no parent", path.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path, e));
    }
    Ok(())
}

#[async_trait]
impl MediaStore for FolderMedia {
    /// Checks the bytes against `sha256_hex` (when given) before storing them. The sidecar is
    /// written last and is the commit mark: a crash between the two leaves a key that `get`
    /// reports as missing, so the caller downloads and stores it again.
    async fn put(
        &self,
        key: &str,
        bytes: &[u8],
        content_type: &str,
        sha256_hex_claimed: &str,
    ) -> PortResult<()> {
        let path = self.path_of(key)?;
        let bytes = bytes.to_vec();
        let content_type = content_type.to_string();
        let claimed = sha256_hex_claimed.to_string();
        let key = key.to_string();
        // File I/O and fsync block: keep them off the async workers.
        tokio::task::spawn_blocking(move || {
            let actual = sha256_hex(&bytes);
            if !claimed.is_empty() && !claimed.eq_ignore_ascii_case(&actual) {
                return Err(PortError::Permanent(format!(
                    "media {key:?}: sha256 {actual} does not match the claimed {claimed}"
                )));
            }
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
            }
            let meta = Meta {
                content_type,
                sha256: actual,
                bytes: bytes.len() as u64,
            };
            let meta = serde_json::to_vec(&meta)
                .map_err(|e| PortError::Permanent(format!("media {key:?}: metadata: {e}")))?;
            write_atomically(&path, &bytes)?;
            write_atomically(&sidecar(&path), &meta)?;
            // Make the renames themselves durable.
            if let Some(dir) = path.parent() {
                File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| io_err(dir, e))?;
            }
            Ok(())
        })
        .await
        .map_err(|e| join_err("media write", e))?
    }

    async fn get(&self, key: &str) -> PortResult<(Vec<u8>, String)> {
        let path = self.path_of(key)?;
        let key = key.to_string();
        tokio::task::spawn_blocking(move || {
            let meta_path = sidecar(&path);
            let meta = fs::read(&meta_path).map_err(|e| io_err(&meta_path, e))?;
            let meta: Meta = serde_json::from_slice(&meta)
                .map_err(|e| PortError::Permanent(format!("media {key:?}: bad metadata: {e}")))?;
            let bytes = fs::read(&path).map_err(|e| io_err(&path, e))?;
            if sha256_hex(&bytes) != meta.sha256 {
                return Err(PortError::Permanent(format!(
                    "media {key:?}: stored bytes do not match their sha256"
                )));
            }
            Ok((bytes, meta.content_type))
        })
        .await
        .map_err(|e| join_err("media read", e))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media() -> (tempfile::TempDir, FolderMedia) {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = FolderMedia::new(dir.path().join("media"));
        (dir, m)
    }

    #[tokio::test]
    async fn round_trip_with_sidecar() {
        let (dir, m) = media();
        let key = "media/AMT-2026-000001/inbound/wamid.HBgM=.jpg";
        let bytes = b"\xff\xd8\xff photo".to_vec();
        let sum = sha256_hex(&bytes);
        m.put(key, &bytes, "image/jpeg", &sum.to_uppercase())
            .await
            .expect("put");
        assert_eq!(
            m.get(key).await.expect("get"),
            (bytes.clone(), "image/jpeg".to_string())
        );

        let file = dir.path().join("media").join(key);
        assert_eq!(fs::read(&file).expect("file"), bytes);
        let meta: serde_json::Value =
            serde_json::from_slice(&fs::read(sidecar(&file)).expect("sidecar")).expect("json");
        assert_eq!(meta["sha256"], sum.as_str());
        assert_eq!(meta["content_type"], "image/jpeg");
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(file.parent().expect("parent"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");

        // Overwrite replaces both.
        m.put(key, b"v2", "image/png", "").await.expect("overwrite");
        assert_eq!(
            m.get(key).await.expect("get"),
            (b"v2".to_vec(), "image/png".to_string())
        );
    }

    #[tokio::test]
    async fn missing_is_not_found_and_bad_hash_is_refused() {
        let (_dir, m) = media();
        assert!(matches!(
            m.get("media/AMT-2026-000009/inbound/x.jpg").await,
            Err(PortError::NotFound(_))
        ));
        let wrong = sha256_hex(b"something else");
        assert!(matches!(
            m.put("media/a/b.jpg", b"abc", "image/jpeg", &wrong).await,
            Err(PortError::Permanent(_))
        ));
        assert!(matches!(
            m.get("media/a/b.jpg").await,
            Err(PortError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn path_traversal_is_rejected() {
        let (dir, m) = media();
        for key in [
            "../escape.jpg",
            "media/../../etc/passwd",
            "media/./x",
            "/etc/passwd",
            "\\windows\\x",
            "",
            "media//x",
            "media/x/",
            "media/.x.jpg.1.2.tmp",
            "media/x.jpg.meta.json",
        ] {
            assert!(
                matches!(
                    m.put(key, b"x", "text/plain", "").await,
                    Err(PortError::Permanent(_))
                ),
                "{key:?}"
            );
            assert!(m.get(key).await.is_err(), "{key:?}");
        }
        // Odd characters are mapped, not rejected, and stay inside the folder.
        let p = m.path_of("media/AMT 1/इन/a?b.jpg").expect("mapped");
        assert_eq!(p, dir.path().join("media/media/AMT_1/__/a_b.jpg"));
        m.put("media/AMT 1/इन/a?b.jpg", b"ok", "image/jpeg", "")
            .await
            .expect("put mapped");
        assert!(p.exists());
    }
}
