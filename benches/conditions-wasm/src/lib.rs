//! Benchmark harness (not part of the package): exposes opmaat's condition compiler and
//! evaluator to Node so `bench.mjs` can time them against GrowthBook's JS SDK on the very same
//! conditions and attributes.

use opmaat::condition::{Compiler, CondId, Mode, Prepared};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

/// A set of compiled conditions.
#[wasm_bindgen]
pub struct Conditions {
    prepared: Prepared,
    ids: Vec<CondId>,
}

#[wasm_bindgen]
impl Conditions {
    /// Compiles a JSON array of GrowthBook conditions (strict mode, as for a catalogue).
    pub fn compile(json: &str) -> Result<Conditions, JsError> {
        let conditions: Vec<Value> = serde_json::from_str(json)?;
        let mut compiler = Compiler::new(Mode::Strict, &Map::new());
        let ids = conditions
            .iter()
            .enumerate()
            .map(|(i, c)| compiler.compile(c, &format!("conditions[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| JsError::new(&e.to_string()))?;
        let prepared = compiler.finish().into_prepared().map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Conditions { prepared, ids })
    }

    /// One decision's worth of targeting: parses the attributes (the JS → Wasm crossing of the
    /// profile) and evaluates every condition; returns a bitmap of the results, one byte each.
    pub fn decide(&self, attributes_json: &str) -> Result<Vec<u8>, JsError> {
        let attributes: Value = serde_json::from_str(attributes_json)?;
        let session = self.prepared.session(&attributes);
        Ok(self.ids.iter().map(|&id| u8::from(session.eval(id))).collect())
    }
}
