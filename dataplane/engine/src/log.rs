//! The daemon's log as VPP keeps it: the last lines in memory for `show logging` (and
//! `clear logging`), each with its time, level and class, also written to `unix { log FILE }`.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

/// Lines kept in memory (VPP's default `logging { size }`).
pub const LOG_SIZE: usize = 512;

/// One log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Wall-clock time, ns since the epoch.
    pub time_ns: u64,
    /// `notice`, `warn`, `err`, ...
    pub level: &'static str,
    /// What it is about (`dataplane`, `cli`, `startup`).
    pub class: String,
    /// The message (one line).
    pub msg: String,
}

/// The last [`LOG_SIZE`] lines.
#[derive(Clone, Debug, Default)]
pub struct LogRing {
    lines: VecDeque<LogLine>,
}

impl LogRing {
    /// Add a line now; the oldest goes when full.
    pub fn push(&mut self, level: &'static str, class: &str, msg: &str) -> &LogLine {
        let time_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        if self.lines.len() == LOG_SIZE {
            self.lines.pop_front();
        }
        self.lines.push_back(LogLine {
            time_ns,
            level,
            class: class.to_string(),
            msg: msg.replace('\n', " "),
        });
        self.lines.back().expect("just pushed")
    }

    /// The lines, oldest first.
    pub fn lines(&self) -> impl Iterator<Item = &LogLine> {
        self.lines.iter()
    }

    /// Forget every line.
    pub fn clear(&mut self) {
        self.lines.clear();
    }
}

/// `YYYY/MM/DD HH:MM:SS:mmm` (UTC), as VPP prints log times.
pub fn format_time(time_ns: u64) -> String {
    let secs = time_ns / 1_000_000_000;
    let ms = (time_ns / 1_000_000) % 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}/{m:02}/{d:02} {:02}:{:02}:{:02}:{ms:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// One line as `show logging` prints it.
pub fn format_line(l: &LogLine) -> String {
    format!(
        "{} {:<10} {:<14} {}",
        format_time(l.time_ns),
        l.level,
        l.class,
        l.msg
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_vpp_prints_them() {
        assert_eq!(format_time(0), "1970/01/01 00:00:00:000");
        // 2026-12-03 15:57:30.123 UTC
        assert_eq!(
            format_time(1_796_313_450_123_000_000),
            "2026/12/03 15:57:30:123"
        );
        assert_eq!(
            format_time(951_782_400_000_000_000),
            "2000/02/29 00:00:00:000"
        );
    }

    #[test]
    fn the_ring_keeps_the_last_lines() {
        let mut r = LogRing::default();
        for i in 0..LOG_SIZE + 3 {
            r.push("notice", "cli", &format!("line {i}\nsecond"));
        }
        assert_eq!(r.lines().count(), LOG_SIZE);
        assert_eq!(r.lines().next().unwrap().msg, "line 3 second");
        let l = format_line(r.lines().last().unwrap());
        assert!(
            l.ends_with(" notice     cli            line 514 second"),
            "{l}"
        );
    }
}
