//! Publishing a folder atomically (the site, the search index): everything goes into a staging folder beside the target, which replaces the
//! target only when the whole build succeeded. A failed build leaves the published site as it was.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A folder being built; dropped without [`Staging::publish`], it is removed.
#[derive(Debug)]
pub struct Staging {
    staging: PathBuf,
    target: PathBuf,
    published: bool,
}

impl Staging {
    /// Creates an empty staging folder next to `target` (same file system, so the swap is a rename).
    pub fn new(target: &Path) -> io::Result<Staging> {
        let staging = sibling(target, "tmp");
        if staging.exists() {
            fs::remove_dir_all(&staging)?;
        }
        fs::create_dir_all(&staging)?;
        Ok(Staging {
            staging,
            target: target.to_owned(),
            published: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Swaps the staging folder in place of the target.
    pub fn publish(mut self) -> io::Result<()> {
        let previous = sibling(&self.target, "old");
        if previous.exists() {
            fs::remove_dir_all(&previous)?;
        }
        let had_previous = self.target.exists();
        if had_previous {
            fs::rename(&self.target, &previous)?;
        }
        if let Err(error) = fs::rename(&self.staging, &self.target) {
            if had_previous {
                // Put the old site back: better stale than missing.
                let _ = fs::rename(&previous, &self.target);
            }
            return Err(error);
        }
        self.published = true;
        if had_previous {
            remove_dir_parallel(&previous)?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// Removes a large folder, its top-level entries in parallel (a published site has thousands of files).
fn remove_dir_parallel(dir: &Path) -> io::Result<()> {
    use rayon::prelude::*;
    let entries: Vec<PathBuf> = fs::read_dir(dir)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<io::Result<_>>()?;
    entries.par_iter().try_for_each(|path| {
        if path.is_dir() {
            // The policies folder holds most pages: split it one level further.
            let children: Vec<PathBuf> = fs::read_dir(path)?
                .map(|entry| entry.map(|entry| entry.path()))
                .collect::<io::Result<_>>()?;
            children.par_iter().try_for_each(|child| {
                if child.is_dir() {
                    fs::remove_dir_all(child)
                } else {
                    fs::remove_file(child)
                }
            })?;
            fs::remove_dir(path)
        } else {
            fs::remove_file(path)
        }
    })?;
    fs::remove_dir(dir)
}

fn sibling(target: &Path, suffix: &str) -> PathBuf {
    let name = target
        .file_name()
        .map_or_else(|| "site".into(), |name| name.to_string_lossy().into_owned());
    target.with_file_name(format!(".{name}.{suffix}-{}", std::process::id()))
}

/// Writes `contents` to `root/relative`, creating folders on the way.
pub fn write_file(root: &Path, relative: &str, contents: &[u8]) -> io::Result<()> {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, contents)
}

/// Copies the folder `from` into `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) -> io::Result<usize> {
    let mut copied = 0;
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry = entry.map_err(io::Error::other)?;
        let relative = entry.path().strip_prefix(from).map_err(io::Error::other)?;
        let destination = to.join(relative);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&destination)?;
        } else {
            fs::copy(entry.path(), &destination)?;
            copied += 1;
        }
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_build_leaves_the_old_site() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("public");
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("index.html"), "旧站").unwrap();
        {
            let staging = Staging::new(&target).unwrap();
            write_file(staging.path(), "index.html", "新站".as_bytes()).unwrap();
        }
        assert_eq!(
            fs::read_to_string(target.join("index.html")).unwrap(),
            "旧站"
        );
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn publishing_replaces_the_old_site_whole() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("public");
        fs::create_dir_all(target.join("gone")).unwrap();
        let staging = Staging::new(&target).unwrap();
        write_file(staging.path(), "a/index.html", "新站".as_bytes()).unwrap();
        staging.publish().unwrap();
        assert_eq!(
            fs::read_to_string(target.join("a/index.html")).unwrap(),
            "新站"
        );
        assert!(!target.join("gone").exists());
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
