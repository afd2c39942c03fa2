//! The server process a load harness measures: found by its command line,
//! its resident memory and CPU time read from `/proc` (Linux).

use std::time::Duration;

/// The resident set size of process `pid`, in KiB (`None` without `/proc`
/// or once the process is gone).
pub fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The CPU time process `pid` has used so far, user and system, all its
/// threads (`None` without `/proc` or once the process is gone).
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    cpu_time_of(&stat)
}

/// `utime + stime` of a `/proc/PID/stat` line. They are fields 14 and 15,
/// counted in `USER_HZ` ticks, which Linux fixes at 100 a second for
/// userspace; the command name (field 2) may hold spaces, so the fields
/// are counted from the `)` that closes it.
fn cpu_time_of(stat: &str) -> Option<Duration> {
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// The pid of a running `strongroom serve`, if there is one.
pub fn find_server_pid() -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.first().is_some_and(|a| a.ends_with(b"strongroom"))
            && args.iter().any(|a| *a == b"serve")
        {
            return Some(pid);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_adds_user_and_system_ticks_after_the_command_name() {
        let stat = "4242 (strong room) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    250 70 0 0 20 0 9 0 100 1000 200";
        assert_eq!(cpu_time_of(stat), Some(Duration::from_millis(3_200)));
        assert_eq!(cpu_time_of("4242 (x) S 1"), None);
    }

    #[test]
    fn reads_a_live_process_and_nothing_for_a_missing_one() {
        assert!(cpu_time(Some(std::process::id())).is_some());
        assert_eq!(cpu_time(Some(u32::MAX)), None);
        assert_eq!(cpu_time(None), None);
    }
}
