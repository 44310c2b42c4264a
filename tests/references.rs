//! One model reference everywhere: every command that reads a model takes an artifact
//! directory or `registry:GROUP[:N|:sha256-…]` resolved in `--home`, and a reference that
//! names nothing is a clear error (exit 1), never a panic.
mod support;
use support::*;

#[test]
fn every_command_that_reads_a_model_takes_a_registry_reference() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = home_with_v1(d);
    let digest = versions(&home, d)[0].clone();
    std::fs::write(
        d.join("in.jsonl"),
        "{\"text\": \"great fit\"}\n{\"text\": \"it broke\"}\n",
    )
    .unwrap();
    let by_digest = format!("registry:sentiment:{digest}");
    for reference in ["registry:sentiment", "registry:sentiment:1", &by_digest] {
        let out = sentio_ok(
            &["predict", "--home", &home, "--model", reference, "love it"],
            d,
        );
        assert!(out.contains(&digest), "{reference}: {out}");
        let out_dir = d.join(format!("out-{}", reference.len()));
        let out = sentio_ok(
            &[
                "transform",
                "--home",
                &home,
                "--model",
                reference,
                "--input",
                "in.jsonl",
                "--output",
                &out_dir.display().to_string(),
                "--quiet",
            ],
            d,
        );
        assert!(out.contains("Completed"), "{reference}: {out}");
        let evaluated = sentio_ok(
            &[
                "evaluate",
                "--home",
                &home,
                "--model",
                reference,
                "--data",
                "reviews.csv",
            ],
            d,
        );
        assert!(evaluated.contains("balanced"), "{reference}: {evaluated}");
    }
    // Logs piped to a file carry no colour codes.
    let logged = command()
        .args([
            "transform",
            "--home",
            &home,
            "--model",
            "registry:sentiment",
        ])
        .args(["--input", "in.jsonl", "--output", "out-logged", "--quiet"])
        .env("SENTIO_LOG", "info")
        .current_dir(d)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&logged.stderr);
    assert!(logged.status.success(), "{}", describe(&logged));
    assert!(stderr.contains("transform job ended"), "{stderr}");
    assert!(
        !stderr.contains('\x1b'),
        "ANSI codes in piped logs: {stderr:?}"
    );
    // A reference that names nothing: exit 1, the reference in the message.
    for (reference, needle) in [
        ("registry:nope", "nope"),
        ("registry:sentiment:9", "sentiment"),
        ("no-such-dir", "no-such-dir"),
    ] {
        for cmd in [
            &["predict", "--home", &home, "--model", reference, "x"][..],
            &[
                "transform",
                "--home",
                &home,
                "--model",
                reference,
                "--input",
                "in.jsonl",
                "--output",
                "bad-out",
                "--quiet",
            ][..],
        ] {
            let out = command().args(cmd).current_dir(d).output().unwrap();
            let text = describe(&out);
            assert_eq!(out.status.code(), Some(1), "{cmd:?}: {text}");
            assert!(text.contains(needle), "{cmd:?}: {text}");
            assert!(!text.contains("panicked"), "{text}");
        }
    }
}
