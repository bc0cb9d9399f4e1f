//! GrowthBook's deterministic hashing and bucketing.
//!
//! * [`hash`]: a number in `[0, 1)` from a seed and a value, built on 32-bit FNV-1a over the
//!   UTF-16 code units of the text (as JavaScript's `charCodeAt` sees it).
//!   Version 1: `fnv(value + seed) % 1000 / 1000`.
//!   Version 2: `fnv(decimal(fnv(seed + value))) % 10000 / 10000`.
//! * [`get_bucket_range`], [`choose_variation`], [`get_equal_weights`]: traffic split into
//!   ranges and the variation a hash falls into.
//! * [`in_namespace`]: mutually exclusive experiments.

/// FNV-1a 32-bit offset basis.
const FNV_OFFSET_BASIS: u32 = 0x811C_9DC5;
/// FNV-1a 32-bit prime.
const FNV_PRIME: u32 = 0x0100_0193;
/// Weights whose sum is outside `1 ± WEIGHT_TOLERANCE` are replaced by equal weights.
const WEIGHT_TOLERANCE: f64 = 0.01;
/// Most variations [`get_equal_weights`] and [`get_bucket_range`] split traffic into; more
/// gives no ranges at all (GrowthBook has no limit, but a bundle must not make us allocate
/// gigabytes).
pub const MAX_VARIATIONS: u32 = 10_000;

/// FNV-1a over the UTF-16 code units of the concatenation of `parts`.
pub fn fnv1a32(parts: &[&str]) -> u32 {
    let mut h = FNV_OFFSET_BASIS;
    for part in parts {
        for unit in part.encode_utf16() {
            h ^= u32::from(unit);
            h = h.wrapping_mul(FNV_PRIME);
        }
    }
    h
}

/// GrowthBook's hash of `value` with `seed`, in `[0, 1)`; `None` for a version other than 1
/// or 2.
pub fn hash(seed: &str, value: &str, version: u32) -> Option<f64> {
    match version {
        1 => Some(f64::from(fnv1a32(&[value, seed]) % 1000) / 1000.0),
        2 => {
            let mut digits = DecimalBuf::default();
            let inner = digits.format(fnv1a32(&[seed, value]));
            Some(f64::from(fnv1a32(&[inner]) % 10_000) / 10_000.0)
        }
        _ => None,
    }
}

/// A `u32` in decimal, without allocating.
#[derive(Default)]
struct DecimalBuf([u8; 10]);

impl DecimalBuf {
    fn format(&mut self, mut n: u32) -> &str {
        // A u32 has at most 10 digits: the buffer's length.
        let mut start = self.0.len();
        for digit in self.0.iter_mut().rev() {
            *digit = b'0' + (n % 10) as u8;
            start -= 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.0.get(start..).and_then(|d| std::str::from_utf8(d).ok()).unwrap_or("")
    }
}

/// `n` equal weights summing to 1; none for 0 (or more than [`MAX_VARIATIONS`]).
pub fn get_equal_weights(n: u32) -> Vec<f64> {
    if n == 0 || n > MAX_VARIATIONS {
        return Vec::new();
    }
    vec![1.0 / f64::from(n); n as usize]
}

/// The `[start, end)` range of each variation. `coverage` is clamped to `[0, 1]`; weights that
/// are missing, of the wrong length, or do not sum to 1 (±0.01) are replaced by equal weights.
/// Variation `i` starts where the full weights of the variations before it end and covers
/// `coverage × weight[i]` of that.
pub fn get_bucket_range(
    num_variations: u32,
    coverage: f64,
    weights: Option<&[f64]>,
) -> Vec<(f64, f64)> {
    let coverage = coverage.clamp(0.0, 1.0);
    let equal = get_equal_weights(num_variations);
    let weights = match weights {
        Some(w) if w.len() == equal.len() && is_unit_sum(w) => w,
        _ => &equal,
    };
    let mut cumulative = 0.0;
    weights
        .iter()
        .map(|w| {
            let start = cumulative;
            cumulative += w;
            (start, start + coverage * w)
        })
        .collect()
}

fn is_unit_sum(weights: &[f64]) -> bool {
    let total: f64 = weights.iter().sum();
    (1.0 - WEIGHT_TOLERANCE..=1.0 + WEIGHT_TOLERANCE).contains(&total)
}

/// The index of the first range containing `n` (`start <= n < end`), or -1.
pub fn choose_variation(n: f64, ranges: &[(f64, f64)]) -> i32 {
    ranges
        .iter()
        .position(|&(start, end)| n >= start && n < end)
        .and_then(|i| i32::try_from(i).ok())
        .unwrap_or(-1)
}

/// Whether `hash_value_id` falls in the namespace `(id, start, end)`: the version-1 hash of the
/// id with seed `"__" + namespace id` is in `[start, end)`.
pub fn in_namespace(hash_value_id: &str, namespace: (&str, f64, f64)) -> bool {
    let (id, start, end) = namespace;
    let n = f64::from(fnv1a32(&[hash_value_id, "__", id]) % 1000) / 1000.0;
    n >= start && n < end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_values() {
        // FNV-1a 32 test vectors.
        assert_eq!(fnv1a32(&[""]), 0x811C_9DC5);
        assert_eq!(fnv1a32(&["a"]), 0xE40C_292C);
        assert_eq!(fnv1a32(&["foo", "bar"]), fnv1a32(&["foobar"]));
    }

    #[test]
    fn decimal_buffer_formats() {
        let mut b = DecimalBuf::default();
        assert_eq!(b.format(0), "0");
        assert_eq!(b.format(u32::MAX), "4294967295");
    }

    #[test]
    fn hash_uses_utf16_units() {
        // "é" is one UTF-16 unit (0xE9) but two UTF-8 bytes.
        let mut h = FNV_OFFSET_BASIS ^ 0xE9;
        h = h.wrapping_mul(FNV_PRIME);
        assert_eq!(fnv1a32(&["é"]), h);
        assert_eq!(hash("", "x", 3), None);
    }

    #[test]
    fn variation_limits() {
        assert!(get_equal_weights(MAX_VARIATIONS + 1).is_empty());
        assert_eq!(get_bucket_range(3, f64::NAN, None).len(), 3);
        assert_eq!(choose_variation(0.5, &[]), -1);
    }
}
