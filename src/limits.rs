//! Size and count limits of a bundle, and the decoding helpers that enforce them.
//!
//! A bundle comes from the network, so its decoder must not trust a single length it reads. The
//! envelope's total size is checked first; then every collection and string in the payload is
//! decoded through [`seq`] or [`string`], which compare the length prefix with the limit *before*
//! anything is allocated for it. The catalogue compiler checks the same constants, so a
//! catalogue that is too large fails when it is built, with its JSON path, not on a customer's
//! device.

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;

use crate::Error;

/// The largest bundle accepted, envelope included (8 MiB).
pub const MAX_BUNDLE_BYTES: usize = 8 * 1024 * 1024;
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

thread_local! {
    /// The limit a decoder hit. Postcard reduces custom errors to one opaque variant, so the
    /// helpers below leave the precise [`Error::TooLarge`] here for the envelope to report.
    static LIMIT_HIT: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// Takes the limit error recorded by the last decode, if any.
pub(crate) fn take_limit_hit() -> Option<Error> {
    LIMIT_HIT.with(|hit| hit.borrow_mut().take())
}

fn record<E: de::Error>(what: &str, limit: usize, actual: usize) -> E {
    let err = Error::too_large(what, limit as u64, actual as u64);
    let message = err.to_string();
    LIMIT_HIT.with(|hit| *hit.borrow_mut() = Some(err));
    E::custom(message)
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
            let mut out = Vec::with_capacity(hint);
            while let Some(item) = seq.next_element()? {
                if out.len() == MAX {
                    return Err(record("a list in the bundle", MAX, MAX + 1));
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
