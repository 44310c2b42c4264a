//! The third-party checkers the contract tests run: `openapi-spec-validator` and
//! `schemathesis` from the project's `.venv`, `promtool` from the system (Debian's
//! `prometheus` package). `scripts/setup.sh` installs all three; a missing one fails the
//! test that needs it, naming the fix — these tests never skip.
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// A program of the project's Python environment (`$SENTIO_VENV`, else `./.venv`).
pub fn venv_tool(name: &str) -> PathBuf {
    let venv = std::env::var_os("SENTIO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"));
    let path = venv.join("bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/setup.sh (it installs {name} into .venv)",
        path.display()
    );
    path
}

/// A program on `PATH`.
pub fn system_tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not on PATH: run scripts/setup.sh (it installs Debian's prometheus package, which has promtool)")
        })
}

/// Runs a tool to its end, at most `deadline` (then it is killed and the test fails).
pub async fn run(cmd: &mut tokio::process::Command, deadline: Duration) -> Output {
    cmd.kill_on_drop(true).stdin(std::process::Stdio::null());
    let what = format!("{:?}", cmd.as_std());
    match tokio::time::timeout(deadline, cmd.output()).await {
        Ok(out) => out.unwrap_or_else(|e| panic!("cannot run {what}: {e}")),
        Err(_) => panic!("{what} did not finish within {deadline:?}"),
    }
}

/// stdout and stderr of a finished tool, for failure messages.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
