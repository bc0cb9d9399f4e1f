#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! The modules follow the decision's path: a marketer's catalogue becomes a signed [`bundle`];
//! its targeting [`condition`]s are compiled once and evaluated everywhere; an [`Engine`] holds
//! one verified bundle and [decides](decide) from it for a pseudonymous [`profile`] and a
//! contact's [`Context`]. The customer's responses are kept in the [`ledger`], which the contact
//! [`policy`] rules read; they become [`measure`]ment events for the bank's collector, and
//! (authoring side) `learn` folds those back into the catalogue. The `wasm` module (Wasm builds
//! only) is a thin shell that turns JS values into these types and back; no decision logic lives
//! there.

// Nothing reachable from input may panic (in Wasm a panic is a trap, and traps corrupt the
// instance): no unchecked indexing or slicing, no string slicing, no unwrap or expect outside
// tests. `./build.sh test` runs clippy with these denied; the few exceptions say why.
#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::string_slice, clippy::unwrap_used, clippy::expect_used)
)]

pub mod bundle;
pub mod condition;
pub mod decide;
mod engine;
pub mod ledger;
pub mod limits;
#[cfg(feature = "compiler")]
pub mod learn;
pub mod measure;
pub mod error;
pub mod profile;
#[cfg(feature = "compiler")]
pub mod synthetic;
#[cfg(feature = "simulate")]
pub mod simulate;
pub mod time;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use bundle::LoadOptions;
pub use decide::{Context, DecideRequest, Decision};
pub use engine::Engine;
pub use error::{Error, Result};
pub use profile::{Profile, ProfilePolicy};
