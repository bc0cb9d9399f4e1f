//! The engine: one verified bundle, ready to decide from.
//!
//! Hosts load a bundle once (per page, per edge isolate) and keep the engine; everything it
//! needs at decision time (compiled conditions, interned tables) is prepared at load.

use crate::bundle::overlay::{self, Overlay};
use crate::bundle::{self, Bundle, LoadOptions, TrustedKeys};
use crate::decide::{self, DecideRequest, Decision};
use crate::profile::{Profile, ProfilePolicy};
use crate::time::Timestamp;
use crate::Result;

/// A loaded bundle, and the availability overlay applied on top of it.
#[derive(Debug)]
pub struct Engine {
    bundle: Bundle,
    profiles: ProfilePolicy,
    /// The keys the bundle was verified with: overlays must be signed by one of them too.
    trusted: TrustedKeys,
    overlay: Option<Overlay>,
}

impl Engine {
    /// Verifies and loads a bundle; see [`bundle::load`] for every check it makes.
    pub fn load(bytes: &[u8], options: &LoadOptions) -> Result<Engine> {
        Ok(Engine {
            bundle: bundle::load(bytes, options)?,
            profiles: ProfilePolicy::default(),
            trusted: options.trusted_keys.clone(),
            overlay: None,
        })
    }

    /// Verifies an availability overlay for this bundle at `now` and, if it passes, puts it in
    /// the place of the one in use; see [`overlay::load`] for every check. A refused overlay
    /// changes nothing: the one in use stays.
    pub fn apply_overlay(&mut self, bytes: &[u8], now: Timestamp) -> Result<&Overlay> {
        let min_sequence = self.overlay.as_ref().map(|o| o.payload.sequence);
        let applied = overlay::load(bytes, &self.trusted, &self.bundle, now, min_sequence)?;
        Ok(self.overlay.insert(applied))
    }

    /// The availability overlay in use, if any (it may have expired since: decisions then
    /// ignore it and warn `overlay_expired`).
    pub fn overlay(&self) -> Option<&Overlay> {
        self.overlay.as_ref()
    }

    /// Sets which bank keys profile snapshots may be signed with and whether they must be.
    pub fn set_profile_policy(&mut self, policy: ProfilePolicy) {
        self.profiles = policy;
    }

    pub fn profile_policy(&self) -> &ProfilePolicy {
        &self.profiles
    }

    /// Parses a profile snapshot (JSON text, bare or signed) under the engine's profile policy.
    /// Parse once per page and pass the [`Profile`] to every [`Engine::decide`].
    pub fn parse_profile(&self, json: &str) -> Result<Profile> {
        self.profiles.parse(json)
    }

    /// As [`Engine::parse_profile`], for a snapshot that is already a JSON value.
    pub fn profile_from_value(&self, value: &serde_json::Value) -> Result<Profile> {
        self.profiles.from_value(value)
    }

    /// Decides what one placement shows; see [`crate::decide`] for the funnel.
    pub fn decide(&self, request: &DecideRequest) -> Result<Decision> {
        decide::decide(&self.bundle, self.overlay.as_ref(), &self.profiles, request, true, false)
    }

    /// As [`Engine::decide`], without the trace (it stays empty and is never built): for hosts
    /// that render the slots and ask for the explanation only when someone wants it.
    pub fn decide_without_trace(&self, request: &DecideRequest) -> Result<Decision> {
        decide::decide(&self.bundle, self.overlay.as_ref(), &self.profiles, request, false, false)
    }

    /// As [`Engine::decide`] or, without `with_trace`, [`Engine::decide_without_trace`], for a
    /// context [`Context::parse`](crate::Context::parse) has just checked (the Wasm shell, which
    /// parses it once for all the placements of a page): it is not checked again.
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn decide_parsed(&self, request: &DecideRequest, with_trace: bool) -> Result<Decision> {
        decide::decide(&self.bundle, self.overlay.as_ref(), &self.profiles, request, with_trace, true)
    }

    /// The catalogue id the bundle was built from.
    pub fn bundle_id(&self) -> &str {
        &self.bundle.payload.bundle_id
    }

    /// The bundle's version; pass it as `min_version` when loading the next one.
    pub fn version(&self) -> u64 {
        self.bundle.payload.version
    }

    pub fn issued_at(&self) -> Timestamp {
        self.bundle.payload.issued_at
    }

    pub fn not_before(&self) -> Timestamp {
        self.bundle.payload.not_before
    }

    pub fn expires_at(&self) -> Timestamp {
        self.bundle.payload.expires_at
    }

    /// The signing key's id.
    pub fn key_id(&self) -> String {
        self.bundle.header.key_id.to_string()
    }

    pub fn proposition_count(&self) -> usize {
        self.bundle.payload.catalogue.propositions.len()
    }

    pub fn placement_ids(&self) -> impl Iterator<Item = &str> {
        self.bundle.payload.catalogue.placements.iter().map(|p| p.id.as_str())
    }

    /// The whole bundle, for inspection.
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }
}
