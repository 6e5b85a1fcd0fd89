//! Any bytes as routes.yaml: parsing and validation return errors, never panic, and every
//! error has a message.
#![no_main]

use gateway::table::{Overrides, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(errors) = parse(text, &Overrides::default()) {
        assert!(errors.0.iter().all(|e| !e.message.is_empty()));
    }
});
