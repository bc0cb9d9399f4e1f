//! Size and count limits of a bundle, and the decoding helpers that enforce them.
//!
//! A bundle comes from the network, so its decoder must not trust a single length it reads. The
//! envelope's total size is checked first; then every collection and string in the payload is
//! decoded through [`seq`] or [`string`], which compare the length prefix with the limit *before*
//! anything is allocated for it. The catalogue compiler checks the same constants, so a
//! catalogue that is too large fails when it is built, with its JSON path, not on a customer's
//! device.
//!
//! Counts alone do not bound memory: a list of a million empty strings is a megabyte on the wire
//! and 24 MB decoded. So a load (decode, then preparing the conditions) also runs under a memory
//! budget ([`with_budget`]): every list is charged its element size times its length, every
//! string its length and every regular expression its compiled size limit, before it is
//! allocated, and a payload whose loaded form would pass [`LOAD_MEMORY_PER_BYTE`] times its
//! own size (plus [`LOAD_MEMORY_BASE`]) is refused as `too_large` before that memory is taken.

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;

use crate::Error;

/// The largest bundle accepted, envelope included (8 MiB).
pub const MAX_BUNDLE_BYTES: usize = 8 * 1024 * 1024;
/// The largest availability overlay accepted, envelope included (2 MiB: an entry for each of
/// [`MAX_PROPOSITIONS`] propositions).
pub const MAX_OVERLAY_BYTES: usize = 2 * 1024 * 1024;
/// Propositions in one bundle.
pub const MAX_PROPOSITIONS: usize = 20_000;
/// Placements in one bundle.
pub const MAX_PLACEMENTS: usize = 64;
/// Slots in one placement.
pub const MAX_SLOTS: usize = 12;
/// Distinct product segments in one bundle.
pub const MAX_SEGMENTS: usize = 256;
/// Distinct channels in one bundle.
pub const MAX_CHANNELS: usize = 32;
/// Treatments (creative variants) of one proposition.
pub const MAX_TREATMENTS: usize = 16;
/// Creatives (locale × form factor) of one treatment.
pub const MAX_CREATIVES: usize = 64;
/// Context weights of one proposition; also caps contact-policy caps and link hosts.
pub const MAX_SMALL_LIST: usize = 64;
/// Identifiers: proposition, placement, treatment, segment and channel ids, locales, model keys.
pub const MAX_ID_BYTES: usize = 128;
/// Any text: titles, bodies, calls to action, URLs.
pub const MAX_TEXT_BYTES: usize = 4096;

/// Bytes of memory a load (decoding the payload, preparing its conditions) may take per byte of
/// the payload…
pub const LOAD_MEMORY_PER_BYTE: usize = 6;
/// …plus this much, so that small bundles are never short of room.
pub const LOAD_MEMORY_BASE: usize = 1 << 20;

thread_local! {
    /// The memory budget of the load under way: (limit, charged so far). Outside a load the
    /// limit is `usize::MAX`.
    static BUDGET: Cell<(usize, usize)> = const { Cell::new((usize::MAX, 0)) };
    /// The limit a decoder hit. Postcard reduces custom errors to one opaque variant, so the
    /// helpers below leave the precise [`Error::TooLarge`] here for the envelope to report.
    static LIMIT_HIT: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// Takes the limit error recorded by the last decode, if any.
pub(crate) fn take_limit_hit() -> Option<Error> {
    LIMIT_HIT.with(|hit| hit.borrow_mut().take())
}

fn record<E: de::Error>(what: &str, limit: usize, actual: usize) -> E {
    leave_for_envelope(Error::too_large(what, limit as u64, actual as u64))
}

/// Leaves `err` in [`LIMIT_HIT`] and gives the decoder an error with its message.
fn leave_for_envelope<E: de::Error>(err: Error) -> E {
    let message = err.to_string();
    LIMIT_HIT.with(|hit| *hit.borrow_mut() = Some(err));
    E::custom(message)
}

/// Runs `decode` (a load: decoding the payload and preparing its conditions) with a memory
/// budget for a payload of `payload_len` bytes (see the module doc).
pub(crate) fn with_budget<T>(payload_len: usize, decode: impl FnOnce() -> T) -> T {
    let limit = payload_len.saturating_mul(LOAD_MEMORY_PER_BYTE).saturating_add(LOAD_MEMORY_BASE);
    let outer = BUDGET.replace((limit, 0));
    let out = decode();
    BUDGET.set(outer);
    out
}

/// Charges `bytes` of memory to the load under way (decode, then preparing the conditions),
/// refusing it if the budget would pass. Outside [`with_budget`] nothing is refused.
pub(crate) fn charge_memory(bytes: usize) -> Result<(), Error> {
    let (limit, used) = BUDGET.get();
    let total = used.saturating_add(bytes);
    if total > limit {
        return Err(Error::too_large(BUDGET_WHAT, limit as u64, total as u64));
    }
    BUDGET.set((limit, total));
    Ok(())
}

/// What [`charge_memory`] names when it refuses.
const BUDGET_WHAT: &str = "the memory a bundle takes once loaded (bytes)";

/// [`charge_memory`] for a serde decoder.
fn charge<E: de::Error>(bytes: usize) -> Result<(), E> {
    charge_memory(bytes).map_err(leave_for_envelope)
}

/// Decodes a sequence of at most `MAX` elements, refusing a longer one before allocating.
pub fn seq<'de, const MAX: usize, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Bounded<const MAX: usize, T>(PhantomData<T>);
    impl<'de, const MAX: usize, T: Deserialize<'de>> Visitor<'de> for Bounded<MAX, T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "a sequence of at most {MAX} elements")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let hint = seq.size_hint().unwrap_or(0);
            if hint > MAX {
                return Err(record("a list in the bundle", MAX, hint));
            }
            charge(hint.saturating_mul(std::mem::size_of::<T>()))?;
            let mut out = Vec::with_capacity(hint);
            while let Some(item) = seq.next_element()? {
                if out.len() == MAX {
                    return Err(record("a list in the bundle", MAX, MAX + 1));
                }
                if out.len() == out.capacity() {
                    // Only a decoder that gives no length (postcard always does) grows the list.
                    charge(std::mem::size_of::<T>())?;
                }
                out.push(item);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_seq(Bounded::<MAX, T>(PhantomData))
}

/// Decodes a string of at most `MAX` bytes, refusing a longer one before allocating.
pub fn string<'de, const MAX: usize, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    struct Bounded<const MAX: usize>;
    impl<const MAX: usize> Visitor<'_> for Bounded<MAX> {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "a string of at most {MAX} bytes")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            if v.len() > MAX {
                return Err(record("a string in the bundle", MAX, v.len()));
            }
            charge(v.len())?;
            Ok(v.to_owned())
        }
    }
    deserializer.deserialize_str(Bounded::<MAX>)
}

/// [`string`] for an optional string.
pub fn opt_string<'de, const MAX: usize, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(serde::Deserialize)]
    struct Wrapped<const MAX: usize>(#[serde(deserialize_with = "string::<MAX, _>")] String);
    Ok(Option::<Wrapped<MAX>>::deserialize(deserializer)?.map(|w| w.0))
}

/// [`seq`] for an optional sequence.
pub fn opt_seq<'de, const MAX: usize, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(serde::Deserialize)]
    #[serde(bound = "T: Deserialize<'de>")]
    struct Wrapped<const MAX: usize, T>(#[serde(deserialize_with = "seq::<MAX, _, _>")] Vec<T>);
    Ok(Option::<Wrapped<MAX, T>>::deserialize(deserializer)?.map(|w| w.0))
}

/// [`seq`] of bounded strings.
pub fn strings<'de, const MAX: usize, const LEN: usize, D>(
    deserializer: D,
) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(serde::Deserialize)]
    struct Wrapped<const LEN: usize>(#[serde(deserialize_with = "string::<LEN, _>")] String);
    Ok(seq::<MAX, D, Wrapped<LEN>>(deserializer)?.into_iter().map(|w| w.0).collect())
}

/// [`seq`] of [`seq`]s: at most `MAX` lists of at most `INNER` elements each.
pub fn nested_seq<'de, const MAX: usize, const INNER: usize, D, T>(
    deserializer: D,
) -> Result<Vec<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(serde::Deserialize)]
    #[serde(bound = "T: Deserialize<'de>")]
    struct Wrapped<const INNER: usize, T>(#[serde(deserialize_with = "seq::<INNER, _, _>")] Vec<T>);
    Ok(seq::<MAX, D, Wrapped<INNER, T>>(deserializer)?.into_iter().map(|w| w.0).collect())
}

/// [`seq`] of [`strings`]: at most `MAX` lists of at most `INNER` strings of at most `LEN` bytes.
pub fn nested_strings<'de, const MAX: usize, const INNER: usize, const LEN: usize, D>(
    deserializer: D,
) -> Result<Vec<Vec<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(serde::Deserialize)]
    struct Wrapped<const INNER: usize, const LEN: usize>(
        #[serde(deserialize_with = "strings::<INNER, LEN, _>")] Vec<String>,
    );
    Ok(seq::<MAX, D, Wrapped<INNER, LEN>>(deserializer)?.into_iter().map(|w| w.0).collect())
}
