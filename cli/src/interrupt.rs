//! Cleanup on failure and on Ctrl-C.
//!
//! A command arms a [`CleanupGuard`] with the step that undoes its partial
//! work: deleting a created upload, or removing a half-written temporary
//! file. The step runs when the guard is dropped without being disarmed (an
//! error returned early) or when the user presses Ctrl-C, whichever comes
//! first, and at most once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

type Cleanup = Box<dyn FnOnce() + Send>;

/// The armed cleanups with the number of their guard. The Ctrl-C handler
/// holds this lock while it runs them and until the process exits, so the
/// main thread cannot disarm one halfway.
static PENDING: Mutex<Vec<(u64, Cleanup)>> = Mutex::new(Vec::new());

static NEXT_GUARD: AtomicU64 = AtomicU64::new(0);

/// A hint printed when a signal ends the program, or `None`.
static INTERRUPT_NOTE: Mutex<Option<&'static str>> = Mutex::new(None);

/// Sets the hint that the signal handler prints after "interrupted", or
/// clears it with `None`.
pub fn set_interrupt_note(note: Option<&'static str>) {
    *INTERRUPT_NOTE
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = note;
}

/// Installs the handler of Ctrl-C (SIGINT), SIGTERM and SIGHUP: run every
/// armed cleanup, then exit with 130.
///
/// # Errors
///
/// If a handler is already installed or the signal cannot be caught; the
/// program then works without cleanup on Ctrl-C.
pub fn install_handler() -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(|| {
        let mut pending = PENDING.lock().unwrap_or_else(PoisonError::into_inner);
        eprintln!("\ninterrupted; cleaning up");
        for (_, cleanup) in pending.drain(..) {
            cleanup();
        }
        // After the cleanups, so the note follows what they printed.
        let note = *INTERRUPT_NOTE
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(note) = note {
            eprintln!("hint: {note}");
        }
        std::process::exit(130);
    })
}

/// An armed cleanup step; see the module documentation.
#[must_use = "dropping the guard runs the cleanup at once"]
pub struct CleanupGuard {
    number: u64,
}

impl CleanupGuard {
    /// Arms `cleanup`.
    pub fn arm(cleanup: impl FnOnce() + Send + 'static) -> CleanupGuard {
        let number = NEXT_GUARD.fetch_add(1, Ordering::Relaxed);
        let mut pending = PENDING.lock().unwrap_or_else(PoisonError::into_inner);
        pending.push((number, Box::new(cleanup)));
        CleanupGuard { number }
    }

    /// Drops the cleanup without running it: the work succeeded.
    pub fn disarm(self) {
        drop(self.take());
        std::mem::forget(self);
    }

    fn take(&self) -> Option<Cleanup> {
        let mut pending = PENDING.lock().unwrap_or_else(PoisonError::into_inner);
        let position = pending
            .iter()
            .position(|(number, _)| *number == self.number)?;
        Some(pending.swap_remove(position).1)
    }
}

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        // Taken out first, so the cleanup runs without the lock held.
        if let Some(cleanup) = self.take() {
            cleanup();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn guard_runs_on_drop_not_on_disarm() {
        let runs = Arc::new(AtomicUsize::new(0));

        let counter = Arc::clone(&runs);
        let guard = CleanupGuard::arm(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        guard.disarm();
        assert_eq!(runs.load(Ordering::SeqCst), 0);

        let counter = Arc::clone(&runs);
        let guard = CleanupGuard::arm(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        drop(guard);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
