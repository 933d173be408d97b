//! Key files under the data directory: the site's credential-hash key
//! (`keys/SITE.access-secret`, 32 random bytes in hex, mode 0600) with the fingerprint the journal
//! records, and OSDP readers' Secure Channel base keys (16 bytes in hex).
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The fingerprint of a credential-hash key, as journaled in `access.secret_created`.
pub(crate) fn fingerprint(key: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"strongroom access secret fingerprint\0");
    h.update(key);
    hex::encode(&h.finalize()[..8])
}

/// Where a site's credential-hash key lives.
pub(crate) fn secret_path(data_dir: &Path, site_id: &str) -> PathBuf {
    data_dir
        .join("keys")
        .join(format!("{site_id}.access-secret"))
}

/// A path from the site file: absolute, or under the data directory.
pub(crate) fn resolve(data_dir: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_owned()
    } else {
        data_dir.join(p)
    }
}

/// Reads a hex key file; refuses a file others can read.
pub(crate) fn read_secret_file(path: &Path) -> Result<Vec<u8>, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "the credential key {} has mode {mode:o}; it must be 0600 (chmod 600 it)",
                path.display()
            ));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    hex::decode(text.trim()).map_err(|e| format!("{} is not hex: {e}", path.display()))
}

/// Writes a new key file (mode 0600, its directory 0700); refuses to overwrite one.
pub(crate) fn write_secret_file(path: &Path, key: &[u8]) -> Result<(), String> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(format!("{}\n", hex::encode(key)).as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Reads an OSDP reader's Secure Channel base key.
pub(crate) fn load_scbk(path: &Path) -> Result<[u8; 16], String> {
    let bytes = read_secret_file(path)?;
    bytes
        .try_into()
        .map_err(|_| format!("{} must hold 16 bytes (32 hex digits)", path.display()))
}
