//! The command line's conventions, on the real binary: exit statuses (0 ok, 1 error, 2
//! usage, 3 drift found: `tests/cli.rs`), a closed output pipe ends quietly with status 0,
//! global options before or after the subcommand, `--json` on every list and describe,
//! and help text for every option.
mod support;
use std::process::Stdio;
use support::*;

#[test]
fn a_closed_output_pipe_ends_quietly_with_success() {
    // The pipe's reading end is closed before the process starts: its first write fails
    // with EPIPE, every time.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = command()
        .args(["pipeline", "show"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn usage_errors_are_2_and_errors_are_1_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let usage = command()
        .args(["pipeline", "run", "--no-such-flag"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2), "{}", describe(&usage));
    let error = command()
        .args(["predict", "--model", "no-such-model", "x"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = describe(&error);
    assert_eq!(error.status.code(), Some(1), "{text}");
    assert_eq!(text.matches("no-such-model").count(), 1, "{text}");
}

#[test]
fn global_options_go_before_or_after_the_subcommand() {
    for args in [
        &["--log-json", "--log", "warn", "pipeline", "show"][..],
        &["pipeline", "show", "--log-json", "--log", "warn"][..],
        &["pipeline", "--log", "warn", "show"][..],
    ] {
        let out = command().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", describe(&out));
    }
    let bad = command()
        .args(["pipeline", "show", "--log", "info,=nonsense[["])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", describe(&bad));
}

/// `sentio ARGS -h` (options and help text on one line each).
fn help(args: &[&str]) -> String {
    let out = command().args(args).arg("-h").output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_list_and_describe_has_json() {
    for args in [
        &["pipeline", "list"][..],
        &["pipeline", "describe"],
        &["registry", "list"],
        &["registry", "describe"],
        &["registry", "history"],
        &["experiment", "list"],
        &["lineage"],
        &["validate"],
    ] {
        assert!(
            help(args).contains("--json"),
            "sentio {args:?} has no --json"
        );
    }
}

#[test]
fn every_option_has_help_text() {
    let commands: &[&[&str]] = &[
        &["serve"],
        &["transform"],
        &["predict"],
        &["evaluate"],
        &["train"],
        &["validate"],
        &["monitor", "run"],
        &["experiment", "create"],
        &["experiment", "report"],
        &["experiment", "promote"],
        &["pipeline", "run"],
        &["registry", "approve"],
        &["loadtest"],
        &["init"],
    ];
    for args in commands {
        let text = help(args);
        // clap puts an option's help after it on its line, or (when some help is long) on
        // the next line, indented deeper; an option without help has neither.
        let lines: Vec<&str> = text.lines().collect();
        let indent = |l: &str| l.len() - l.trim_start().len();
        let bare: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with('-'))
            .filter(|(i, l)| {
                let same_line = l
                    .trim()
                    .split_once("  ")
                    .is_some_and(|(_, h)| !h.trim().is_empty());
                let next_line = lines.get(i + 1).is_some_and(|n| {
                    !n.trim().is_empty()
                        && indent(n) > indent(l)
                        && !n.trim_start().starts_with('-')
                });
                !same_line && !next_line
            })
            .map(|(_, l)| l.trim())
            .collect();
        assert!(
            bare.is_empty(),
            "sentio {args:?}: options without help: {bare:?}"
        );
    }
}
