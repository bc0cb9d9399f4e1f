//! The pieces of JavaScript's value semantics that GrowthBook's conditions rely on.
//!
//! GrowthBook evaluates conditions with JavaScript operators (`value + ""`, `value * 1`,
//! `a < b`, `!!value`), so a compatible evaluator needs JavaScript's conversions between
//! strings, numbers and the rest: `ToString`, `ToNumber`, truthiness, the string form of a
//! number, and string comparison by UTF-16 code units.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

/// How deep `ToString` follows nested arrays before giving up (JavaScript would overflow its
/// stack on absurdly deep arrays; the result past this depth is the empty string).
const MAX_JOIN_DEPTH: u32 = 64;

/// A number as a JSON value holds it.
pub(crate) fn number_of(n: &serde_json::Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

/// JavaScript's `!!value`.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => {
            let x = number_of(n);
            x != 0.0 && !x.is_nan()
        }
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// JavaScript's `ToNumber(value)` (as in `value * 1`), without allocating.
pub(crate) fn to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => number_of(n),
        Value::String(s) => string_to_number(s),
        Value::Array(items) => array_to_number(items),
        Value::Object(_) => f64::NAN,
    }
}

/// `ToNumber` of an array, i.e. of its `join(",")`: with two or more elements the string holds
/// a comma and is never a number; with one element it is that element's string form.
fn array_to_number(items: &[Value]) -> f64 {
    let mut items = items;
    loop {
        match items {
            [] => return 0.0,
            [only] => match only {
                // Inside `join`, null becomes "" and booleans become "true" / "false".
                Value::Null => return 0.0,
                Value::Bool(_) | Value::Object(_) => return f64::NAN,
                Value::Number(n) => return number_of(n),
                Value::String(s) => return string_to_number(s),
                Value::Array(inner) => items = inner,
            },
            _ => return f64::NAN,
        }
    }
}

/// JavaScript's white space and line terminators, which `ToNumber` trims.
pub(crate) fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// JavaScript's `ToNumber(string)`: trimmed decimal literal, `Infinity`, `0x` / `0o` / `0b`
/// integers, empty string is 0, anything else NaN.
pub(crate) fn string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(is_js_whitespace);
    if t.is_empty() {
        return 0.0;
    }
    for (prefixes, radix) in [(["0x", "0X"], 16), (["0o", "0O"], 8), (["0b", "0B"], 2)] {
        if let Some(digits) = prefixes.iter().find_map(|p| t.strip_prefix(p)) {
            return radix_integer(digits, radix);
        }
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    if is_decimal_literal(t) {
        t.parse().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

fn radix_integer(digits: &str, radix: u32) -> f64 {
    if digits.is_empty() {
        return f64::NAN;
    }
    let mut value = 0.0_f64;
    for c in digits.chars() {
        match c.to_digit(radix) {
            Some(d) => value = value * f64::from(radix) + f64::from(d),
            None => return f64::NAN,
        }
    }
    value
}

/// `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`: the only strings Rust's float
/// parser should see (it also accepts `inf`, `NaN` and such, which JavaScript does not).
fn is_decimal_literal(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let rest = |i: usize| b.get(i..).unwrap_or_default();
    let int_digits = count_digits(rest(i));
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = count_digits(rest(i));
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits = count_digits(rest(i));
        if exp_digits == 0 {
            return false;
        }
        i += exp_digits;
    }
    i == b.len()
}

fn count_digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// JavaScript's `Number.prototype.toString()`: shortest round-trip digits, plain notation for
/// exponents from -7 to 20, else `1.5e+21` style.
pub(crate) fn number_to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sci = format!("{:e}", x.abs());
    let Some((mantissa, exponent)) = sci.split_once('e') else {
        return format!("{x}");
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return format!("{x}");
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let n = exponent + 1; // value = 0.digits × 10^n
    let mut out = String::with_capacity(digits.len() + 8);
    if x < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        push_zeros(&mut out, n - k);
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n.unsigned_abs() as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        push_zeros(&mut out, -n);
        out.push_str(&digits);
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).unsigned_abs().to_string());
    }
    out
}

fn push_zeros(out: &mut String, count: i32) {
    for _ in 0..count {
        out.push('0');
    }
}

/// JavaScript's `String(value)` (also `value + ""`). Borrows for strings and constants.
pub(crate) fn to_js_string(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed("null"),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Number(n) => Cow::Owned(number_to_string(number_of(n))),
        Value::Object(_) => Cow::Borrowed("[object Object]"),
        Value::Array(items) => {
            let mut out = String::new();
            join_into(&mut out, items, 0);
            Cow::Owned(out)
        }
    }
}

/// `Array.prototype.join(",")`: null elements become empty, nested arrays are joined too.
fn join_into(out: &mut String, items: &[Value], depth: u32) {
    if depth >= MAX_JOIN_DEPTH {
        return;
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            Value::Null => {}
            Value::Array(inner) => join_into(out, inner, depth + 1),
            other => out.push_str(&to_js_string(other)),
        }
    }
}

/// The position of a character in JavaScript's string order (UTF-16 code units): characters
/// outside the Basic Multilingual Plane sort by their high surrogate, i.e. before U+E000.
pub(crate) fn utf16_key(c: char) -> (u16, u16) {
    let mut units = [0u16; 2];
    let encoded = c.encode_utf16(&mut units);
    match encoded {
        [one] => (*one, 0),
        [high, low] => (*high, *low),
        _ => (0, 0),
    }
}

/// JavaScript's string comparison (`a < b` on strings): by UTF-16 code units.
pub(crate) fn cmp_js_strings(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.chars().map(utf16_key).cmp(b.chars().map(utf16_key))
}

/// The primitive a value becomes in a relational comparison (`ToPrimitive`): strings stay
/// strings, arrays and objects become strings, everything else a number.
pub(crate) enum Primitive<'a> {
    Str(Cow<'a, str>),
    Num(f64),
}

pub(crate) fn to_primitive(v: &Value) -> Primitive<'_> {
    match v {
        Value::String(s) => Primitive::Str(Cow::Borrowed(s)),
        Value::Array(_) | Value::Object(_) => Primitive::Str(to_js_string(v)),
        other => Primitive::Num(to_number(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_print_like_javascript() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (100.0, "100"),
            (123.456, "123.456"),
            (0.1, "0.1"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (1e21, "1e+21"),
            (1.25e21, "1.25e+21"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
        ];
        for (x, s) in cases {
            assert_eq!(number_to_string(x), s, "{x}");
        }
    }

    #[test]
    fn strings_convert_like_javascript() {
        assert_eq!(string_to_number(""), 0.0);
        assert_eq!(string_to_number("  12 \n"), 12.0);
        assert_eq!(string_to_number("1e3"), 1000.0);
        assert_eq!(string_to_number(".5"), 0.5);
        assert_eq!(string_to_number("5."), 5.0);
        assert_eq!(string_to_number("-2"), -2.0);
        assert_eq!(string_to_number("0x1F"), 31.0);
        assert_eq!(string_to_number("0b101"), 5.0);
        assert_eq!(string_to_number("-Infinity"), f64::NEG_INFINITY);
        for nan in ["inf", "NaN", "1,2", "abc", "1e", "-0x1", "0x", ".", "+"] {
            assert!(string_to_number(nan).is_nan(), "{nan}");
        }
    }

    #[test]
    fn values_convert_like_javascript() {
        assert_eq!(to_number(&json!(null)), 0.0);
        assert_eq!(to_number(&json!(true)), 1.0);
        assert_eq!(to_number(&json!([])), 0.0);
        assert_eq!(to_number(&json!([[" 7 "]])), 7.0);
        assert!(to_number(&json!([true])).is_nan());
        assert!(to_number(&json!([1, 2])).is_nan());
        assert!(to_number(&json!({})).is_nan());
        assert_eq!(to_js_string(&json!([1, null, [2, "a"], {}])), "1,,2,a,[object Object]");
        assert_eq!(to_js_string(&json!(2.5)), "2.5");
        assert!(truthy(&json!([])) && !truthy(&json!("")) && !truthy(&json!(0)));
    }

    #[test]
    fn strings_compare_by_utf16_units() {
        assert_eq!(cmp_js_strings("a", "b"), Ordering::Less);
        // U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FF21.
        assert_eq!(cmp_js_strings("\u{1F600}", "\u{FF21}"), Ordering::Less);
        assert_eq!("\u{1F600}".cmp("\u{FF21}"), Ordering::Greater);
    }
}
