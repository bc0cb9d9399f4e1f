//! The signed envelope around a bundle's payload, and around an availability overlay's.
//!
//! ```text
//! offset  size  field
//! 0       4     magic: "OPMB" for a bundle, "OPMA" for an availability overlay
//! 4       2     format version, u16 little-endian (this build: bundles 2, overlays 1)
//! 6       8     key id of the signing key
//! 14      4     payload length n, u32 little-endian
//! 18      n     payload (postcard-encoded `Payload`)
//! 18+n    64    Ed25519 signature over bytes 0..18+n
//! ```
//!
//! [`open`] checks the envelope in that order and verifies the signature (strictly: no
//! non-canonical or small-order signatures) before a single byte of the payload is decoded;
//! [`decode`] then decodes the verified payload and refuses trailing bytes. Each failure has its
//! own error code. Both kinds of document share the keys and this layout; their own [`Format`]
//! (magic, version, size limit) keeps one from ever being taken for the other.

use ed25519_dalek::Signature;

use super::keys::{KeyId, TrustedKeys, KEY_ID_LEN};
use crate::limits::{self, MAX_BUNDLE_BYTES};
use crate::{Error, Result};

/// The first four bytes of every bundle.
pub const MAGIC: [u8; 4] = *b"OPMB";
/// The bundle envelope and payload format this build reads and writes. Version 2 added the
/// propositions' loyalty blocks.
pub const FORMAT_VERSION: u16 = 2;

/// What kind of signed document an envelope holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// For error messages: "bundle", "availability overlay".
    pub what: &'static str,
    pub magic: [u8; 4],
    /// The magic as text, for error messages.
    pub magic_text: &'static str,
    pub version: u16,
    /// The largest such document, envelope included.
    pub max_bytes: usize,
}

/// A bundle's envelope.
pub const BUNDLE: Format = Format { what: "bundle", magic: MAGIC, magic_text: "OPMB", version: FORMAT_VERSION, max_bytes: MAX_BUNDLE_BYTES };
/// Bytes before the payload.
pub const HEADER_LEN: usize = 18;
/// Bytes of the signature after the payload.
pub const SIGNATURE_LEN: usize = 64;

/// The fixed-size part of the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format_version: u16,
    pub key_id: KeyId,
    pub payload_len: u32,
}

/// Reads a bundle's header without trusting it: magic, version and length are checked here.
pub fn read_header(bytes: &[u8]) -> Result<Header> {
    read_header_of(&BUNDLE, bytes)
}

/// Reads the header of a `format` document without trusting it.
pub fn read_header_of(format: &Format, bytes: &[u8]) -> Result<Header> {
    if bytes.len() > format.max_bytes {
        return Err(Error::too_large(format.what, format.max_bytes as u64, bytes.len() as u64));
    }
    let prefix = bytes.get(..format.magic.len()).unwrap_or(bytes);
    if !format.magic.starts_with(prefix) {
        return Err(Error::BadMagic { what: format.what, found: prefix.to_vec(), expected: format.magic_text });
    }
    let truncated = || {
        Error::malformed(format!(
            "truncated: {} bytes, an envelope alone has {}",
            bytes.len(),
            HEADER_LEN + SIGNATURE_LEN
        ))
    };
    if bytes.len() < HEADER_LEN + SIGNATURE_LEN {
        return Err(truncated());
    }
    let Some([_, _, _, _, v0, v1, id @ .., l0, l1, l2, l3]) = bytes.first_chunk::<HEADER_LEN>() else {
        return Err(truncated());
    };
    let format_version = u16::from_le_bytes([*v0, *v1]);
    if format_version != format.version {
        return Err(Error::UnsupportedFormatVersion { what: format.what, found: format_version, supported: format.version });
    }
    let key_id: [u8; KEY_ID_LEN] = *id;
    let payload_len = u32::from_le_bytes([*l0, *l1, *l2, *l3]);
    Ok(Header { format_version, key_id: KeyId(key_id), payload_len })
}

/// Checks a bundle's envelope and verifies its signature with a trusted key; returns the header
/// and the verified payload bytes.
pub fn open<'b>(bytes: &'b [u8], trusted: &TrustedKeys) -> Result<(Header, &'b [u8])> {
    open_as(&BUNDLE, bytes, trusted)
}

/// As [`open`], for a document of any [`Format`].
pub fn open_as<'b>(format: &Format, bytes: &'b [u8], trusted: &TrustedKeys) -> Result<(Header, &'b [u8])> {
    let header = read_header_of(format, bytes)?;
    let key = trusted.get(&header.key_id).ok_or_else(|| Error::UnknownKey {
        what: format.what,
        key_id: header.key_id.to_string(),
        trusted: trusted.describe(),
    })?;
    let payload_len = header.payload_len as usize;
    if payload_len > format.max_bytes {
        return Err(Error::too_large(format.what, format.max_bytes as u64, payload_len as u64));
    }
    let signed_len = HEADER_LEN + payload_len;
    let total = signed_len + SIGNATURE_LEN;
    if bytes.len() < total {
        return Err(Error::malformed(format!(
            "truncated: the header announces {total} bytes, {} arrived",
            bytes.len()
        )));
    }
    if bytes.len() > total {
        return Err(Error::TrailingBytes {
            count: (bytes.len() - total) as u64,
            after: "signature".into(),
        });
    }
    // `bytes` is exactly `total` long here, so the split cannot fail; it is checked all the same.
    let (signed, signature) = bytes.split_at_checked(signed_len).ok_or_else(|| Error::malformed("truncated"))?;
    let signature: &[u8; SIGNATURE_LEN] = signature.try_into().map_err(|_| Error::malformed("truncated signature"))?;
    key.verify_strict(signed, &Signature::from_bytes(signature))
        .map_err(|_| Error::BadSignature { what: format.what, key_id: header.key_id.to_string() })?;
    let payload = signed.get(HEADER_LEN..).ok_or_else(|| Error::malformed("truncated"))?;
    Ok((header, payload))
}

/// Decodes a verified payload (a bundle's [`super::Payload`], an overlay's); every byte must be
/// used. Run it inside [`limits::with_budget`] to bound the memory it takes.
pub fn decode<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T> {
    limits::take_limit_hit();
    match postcard::take_from_bytes::<T>(payload) {
        Ok((decoded, [])) => Ok(decoded),
        Ok((_, rest)) => Err(Error::TrailingBytes { count: rest.len() as u64, after: "payload".into() }),
        Err(e) => Err(limits::take_limit_hit().unwrap_or_else(|| Error::malformed(format!("payload does not decode: {e}")))),
    }
}

/// Encodes and signs a payload into a bundle (authoring side).
#[cfg(feature = "compiler")]
pub fn seal(payload: &super::Payload, key: &super::keys::SigningKey) -> Result<Vec<u8>> {
    seal_as(&BUNDLE, payload, key)
}

/// Encodes and signs a payload into a document of `format` (authoring side).
#[cfg(feature = "compiler")]
pub fn seal_as<T: serde::Serialize>(format: &Format, payload: &T, key: &super::keys::SigningKey) -> Result<Vec<u8>> {
    let body = postcard::to_allocvec(payload).map_err(|e| Error::malformed(format!("payload does not encode: {e}")))?;
    seal_raw_as(format, &body, key)
}

/// Wraps already-encoded payload bytes in a signed bundle envelope.
#[cfg(feature = "compiler")]
pub fn seal_raw(body: &[u8], key: &super::keys::SigningKey) -> Result<Vec<u8>> {
    seal_raw_as(&BUNDLE, body, key)
}

/// Wraps already-encoded payload bytes in a signed envelope of `format`.
#[cfg(feature = "compiler")]
pub fn seal_raw_as(format: &Format, body: &[u8], key: &super::keys::SigningKey) -> Result<Vec<u8>> {
    let total = HEADER_LEN + body.len() + SIGNATURE_LEN;
    if total > format.max_bytes {
        return Err(Error::too_large(format.what, format.max_bytes as u64, total as u64));
    }
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&format.magic);
    out.extend_from_slice(&format.version.to_le_bytes());
    out.extend_from_slice(&key.key_id().0);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    let signature = key.sign(&out);
    out.extend_from_slice(&signature);
    Ok(out)
}
