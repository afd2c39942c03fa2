//! The server process a load harness measures: found by its command line,
//! its resident memory read from `/proc` (Linux).

/// The resident set size of process `pid`, in KiB (`None` without `/proc`
/// or once the process is gone).
pub fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
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
