//! SIGINT and SIGTERM during a campaign, and SIGPIPE for every command.
//!
//! The first SIGINT (Ctrl-C) or SIGTERM (what CI runners send on cancel or
//! timeout) raises a stop flag: no more seeds are handed out, the seeds in
//! flight finish, a shrink in flight is abandoned, and the summary is
//! printed. The campaign then exits 130 or 143 (128 + the signal), never 0:
//! a cancelled job must not look green. A second signal of either kind
//! exits at once, from the handler itself, with its own code.
//!
//! The handlers only store to atomics (signal-hook's `flag` module), which
//! is all a signal handler may safely do; whoever polls the flags prints.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

/// A signal that interrupts a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    fn number(self) -> i32 {
        match self {
            Signal::Interrupt => SIGINT,
            Signal::Terminate => SIGTERM,
        }
    }

    fn from_number(number: usize) -> Option<Signal> {
        [Signal::Interrupt, Signal::Terminate]
            .into_iter()
            .find(|signal| signal.number() as usize == number)
    }

    /// `SIGINT` or `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// The shell's convention for a process ended by a signal: 128 + its
    /// number, 130 for SIGINT and 143 for SIGTERM.
    pub fn exit_code(self) -> u8 {
        128 + self.number() as u8
    }
}

/// The flags the handlers raise.
pub struct Interrupt {
    stop: Arc<AtomicBool>,
    /// The number of the first signal; 0 before one arrives.
    signal: Arc<AtomicUsize>,
}

impl Interrupt {
    /// Install the handlers of SIGINT and SIGTERM for the rest of the process.
    pub fn install() -> io::Result<Interrupt> {
        let stop = Arc::new(AtomicBool::new(false));
        let signal = Arc::new(AtomicUsize::new(0));
        for number in [SIGINT, SIGTERM] {
            // Registered in this order, so run in this order: a signal that
            // finds the flag already up exits before it would raise it.
            let code = 128 + number;
            signal_hook::flag::register_conditional_shutdown(number, code, stop.clone())?;
            signal_hook::flag::register_usize(number, signal.clone(), number as usize)?;
            signal_hook::flag::register(number, stop.clone())?;
        }
        Ok(Interrupt { stop, signal })
    }

    /// Raised by the first signal: hand out no more work.
    pub fn stop_flag(&self) -> &AtomicBool {
        &self.stop
    }

    /// The first signal, once one arrived.
    pub fn signal(&self) -> Option<Signal> {
        if !self.stop.load(Ordering::SeqCst) {
            return None;
        }
        Signal::from_number(self.signal.load(Ordering::SeqCst))
    }
}

/// Give SIGPIPE back its default action, ending the process quietly, as
/// Unix filters do when the reader goes away (`paxsim fuzz | head -1`).
/// Rust ignores SIGPIPE at startup, so a write to a closed pipe fails, and
/// `println!` turns that failure into a panic and exit code 101.
pub fn default_sigpipe() {
    // SAFETY: called first thing in `main`, before any thread exists;
    // SIG_DFL installs no handler of ours, so no handler code can race.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_exit_with_the_shell_codes() {
        assert_eq!(Signal::Interrupt.exit_code(), 130);
        assert_eq!(Signal::Terminate.exit_code(), 143);
        assert_eq!(
            Signal::from_number(SIGTERM as usize),
            Some(Signal::Terminate)
        );
        assert_eq!(Signal::from_number(0), None);
    }
}
