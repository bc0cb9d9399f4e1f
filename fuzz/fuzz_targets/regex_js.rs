//! Differential: opmaat's `$regex` (literal search, its own automaton or regex-lite, whichever
//! the compiler picks) against JavaScript's semantics (the ECMAScript engine `regress`), for
//! patterns both accept. The fuzzer's bytes are a pattern, a NUL, and a haystack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opmaat::condition::{Compiler, Mode};
use serde_json::{json, Map};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some((pattern, haystack)) = text.split_once('\0') else { return };
    for (operator, flags) in [("$regex", ""), ("$regexi", "i")] {
        // JavaScript's `new RegExp(pattern, flags)`; what it refuses, GrowthBook treats as false.
        let Ok(js) = regress::Regex::with_flags(pattern, flags) else { continue };
        let mut compiler = Compiler::new(Mode::Lenient, &Map::new());
        let Ok(id) = compiler.compile(&json!({"v": {operator: pattern}}), "condition") else { continue };
        let Ok(prepared) = compiler.finish().into_prepared() else { continue };
        let ours = prepared.eval(id, &json!({"v": haystack}));
        // opmaat refuses what it cannot match in linear time (backreferences, lookaround) and
        // compiles it to false; only patterns it accepts are compared.
        let strict = Compiler::new(Mode::Strict, &Map::new()).compile(&json!({"v": {operator: pattern}}), "c").is_ok();
        if strict {
            let theirs = js.find(haystack).is_some();
            assert_eq!(ours, theirs, "{operator} {pattern:?} on {haystack:?}");
        }
    }
});
