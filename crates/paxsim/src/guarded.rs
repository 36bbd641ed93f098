//! Running the simulator with panics caught, quietly.
//!
//! A panic inside the core or the simulator is a finding, not a crash of
//! the harness: it becomes that seed's failure, with the panic message and
//! location, and the campaign goes on. The default hook would print every
//! such panic to stderr mid-campaign; while a guarded call runs, the hook
//! records the message for the caller instead.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static CAPTURED: RefCell<Option<String>> = const { RefCell::new(None) };
}

static INSTALL_HOOK: Once = Once::new();

/// Run `body`; a panic inside it comes back as `Err(message at location)`.
pub fn catch<T>(body: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    CAPTURED.with(|captured| captured.borrow_mut().take());
    CAPTURING.with(|capturing| capturing.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(body));
    CAPTURING.with(|capturing| capturing.set(false));
    result.map_err(|payload| {
        CAPTURED
            .with(|captured| captured.borrow_mut().take())
            .unwrap_or_else(|| payload_message(payload.as_ref()))
    })
}

fn install_hook() {
    INSTALL_HOOK.call_once(|| {
        let default_hook = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(Cell::get) {
                let location = info
                    .location()
                    .map(|location| format!(" at {location}"))
                    .unwrap_or_default();
                let message = format!("{}{location}", payload_message(info.payload()));
                CAPTURED.with(|captured| *captured.borrow_mut() = Some(message));
            } else {
                default_hook(info);
            }
        }));
    });
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_location() {
        let error = catch(|| -> u32 { panic!("boom {}", 7) }).unwrap_err();
        assert!(error.starts_with("boom 7 at "), "{error}");
        assert!(error.contains("guarded.rs"), "{error}");
        assert_eq!(catch(|| 5), Ok(5));
    }
}
