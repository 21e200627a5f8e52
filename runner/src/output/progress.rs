//! What is happening now, on a terminal: the current task, a bar of hosts done, and the hosts
//! still running it (with how long). Drawn on stderr only when stderr is a terminal; results
//! are printed above it.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::event::{Event, Reporter};

/// A host running the current task: since when, and what its module says it is doing.
type Running = HashMap<String, (Instant, Option<String>)>;

pub struct Progress {
    bar: Option<ProgressBar>,
    running: Arc<Mutex<Running>>,
}

fn still_running(running: &Mutex<Running>) -> String {
    let r = running.lock().map(|m| m.clone()).unwrap_or_default();
    let mut slow: Vec<(String, Duration)> = r
        .into_iter()
        .map(|(h, (t, note))| {
            let h = match note {
                Some(n) => format!("{h} ({n})"),
                None => h,
            };
            (h, t.elapsed())
        })
        .filter(|(_, d)| d.as_secs() >= 2)
        .collect();
    if slow.is_empty() {
        return String::new();
    }
    // By the seconds shown, then name: elapsed times read one after another differ by nanoseconds.
    slow.sort_by(|a, b| b.1.as_secs().cmp(&a.1.as_secs()).then(a.0.cmp(&b.0)));
    let shown: Vec<String> = slow
        .iter()
        .take(4)
        .map(|(h, d)| format!("{h} {}s", d.as_secs()))
        .collect();
    let more = if slow.len() > 4 {
        format!(" +{}", slow.len() - 4)
    } else {
        String::new()
    };
    format!("  running: {}{more}", shown.join(", "))
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        let running = Arc::new(Mutex::new(HashMap::new()));
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress { bar: None, running };
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} [{bar:25}] {pos}/{len} hosts {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(250));
        // Refreshes the list of slow hosts while a task runs.
        let (b, r) = (bar.clone(), running.clone());
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            if b.is_finished() {
                return;
            }
            b.set_message(still_running(&r));
        });
        Progress {
            bar: Some(bar),
            running,
        }
    }

    fn task(&self, name: &str, hosts: usize) {
        if let Some(b) = &self.bar {
            b.set_prefix(name.chars().take(40).collect::<String>());
            b.set_length(hosts as u64);
            b.set_position(0);
            b.set_message("");
        }
    }

    fn started(&self, host: &str) {
        if let Ok(mut r) = self.running.lock() {
            r.insert(host.to_string(), (Instant::now(), None));
        }
    }

    /// What a host's module is doing now (e.g. "create_server 40%"), shown beside its time.
    fn note(&self, host: &str, note: &str) {
        if let Ok(mut r) = self.running.lock() {
            if let Some(entry) = r.get_mut(host) {
                entry.1 = Some(note.to_string());
            }
        }
    }

    fn finished(&self, host: &str) {
        if let Ok(mut r) = self.running.lock() {
            r.remove(host);
        }
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    /// Prints without tearing the bar.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(b) => b.suspend(f),
            None => f(),
        }
    }

    fn done(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Reporter for Progress {
    fn report(&self, event: &Event<'_>) {
        match event {
            Event::TaskStart { name, hosts, .. } => self.task(name, *hosts),
            Event::HostStarted { host } => self.started(host),
            Event::HostNote { host, note } => self.note(host, note),
            Event::HostFinished { host } => self.finished(host),
            Event::Recap(_) => self.done(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_hosts_are_listed_with_what_they_are_doing() {
        let running = Mutex::new(Running::new());
        let long_ago = Instant::now() - Duration::from_secs(12);
        running
            .lock()
            .unwrap()
            .insert("cp-1".into(), (long_ago, Some("create_server 40%".into())));
        running
            .lock()
            .unwrap()
            .insert("w-1".into(), (long_ago, None));
        running
            .lock()
            .unwrap()
            .insert("fast".into(), (Instant::now(), None));
        assert_eq!(
            still_running(&running),
            "  running: cp-1 (create_server 40%) 12s, w-1 12s"
        );
    }
}
