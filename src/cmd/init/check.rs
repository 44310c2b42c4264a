//! `sentio init --check DIR`: what this sentio would add, change or remove in a project an
//! earlier (or the same) sentio made, and which generated files the project changed since.
use super::manifest::{digest, Manifest};
use super::render::File;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What this sentio would do to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upgrade {
    Add,
    Change,
    Remove,
}

/// What became of one generated file in the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// As sentio wrote it.
    Unchanged,
    Modified,
    Deleted,
    /// Not written by the earlier sentio, but a file of that name is there.
    Present,
    Absent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    /// `None`: this sentio would write the file as the earlier one did.
    pub change: Option<Upgrade>,
    pub local: Local,
}

/// Compares the manifest of `dir`, the files there and what this sentio renders.
pub fn compare(dir: &Path, manifest: &Manifest, now: &[File]) -> Vec<Entry> {
    let now: BTreeMap<&str, String> = now
        .iter()
        .map(|f| (f.path.as_str(), digest(&f.bytes)))
        .collect();
    let paths: BTreeSet<&str> = now
        .keys()
        .copied()
        .chain(manifest.files.keys().map(String::as_str))
        .collect();
    let mut out = Vec::new();
    for path in paths {
        let then = manifest.files.get(path);
        let on_disk = std::fs::read(dir.join(path)).ok().map(|b| digest(&b));
        let change = match (then, now.get(path)) {
            (None, Some(_)) => Some(Upgrade::Add),
            (Some(_), None) => Some(Upgrade::Remove),
            (Some(a), Some(b)) if a != b => Some(Upgrade::Change),
            _ => None,
        };
        let local = match (then, &on_disk) {
            (Some(_), None) => Local::Deleted,
            (Some(a), Some(b)) if a == b => Local::Unchanged,
            (Some(_), Some(_)) => Local::Modified,
            (None, Some(_)) => Local::Present,
            (None, None) => Local::Absent,
        };
        out.push(Entry {
            path: path.to_string(),
            change,
            local,
        });
    }
    out
}

/// The report `--check` prints.
pub fn report(dir: &Path, manifest: &Manifest, sentio_version: &str, entries: &[Entry]) -> String {
    let mut s = format!(
        "{}: made by sentio {} (template {}, name {}); this is sentio {}.\n",
        dir.display(),
        manifest.sentio_version,
        manifest.template,
        manifest.name,
        sentio_version
    );
    let changes: Vec<&Entry> = entries.iter().filter(|e| e.change.is_some()).collect();
    if changes.is_empty() {
        s.push_str("This sentio would write every generated file as it was written.\n");
    } else {
        s.push_str("This sentio would:\n");
        for e in &changes {
            let verb = match e.change {
                Some(Upgrade::Add) => "add",
                Some(Upgrade::Change) => "change",
                _ => "remove",
            };
            let note = match e.local {
                Local::Modified => "  (you changed it too: merge by hand)",
                Local::Deleted => "  (you deleted it)",
                Local::Present => "  (a file of yours has this name)",
                Local::Unchanged | Local::Absent => "",
            };
            s.push_str(&format!("  {verb:<7} {}{note}\n", e.path));
        }
    }
    let mine: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.change.is_none() && matches!(e.local, Local::Modified | Local::Deleted))
        .collect();
    if !mine.is_empty() {
        s.push_str(
            "You changed these generated files (`sentio init --force` would write them back):\n",
        );
        for e in mine {
            let what = if e.local == Local::Deleted {
                "deleted"
            } else {
                "modified"
            };
            s.push_str(&format!("  {what:<8} {}\n", e.path));
        }
    }
    if !changes.is_empty() {
        s.push_str(&format!(
            "To take the changes: commit, then `sentio init --force --template {} --name {} {}` \
             (it overwrites every generated file) and review the diff.\n",
            manifest.template,
            manifest.name,
            dir.display()
        ));
    }
    s
}
