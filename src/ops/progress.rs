//! Progress of a long command: an indicatif bar (rate, ETA) when stdout is
//! a terminal, a plain line every tenth of the way otherwise.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// Progress toward `total` units of `label`.
pub(crate) struct Progress {
    label: &'static str,
    bar: Option<ProgressBar>,
    total: usize,
    done: usize,
    next_line: usize,
    started: Instant,
}

impl Progress {
    pub(crate) fn new(label: &'static str, total: usize) -> Self {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::new(total as u64);
            let style = ProgressStyle::with_template(&format!(
                "{label} {{bar:40}} {{pos}}/{{len}} {{per_sec}} ETA {{eta}}"
            ));
            if let Ok(style) = style {
                bar.set_style(style);
            }
            bar
        });
        Self {
            label,
            bar,
            total,
            done: 0,
            next_line: total / 10,
            started: Instant::now(),
        }
    }

    pub(crate) fn advance(&mut self, n: usize) {
        self.done += n;
        match &self.bar {
            Some(bar) => bar.inc(n as u64),
            None if self.done >= self.next_line.max(1) || self.done == self.total => {
                let secs = self.started.elapsed().as_secs_f64().max(1e-9);
                println!(
                    "{}: {}/{} ({:.0}/s)",
                    self.label,
                    self.done,
                    self.total,
                    self.done as f64 / secs
                );
                self.next_line = self.done + (self.total / 10).max(1);
            }
            None => {}
        }
    }

    pub(crate) fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish();
        }
    }
}
