//! The README cannot drift from the binary: every `sentio …` command in its shell examples
//! is parsed by the real binary (`sentio ARGS --help`: clap refuses an unknown subcommand,
//! flag or an invalid value before it reaches `--help`). Placeholders stay as written
//! (`…` becomes `x`); optional parts in brackets (`[--json]`) are checked too.
mod support;
use support::*;

/// The `sentio` commands of the README's fenced shell blocks, as argument lists.
fn readme_commands() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let mut commands = Vec::new();
    let mut block: Option<String> = None;
    for line in readme.lines() {
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
