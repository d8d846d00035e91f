//! The build context as the engine sends it (the repository less `.dockerignore`), laid out
//! in the build stage's filesystem the way its `COPY` lines place it, and nothing else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::dockerfile::absolute;
use crate::ignore::Ignore;

/// The context's files: path relative to the context (with `/`) → file on disk.
pub struct Context {
    pub files: BTreeMap<String, PathBuf>,
}

impl Context {
    pub fn load(root: &Path) -> Self {
        let ignore = Ignore::load(root);
        let mut files = BTreeMap::new();
        walk(root, "", &ignore, &mut files);
        Self { files }
    }

    /// Where `COPY sources… dest` (dest resolved against `workdir`) puts each context file:
    /// absolute path in the image → file on disk. A directory source copies its contents.
    pub fn copy(&self, sources: &[String], dest: &str, workdir: &str) -> BTreeMap<String, PathBuf> {
        let dest = absolute(workdir, dest);
        let into_dir = dest.ends_with('/') || sources.len() > 1;
        let mut placed = BTreeMap::new();
        for source in sources {
            assert!(
                !source.contains(['*', '?', '[']),
                "COPY wildcards are not simulated: {source}"
            );
            let source = source.trim_start_matches("./").trim_end_matches('/');
            let dir_prefix = if source == "." || source.is_empty() {
                String::new()
            } else {
                format!("{source}/")
            };
            if let Some(file) = self.files.get(source) {
                let target = if into_dir {
                    let name = source.rsplit('/').next().unwrap_or(source);
                    format!("{}/{name}", dest.trim_end_matches('/'))
                } else {
                    dest.clone()
                };
                placed.insert(target, file.clone());
                continue;
            }
            let mut any = false;
            for (relative, file) in &self.files {
                if let Some(inner) = relative.strip_prefix(&dir_prefix) {
                    any = true;
                    placed.insert(
                        format!("{}/{inner}", dest.trim_end_matches('/')),
                        file.clone(),
                    );
                }
            }
            assert!(
                any,
                "COPY {source}: not in the build context (missing, or excluded by .dockerignore)"
            );
        }
        placed
    }
}

fn walk(dir: &Path, prefix: &str, ignore: &Ignore, files: &mut BTreeMap<String, PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry"))
        .collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = format!("{prefix}{name}");
        let excluded = ignore.excluded(&relative);
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            if !excluded || ignore.has_exceptions() {
                walk(&entry.path(), &format!("{relative}/"), ignore, files);
            }
        } else if !excluded {
            files.insert(relative, entry.path());
        }
    }
}

/// Makes `root` hold exactly `wanted` (absolute image path → source file), leaving files
/// whose content is already right untouched so cargo's fingerprints stay fresh; `keep` (a
/// path under `root`) is neither walked nor removed.
pub fn sync(root: &Path, wanted: &BTreeMap<String, PathBuf>, keep: &Path) {
    for (path, source) in wanted {
        let target = root.join(path.trim_start_matches('/'));
        let bytes = std::fs::read(source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        if std::fs::read(&target).ok().as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::copy(source, &target).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
    }
    remove_extras(root, root, wanted, keep);
    let present = listing(root, keep);
    let extra: Vec<&String> = present
        .iter()
        .filter(|p| !wanted.contains_key(*p))
        .collect();
    let missing: Vec<&String> = wanted.keys().filter(|p| !present.contains(p)).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "the laid-out build stage differs from its COPYs: extra {extra:?}, missing {missing:?}"
    );
}

fn remove_extras(root: &Path, dir: &Path, wanted: &BTreeMap<String, PathBuf>, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("entry").path();
        if path == keep {
            continue;
        }
        let image_path = format!(
            "/{}",
            path.strip_prefix(root).expect("under root").display()
        );
        if path.is_dir() && !path.is_symlink() {
            remove_extras(root, &path, wanted, keep);
            if std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none()) {
                std::fs::remove_dir(&path).expect("remove empty dir");
            }
        } else if !wanted.contains_key(&image_path) {
            std::fs::remove_file(&path).expect("remove stale file");
        }
    }
}

/// Every file under `root` (but `keep`), as absolute image paths, sorted.
pub fn listing(root: &Path, keep: &Path) -> Vec<String> {
    fn go(root: &Path, dir: &Path, keep: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path == keep {
                continue;
            }
            if path.is_dir() && !path.is_symlink() {
                go(root, &path, keep, out);
            } else {
                let relative = path.strip_prefix(root).expect("under root");
                out.push(format!("/{}", relative.display()));
            }
        }
    }
    let mut out = Vec::new();
    if root.is_dir() {
        go(root, root, keep, &mut out);
    }
    out.sort();
    out
}
