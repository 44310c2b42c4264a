//! `sentio monitor`: the serve crate's monitor commands, and their outcome as the exit
//! status: 2 when `monitor run --fail-on-violation` found violations (with a line on
//! stderr), 0 otherwise.
use std::process::ExitCode;

/// Exit status of `sentio monitor run --fail-on-violation` when there are violations.
pub const EXIT_VIOLATIONS: u8 = 2;

pub fn run(args: serve::MonitorArgs) -> anyhow::Result<ExitCode> {
    match serve::run_monitor_cli(args)? {
        serve::MonitorOutcome::Done => Ok(ExitCode::SUCCESS),
        serve::MonitorOutcome::Violations(n) => {
            eprintln!(
                "monitor: {n} violation(s) and --fail-on-violation: exit status {EXIT_VIOLATIONS}"
            );
            Ok(ExitCode::from(EXIT_VIOLATIONS))
        }
    }
}
