//! Process CPU time, resident memory and thread count from `/proc/self` (Linux); `None`
//! elsewhere.
use std::fs;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessSample {
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
    pub threads: u64,
}

const TICKS_PER_SECOND: f64 = 100.0; // USER_HZ, 100 on every mainstream Linux ABI.
const PAGE_SIZE: u64 = 4096;

pub fn sample() -> Option<ProcessSample> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    let statm = fs::read_to_string("/proc/self/statm").ok()?;
    parse(&stat, &statm)
}

fn parse(stat: &str, statm: &str) -> Option<ProcessSample> {
    // Fields after the parenthesised command name (which may contain spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state): utime = field 14, stime = 15, num_threads = 20.
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    let threads: u64 = f.get(17)?.parse().ok()?;
    let rss_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(ProcessSample {
        cpu_seconds: (utime + stime) / TICKS_PER_SECOND,
        rss_bytes: rss_pages * PAGE_SIZE,
        threads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat() {
        let stat = "42 (my prog) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 1000 \
                    12345678 900 18446744073709551615";
        let p = parse(stat, "5000 900 300 10 0 600 0").unwrap();
        assert_eq!(p.cpu_seconds, 3.0);
        assert_eq!(p.threads, 7);
        assert_eq!(p.rss_bytes, 900 * 4096);
    }

    #[test]
    fn samples_this_process() {
        let p = sample().unwrap();
        assert!(p.rss_bytes > 0 && p.threads >= 1);
    }
}
