//! The condition evaluator over random IR: the fuzzer's bytes decoded as a condition pool (as a
//! bundle carries it), validated and prepared as at load, then every condition evaluated, on its
//! own and through a session, against attributes of every JSON type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opmaat::condition::{CondId, Pool};
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(pool) = postcard::from_bytes::<Pool>(data) else { return };
    let Ok(prepared) = pool.into_prepared() else { return };
    let documents: [Value; 3] = [
        json!({}),
        json!({"a": 1, "b": "x", "c": [1, "2", null, {"d": true}], "e": {"f": 2.5}, "g": null, "h": false}),
        json!({"a": "1.2.3", "b": ["x", "y"], "c": {"0": [0]}, "e": "", "context": {"page": "/sparen/groen"}}),
    ];
    for attrs in &documents {
        let session = prepared.session(attrs);
        for id in 0..prepared.len() as u32 {
            assert_eq!(prepared.eval(CondId(id), attrs), session.eval(CondId(id)));
        }
    }
});
