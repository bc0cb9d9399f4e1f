//! Version strings as GrowthBook compares them (`$veq`, `$vgt`, ...).
//!
//! GrowthBook turns both sides into a "padded version string" and compares those as strings:
//! a leading `v` and everything from a `+` (build metadata) on are dropped, the rest is split on
//! `-` and `.`, a `~` part is appended when there are exactly three parts (so `1.0.0` sorts
//! after its pre-releases `1.0.0-beta`, `~` being the largest ASCII character), every all-digit
//! part is left-padded with spaces to five characters (so `" 9" < "10"`), and the parts are
//! joined with `-`. Numbers are turned into their string form first; any other non-string and
//! the empty string count as `"0"`.
//!
//! The expected side is padded once at compile time; the attribute side is padded on the fly,
//! character by character, so evaluation does not allocate.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::ControlFlow;

use serde_json::Value;

use super::coerce::{number_to_string, utf16_key};

/// Width all-digit parts are padded to.
const PART_WIDTH: usize = 5;

/// The version string GrowthBook reads from a value: strings as they are (empty → `"0"`),
/// numbers in their JavaScript string form, anything else `"0"`.
pub(crate) fn version_input(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) if !s.is_empty() => Cow::Borrowed(s),
        Value::Number(n) => Cow::Owned(number_to_string(super::coerce::number_of(n))),
        _ => Cow::Borrowed("0"),
    }
}

/// Drops a leading `v` and the build metadata, as `replace(/(^v|\+.*$)/g, "")` does: the `+`
/// must be followed by no line terminator up to the end.
fn version_core(s: &str) -> &str {
    let s = s.strip_prefix('v').unwrap_or(s);
    let tail_start = s
        .char_indices()
        .rev()
        .find(|(_, c)| matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    match s.get(tail_start..).and_then(|tail| tail.find('+')) {
        Some(plus) => s.get(..tail_start + plus).unwrap_or(s),
        None => s,
    }
}

fn is_separator(c: char) -> bool {
    c == '-' || c == '.'
}

/// Feeds the characters of the padded form of `raw` to `emit`, stopping when it breaks.
fn visit_padded(raw: &str, mut emit: impl FnMut(char) -> ControlFlow<()>) -> ControlFlow<()> {
    let core = version_core(raw);
    let mut parts = 0usize;
    for (i, part) in core.split(is_separator).enumerate() {
        parts += 1;
        if i > 0 {
            emit('-')?;
        }
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            for _ in part.len()..PART_WIDTH {
                emit(' ')?;
            }
        }
        for c in part.chars() {
            emit(c)?;
        }
    }
    if parts == 3 {
        emit('-')?;
        emit('~')?;
    }
    ControlFlow::Continue(())
}

/// The padded version string of `raw` (used for the expected side, at compile time).
#[cfg_attr(not(feature = "compiler"), allow(dead_code))]
pub(crate) fn padded(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    let _ = visit_padded(raw, |c| {
        out.push(c);
        ControlFlow::Continue(())
    });
    out
}

/// Compares the padded form of `raw` with the already padded `expected`, in JavaScript string
/// order, without building the padded form.
pub(crate) fn compare_padded(raw: &str, expected: &str) -> Ordering {
    let mut rest = expected.chars();
    let mut order = Ordering::Equal;
    let _ = visit_padded(raw, |c| match rest.next() {
        Some(e) if e == c => ControlFlow::Continue(()),
        Some(e) => {
            order = utf16_key(c).cmp(&utf16_key(e));
            ControlFlow::Break(())
        }
        None => {
            order = Ordering::Greater;
            ControlFlow::Break(())
        }
    });
    if order == Ordering::Equal && rest.next().is_some() {
        Ordering::Less
    } else {
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_like_growthbook() {
        assert_eq!(padded("1.2.3"), "    1-    2-    3-~");
        assert_eq!(padded("v1.2.3+build.7"), "    1-    2-    3-~");
        assert_eq!(padded("1.0.0-beta.11"), "    1-    0-    0-beta-   11");
        assert_eq!(padded("1.0.0--"), "    1-    0-    0--");
        assert_eq!(padded("123456"), "123456");
        assert_eq!(padded(""), "");
        assert_eq!(padded("1+a\n2+b"), "1+a\n2");
    }

    #[test]
    fn compares_without_padding_first() {
        for (a, b) in [("1.2.3", "1.2.4"), ("1.0.0-rc.1", "1.0.0"), ("1.2", "1.2.0"), ("9", "10")] {
            assert_eq!(compare_padded(a, &padded(b)), Ordering::Less, "{a} < {b}");
            assert_eq!(compare_padded(b, &padded(a)), Ordering::Greater, "{b} > {a}");
            assert_eq!(compare_padded(a, &padded(a)), Ordering::Equal);
        }
    }

    #[test]
    fn coerces_inputs() {
        assert_eq!(version_input(&serde_json::json!(2.5)), "2.5");
        assert_eq!(version_input(&serde_json::json!(null)), "0");
        assert_eq!(version_input(&serde_json::json!("")), "0");
        assert_eq!(version_input(&serde_json::json!(true)), "0");
    }
}
