//! The README cannot drift from the binary: every `sentio …` command in its shell examples
//! is parsed by the real binary (`sentio ARGS --help`: clap refuses an unknown subcommand,
//! flag or an invalid value before it reaches `--help`). Placeholders stay as written
//! (`…` becomes `x`); optional parts in brackets (`[--json]`) are checked too.
mod support;
use support::*;

/// The `sentio` commands of the README's fenced shell blocks, as argument lists.
fn readme_commands() -> Vec<Vec<String>> {
    commands_after("")
}

/// The `sentio` commands of the fenced shell blocks after the first line starting with
/// `heading` (all blocks for an empty heading; only the first block after it otherwise).
fn commands_after(heading: &str) -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let mut commands = Vec::new();
    let mut block: Option<String> = None;
    let mut lines = readme.lines();
    if !heading.is_empty() {
        lines.by_ref().find(|l| l.starts_with(heading));
    }
    for line in lines {
        match (&mut block, line.trim_start()) {
            (None, l) if l.starts_with("```sh") || l.starts_with("```bash") => {
                block = Some(String::new())
            }
            (Some(b), l) if l.starts_with("```") => {
                let joined = b.replace("\\\n", " ");
                for l in joined.lines() {
                    let l = l.split(" #").next().unwrap_or_default().trim();
                    if l.starts_with('#') {
                        continue;
                    }
                    for part in l.split(['|', ';']).flat_map(|p| p.split("&&")) {
                        let part = part.trim().trim_end_matches('&').trim();
                        let Some(mut words) = shlex::split(part) else {
                            continue;
                        };
                        while words.first().is_some_and(|w| {
                            w.split_once('=').is_some_and(|(k, _)| {
                                !k.is_empty()
                                    && k.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                            })
                        }) {
                            words.remove(0);
                        }
                        if words
                            .first()
                            .is_some_and(|w| w == "sentio" || w.ends_with("/sentio"))
                        {
                            commands.push(
                                words[1..]
                                    .iter()
                                    .map(|w| w.replace('…', "x").replace(['[', ']'], ""))
                                    .filter(|w| !w.is_empty())
                                    .collect(),
                            );
                        }
                    }
                }
                block = None;
                if !heading.is_empty() {
                    break;
                }
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    commands
}

#[test]
fn every_command_in_the_readme_parses() {
    let commands = readme_commands();
    assert!(
        commands.len() >= 20,
        "only {} commands found",
        commands.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut failed = Vec::new();
    for args in &commands {
        let out = command()
            .args(args)
            .arg("--help")
            .current_dir(dir.path())
            .output()
            .unwrap();
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            failed.push(format!(
                "sentio {}: {}",
                args.join(" "),
                err.lines().next().unwrap_or("")
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "README commands the binary refuses:\n{}",
        failed.join("\n")
    );
}

/// The README's first-hour block (validate, train, evaluate, predict) runs as written, in
/// order, in a folder holding demo data under the names it uses, and each step leaves
/// what the README says it does.
#[test]
fn the_train_evaluate_predict_example_runs_as_written() {
    let commands = commands_after("### Train, evaluate, predict");
    let verbs: Vec<&str> = commands.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(verbs, ["validate", "train", "evaluate", "predict"]);
    let dir = tempfile::tempdir().unwrap();
    train::demo::write_csv(&dir.path().join("reviews.csv"), 600, 1).unwrap();
    train::demo::write_csv(&dir.path().join("other.csv"), 200, 2).unwrap();
    for args in &commands {
        let out = command()
            .args(args)
            .env("NO_COLOR", "1")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sentio {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        if args[0] == "predict" {
            let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(lines.len(), 2, "one line per text");
            assert!(lines.iter().all(|l| l["label"].is_string()), "{lines:?}");
        }
    }
    for made in ["model/manifest.json", "evaluation.json", "evaluation.html"] {
        assert!(dir.path().join(made).is_file(), "{made} missing");
    }
}
