//! Bundles: the signed, compact form of a proposition catalogue, and how a host loads one.
//!
//! Marketing authors a [`catalogue`] (JSON); [`compile`] validates it into the binary
//! [`model`]; [`envelope`] signs it with an Ed25519 key from [`keys`]. A host calls [`load`]
//! with the bytes and the public keys it trusts: the envelope is checked and the signature
//! verified before the payload is decoded, then the payload's own consistency, its validity
//! window and its version are checked. Nothing is trusted before it is verified, and every
//! failure has its own [`crate::Error`] code. Between bundles, an [`overlay`] (signed the same
//! way) brings live stock and pause states.

#[cfg(feature = "compiler")]
pub mod catalogue;
#[cfg(feature = "compiler")]
pub mod compile;
pub mod envelope;
pub mod keys;
pub mod model;
pub mod overlay;

use crate::condition::Prepared;
use crate::time::{format_rfc3339, Timestamp};
use crate::{Error, Result};
pub use envelope::Header;
pub use keys::{KeyId, TrustedKeys};
pub use model::Payload;

/// What a host knows when it loads a bundle.
#[derive(Debug, Clone)]
pub struct LoadOptions<'k> {
    /// The public keys bundles may be signed with.
    pub trusted_keys: &'k TrustedKeys,
    /// The current time; a bundle is used only inside its validity window.
    pub now: Timestamp,
    /// The version already in use, if any: an older bundle is refused (no rollback).
    pub min_version: Option<u64>,
}

/// A verified, decoded and checked bundle, ready to decide from.
#[derive(Debug)]
pub struct Bundle {
    pub header: Header,
    /// The decoded payload; its condition pool has moved into [`Bundle::conditions`].
    pub payload: Payload,
    /// The catalogue's conditions with their regular expressions compiled.
    pub conditions: Prepared,
    /// Size of the bundle in bytes.
    pub size: usize,
    /// The first 8 bytes of SHA-256 over the payload: what the bundle says, whatever key signed
    /// it. Decision ids include it, so two catalogues with the same id and version never share
    /// one.
    pub content: [u8; 8],
    /// Every proposition's ledger key with its index, sorted by key: how the ledger's entries
    /// are matched to propositions (see [`crate::ledger::proposition_key`]).
    pub ledger_keys: Vec<(u32, u32)>,
}

impl Bundle {
    /// The index of the proposition with this ledger key.
    pub fn proposition_by_ledger_key(&self, key: u32) -> Option<usize> {
        let i = self.ledger_keys.binary_search_by_key(&key, |&(k, _)| k).ok()?;
        self.ledger_keys.get(i).map(|&(_, index)| index as usize)
    }
}

/// Verifies, decodes and checks a bundle.
pub fn load(bytes: &[u8], options: &LoadOptions) -> Result<Bundle> {
    let (header, payload_bytes) = envelope::open(bytes, options.trusted_keys)?;
    crate::limits::with_budget(payload_bytes.len(), || load_verified(header, payload_bytes, bytes.len(), options))
}

/// [`load`] after the signature has been verified.
fn load_verified(header: Header, payload_bytes: &[u8], size: usize, options: &LoadOptions) -> Result<Bundle> {
    let content = content_digest(payload_bytes);
    let mut payload: Payload = envelope::decode(payload_bytes)?;
    payload.catalogue.check()?;
    if payload.expires_at <= payload.not_before {
        return Err(Error::malformed("the validity window ends before it starts"));
    }
    if options.now < payload.not_before {
        return Err(Error::NotYetValid {
            what: envelope::BUNDLE.what,
            not_before: format_rfc3339(payload.not_before),
            now: format_rfc3339(options.now),
        });
    }
    if options.now >= payload.expires_at {
        return Err(Error::Expired {
            what: envelope::BUNDLE.what,
            expires_at: format_rfc3339(payload.expires_at),
            now: format_rfc3339(options.now),
        });
    }
    if let Some(min_version) = options.min_version {
        if payload.version < min_version {
            return Err(Error::Rollback { what: envelope::BUNDLE.what, version: payload.version, min_version });
        }
    }
    // Moved, not copied: a bundle's memory stays within the decode budget (see `limits`).
    let conditions = std::mem::take(&mut payload.catalogue.conditions).into_prepared()?;
    let mut ledger_keys: Vec<(u32, u32)> = payload
        .catalogue
        .propositions
        .iter()
        .enumerate()
        .map(|(i, p)| (crate::ledger::proposition_key(&p.id), i as u32))
        .collect();
    ledger_keys.sort_unstable();
    if ledger_keys.windows(2).any(|w| matches!(w, [a, b] if a.0 == b.0)) {
        return Err(Error::malformed("two propositions share a ledger key"));
    }
    Ok(Bundle { header, payload, conditions, size, content, ledger_keys })
}

/// The first 8 bytes of SHA-256 over a payload's bytes.
fn content_digest(payload: &[u8]) -> [u8; 8] {
    use sha2::{Digest, Sha256};
    Sha256::digest(payload).first_chunk::<8>().copied().unwrap_or_default() // always 32 bytes
}

#[cfg(all(test, feature = "compiler"))]
pub(crate) mod tests;
