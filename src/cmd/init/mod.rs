//! `sentio init`: writes a project a team can push as it is — pipeline, parameters, sample
//! data, endpoint configuration, serving image, make targets and CI workflows — from the
//! templates embedded in the binary, and `sentio init --check DIR` tells what a newer sentio
//! would change in one.
mod check;
mod manifest;
mod render;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use manifest::{Manifest, MANIFEST};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The sentio version projects are made for.
const SENTIO_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What kind of project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// Both, wired together: a registered version is approved, then deployed.
    BuildTrainDeploy,
    /// Pipeline, parameters per environment, sample data; CI validates, trains, registers.
    BuildTrain,
    /// Endpoint configuration per environment, serving image; CI deploys approved versions.
    Deploy,
}

impl Template {
    pub const ALL: [Template; 3] = [
        Template::BuildTrainDeploy,
        Template::BuildTrain,
        Template::Deploy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Template::BuildTrainDeploy => "build-train-deploy",
            Template::BuildTrain => "build-train",
            Template::Deploy => "deploy",
        }
    }

    fn from_name(name: &str) -> Option<Template> {
        Template::ALL.into_iter().find(|t| t.name() == name)
    }
}

#[derive(Args)]
pub struct InitArgs {
    /// The project to write.
    #[arg(
        long,
        value_enum,
        required_unless_present = "check",
        conflicts_with = "check"
    )]
    pub template: Option<Template>,
    /// Project name: pipeline, registry group, endpoints and image are named after it
    /// (lowercase letters, digits, `-`, `_`; default: DIR's name).
    #[arg(long, conflicts_with = "check")]
    pub name: Option<String>,
    /// Write into a folder that is not empty, overwriting the generated files there.
    #[arg(long, conflicts_with = "check")]
    pub force: bool,
    /// Write nothing: list what this sentio would add, change or remove in the project at
    /// DIR, and which generated files were changed there (exit status 2 when this sentio
    /// would change something).
    #[arg(long)]
    pub check: bool,
    /// The project folder (created when missing).
    pub dir: PathBuf,
}

pub fn run(a: InitArgs) -> anyhow::Result<ExitCode> {
    if a.check {
        return check(&a.dir);
    }
    let Some(template) = a.template else {
        bail!("--template is required (build-train-deploy, build-train or deploy)");
    };
    let name = match a.name {
        Some(n) => n,
        None => default_name(&a.dir)?,
    };
    check_name(&name)?;
    prepare_dir(&a.dir, a.force)?;
    let files = render::render(&render::Values {
        name: &name,
        template,
        sentio_version: SENTIO_VERSION,
    })?;
    for f in &files {
        let path = a.dir.join(&f.path);
        write_file(&path, &f.bytes, f.executable)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let manifest = Manifest::new(template.name(), &name, SENTIO_VERSION, &files);
    write_file(&a.dir.join(MANIFEST), &manifest.to_bytes()?, false)?;
    println!(
        "wrote {} files of the {} template into {} (project {name}, sentio {SENTIO_VERSION})",
        files.len() + 1,
        template.name(),
        a.dir.display()
    );
    println!(
        "next: cd {} && make   (lists the targets; README.md explains the flow)",
        a.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn check(dir: &Path) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let manifest = Manifest::read(dir)?;
    let Some(template) = Template::from_name(&manifest.template) else {
        bail!(
            "{} names the template {:?}, which this sentio ({SENTIO_VERSION}) does not have (it has build-train-deploy, build-train, deploy)",
            dir.join(MANIFEST).display(),
            manifest.template
        );
    };
    check_name(&manifest.name).with_context(|| format!("in {}", dir.join(MANIFEST).display()))?;
    let now = render::render(&render::Values {
        name: &manifest.name,
        template,
        sentio_version: SENTIO_VERSION,
    })?;
    let entries = check::compare(dir, &manifest, &now);
    print!(
        "{}",
        check::report(dir, &manifest, SENTIO_VERSION, &entries)
    );
    Ok(if entries.iter().any(|e| e.change.is_some()) {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// DIR's own name, for a project without `--name`.
fn default_name(dir: &Path) -> anyhow::Result<String> {
    let abs = std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
    let name = abs
        .components()
        .next_back()
        .and_then(|c| c.as_os_str().to_str())
        .filter(|s| !s.is_empty() && *s != "/")
        .with_context(|| {
            format!(
                "{} has no name to name the project after: give --name",
                dir.display()
            )
        })?;
    check_name(name).context("the folder's name is not a project name: give --name")?;
    Ok(name.to_string())
}

/// Names end up in endpoint names, registry groups, experiment ids and image names.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        bail!(
            "{name:?} is not a project name: 1–40 lowercase letters, digits, '-' or '_', starting with a letter or digit"
        );
    }
    Ok(())
}

/// DIR exists as an empty folder afterwards, or is refused.
fn prepare_dir(dir: &Path, force: bool) -> anyhow::Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => bail!("{} exists and is not a folder", dir.display()),
        Ok(_) => {
            let mut entries =
                std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
            if entries.next().is_some() && !force {
                bail!(
                    "{} is not empty: choose an empty or new folder, or pass --force to overwrite the generated files there",
                    dir.display()
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", dir.display())),
    }
}

/// Writes a file atomically: a temporary file in the same folder, fsync, rename.
fn write_file(path: &Path, bytes: &[u8], executable: bool) -> anyhow::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if executable { 0o755 } else { 0o644 };
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    tmp.persist(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["reviews", "a", "team-7_model", "7up"] {
            check_name(ok).unwrap();
        }
        for bad in ["", "Reviews", "-x", "a b", "a/b", &"x".repeat(41), "é"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            default_name(Path::new("/tmp/my-project")).unwrap(),
            "my-project"
        );
        assert!(default_name(Path::new("/tmp/My Project")).is_err());
    }

    #[test]
    fn template_names_match_the_cli() {
        for t in Template::ALL {
            let v = t.to_possible_value().unwrap();
            assert_eq!(v.get_name(), t.name());
            assert_eq!(Template::from_name(t.name()), Some(t));
        }
    }
}
