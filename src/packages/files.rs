//! Reading a package's files defensively: a tree walk that survives symlink loops and broken
//! links, and text reads that refuse binary content. Problems come back as data, never as panics,
//! so the validator can report them with the rest.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A file or folder the validator could not use, relative to the package root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub file: PathBuf,
    pub message: String,
}

/// Nested deeper than this is not a real package layout; stop there instead of exhausting the stack.
const MAX_DEPTH: usize = 32;

/// Every file under `dir` (following symlinks, each real folder once) whose name ends with one of
/// `extensions`, sorted, as paths relative to `root`. Hidden entries (`.git`, ...) are skipped.
pub fn walk(root: &Path, dir: &Path, extensions: &[&str], unreadable: &mut Vec<Unreadable>) -> Vec<PathBuf> {
    let mut found = Vec::new();
    // dbt's default folders (seeds/, snapshots/, ...) are optional: absent is fine, broken is not.
    if std::fs::symlink_metadata(dir).is_err() {
        return found;
    }
    let mut seen = BTreeSet::new();
    if let Ok(real) = dir.canonicalize() {
        seen.insert(real);
    }
    visit(root, dir, extensions, 0, &mut seen, &mut found, unreadable);
    found.sort();
    found
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    if let Ok(rel) = path.strip_prefix(root) {
        return rel.to_path_buf();
    }
    // Canonical paths (symlink targets) are relative to the canonical root.
    match root.canonicalize() {
        Ok(real_root) => path.strip_prefix(real_root).map(Path::to_path_buf).unwrap_or_else(|_| path.to_path_buf()),
        Err(_) => path.to_path_buf(),
    }
}

fn visit(
    root: &Path,
    dir: &Path,
    extensions: &[&str],
    depth: usize,
    seen: &mut BTreeSet<PathBuf>,
    found: &mut Vec<PathBuf>,
    unreadable: &mut Vec<Unreadable>,
) {
    let problem = |unreadable: &mut Vec<Unreadable>, path: &Path, message: String| {
        unreadable.push(Unreadable { file: relative(root, path), message })
    };
    if depth > MAX_DEPTH {
        problem(unreadable, dir, format!("nested more than {MAX_DEPTH} folders deep; not read"));
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problem(unreadable, dir, format!("cannot list the folder: {e}"));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let hidden = path.file_name().and_then(|n| n.to_str()).is_none_or(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        // `metadata` follows symlinks: a loop (ELOOP) or a dangling link fails here.
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) => {
                let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
                let what = if is_link { "a broken symlink or a symlink loop" } else { "unreadable" };
                problem(unreadable, &path, format!("{what}: {e}"));
                continue;
            }
        };
        if meta.is_dir() {
            let real = path.canonicalize().unwrap_or_else(|_| path.clone());
            if !seen.insert(real.clone()) {
                problem(unreadable, &path, format!("symlink loop: leads back to {}", relative(root, &real).display()));
                continue;
            }
            visit(root, &path, extensions, depth + 1, seen, found, unreadable);
        } else if meta.is_file() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if extensions.iter().any(|ext| name.ends_with(ext)) {
                found.push(relative(root, &path));
            }
        }
    }
}

/// The file as UTF-8 text, or why it can't be used as such.
pub fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.contains(&0) {
        return Err("is a binary file (contains NUL bytes), expected text".to_string());
    }
    String::from_utf8(bytes)
        .map_err(|e| format!("is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_symlink_loops_and_broken_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("models/sub")).unwrap();
        std::fs::write(root.join("models/a.sql"), "select 1").unwrap();
        std::fs::write(root.join("models/sub/b.sql"), "select 2").unwrap();
        std::os::unix::fs::symlink(root.join("models"), root.join("models/sub/back")).unwrap();
        std::os::unix::fs::symlink(root.join("models/self"), root.join("models/self")).unwrap();
        std::os::unix::fs::symlink(root.join("nowhere"), root.join("models/dangling.sql")).unwrap();
        let mut problems = Vec::new();
        let files = walk(root, &root.join("models"), &[".sql"], &mut problems);
        assert_eq!(files, vec![PathBuf::from("models/a.sql"), PathBuf::from("models/sub/b.sql")]);
        let messages: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.file.display(), p.message)).collect();
        assert_eq!(problems.len(), 3, "{messages:?}");
        assert!(messages.iter().any(|m| m.starts_with("models/sub/back: symlink loop")), "{messages:?}");
        assert!(
            messages.iter().any(|m| m.starts_with("models/self: a broken symlink or a symlink loop")),
            "{messages:?}"
        );
    }

    #[test]
    fn binary_and_non_utf8_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"uuid: \x00\x01").unwrap();
        std::fs::write(dir.path().join("b"), b"name: caf\xe9").unwrap();
        assert!(read_text(&dir.path().join("a")).unwrap_err().contains("binary"));
        assert!(read_text(&dir.path().join("b")).unwrap_err().contains("not UTF-8"));
    }
}
