//! RFC 3339 times, as hosts pass `now` and catalogues and snapshots write their validity: any
//! text is a time or an error, and every time formats and parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opmaat::time::{format_rfc3339, parse_rfc3339};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(t) = parse_rfc3339(text, "now") {
        assert_eq!(parse_rfc3339(&format_rfc3339(t), "now").ok(), Some(t), "{text:?}");
    }
});
