//! What an operation shows while it runs, and the Ctrl-C that stops it.
//!
//! On a terminal, a progress bar per model on stderr (indicatif), cleared
//! when the model is done; elsewhere (a log file, CI, a pipe) a plain line
//! after the first chunk and then at most one every [`LOG_EVERY`], so a
//! ten-million-record run writes tens of lines, not thousands. The summary
//! line of each model goes to stdout either way, for scripts.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::maintenance::Progress;

/// The least time between two plain progress lines.
pub(super) const LOG_EVERY: Duration = Duration::from_secs(2);

/// Set by the first Ctrl-C; read after each chunk.
static STOP: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

/// Arms the Ctrl-C handler (once per process) and clears an earlier stop.
///
/// The first Ctrl-C asks the running operation to stop after its current
/// chunk, whose transaction then commits whole; a second one exits at once,
/// and the database rolls the open chunk back when the connection drops, so
/// nothing is half-done either way.
pub(super) fn arm_interrupt() {
    HANDLER.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                eprintln!("\nhistory: stopped at once; the open chunk is rolled back");
                std::process::exit(super::EXIT_INTERRUPTED.into());
            }
            eprintln!(
                "\nhistory: Ctrl-C: stopping after the current chunk (press it again to stop at once)"
            );
        });
        if let Err(err) = installed {
            // An application that handles signals itself keeps its handler;
            // the operation then runs to its end.
            eprintln!("history: note: Ctrl-C will not stop between chunks: {err}");
        }
    });
    STOP.store(false, Ordering::SeqCst);
}

/// Whether Ctrl-C asked to stop.
pub(super) fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Shows one model's operation as it goes.
pub(super) struct Meter {
    label: String,
    /// Whether stderr is a terminal: a bar, drawn from the first chunk on
    /// (when the total is known), rather than lines.
    terminal: bool,
    bar: Option<ProgressBar>,
    last_line: Option<Instant>,
}

impl Meter {
    /// A meter for `operation` on `model`.
    pub(super) fn start(operation: &str, model: &str) -> Meter {
        Meter {
            label: format!("{operation} {model}"),
            terminal: std::io::stderr().is_terminal(),
            bar: None,
            last_line: None,
        }
    }

    /// Shows `progress`; breaks when Ctrl-C asked to stop.
    pub(super) fn update(&mut self, progress: &Progress) -> ControlFlow<()> {
        let scanned = progress.scanned.min(progress.total);
        if self.terminal {
            let bar = self.bar.get_or_insert_with(|| {
                let bar = ProgressBar::with_draw_target(
                    Some(progress.total),
                    ProgressDrawTarget::stderr(),
                );
                let style = ProgressStyle::with_template(
                    "{prefix} [{wide_bar}] {pos}/{len} rows, {msg} ({elapsed})",
                )
                .expect("the template is valid")
                .progress_chars("=> ");
                bar.set_style(style);
                bar.set_prefix(self.label.clone());
                bar
            });
            bar.set_message(format!("{} records", progress.records));
            bar.set_position(scanned);
        } else if self.last_line.is_none_or(|at| at.elapsed() >= LOG_EVERY) {
            self.last_line = Some(Instant::now());
            eprintln!(
                "history: {}: {scanned}/{} rows, {} records, {} chunk(s)",
                self.label, progress.total, progress.records, progress.chunks
            );
        }
        if stop_requested() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Takes the bar off the terminal (the summary line replaces it).
    pub(super) fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
