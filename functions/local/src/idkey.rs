//! The local runner's id key: the key of the hash that stands in for phone numbers and wamids in
//! keys, marks, object names and logs (`shikayat_core::pseudonym`). `SHIKAYAT_ID_KEY` when set;
//! else one generated on first start and kept in the data directory, so ids stay the same
//! across restarts (pacing records, dedupe marks and log correlation depend on that).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rand::RngCore;
use shikayat_core::pseudonym::KeyedHash;

const FILE: &str = "id-key";
const HOW: &str = "set SHIKAYAT_ID_KEY to a random value of 32 or more characters, or unset it to have one generated in SHIKAYAT_DATA_DIR/id-key";

pub fn load(from_env: Option<&str>, data_dir: &Path) -> anyhow::Result<KeyedHash> {
    if let Some(key) = from_env {
        return Ok(KeyedHash::new(key, "SHIKAYAT_ID_KEY", HOW)?);
    }
    let path = data_dir.join(FILE);
    let key = match std::fs::read_to_string(&path) {
        Ok(k) => k,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(data_dir)?,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    Ok(KeyedHash::new(
        key.trim(),
        &format!("the id key in {}", path.display()),
        HOW,
    )?)
}

/// 32 random bytes as hex, written once: if two runners start on one directory together, the
/// one that loses the race reads the winner's key.
fn create(data_dir: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join(FILE);
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Only the runner's user may read it: with the key, ids can be checked against numbers.
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut f) => {
            f.write_all(key.as_bytes())
                .and_then(|_| f.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shikayat_core::Phone;

    #[test]
    fn generated_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let p = Phone::new("919812345678");
        let first = load(None, &data).expect("generated").phone(&p);
        assert_eq!(load(None, &data).expect("kept").phone(&p), first);
        let stored = std::fs::read_to_string(data.join(FILE)).expect("file");
        assert_eq!(stored.len(), 64);
        let from_env = load(Some("0123456789abcdef0123456789abcdef"), &data).expect("env");
        assert_ne!(from_env.phone(&p), first, "the variable wins");
        let e = load(Some("set-me"), &data).expect_err("placeholder").to_string();
        assert!(e.contains("SHIKAYAT_ID_KEY") && !e.contains("set-me"), "{e}");
    }
}
