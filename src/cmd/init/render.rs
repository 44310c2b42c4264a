//! The embedded templates (`templates/` at the top of the repository) and their rendering:
//! which parts make a project, placeholders, sections, `dot-` names and the generated sample
//! data. Rendering is pure apart from the sample file, and always gives the same bytes for
//! the same template, name and sentio version.
use super::Template;
use anyhow::{bail, Context};
use include_dir::{include_dir, Dir};
use std::collections::BTreeMap;

static PARTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates/parts");
static PROJECTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates/projects");
static SECTIONS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates/sections");

/// The PyTorch release whose libtorch sentio links (`scripts/setup.sh`); the Dockerfile
/// installs it.
pub const TORCH_VERSION: &str = "2.13.0";
/// Where the sample data goes, and how much of it (small: pull requests train on it).
pub const SAMPLE_PATH: &str = "data/sample/reviews.csv";
const SAMPLE_ROWS: usize = 400;
const SAMPLE_SEED: u64 = 21;

/// One file of a project: its path (with `/`), bytes, and whether it is executable.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub path: String,
    pub bytes: Vec<u8>,
    pub executable: bool,
}

/// What the placeholders stand for.
pub struct Values<'a> {
    pub name: &'a str,
    pub template: Template,
    pub sentio_version: &'a str,
}

impl Template {
    /// The parts a project of this template is made of, besides `common`.
    fn parts(self) -> &'static [&'static str] {
        match self {
            Template::BuildTrainDeploy => &["build-train", "deploy"],
            Template::BuildTrain => &["build-train"],
            Template::Deploy => &["deploy"],
        }
    }

    fn trains(self) -> bool {
        self.parts().contains(&"build-train")
    }
}

/// Every file of a project, sorted by path.
pub fn render(v: &Values) -> anyhow::Result<Vec<File>> {
    let mut dirs: Vec<&Dir> = vec![part("common")?];
    for p in v.template.parts() {
        dirs.push(part(p)?);
    }
    dirs.push(
        PROJECTS
            .get_dir(v.template.name())
            .with_context(|| format!("no templates/projects/{}", v.template.name()))?,
    );
    let mut files = BTreeMap::new();
    for dir in dirs {
        for f in walk(dir) {
            let path = out_path(f.path())?;
            let text = f
                .contents_utf8()
                .with_context(|| format!("template {} is not UTF-8", f.path().display()))?;
            let bytes = substitute(text, v)?.into_bytes();
            let executable = path.ends_with(".sh") || path.ends_with(".py");
            let file = File {
                path: path.clone(),
                bytes,
                executable,
            };
            if files.insert(path.clone(), file).is_some() {
                bail!("two template parts write {path}");
            }
        }
    }
    if v.template.trains() {
        let file = File {
            path: SAMPLE_PATH.into(),
            bytes: sample_data()?,
            executable: false,
        };
        files.insert(SAMPLE_PATH.into(), file);
    }
    Ok(files.into_values().collect())
}

fn part(name: &str) -> anyhow::Result<&'static Dir<'static>> {
    PARTS
        .get_dir(name)
        .with_context(|| format!("no templates/parts/{name}"))
}

fn walk<'a>(dir: &'a Dir<'a>) -> Vec<&'a include_dir::File<'a>> {
    let mut out: Vec<_> = dir.files().collect();
    for d in dir.dirs() {
        out.extend(walk(d));
    }
    out
}

/// The path a template file is written to: relative to its part or project folder, with
/// `dot-x` components written `.x`.
fn out_path(p: &std::path::Path) -> anyhow::Result<String> {
    let mut parts = Vec::new();
    for (i, c) in p.components().enumerate() {
        let s = c
            .as_os_str()
            .to_str()
            .with_context(|| format!("template path {} is not UTF-8", p.display()))?;
        if i == 0 {
            continue; // the part or project folder itself
        }
        parts.push(match s.strip_prefix("dot-") {
            Some(rest) => format!(".{rest}"),
            None => s.to_string(),
        });
    }
    Ok(parts.join("/"))
}

/// Replaces the placeholders and the `@@SECTION x@@` lines; an `@@` left over is a mistake
/// in a template.
fn substitute(text: &str, v: &Values) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if let Some(name) = trimmed
            .strip_prefix("@@SECTION ")
            .and_then(|s| s.strip_suffix("@@"))
        {
            let section = SECTIONS
                .get_file(format!("{name}.md"))
                .and_then(|f| f.contents_utf8())
                .with_context(|| format!("no templates/sections/{name}.md"))?;
            out.push_str(section.trim_end());
            out.push('\n');
        } else {
            out.push_str(line);
        }
    }
    let out = out
        .replace("@@NAME@@", v.name)
        .replace("@@SENTIO_VERSION@@", v.sentio_version)
        .replace("@@TEMPLATE@@", v.template.name())
        .replace("@@TORCH_VERSION@@", TORCH_VERSION);
    if let Some(at) = out.find("@@") {
        let line = out[..at].lines().count().max(1);
        bail!(
            "unknown placeholder near line {line}: {:?}",
            &out[at..(at + 40).min(out.len())]
        );
    }
    Ok(out)
}

/// The sample data: synthetic reviews in the real data set's schema (train's demo data).
fn sample_data() -> anyhow::Result<Vec<u8>> {
    let dir = tempfile::tempdir().context("a temporary folder for the sample data")?;
    let path = dir.path().join("reviews.csv");
    train::demo::write_csv(&path, SAMPLE_ROWS, SAMPLE_SEED)?;
    Ok(std::fs::read(&path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(template: Template) -> Values<'static> {
        Values {
            name: "reviews",
            template,
            sentio_version: "9.9.9",
        }
    }

    #[test]
    fn every_template_renders_without_leftover_placeholders() {
        for t in Template::ALL {
            let files = render(&values(t)).unwrap();
            let paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
            assert!(paths.contains(&"Makefile"), "{paths:?}");
            assert!(paths.contains(&"README.md"));
            assert!(paths.contains(&".gitlab-ci.yml"));
            assert!(paths.contains(&".gitignore"));
            assert!(paths.iter().all(|p| !p.contains("dot-")), "{paths:?}");
            assert_eq!(paths.contains(&SAMPLE_PATH), t != Template::Deploy);
            assert_eq!(paths.contains(&"Dockerfile"), t != Template::BuildTrain);
            let makefile = files.iter().find(|f| f.path == "Makefile").unwrap();
            assert!(String::from_utf8_lossy(&makefile.bytes).contains("SENTIO_VERSION := 9.9.9"));
            for f in &files {
                assert_eq!(
                    f.executable,
                    f.path.ends_with(".sh") || f.path.ends_with(".py")
                );
            }
        }
    }

    #[test]
    fn rendering_is_deterministic() {
        let a = render(&values(Template::BuildTrain)).unwrap();
        let b = render(&values(Template::BuildTrain)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn sections_are_inlined_and_stray_placeholders_refused() {
        let v = values(Template::Deploy);
        let text = substitute("# @@NAME@@\n@@SECTION setup@@\nend\n", &v).unwrap();
        assert!(text.starts_with("# reviews\n## Set-up\n"), "{text}");
        assert!(text.ends_with("\nend\n"));
        let e = substitute("x @@NAMES@@\n", &v).unwrap_err().to_string();
        assert!(e.contains("unknown placeholder"), "{e}");
        let e = substitute("@@SECTION nope@@\n", &v)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sections/nope.md"), "{e}");
    }

    #[test]
    fn the_dockerfile_installs_the_torch_of_the_setup_script() {
        let setup = include_str!("../../../scripts/setup.sh");
        assert!(
            setup.contains(&format!("TORCH_VERSION={TORCH_VERSION}\n")),
            "scripts/setup.sh and TORCH_VERSION disagree"
        );
    }
}
