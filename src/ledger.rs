//! The customer's contact history, kept on the device: what was shown, clicked, dismissed and
//! converted, and when. Contact policies read it; the page keeps it in `localStorage` or a
//! cookie as a short string.
//!
//! ## What it holds
//! Per proposition (keyed by a 32-bit hash of its id; the compiler refuses catalogues where two
//! ids share one) a list of [`Event`]s: kind, minute, and a 32-bit hash of the decision token the
//! event came from. The token makes recording **idempotent**: an event of the same kind with the
//! same token is the same event, so re-rendering a banner or re-sending a click never counts
//! twice (one customer, one gift).
//!
//! ## Bounds (the ageing rule)
//! Per proposition: the newest [`MAX_IMPRESSIONS`] impressions and the newest click, dismissal
//! and conversion; nothing older than [`RETENTION_DAYS`]. At most [`MAX_ENTRIES`] propositions:
//! beyond that the one whose newest event is oldest goes. Whenever an event is dropped, the
//! proposition's floor for that kind of event moves up to its minute, and events of that kind
//! at or before the floor are refused as stale: a duplicate can never come back in once its
//! original aged out.
//!
//! What the ledger forgot it cannot recognise: an event recorded again under a token whose
//! first record aged out, at a later moment than everything kept, counts once more. Tokens name
//! one decision, so this takes a page re-rendering a decision older than the last 16 shown.
//!
//! ## Fitting a size
//! A cookie has room for a few kilobytes. [`Ledger::fit`] makes the string form fit a length by
//! forgetting what matters least first: older impressions (down to none per proposition), then
//! whole propositions, the one whose newest event is oldest first. Clicks, dismissals and
//! conversions stay as long as their proposition does, and the floors move up as for the bounds,
//! so nothing forgotten counts again. Impression caps then see fewer impressions than were shown.
//!
//! ## Merging
//! Two tabs, or the bank's server (a dismissal given to the call-centre agent), each hold a
//! ledger; [`Ledger::merge`] takes the union of their events by (kind, token) — no event is lost
//! and none counts twice — keeps the higher floors, and then applies the bounds above. Merging is
//! commutative, associative and idempotent.
//!
//! ## The string form
//! `L1.` followed by base64url (no padding) of the postcard encoding and a 4-byte checksum.
//! A string that is corrupted, truncated, of another version, or made for another catalogue is
//! not an error: [`Ledger::parse`] returns a fresh ledger and a [`LedgerWarning`] that the
//! decision reports, so a bad cookie never breaks a page.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::condition::hash::fnv1a32;
use crate::time::Timestamp;

/// Newest impressions kept per proposition.
pub const MAX_IMPRESSIONS: usize = 16;
/// Propositions remembered.
pub const MAX_ENTRIES: usize = 64;
/// Nothing older than this is kept.
pub const RETENTION_DAYS: u32 = 400;
/// The string form's prefix, naming the format version.
pub const PREFIX: &str = "L1.";
/// Impressions kept per proposition by each step of [`Ledger::fit`], most first.
const FIT_IMPRESSIONS: [usize; 5] = [8, 4, 2, 1, 0];
/// Longest string [`Ledger::parse`] reads; longer is treated as corrupt.
pub const MAX_STRING_LEN: usize = 32 * 1024;
const CHECKSUM_LEN: usize = 4;
const SECONDS_PER_MINUTE: i64 = 60;
const MINUTES_PER_DAY: u32 = 24 * 60;

/// What the customer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Impression,
    Click,
    Dismiss,
    Convert,
}

impl EventKind {
    pub fn parse(text: &str) -> Option<EventKind> {
        match text {
            "impression" => Some(EventKind::Impression),
            "click" => Some(EventKind::Click),
            "dismiss" => Some(EventKind::Dismiss),
            "convert" => Some(EventKind::Convert),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Impression => "impression",
            EventKind::Click => "click",
            EventKind::Dismiss => "dismiss",
            EventKind::Convert => "convert",
        }
    }
}

/// One remembered event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Event {
    /// Minutes since the Unix epoch.
    pub minute: u32,
    pub kind: EventKind,
    /// Hash of the decision token the event belongs to.
    pub token: u32,
}

/// The events of one proposition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Hash of the proposition id ([`proposition_key`]).
    pub proposition: u32,
    /// Per [`EventKind`] (in declaration order), the (minute, token) of the newest event of that
    /// kind that was dropped: events of the kind at or below it, in that order, are refused as
    /// stale, because their duplicates may have aged out. `(0, 0)`: nothing dropped yet.
    pub floors: [(u32, u32); 4],
    /// Oldest first.
    pub events: Vec<Event>,
}

/// Why a stored ledger string was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerWarning {
    /// Not a ledger string, or its checksum or encoding is wrong (corrupted or truncated).
    LedgerCorrupt,
    /// A ledger format this build does not read.
    LedgerVersion,
    /// A ledger made for another catalogue.
    LedgerForeign,
}

impl LedgerWarning {
    pub fn code(self) -> &'static str {
        match self {
            LedgerWarning::LedgerCorrupt => "ledger_corrupt",
            LedgerWarning::LedgerVersion => "ledger_version",
            LedgerWarning::LedgerForeign => "ledger_foreign",
        }
    }
}

/// What [`Ledger::record`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new event.
    Added,
    /// The same event (kind and token) was already there: nothing changed.
    Duplicate,
    /// Older than what this ledger still remembers for the proposition: refused.
    Stale,
}

/// The device's memory of the customer's responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Hash of the catalogue id the ledger belongs to.
    catalogue: u32,
    /// Sorted by proposition key.
    entries: Vec<Entry>,
}

/// The ledger key of a proposition id.
pub fn proposition_key(id: &str) -> u32 {
    fnv1a32(&["p:", id])
}

/// The ledger key of a decision token.
pub fn token_key(token: &str) -> u32 {
    fnv1a32(&["t:", token])
}

/// Minutes since the epoch of a timestamp (saturating at the ends of `u32`).
pub fn minute(t: Timestamp) -> u32 {
    (t.div_euclid(SECONDS_PER_MINUTE)).clamp(0, i64::from(u32::MAX)) as u32
}

impl Ledger {
    /// An empty ledger for the catalogue with this id.
    pub fn new(catalogue_id: &str) -> Ledger {
        Ledger { catalogue: fnv1a32(&["c:", catalogue_id]), entries: Vec::new() }
    }

    /// Reads the string form. Never fails: an unusable string gives a fresh ledger and the
    /// reason; an empty string is simply a fresh ledger.
    pub fn parse(text: &str, catalogue_id: &str) -> (Ledger, Option<LedgerWarning>) {
        let fresh = Ledger::new(catalogue_id);
        let text = text.trim();
        if text.is_empty() {
            return (fresh, None);
        }
        match decode(text) {
            Err(warning) => (fresh, Some(warning)),
            Ok(ledger) if ledger.catalogue != fresh.catalogue => (fresh, Some(LedgerWarning::LedgerForeign)),
            Ok(mut ledger) => {
                // A well-formed string may still have been written by a buggy or hostile
                // writer: put it back in canonical, bounded form.
                ledger.normalise(None);
                (ledger, None)
            }
        }
    }

    /// The string form, for `localStorage` or a cookie (base64url: cookie-safe).
    pub fn serialise(&self) -> String {
        let mut bytes = postcard::to_allocvec(self).unwrap_or_default();
        let checksum = fnv1a32_bytes(&bytes).to_le_bytes();
        bytes.extend_from_slice(&checksum);
        format!("{PREFIX}{}", BASE64URL.encode(bytes))
    }

    /// Records an event of `kind` for the proposition with id `proposition`, from the decision
    /// token `token`, at `now`.
    pub fn record(&mut self, proposition: &str, kind: EventKind, token: &str, now: Timestamp) -> Recorded {
        let event = Event { minute: minute(now), kind, token: token_key(token) };
        let key = proposition_key(proposition);
        let index = match self.entries.binary_search_by_key(&key, |e| e.proposition) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, Entry { proposition: key, floors: [NO_FLOOR; 4], events: Vec::new() });
                i
            }
        };
        let Some(entry) = self.entries.get_mut(index) else {
            return Recorded::Stale; // cannot happen: `index` was just found or inserted
        };
        if entry.events.iter().any(|e| e.kind == kind && e.token == event.token) {
            return Recorded::Duplicate;
        }
        if below_floor(&event, &entry.floors) {
            return Recorded::Stale;
        }
        let at = entry.events.partition_point(|e| *e <= event);
        entry.events.insert(at, event);
        self.normalise(Some(event.minute));
        Recorded::Added
    }

    /// Takes in another ledger's events (another tab's, or the bank server's).
    pub fn merge(&mut self, other: &Ledger) {
        if other.catalogue != self.catalogue {
            return;
        }
        for theirs in &other.entries {
            match self.entries.binary_search_by_key(&theirs.proposition, |e| e.proposition) {
                Ok(i) => {
                    let Some(ours) = self.entries.get_mut(i) else { continue };
                    for (o, t) in ours.floors.iter_mut().zip(theirs.floors) {
                        *o = (*o).max(t);
                    }
                    ours.events.extend_from_slice(&theirs.events);
                }
                Err(i) => self.entries.insert(i, theirs.clone()),
            }
        }
        self.normalise(None);
    }

    /// Makes the string form at most `max_len` characters long, as the module doc says (see
    /// "Fitting a size"). Returns whether it fits: even an empty ledger takes a few characters.
    pub fn fit(&mut self, max_len: usize) -> bool {
        for max_impressions in FIT_IMPRESSIONS {
            if self.serialise().len() <= max_len {
                return true;
            }
            self.normalise_keeping(None, max_impressions);
        }
        while self.serialise().len() > max_len && !self.entries.is_empty() {
            let stalest = self.stalest();
            self.entries.remove(stalest);
        }
        self.serialise().len() <= max_len
    }

    /// The events of a proposition, oldest first.
    pub fn events(&self, proposition: &str) -> &[Event] {
        let key = proposition_key(proposition);
        match self.entries.binary_search_by_key(&key, |e| e.proposition) {
            Ok(i) => self.entries.get(i).map_or(&[], |e| e.events.as_slice()),
            Err(_) => &[],
        }
    }

    /// Every proposition's events.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Number of propositions remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Puts the ledger in canonical form and applies the bounds of the module doc. `newest` is
    /// the newest minute known (the clock when recording); without it, the newest event's.
    fn normalise(&mut self, newest: Option<u32>) {
        self.normalise_keeping(newest, MAX_IMPRESSIONS);
    }

    /// As `normalise`, keeping at most `max_impressions` impressions per proposition.
    fn normalise_keeping(&mut self, newest: Option<u32>, max_impressions: usize) {
        let newest = newest
            .into_iter()
            .chain(self.entries.iter().flat_map(|e| e.events.iter().map(|ev| ev.minute)))
            .max()
            .unwrap_or(0);
        let oldest_kept = newest.saturating_sub(RETENTION_DAYS * MINUTES_PER_DAY);
        self.entries.sort_by_key(|e| e.proposition);
        self.entries.dedup_by(|later, earlier| {
            if later.proposition == earlier.proposition {
                for (e, l) in earlier.floors.iter_mut().zip(later.floors) {
                    *e = (*e).max(l);
                }
                earlier.events.append(&mut later.events);
                true
            } else {
                false
            }
        });
        for entry in &mut self.entries {
            bound_entry(entry, oldest_kept, max_impressions);
        }
        self.entries.retain(|e| !e.events.is_empty() || e.floors.iter().any(|&(minute, _)| minute > oldest_kept));
        while self.entries.len() > MAX_ENTRIES {
            let stalest = self.stalest();
            self.entries.remove(stalest);
        }
    }

    /// The index of the proposition whose newest event is oldest (ties: the lower key).
    fn stalest(&self) -> usize {
        self.entries
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| {
                let floor = e.floors.iter().map(|&(minute, _)| minute).max().unwrap_or(0);
                (e.events.last().map_or(floor, |ev| ev.minute), e.proposition)
            })
            .map(|(i, _)| i)
            .unwrap_or(0)
    }
}

/// Sorts, de-duplicates and bounds one proposition's events (at most `max_impressions`
/// impressions), raising the floor past whatever it drops.
fn bound_entry(entry: &mut Entry, oldest_kept: u32, max_impressions: usize) {
    let events = &mut entry.events;
    events.sort();
    let mut seen = std::collections::BTreeSet::new();
    events.retain(|e| seen.insert((e.kind, e.token)));
    let floors = entry.floors;
    events.retain(|e| !below_floor(e, &floors));
    let mut keep = vec![false; events.len()];
    let mut impressions = 0;
    let mut newest_of = std::collections::BTreeSet::new();
    for (kept, e) in keep.iter_mut().zip(events.iter()).rev() {
        *kept = e.minute >= oldest_kept
            && match e.kind {
                EventKind::Impression => {
                    impressions += 1;
                    impressions <= max_impressions
                }
                kind => newest_of.insert(kind),
            };
    }
    let mut floors = entry.floors;
    let mut verdicts = keep.into_iter();
    events.retain(|e| {
        let kept = verdicts.next().unwrap_or(true);
        if !kept {
            let floor = floor_mut(&mut floors, e.kind);
            *floor = (*floor).max((e.minute, e.token));
        }
        kept
    });
    entry.floors = floors;
}

/// The floor of events of `kind` (one per kind, in [`EventKind`]'s order).
fn floor_mut(floors: &mut [(u32, u32); 4], kind: EventKind) -> &mut (u32, u32) {
    let [impression, click, dismiss, convert] = floors;
    match kind {
        EventKind::Impression => impression,
        EventKind::Click => click,
        EventKind::Dismiss => dismiss,
        EventKind::Convert => convert,
    }
}

/// No event dropped yet.
const NO_FLOOR: (u32, u32) = (0, 0);

/// Is the event at or below its kind's floor (in the order the bounds keep events by)?
fn below_floor(e: &Event, floors: &[(u32, u32); 4]) -> bool {
    let mut floors = *floors;
    let floor = *floor_mut(&mut floors, e.kind);
    floor != NO_FLOOR && (e.minute, e.token) <= floor
}

fn fnv1a32_bytes(bytes: &[u8]) -> u32 {
    const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;
    const FNV_PRIME: u32 = 0x0100_0193;
    bytes.iter().fold(FNV_OFFSET_BASIS, |h, &b| (h ^ u32::from(b)).wrapping_mul(FNV_PRIME))
}

fn decode(text: &str) -> Result<Ledger, LedgerWarning> {
    if text.len() > MAX_STRING_LEN {
        return Err(LedgerWarning::LedgerCorrupt);
    }
    let Some(body) = text.strip_prefix(PREFIX) else {
        let looks_versioned = text.strip_prefix('L').and_then(|rest| rest.split('.').next()).is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
        return Err(if looks_versioned { LedgerWarning::LedgerVersion } else { LedgerWarning::LedgerCorrupt });
    };
    let bytes = BASE64URL.decode(body).map_err(|_| LedgerWarning::LedgerCorrupt)?;
    if bytes.len() < CHECKSUM_LEN {
        return Err(LedgerWarning::LedgerCorrupt);
    }
    let (payload, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
    if fnv1a32_bytes(payload).to_le_bytes() != checksum {
        return Err(LedgerWarning::LedgerCorrupt);
    }
    match postcard::take_from_bytes::<Ledger>(payload) {
        Ok((ledger, [])) => Ok(ledger),
        _ => Err(LedgerWarning::LedgerCorrupt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOGUE: &str = "bank-nl-web";
    const T0: Timestamp = 1_796_083_200; // 2026-12-01T00:00:00Z
    const DAY: Timestamp = crate::time::DAY;

    fn kinds(ledger: &Ledger, proposition: &str) -> Vec<EventKind> {
        ledger.events(proposition).iter().map(|e| e.kind).collect()
    }

    #[test]
    fn recording_is_idempotent_per_token() {
        let mut l = Ledger::new(CATALOGUE);
        assert_eq!(l.record("green-savings", EventKind::Impression, "tok-1", T0), Recorded::Added);
        assert_eq!(l.record("green-savings", EventKind::Impression, "tok-1", T0 + 5), Recorded::Duplicate);
        assert_eq!(l.record("green-savings", EventKind::Click, "tok-1", T0 + 9), Recorded::Added);
        assert_eq!(l.record("green-savings", EventKind::Click, "tok-1", T0 + 9), Recorded::Duplicate);
        assert_eq!(l.record("green-savings", EventKind::Impression, "tok-2", T0 + 60), Recorded::Added);
        assert_eq!(kinds(&l, "green-savings"), [EventKind::Impression, EventKind::Click, EventKind::Impression]);
        assert!(l.events("kids-savings").is_empty());
    }

    #[test]
    fn string_form_round_trips() {
        let mut l = Ledger::new(CATALOGUE);
        l.record("afloswijzer", EventKind::Impression, "a", T0);
        l.record("afloswijzer", EventKind::Dismiss, "a", T0 + 30);
        l.record("phishing-tips", EventKind::Convert, "b", T0 + 90);
        let text = l.serialise();
        assert!(text.starts_with("L1."));
        assert!(text[3..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text}");
        assert_eq!(Ledger::parse(&text, CATALOGUE), (l, None));
        assert_eq!(Ledger::parse("", CATALOGUE), (Ledger::new(CATALOGUE), None));
    }

    #[test]
    fn a_bad_string_resets_with_a_warning() {
        let mut l = Ledger::new(CATALOGUE);
        l.record("afloswijzer", EventKind::Dismiss, "a", T0);
        let good = l.serialise();
        let fresh = Ledger::new(CATALOGUE);
        let truncated = &good[..good.len() - 3];
        for (text, warning) in [
            (truncated, LedgerWarning::LedgerCorrupt),
            ("L1.!!!", LedgerWarning::LedgerCorrupt),
            ("L1.", LedgerWarning::LedgerCorrupt),
            ("{\"impressions\": 3}", LedgerWarning::LedgerCorrupt),
            ("L7.AAAA", LedgerWarning::LedgerVersion),
        ] {
            assert_eq!(Ledger::parse(text, CATALOGUE), (fresh.clone(), Some(warning)), "{text}");
        }
        assert_eq!(Ledger::parse(&good, "another-catalogue").1, Some(LedgerWarning::LedgerForeign));
        // Every single-character change is noticed by the checksum or the decoder.
        for i in 3..good.len() {
            let mut bytes = good.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let text = String::from_utf8(bytes).unwrap();
            let (ledger, warning) = Ledger::parse(&text, CATALOGUE);
            assert!(warning.is_some() || ledger == l, "change at {i} went unnoticed");
        }
        let huge = format!("L1.{}", "A".repeat(MAX_STRING_LEN));
        assert_eq!(Ledger::parse(&huge, CATALOGUE).1, Some(LedgerWarning::LedgerCorrupt));
    }

    #[test]
    fn merging_two_tabs_loses_nothing_and_counts_nothing_twice() {
        let mut base = Ledger::new(CATALOGUE);
        base.record("green-savings", EventKind::Impression, "d1", T0);
        let (mut tab_a, mut tab_b) = (base.clone(), base.clone());
        tab_a.record("green-savings", EventKind::Click, "d1", T0 + 60);
        tab_b.record("green-savings", EventKind::Impression, "d2", T0 + 120);
        tab_b.record("kids-savings", EventKind::Dismiss, "d2", T0 + 180);
        let mut ab = tab_a.clone();
        ab.merge(&tab_b);
        let mut ba = tab_b.clone();
        ba.merge(&tab_a);
        assert_eq!(ab, ba, "merge is commutative");
        assert_eq!(
            kinds(&ab, "green-savings"),
            [EventKind::Impression, EventKind::Click, EventKind::Impression]
        );
        assert_eq!(kinds(&ab, "kids-savings"), [EventKind::Dismiss]);
        let once = ab.clone();
        ab.merge(&once);
        assert_eq!(ab, once, "merge is idempotent");
        ab.merge(&Ledger::new("another-catalogue"));
        assert_eq!(ab, once, "a foreign ledger is not merged");
    }

    #[test]
    fn a_dismissal_from_the_server_arrives() {
        let mut device = Ledger::new(CATALOGUE);
        device.record("afloswijzer", EventKind::Impression, "web-1", T0);
        let mut server = Ledger::new(CATALOGUE);
        server.record("afloswijzer", EventKind::Dismiss, "agent-7", T0 + DAY);
        device.merge(&server);
        assert_eq!(kinds(&device, "afloswijzer"), [EventKind::Impression, EventKind::Dismiss]);
    }

    #[test]
    fn old_events_age_out_and_cannot_come_back() {
        let mut l = Ledger::new(CATALOGUE);
        for i in 0..(MAX_IMPRESSIONS as i64 + 4) {
            l.record("green-savings", EventKind::Impression, &format!("d{i}"), T0 + i * 3600);
        }
        assert_eq!(l.events("green-savings").len(), MAX_IMPRESSIONS);
        // The oldest impression aged out; re-sending it is refused, not counted again.
        assert_eq!(l.record("green-savings", EventKind::Impression, "d0", T0), Recorded::Stale);
        assert_eq!(l.events("green-savings").len(), MAX_IMPRESSIONS);
        // The newest click, dismissal and conversion stay however many impressions follow.
        l.record("green-savings", EventKind::Dismiss, "x", T0 + 100 * 3600);
        for i in 0..40 {
            l.record("green-savings", EventKind::Impression, &format!("e{i}"), T0 + (101 + i) * 3600);
        }
        assert!(kinds(&l, "green-savings").contains(&EventKind::Dismiss));
        // Past the retention window everything goes.
        let later = T0 + (i64::from(RETENTION_DAYS) + 200) * DAY;
        l.record("phishing-tips", EventKind::Impression, "late", later);
        assert!(l.events("green-savings").is_empty());
        assert_eq!(l.events("phishing-tips").len(), 1);
    }

    #[test]
    fn entries_are_bounded() {
        let mut l = Ledger::new(CATALOGUE);
        for i in 0..(MAX_ENTRIES as i64 + 10) {
            l.record(&format!("p{i}"), EventKind::Impression, "t", T0 + i * 60);
        }
        assert_eq!(l.len(), MAX_ENTRIES);
        assert!(l.events("p0").is_empty(), "the stalest proposition went first");
        assert_eq!(l.events(&format!("p{}", MAX_ENTRIES + 9)).len(), 1);
    }

    #[test]
    fn size_for_fifty_propositions() {
        // A realistic history: every proposition shown three times, one in five clicked, one
        // in ten dismissed.
        let mut l = Ledger::new(CATALOGUE);
        for p in 0..50i64 {
            let id = format!("proposition-{p}");
            for s in 0..3 {
                l.record(&id, EventKind::Impression, &format!("dec-{p}-{s}"), T0 + (p * 7 + s) * 3600);
            }
            if p % 5 == 0 {
                l.record(&id, EventKind::Click, &format!("dec-{p}-2"), T0 + (p * 7 + 2) * 3600 + 60);
            }
            if p % 10 == 3 {
                l.record(&id, EventKind::Dismiss, &format!("dec-{p}-2"), T0 + (p * 7 + 2) * 3600 + 90);
            }
        }
        let text = l.serialise();
        println!("ledger for 50 propositions: {} characters", text.len());
        assert_eq!(Ledger::parse(&text, CATALOGUE).0, l);
        assert!(text.len() < MAX_STRING_LEN);
    }

    /// A full ledger: 40 propositions with 16 impressions each, every fourth dismissed.
    fn full() -> Ledger {
        let mut l = Ledger::new(CATALOGUE);
        for p in 0..40i64 {
            let id = format!("proposition-{p}");
            for s in 0..16 {
                l.record(&id, EventKind::Impression, &format!("dec-{p}-{s}"), T0 + (p * 20 + s) * 3600);
            }
            if p % 4 == 0 {
                l.record(&id, EventKind::Dismiss, &format!("dec-{p}-15"), T0 + (p * 20 + 15) * 3600 + 60);
            }
        }
        l
    }

    #[test]
    fn fitting_forgets_old_impressions_first_and_keeps_what_the_customer_said() {
        let mut l = full();
        let before = l.serialise().len();
        assert!(l.fit(before), "what fits is left alone");
        assert_eq!(l.serialise().len(), before);
        assert!(l.fit(before / 3));
        assert!(l.serialise().len() <= before / 3, "{} > {}", l.serialise().len(), before / 3);
        assert_eq!(l.len(), 40, "every proposition is still there");
        for p in (0..40).step_by(4) {
            assert!(kinds(&l, &format!("proposition-{p}")).contains(&EventKind::Dismiss), "proposition-{p}");
        }
        // What was forgotten is not counted again.
        assert_eq!(l.record("proposition-1", EventKind::Impression, "dec-1-0", T0 + 21 * 3600), Recorded::Stale);
        assert_eq!(Ledger::parse(&l.serialise(), CATALOGUE).0, l);
    }

    #[test]
    fn fitting_a_small_size_drops_the_stalest_propositions() {
        let mut l = full();
        assert!(l.fit(200));
        assert!(l.serialise().len() <= 200);
        assert!(!l.is_empty() && l.len() < 40);
        let kept = |id: &str| l.entries().iter().any(|e| e.proposition == proposition_key(id));
        assert!(kept("proposition-39"), "the newest stays");
        assert!(!kept("proposition-1"), "the stalest goes");
        let mut tiny = full();
        assert!(!tiny.fit(5), "not even an empty ledger is that short");
        assert!(tiny.is_empty());
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const T0: Timestamp = 1_796_083_200;
    const PROPOSITIONS: [&str; 4] = ["green-savings", "kids-savings", "afloswijzer", "phishing-tips"];

    /// A few events: (proposition, kind, token, minutes after T0). A token's event happens at
    /// one moment, as a decision's does: re-recording it repeats that moment.
    fn events() -> impl Strategy<Value = Vec<(usize, u8, u8, u16)>> {
        prop::collection::vec((0..PROPOSITIONS.len(), 0u8..4, 0u8..12), 0..24).prop_map(|v| {
            v.into_iter().map(|(p, k, t)| (p, k, t, (u16::from(t) * 157 + u16::from(k) * 31) % 2000)).collect()
        })
    }

    fn kind(k: u8) -> EventKind {
        [EventKind::Impression, EventKind::Click, EventKind::Dismiss, EventKind::Convert][usize::from(k % 4)]
    }

    fn ledger_of(events: &[(usize, u8, u8, u16)]) -> Ledger {
        let mut l = Ledger::new("bank-nl-web");
        for &(p, k, t, m) in events {
            l.record(PROPOSITIONS[p], kind(k), &format!("tok-{t}"), T0 + i64::from(m) * 60);
        }
        l
    }

    /// Every (proposition, kind, token) the ledger holds.
    fn facts(l: &Ledger) -> BTreeSet<(u32, EventKind, u32)> {
        l.entries().iter().flat_map(|e| e.events.iter().map(move |ev| (e.proposition, ev.kind, ev.token))).collect()
    }

    fn merged(a: &Ledger, b: &Ledger) -> Ledger {
        let mut m = a.clone();
        m.merge(b);
        m
    }

    proptest! {
        #[test]
        fn fitting_keeps_what_the_customer_said_and_counts_nothing_again(a in events(), max_len in 0usize..200) {
            let before = ledger_of(&a);
            let mut fitted = before.clone();
            let fits = fitted.fit(max_len);
            prop_assert_eq!(fits, fitted.serialise().len() <= max_len);
            prop_assert_eq!(Ledger::parse(&fitted.serialise(), "bank-nl-web").0, fitted.clone());
            // Only impressions and whole propositions are forgotten.
            let kept: BTreeSet<u32> = fitted.entries().iter().map(|e| e.proposition).collect();
            for (proposition, kind, token) in facts(&before) {
                if kind != EventKind::Impression && kept.contains(&proposition) {
                    prop_assert!(facts(&fitted).contains(&(proposition, kind, token)));
                }
            }
            // Recording again what was forgotten from a kept proposition adds nothing.
            for &(p, k, t, m) in &a {
                let key = proposition_key(PROPOSITIONS[p]);
                if kept.contains(&key) && !facts(&fitted).contains(&(key, kind(k), token_key(&format!("tok-{t}")))) && facts(&before).contains(&(key, kind(k), token_key(&format!("tok-{t}")))) {
                    let mut again = fitted.clone();
                    prop_assert_ne!(again.record(PROPOSITIONS[p], kind(k), &format!("tok-{t}"), T0 + i64::from(m) * 60), Recorded::Added);
                }
            }
        }

        #[test]
        fn merge_is_commutative_associative_and_idempotent(a in events(), b in events(), c in events()) {
            let (a, b, c) = (ledger_of(&a), ledger_of(&b), ledger_of(&c));
            prop_assert_eq!(merged(&a, &b), merged(&b, &a));
            prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
            prop_assert_eq!(merged(&a, &a), a.clone());
        }

        #[test]
        fn merging_loses_no_event_and_counts_none_twice(a in events(), b in events()) {
            // Small histories stay within every bound, so the union must be exact.
            let (a, b) = (ledger_of(&a), ledger_of(&b));
            let m = merged(&a, &b);
            let union: BTreeSet<_> = facts(&a).union(&facts(&b)).copied().collect();
            let kept = facts(&m);
            for entry in m.entries() {
                let mut seen = BTreeSet::new();
                for e in &entry.events {
                    prop_assert!(seen.insert((e.kind, e.token)), "an event counted twice");
                }
            }
            // Only the newest click/dismissal/conversion per proposition is kept by design.
            for fact in &union {
                if fact.1 == EventKind::Impression {
                    prop_assert!(kept.contains(fact), "impression {:?} lost", fact);
                }
            }
        }

        #[test]
        fn duplicate_customer_records_merge_to_one_memory(events in events(), copies in prop::collection::vec(prop::collection::vec(any::<bool>(), 24), 2..5)) {
            // One person under several records (the seeds' four gifts): each record saw some of
            // the person's events, together all of them. Merged, every event counts once: the
            // memory is the one a single record of everything would hold.
            let records: Vec<Ledger> = copies
                .iter()
                .enumerate()
                .map(|(i, keep)| {
                    let seen: Vec<_> = events.iter().enumerate().filter(|&(j, _)| j % copies.len() == i || keep[j]).map(|(_, e)| *e).collect();
                    ledger_of(&seen)
                })
                .collect();
            let mut one = Ledger::new("bank-nl-web");
            for record in &records {
                one.merge(record);
            }
            prop_assert_eq!(facts(&one), facts(&ledger_of(&events)));
            for entry in one.entries() {
                let conversions = entry.events.iter().filter(|e| e.kind == EventKind::Convert).count();
                prop_assert!(conversions <= 1, "a conversion counted {} times", conversions);
            }
        }

        #[test]
        fn recording_twice_is_recording_once(events in events()) {
            let once = ledger_of(&events);
            let twice = ledger_of(&[events.clone(), events].concat());
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn the_string_form_round_trips_and_garbage_never_panics(events in events(), garbage in ".{0,64}") {
            let l = ledger_of(&events);
            prop_assert_eq!(Ledger::parse(&l.serialise(), "bank-nl-web"), (l, None));
            let (fresh, _) = Ledger::parse(&garbage, "bank-nl-web");
            prop_assert!(fresh.len() <= MAX_ENTRIES);
            let (fresh, _) = Ledger::parse(&format!("{PREFIX}{garbage}"), "bank-nl-web");
            prop_assert!(fresh.len() <= MAX_ENTRIES);
        }
    }
}
