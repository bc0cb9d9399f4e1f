//! Availability overlays: the live stock and pause state of one bundle's propositions.
//!
//! A catalogue is published a few times a week; a partner's deal can sell out in an afternoon,
//! and a wrong text must come down within minutes. An overlay says, per proposition, that it is
//! available again, sold out, has so many left, or is paused (with the reason), without a new
//! bundle. It is a small document in the bundle's [envelope](super::envelope) with its own magic
//! (`OPMA`), format version and version sequence, signed with the same keys, bound to one
//! bundle id (any of its versions) and valid for a short window, at most
//! [`MAX_OVERLAY_VALIDITY_SECONDS`]: operations republish it every few minutes.
//!
//! [`load`] verifies it against a loaded bundle the way [`super::load`] verifies a bundle, with
//! the same error codes (`bad_signature`, `expired`, `rollback`, …) and `wrong_bundle` for an
//! overlay made for another catalogue. Entries that name no proposition of the bundle are kept
//! aside and reported, not refused: the overlay outlives catalogue versions that drop a
//! proposition. The funnel reads [`Overlay::entry`] and [`availability`]; an overlay whose window
//! has passed is not read at all and the decision says so in its warnings (see
//! [`crate::decide`]), so the catalogue's own settings apply again.
//!
//! ```text
//! overlay source (JSON, `opmaat overlay build`):
//! { "bundle": "bank-nl-web", "sequence": 7,            (default: the issue time in Unix seconds)
//!   "valid": { "from": "…", "until": "…" },            (default: from now, for --ttl-minutes)
//!   "propositions": {
//!     "rijksmuseum":    { "remaining": 12 },
//!     "spaar-spektakel":{ "soldOut": true },
//!     "green-savings":  { "paused": "wrong interest rate in the text" },
//!     "kids-savings":   { "available": true } } }
//! ```

use serde::{Deserialize, Serialize};

use super::envelope::{self, Format, Header};
use super::model::{LowStock, Proposition};
use super::{Bundle, TrustedKeys};
use crate::limits::{self, MAX_ID_BYTES, MAX_OVERLAY_BYTES, MAX_PROPOSITIONS, MAX_TEXT_BYTES};
use crate::time::{format_rfc3339, Timestamp};
use crate::{Error, Result};

/// The first four bytes of every availability overlay.
pub const OVERLAY_MAGIC: [u8; 4] = *b"OPMA";
/// The overlay format this build reads and writes.
pub const OVERLAY_FORMAT_VERSION: u16 = 1;
/// An overlay's envelope.
pub const OVERLAY: Format = Format {
    what: "availability overlay",
    magic: OVERLAY_MAGIC,
    magic_text: "OPMA",
    version: OVERLAY_FORMAT_VERSION,
    max_bytes: MAX_OVERLAY_BYTES,
};
/// The longest an overlay may be valid (a day): it is republished every few minutes, and a
/// proposition kept away for longer belongs in the next bundle.
pub const MAX_OVERLAY_VALIDITY_SECONDS: i64 = 24 * 60 * 60;

/// The signed payload of an overlay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverlayPayload {
    /// The bundle id (catalogue id) it applies to, whatever the bundle's version.
    #[serde(deserialize_with = "limits::string::<MAX_ID_BYTES, _>")]
    pub bundle_id: String,
    /// Increases with every overlay of the bundle id; a host refuses to go back.
    pub sequence: u64,
    pub issued_at: Timestamp,
    pub not_before: Timestamp,
    pub expires_at: Timestamp,
    /// One per proposition named, sorted by proposition id.
    #[serde(deserialize_with = "limits::seq::<MAX_PROPOSITIONS, _, _>")]
    pub entries: Vec<Entry>,
}

/// What the overlay says about one proposition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    #[serde(deserialize_with = "limits::string::<MAX_ID_BYTES, _>")]
    pub proposition: String,
    pub stock: Stock,
    /// Paused, for this reason (for the trace and the operators, never shown to customers).
    #[serde(deserialize_with = "limits::opt_string::<MAX_TEXT_BYTES, _>")]
    pub paused: Option<String>,
}

/// The stock an overlay reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Stock {
    /// As the catalogue says (the entry is about a pause only).
    AsCatalogued,
    /// Available, with no count: restocked, or never limited.
    Available,
    SoldOut,
    /// This many left; 0 is sold out.
    Remaining(u32),
}

/// An overlay verified and matched to one loaded bundle.
#[derive(Debug, Clone)]
pub struct Overlay {
    pub header: Header,
    pub payload: OverlayPayload,
    /// Per proposition of the bundle, in catalogue order: the index of its entry, or [`NO_ENTRY`].
    by_proposition: Vec<u32>,
    /// Entries that name no proposition of the bundle (ids, sorted).
    pub unknown: Vec<String>,
}

/// In [`Overlay`]'s index: the proposition has no entry.
const NO_ENTRY: u32 = u32::MAX;

impl Overlay {
    /// The entry for proposition `index` of the bundle, if the overlay names it.
    pub fn entry(&self, index: usize) -> Option<&Entry> {
        let at = *self.by_proposition.get(index)?;
        if at == NO_ENTRY {
            return None;
        }
        self.payload.entries.get(at as usize)
    }

    /// Whether the overlay's window holds `now`.
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.payload.not_before <= now && now < self.payload.expires_at
    }

    /// How many of the bundle's propositions it names.
    pub fn matched(&self) -> usize {
        self.payload.entries.len() - self.unknown.len()
    }

    /// What a host shows of the overlay in use.
    pub fn summary(&self) -> Summary {
        let p = &self.payload;
        Summary {
            bundle_id: p.bundle_id.clone(),
            sequence: p.sequence,
            issued_at: format_rfc3339(p.issued_at),
            not_before: format_rfc3339(p.not_before),
            expires_at: format_rfc3339(p.expires_at),
            propositions: u32::try_from(self.matched()).unwrap_or(u32::MAX),
            unknown_propositions: self.unknown.clone(),
        }
    }
}

/// An applied overlay, as hosts see it (times in RFC 3339).
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub bundle_id: String,
    pub sequence: u64,
    pub issued_at: String,
    pub not_before: String,
    pub expires_at: String,
    /// How many of the bundle's propositions it names.
    pub propositions: u32,
    /// Propositions it names that the bundle does not have (ignored).
    pub unknown_propositions: Vec<String>,
}

/// Verifies an overlay for `bundle` at `now`; `min_sequence` is the sequence of the overlay in
/// use, if any (an older one is refused as `rollback`; the same one again is accepted, as a
/// revalidation that found nothing new).
pub fn load(bytes: &[u8], trusted: &TrustedKeys, bundle: &Bundle, now: Timestamp, min_sequence: Option<u64>) -> Result<Overlay> {
    let (header, payload_bytes) = envelope::open_as(&OVERLAY, bytes, trusted)?;
    let payload: OverlayPayload = limits::with_budget(payload_bytes.len(), || envelope::decode(payload_bytes))?;
    if payload.bundle_id != bundle.payload.bundle_id {
        return Err(Error::WrongBundle { overlay_bundle: payload.bundle_id, bundle: bundle.payload.bundle_id.clone() });
    }
    check_window(&payload)?;
    if now < payload.not_before {
        return Err(Error::NotYetValid { what: OVERLAY.what, not_before: format_rfc3339(payload.not_before), now: format_rfc3339(now) });
    }
    if now >= payload.expires_at {
        return Err(Error::Expired { what: OVERLAY.what, expires_at: format_rfc3339(payload.expires_at), now: format_rfc3339(now) });
    }
    if let Some(min) = min_sequence.filter(|&min| payload.sequence < min) {
        return Err(Error::Rollback { what: OVERLAY.what, version: payload.sequence, min_version: min });
    }
    check_entries(&payload.entries)?;
    let propositions = &bundle.payload.catalogue.propositions;
    let mut by_proposition = vec![NO_ENTRY; propositions.len()];
    let mut unknown = Vec::new();
    for (at, entry) in payload.entries.iter().enumerate() {
        let found = bundle
            .proposition_by_ledger_key(crate::ledger::proposition_key(&entry.proposition))
            .filter(|&i| propositions.get(i).is_some_and(|p| p.id == entry.proposition));
        match found.and_then(|i| by_proposition.get_mut(i)) {
            Some(slot) => *slot = u32::try_from(at).unwrap_or(NO_ENTRY),
            None => unknown.push(entry.proposition.clone()),
        }
    }
    Ok(Overlay { header, payload, by_proposition, unknown })
}

/// The window is well-formed and short.
fn check_window(payload: &OverlayPayload) -> Result<()> {
    let length = payload.expires_at.saturating_sub(payload.not_before);
    if length <= 0 {
        return Err(Error::malformed("the overlay's validity window ends before it starts"));
    }
    if length > MAX_OVERLAY_VALIDITY_SECONDS {
        return Err(Error::malformed(format!(
            "the overlay is valid for {length} s, longer than {MAX_OVERLAY_VALIDITY_SECONDS} s: publish a new bundle instead"
        )));
    }
    Ok(())
}

/// Entries are sorted by proposition id, each id once, and a pause has a reason.
fn check_entries(entries: &[Entry]) -> Result<()> {
    if let Some(pair) = entries.windows(2).find(|w| matches!(w, [a, b] if a.proposition >= b.proposition)) {
        let id = pair.get(1).map_or("", |e| e.proposition.as_str());
        return Err(Error::malformed(format!("the overlay's entries are not sorted by proposition, or name {id:?} twice")));
    }
    if let Some(e) = entries.iter().find(|e| e.paused.as_deref().is_some_and(|r| r.trim().is_empty())) {
        return Err(Error::malformed(format!("the overlay pauses {:?} without a reason", e.proposition)));
    }
    Ok(())
}

/// What a proposition's supply is at decision time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Availability<'a> {
    /// Paused by the overlay, with its reason.
    pub paused: Option<&'a str>,
    /// How many are left, where counted; `Some(0)` is sold out.
    pub remaining: Option<u32>,
    /// Sold out, by the overlay or (with no overlay entry) by the catalogue's stock of 0.
    pub sold_out: bool,
    /// The overlay said so (rather than the catalogue).
    pub from_overlay: bool,
}

/// A proposition's availability: the overlay entry in force, else the catalogue's stock.
pub fn availability<'a>(p: &Proposition, entry: Option<&'a Entry>) -> Availability<'a> {
    let catalogued = p.loyalty.as_ref().and_then(|l| l.stock);
    let (remaining, from_overlay) = match entry.map(|e| e.stock) {
        None | Some(Stock::AsCatalogued) => (catalogued, false),
        Some(Stock::Available) => (None, true),
        Some(Stock::SoldOut) => (Some(0), true),
        Some(Stock::Remaining(n)) => (Some(n), true),
    };
    Availability { paused: entry.and_then(|e| e.paused.as_deref()), remaining, sold_out: remaining == Some(0), from_overlay }
}

/// The catalogue's low-stock setting of `p`, when its remaining stock is above 0 and at most
/// the setting's threshold at this availability.
pub fn low_stock(p: &Proposition, availability: &Availability) -> Option<LowStock> {
    let low = p.loyalty.as_ref()?.low_stock?;
    availability.remaining.filter(|&n| n > 0 && n <= low.threshold).map(|_| low)
}

/// The low-stock lever of `p` (percent, part of L) at this availability: 0 unless its stock is
/// low (see [`low_stock`]).
pub fn low_stock_lever(p: &Proposition, availability: &Availability) -> f64 {
    low_stock(p, availability).map_or(0.0, |low| low.lever)
}

#[cfg(feature = "compiler")]
pub use source::{build, parse_source, OverlaySource, SourceEntry, DEFAULT_TTL_MINUTES};

/// The overlay as operations write it (JSON), and how it becomes a payload.
#[cfg(feature = "compiler")]
mod source {
    use std::collections::BTreeMap;

    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    use super::{Entry, OverlayPayload, Stock, MAX_OVERLAY_VALIDITY_SECONDS};
    use crate::bundle::catalogue::Window;
    use crate::limits::{MAX_ID_BYTES, MAX_PROPOSITIONS, MAX_TEXT_BYTES};
    use crate::time::{parse_rfc3339, Timestamp};
    use crate::{Error, Result};

    /// How long an overlay without a `valid` window is valid, in minutes.
    pub const DEFAULT_TTL_MINUTES: i64 = 60;

    /// An availability overlay's source. Unknown fields are errors.
    #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct OverlaySource {
        /// The bundle (catalogue) id it is for, e.g. `bank-nl-web`.
        pub bundle: String,
        /// Increases with every overlay; default: the issue time in Unix seconds.
        #[serde(default)]
        pub sequence: Option<u64>,
        /// When it may be used; default: from the issue time, for the given time to live.
        #[serde(default)]
        pub valid: Option<Window>,
        /// Per proposition id: what is true of it now.
        pub propositions: BTreeMap<String, SourceEntry>,
    }

    /// One proposition's state. Give `available`, `soldOut` or `remaining` (or none, with
    /// `paused`); `paused` may come with any of them.
    #[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct SourceEntry {
        /// `true`: available, whatever the catalogue's stock said (restocked, no count).
        #[serde(default)]
        pub available: Option<bool>,
        /// `true`: sold out.
        #[serde(default)]
        pub sold_out: Option<bool>,
        /// How many are left; 0 is sold out.
        #[serde(default)]
        pub remaining: Option<u32>,
        /// Pause it, for this reason (kept for the trace and operators, never shown to customers).
        #[serde(default)]
        pub paused: Option<String>,
    }

    /// Parses an overlay source, naming the JSON path of what is wrong.
    pub fn parse_source(json: &str) -> Result<OverlaySource> {
        let mut de = serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            Error::InvalidArgument { path: if path == "." { "overlay".into() } else { path }, message: e.inner().to_string() }
        })
    }

    /// The payload of `source`, issued at `issued_at` and valid `ttl_minutes` unless its own
    /// window says otherwise.
    pub fn build(source: &OverlaySource, issued_at: Timestamp, ttl_minutes: i64) -> Result<OverlayPayload> {
        let bad = |path: String, message: &str| Error::argument(path, message);
        if source.bundle.is_empty() || source.bundle.len() > MAX_ID_BYTES {
            return Err(bad("bundle".into(), "expected the bundle id the overlay is for"));
        }
        let (not_before, expires_at) = match &source.valid {
            Some(w) => (parse_rfc3339(&w.from, "valid.from")?, parse_rfc3339(&w.until, "valid.until")?),
            None => {
                if !(1..=MAX_OVERLAY_VALIDITY_SECONDS / 60).contains(&ttl_minutes) {
                    return Err(bad("--ttl-minutes".into(), "expected 1 to 1440 minutes"));
                }
                (issued_at, issued_at.saturating_add(ttl_minutes * 60))
            }
        };
        if expires_at <= not_before {
            return Err(bad("valid.until".into(), "must be after valid.from"));
        }
        if expires_at - not_before > MAX_OVERLAY_VALIDITY_SECONDS {
            return Err(bad("valid.until".into(), "an overlay is valid for at most a day: keep a proposition away for longer in the next bundle"));
        }
        if source.propositions.len() > MAX_PROPOSITIONS {
            return Err(bad("propositions".into(), "more entries than a bundle has propositions"));
        }
        let mut entries = Vec::with_capacity(source.propositions.len());
        for (id, e) in &source.propositions {
            let path = format!("propositions.{id}");
            if id.is_empty() || id.len() > MAX_ID_BYTES {
                return Err(bad(path, "expected a proposition id"));
            }
            let stock = match (e.available, e.sold_out, e.remaining) {
                (None, None, None) => Stock::AsCatalogued,
                (Some(true), None, None) => Stock::Available,
                (None, Some(true), None) => Stock::SoldOut,
                (None, None, Some(n)) => Stock::Remaining(n),
                (Some(false), _, _) => return Err(bad(format!("{path}.available"), "false says nothing: use soldOut or paused")),
                (_, Some(false), _) => return Err(bad(format!("{path}.soldOut"), "false says nothing: use available or remaining")),
                _ => return Err(bad(path, "give one of available, soldOut and remaining")),
            };
            if let Some(reason) = &e.paused {
                if reason.trim().is_empty() || reason.len() > MAX_TEXT_BYTES {
                    return Err(bad(format!("{path}.paused"), "expected the reason for the pause"));
                }
            }
            if stock == Stock::AsCatalogued && e.paused.is_none() {
                return Err(bad(path, "says nothing: give available, soldOut, remaining or paused"));
            }
            entries.push(Entry { proposition: id.clone(), stock, paused: e.paused.clone() });
        }
        Ok(OverlayPayload {
            bundle_id: source.bundle.clone(),
            sequence: source.sequence.unwrap_or(u64::try_from(issued_at).unwrap_or(0)),
            issued_at,
            not_before,
            expires_at,
            entries,
        })
    }
}

#[cfg(all(test, feature = "compiler"))]
mod tests;
