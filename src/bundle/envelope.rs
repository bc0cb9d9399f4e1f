//! The signed envelope around a bundle's payload.
//!
//! ```text
//! offset  size  field
//! 0       4     magic "OPMB"
//! 4       2     format version, u16 little-endian (this build: 1)
//! 6       8     key id of the signing key
//! 14      4     payload length n, u32 little-endian
//! 18      n     payload (postcard-encoded `Payload`)
//! 18+n    64    Ed25519 signature over bytes 0..18+n
//! ```
//!
//! [`open`] checks the envelope in that order and verifies the signature (strictly: no
//! non-canonical or small-order signatures) before a single byte of the payload is decoded;
//! [`decode`] then decodes the verified payload and refuses trailing bytes. Each failure has its
//! own error code.

use ed25519_dalek::Signature;

use super::keys::{KeyId, TrustedKeys, KEY_ID_LEN};
use crate::limits::{self, MAX_BUNDLE_BYTES};
use super::model::Payload;
use crate::{Error, Result};

/// The first four bytes of every bundle.
pub const MAGIC: [u8; 4] = *b"OPMB";
/// The envelope and payload format this build reads and writes.
pub const FORMAT_VERSION: u16 = 1;
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

/// Reads the header without trusting it: magic, version and length are checked here.
pub fn read_header(bytes: &[u8]) -> Result<Header> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(Error::too_large("bundle", MAX_BUNDLE_BYTES as u64, bytes.len() as u64));
    }
    let prefix = bytes.get(..MAGIC.len()).unwrap_or(bytes);
    if !MAGIC.starts_with(prefix) {
        return Err(Error::BadMagic { found: prefix.to_vec(), expected: MAGIC });
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
    if format_version != FORMAT_VERSION {
        return Err(Error::UnsupportedFormatVersion { found: format_version, supported: FORMAT_VERSION });
    }
    let key_id: [u8; KEY_ID_LEN] = *id;
    let payload_len = u32::from_le_bytes([*l0, *l1, *l2, *l3]);
    Ok(Header { format_version, key_id: KeyId(key_id), payload_len })
}

/// Checks the envelope and verifies its signature with a trusted key; returns the header and the
/// verified payload bytes.
pub fn open<'b>(bytes: &'b [u8], trusted: &TrustedKeys) -> Result<(Header, &'b [u8])> {
    let header = read_header(bytes)?;
    let key = trusted.get(&header.key_id).ok_or_else(|| Error::UnknownKey {
        key_id: header.key_id.to_string(),
        trusted: trusted.describe(),
    })?;
    let payload_len = header.payload_len as usize;
    if payload_len > MAX_BUNDLE_BYTES {
        return Err(Error::too_large("bundle payload", MAX_BUNDLE_BYTES as u64, payload_len as u64));
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
        .map_err(|_| Error::BadSignature { key_id: header.key_id.to_string() })?;
    let payload = signed.get(HEADER_LEN..).ok_or_else(|| Error::malformed("truncated"))?;
    Ok((header, payload))
}

/// Decodes a verified payload; every byte must be used. Run it inside
/// [`limits::with_budget`] to bound the memory it takes.
pub fn decode(payload: &[u8]) -> Result<Payload> {
    limits::take_limit_hit();
    match postcard::take_from_bytes::<Payload>(payload) {
        Ok((decoded, [])) => Ok(decoded),
        Ok((_, rest)) => Err(Error::TrailingBytes { count: rest.len() as u64, after: "payload".into() }),
        Err(e) => Err(limits::take_limit_hit().unwrap_or_else(|| Error::malformed(format!("payload does not decode: {e}")))),
    }
}

/// Encodes and signs a payload into a bundle (authoring side).
#[cfg(feature = "compiler")]
pub fn seal(payload: &Payload, key: &super::keys::SigningKey) -> Result<Vec<u8>> {
    let body = postcard::to_allocvec(payload).map_err(|e| Error::malformed(format!("payload does not encode: {e}")))?;
    seal_raw(&body, key)
}

/// Wraps already-encoded payload bytes in a signed envelope.
#[cfg(feature = "compiler")]
pub fn seal_raw(body: &[u8], key: &super::keys::SigningKey) -> Result<Vec<u8>> {
    let total = HEADER_LEN + body.len() + SIGNATURE_LEN;
    if total > MAX_BUNDLE_BYTES {
        return Err(Error::too_large("bundle", MAX_BUNDLE_BYTES as u64, total as u64));
    }
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&key.key_id().0);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    let signature = key.sign(&out);
    out.extend_from_slice(&signature);
    Ok(out)
}
