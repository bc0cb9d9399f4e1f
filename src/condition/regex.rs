//! Regular expressions of `$regex`, `$regexi`, `$notRegex` and `$notRegexi`.
//!
//! GrowthBook's patterns are JavaScript regular expressions (no flags, or `i`). Every pattern is
//! checked by translating it from JavaScript syntax into regex-lite syntax ([`translate`]) and
//! compiling it with `regex-lite`, whose matching is linear in the input, so a hostile pattern
//! such as `(a+)+$` cannot stall a page. The translation keeps JavaScript's meaning: `.`
//! excludes JavaScript's four line terminators, `\s` is JavaScript's Unicode white space,
//! classes are re-emitted as explicit code-point ranges (so `[]`, `[^]`, `[\d-z]` and a literal
//! `&&` mean what they mean in JavaScript), identity escapes such as `\/` or `\e` become
//! literals, a `{` that does not start a quantifier is a literal, named groups become plain
//! groups, and what JavaScript rejects (`a**`, `^*`) is rejected.
//!
//! Not supported (an invalid pattern: an error in strict mode, a false clause in lenient mode):
//! backreferences, lookahead and lookbehind, legacy octal escapes, lone surrogates. With `i`,
//! only ASCII letters match case-insensitively (regex-lite's case folding is ASCII-only), while
//! JavaScript also folds other letters.
//!
//! regex-lite costs a few hundred nanoseconds per call even on a short URL, so a valid pattern
//! is matched by the cheapest of three matchers:
//!
//! * literal text and groups of alternative texts, optionally anchored (`^/products/`,
//!   `(Mobile|Tablet)`, `^/(nl|en)/help$`): plain string search;
//! * other small patterns (`^/products/\d+/(detail|reviews)`): a bit-parallel position
//!   automaton (`nfa.rs`);
//! * the rest: regex-lite, guarded by the literal text its alternatives start with (no match
//!   is possible without it) and remembering its verdict on the last haystack ([`Memo`]), since
//!   a bundle tests the same page against the same pattern in many conditions.

use super::ir::{Anchor, Pattern, Required};
use super::nfa::NfaMatcher;

/// Most bytes the compiled automaton of one pattern may ever use…
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// …and what one pattern may use as a rule: this much…
const REGEX_BASE_SIZE: usize = 16 << 10;
/// …plus this much per byte of its source. A short pattern cannot expand to a megabyte
/// (`(?:[a-z]{100}){100}` is refused), so a bundle of many small patterns stays small.
const REGEX_SIZE_PER_SOURCE_BYTE: usize = 256;

/// Most bytes the compiled automaton of `source` may use; loading a bundle charges this to the
/// bundle's memory budget (see [`crate::limits`]).
pub(crate) fn regex_size_limit(source: &str) -> usize {
    source.len().saturating_mul(REGEX_SIZE_PER_SOURCE_BYTE).saturating_add(REGEX_BASE_SIZE).min(REGEX_SIZE_LIMIT)
}

/// Deepest group nesting in one pattern.
const REGEX_NEST_LIMIT: u32 = 64;

/// Compiles a regex-lite source (already translated) with this module's limits.
pub(crate) fn build_regex(source: &str, fold: bool) -> Result<regex_lite::Regex, String> {
    regex_lite::RegexBuilder::new(source)
        .case_insensitive(fold)
        .size_limit(regex_size_limit(source))
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|e| e.to_string())
}

/// Longest haystack whose verdict a pattern remembers (see [`Memo`]).
const MAX_MEMO_HAYSTACK: usize = 256;

/// A pattern ready to match: plain string search, a compiled regex or an automaton.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Literals {
        texts: Vec<String>,
        anchor: Anchor,
        fold: bool,
    },
    Regex {
        regex: regex_lite::Regex,
        required: Vec<Required>,
        fold: bool,
        memo: Memo,
    },
    /// `memo` for automata that scan the whole haystack (not anchored at the start).
    Automaton {
        automaton: NfaMatcher,
        memo: Option<Memo>,
    },
}

/// The last haystack a pattern was run on and its verdict.
///
/// regex-lite is linear-time but slow per call (hundreds of nanoseconds on a short URL), an
/// unanchored automaton reads the whole haystack, and a bundle typically tests the same page
/// against the same pattern in many conditions of one decision. Remembering the last (exact)
/// haystack turns those repeats into a string comparison. Thread-safe; a busy lock just skips
/// the memo. Allocates only when the haystack changes, and only for haystacks up to
/// [`MAX_MEMO_HAYSTACK`] bytes.
#[derive(Debug, Default)]
pub(crate) struct Memo(std::sync::Mutex<Option<(Box<str>, bool)>>);

impl Clone for Memo {
    fn clone(&self) -> Self {
        Memo::default()
    }
}

impl Memo {
    /// The verdict of `matcher` on `haystack`, remembered from last time if it is the same.
    fn check(&self, haystack: &str, matcher: impl Fn(&str) -> bool) -> bool {
        if let Some(verdict) = self.recall(haystack) {
            return verdict;
        }
        let verdict = matcher(haystack);
        self.remember(haystack, verdict);
        verdict
    }

    fn recall(&self, haystack: &str) -> Option<bool> {
        let last = self.0.try_lock().ok()?;
        match &*last {
            Some((seen, verdict)) if **seen == *haystack => Some(*verdict),
            _ => None,
        }
    }

    fn remember(&self, haystack: &str, verdict: bool) {
        if haystack.len() <= MAX_MEMO_HAYSTACK {
            if let Ok(mut last) = self.0.try_lock() {
                *last = Some((haystack.into(), verdict));
            }
        }
    }
}

impl Matcher {
    /// Compiles a pattern of the pool (at load time).
    pub(crate) fn new(pattern: &Pattern) -> Result<Matcher, String> {
        match pattern {
            Pattern::Literals { texts, anchor, fold } => Ok(Matcher::Literals {
                texts: texts.iter().map(|t| fold_if(*fold, t)).collect(),
                anchor: *anchor,
                fold: *fold,
            }),
            Pattern::Regex { source, fold, required } => Ok(Matcher::Regex {
                regex: build_regex(source, *fold)?,
                required: required
                    .iter()
                    .map(|r| Required { text: fold_if(*fold, &r.text), at_start: r.at_start })
                    .collect(),
                fold: *fold,
                memo: Memo::default(),
            }),
            Pattern::Automaton(nfa) => {
                let memo = (nfa.first_anywhere != 0).then(Memo::default);
                Ok(Matcher::Automaton { automaton: NfaMatcher::new(nfa.clone())?, memo })
            }
        }
    }

    /// Whether the pattern matches somewhere in `haystack` (JavaScript's `RegExp.test`).
    pub(crate) fn is_match(&self, haystack: &str) -> bool {
        match self {
            Matcher::Automaton { automaton, memo: None } => automaton.is_match(haystack),
            Matcher::Automaton { automaton, memo: Some(memo) } => {
                memo.check(haystack, |h| automaton.is_match(h))
            }
            Matcher::Literals { texts, anchor, fold } => {
                texts.iter().any(|text| literal_match(haystack, text, *anchor, *fold))
            }
            Matcher::Regex { regex, required, fold, memo } => {
                let possible = required.is_empty()
                    || required.iter().any(|r| {
                        let anchor = if r.at_start { Anchor::Start } else { Anchor::Anywhere };
                        literal_match(haystack, &r.text, anchor, *fold)
                    });
                if !possible {
                    return false;
                }
                memo.check(haystack, |h| regex.is_match(h))
            }
        }
    }
}

fn fold_if(fold: bool, text: &str) -> String {
    if fold {
        text.to_ascii_lowercase()
    } else {
        text.to_owned()
    }
}

/// Whether `text` occurs in `haystack` where `anchor` says; with `fold`, ASCII letters match
/// either case (`text` is already lower case).
fn literal_match(haystack: &str, text: &str, anchor: Anchor, fold: bool) -> bool {
    if fold {
        return folded_literal_match(haystack.as_bytes(), text.as_bytes(), anchor);
    }
    match anchor {
        Anchor::Anywhere => haystack.contains(text),
        Anchor::Start => haystack.starts_with(text),
        Anchor::End => haystack.ends_with(text),
        Anchor::Whole => haystack == text,
    }
}

/// ASCII case-insensitive literal search; `needle` is already lower case.
fn folded_literal_match(hay: &[u8], needle: &[u8], anchor: Anchor) -> bool {
    let n = needle.len();
    let same = |part: Option<&[u8]>| part.is_some_and(|p| p.eq_ignore_ascii_case(needle));
    match anchor {
        Anchor::Whole => hay.eq_ignore_ascii_case(needle),
        Anchor::Start => same(hay.get(..n)),
        Anchor::End => same(hay.len().checked_sub(n).and_then(|start| hay.get(start..))),
        Anchor::Anywhere => n == 0 || hay.windows(n).any(|w| w.eq_ignore_ascii_case(needle)),
    }
}

/// Most literal strings a pattern of alternatives expands to before a regex is used instead.
#[cfg(feature = "compiler")]
const MAX_LITERAL_ALTERNATIVES: usize = 16;

/// Compiles a JavaScript pattern into a [`Pattern`], checking that it compiles.
#[cfg(feature = "compiler")]
pub(crate) fn compile_pattern(js: &str, fold: bool) -> Result<Pattern, String> {
    if let Some((texts, anchor)) = literal_alternatives(js) {
        if fold && texts.iter().flat_map(|t| t.chars()).any(folds_beyond_ascii) {
            return Err(FOLD_UNSUPPORTED.into());
        }
        return Ok(Pattern::Literals { texts, anchor, fold });
    }
    let source = translate_folded(js, fold)?;
    build_regex(&source, fold)?;
    if let Some(nfa) = super::nfa::compile_nfa(js, fold) {
        return Ok(Pattern::Automaton(nfa));
    }
    Ok(Pattern::Regex { source, fold, required: required_literals(js) })
}

/// JavaScript's special characters outside classes.
#[cfg(feature = "compiler")]
fn is_special(c: char) -> bool {
    matches!(c, '\\' | '^' | '$' | '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|')
}

/// The literal character at `chars[i]` (a plain character or escaped punctuation) and how many
/// characters it takes.
#[cfg(feature = "compiler")]
fn literal_at(chars: &[char], i: usize) -> Option<(char, usize)> {
    match chars.get(i)? {
        '\\' => chars.get(i + 1).filter(|c| c.is_ascii_punctuation()).map(|&c| (c, 2)),
        &c if !is_special(c) => Some((c, 1)),
        _ => None,
    }
}

/// The texts and anchoring of a pattern made only of literal text and groups of literal
/// alternatives (`^/(products|offers)/`, `Mobile|Tablet`), if it expands to few enough texts.
#[cfg(feature = "compiler")]
fn literal_alternatives(js: &str) -> Option<(Vec<String>, Anchor)> {
    let (body, at_start) = match js.strip_prefix('^') {
        Some(body) => (body, true),
        None => (js, false),
    };
    let mut chars: Vec<char> = body.chars().collect();
    let trailing_backslashes = chars.iter().rev().skip(1).take_while(|c| **c == '\\').count();
    let at_end = chars.last() == Some(&'$') && trailing_backslashes % 2 == 0;
    if at_end {
        chars.pop();
    }
    let mut branches: Vec<String> = Vec::new();
    let mut current = vec![String::new()];
    let mut i = 0;
    while i < chars.len() {
        if let Some((c, len)) = literal_at(&chars, i) {
            current.iter_mut().for_each(|t| t.push(c));
            i += len;
            continue;
        }
        match chars.get(i) {
            Some('(') => {
                let (alternatives, len) = literal_group(&chars, i)?;
                current = current
                    .iter()
                    .flat_map(|prefix| alternatives.iter().map(move |alt| format!("{prefix}{alt}")))
                    .collect();
                i += len;
            }
            // A top-level `|` splits the anchors too (`^a|b` is `(^a)|(b)`): only unanchored.
            Some('|') if !at_start && !at_end => {
                branches.append(&mut current);
                current.push(String::new());
                i += 1;
            }
            _ => return None,
        }
        if branches.len() + current.len() > MAX_LITERAL_ALTERNATIVES {
            return None;
        }
    }
    branches.append(&mut current);
    branches.sort_unstable();
    branches.dedup();
    let anchor = match (at_start, at_end) {
        (false, false) => Anchor::Anywhere,
        (true, false) => Anchor::Start,
        (false, true) => Anchor::End,
        (true, true) => Anchor::Whole,
    };
    Some((branches, anchor))
}

/// A group `(a|b|c)` or `(?:a|b)` of literal alternatives at `chars[start]`, and its length.
#[cfg(feature = "compiler")]
fn literal_group(chars: &[char], start: usize) -> Option<(Vec<String>, usize)> {
    let mut i = start + 1;
    if chars.get(i) == Some(&'?') {
        if chars.get(i + 1) != Some(&':') {
            return None;
        }
        i += 2;
    }
    let mut alternatives = vec![String::new()];
    loop {
        if let Some((c, len)) = literal_at(chars, i) {
            alternatives.last_mut()?.push(c);
            i += len;
            continue;
        }
        match chars.get(i)? {
            '|' => alternatives.push(String::new()),
            ')' => break,
            _ => return None,
        }
        i += 1;
    }
    // A quantifier after the group repeats it: not a plain set of texts.
    if matches!(chars.get(i + 1), Some('*' | '+' | '?' | '{')) {
        return None;
    }
    Some((alternatives, i + 1 - start))
}

/// Literal texts one of which every match contains: for each top-level alternative, the
/// literal text it starts with (after `^`, if any). Empty when some alternative starts with
/// no literal text.
#[cfg(feature = "compiler")]
fn required_literals(js: &str) -> Vec<Required> {
    let branches = top_level_branches(js);
    let required: Vec<Required> = branches.iter().filter_map(|b| required_literal(b)).collect();
    if required.len() == branches.len() {
        required
    } else {
        Vec::new()
    }
}

/// The literal text an alternative (without top-level `|`) starts with.
#[cfg(feature = "compiler")]
fn required_literal(branch: &str) -> Option<Required> {
    let (body, at_start) = match branch.strip_prefix('^') {
        Some(body) => (body, true),
        None => (branch, false),
    };
    let chars: Vec<char> = body.chars().collect();
    let mut text = String::new();
    let mut i = 0;
    while let Some((c, len)) = literal_at(&chars, i) {
        // A quantifier makes this character optional or repeated: stop before it.
        if matches!(chars.get(i + len), Some('*' | '+' | '?' | '{')) {
            break;
        }
        text.push(c);
        i += len;
    }
    (!text.is_empty()).then_some(Required { text, at_start })
}

/// The pattern split at each `|` outside every group and class.
#[cfg(feature = "compiler")]
pub(super) fn top_level_branches(js: &str) -> Vec<&str> {
    let mut branches = Vec::new();
    let mut depth = 0usize;
    let mut in_class = false;
    let mut start = 0;
    let mut chars = js.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth = depth.saturating_sub(1),
            '|' if !in_class && depth == 0 => {
                branches.push(js.get(start..at).unwrap_or(""));
                start = at + 1;
            }
            _ => {}
        }
    }
    branches.push(js.get(start..).unwrap_or(""));
    branches
}

/// A set of code points as sorted inclusive ranges.
#[cfg(feature = "compiler")]
pub(super) type Ranges = Vec<(u32, u32)>;

#[cfg(feature = "compiler")]
const MAX_CODE_POINT: u32 = 0x10FFFF;
#[cfg(feature = "compiler")]
const SURROGATES: (u32, u32) = (0xD800, 0xDFFF);
#[cfg(feature = "compiler")]
const DIGIT: &[(u32, u32)] = &[(0x30, 0x39)];
#[cfg(feature = "compiler")]
const WORD: &[(u32, u32)] = &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];
/// JavaScript's `\s`: white space and line terminators.
#[cfg(feature = "compiler")]
const SPACE: &[(u32, u32)] = &[
    (0x09, 0x0D),
    (0x20, 0x20),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
    (0xFEFF, 0xFEFF),
];
/// What JavaScript's `.` does not match (without the `s` flag).
#[cfg(feature = "compiler")]
pub(super) const LINE_TERMINATORS: &[(u32, u32)] = &[(0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)];
/// A regex-lite expression that never matches (the JavaScript class `[]`). Grouped, so that a
/// quantifier after the class applies to all of it (`[]*` matches the empty string).
#[cfg(feature = "compiler")]
const NEVER: &str = r"(?:\b\B)";
/// Characters regex-lite gives a meaning somewhere; all of them may be escaped (unlike, say,
/// `<`, whose escape regex-lite rejects).
#[cfg(feature = "compiler")]
const REGEX_LITE_META: &str = r"\.+*?()|[]{}^$#&-~";

/// One parsed escape or class member.
#[cfg(feature = "compiler")]
pub(super) enum Atom {
    Char(u32),
    Set(Ranges),
    /// An assertion to copy verbatim (`\b`, `\B` outside classes).
    Verbatim(&'static str),
}

/// What the previous token was, to reject what JavaScript rejects ("nothing to repeat"):
/// regex-lite accepts `a**` or `^*`, JavaScript does not.
#[cfg(feature = "compiler")]
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    /// Start of the pattern, of a group or of an alternative.
    Nothing,
    /// Something a quantifier may follow.
    Atom,
    /// `^`, `$`, `\b`, `\B`.
    Assertion,
    /// A quantifier, which a single `?` (lazy) may follow.
    Quantifier,
    /// A lazy quantifier.
    Lazy,
}

/// With `i`, JavaScript folds every letter and regex-lite only ASCII ones: a pattern whose
/// meaning depends on folding a letter beyond ASCII is refused rather than matched differently.
#[cfg(feature = "compiler")]
const FOLD_UNSUPPORTED: &str = "with the i flag, letters beyond ASCII (such as é or Ǧ) are not supported";

/// No character above this one has a case mapping (the last are Adlam's, U+1E900–U+1E943).
#[cfg(feature = "compiler")]
const LAST_CASED: u32 = 0x1E943;

/// JavaScript's Canonicalize for a pattern without the `u` flag: the upper case of a character,
/// unless that is several characters or turns a non-ASCII character into an ASCII one.
#[cfg(feature = "compiler")]
fn canonical(c: char) -> char {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) if u.is_ascii() == c.is_ascii() => u,
        _ => c,
    }
}

/// A character beyond ASCII that JavaScript's `i` may match with another one.
#[cfg(feature = "compiler")]
fn folds_beyond_ascii(c: char) -> bool {
    !c.is_ascii() && (canonical(c) != c || c.to_lowercase().ne(std::iter::once(c)))
}

/// Whether a class means the same with JavaScript's folding as with ASCII folding alone: every
/// character beyond ASCII is in it exactly when its canonical form is.
#[cfg(feature = "compiler")]
fn folds_as_in_javascript(set: &Ranges) -> bool {
    let member = |cp: u32| set.iter().any(|&(lo, hi)| (lo..=hi).contains(&cp));
    (0x80..=LAST_CASED).filter_map(char::from_u32).all(|c| {
        let k = canonical(c);
        k == c || member(u32::from(c)) == member(u32::from(k))
    })
}

/// Translates a JavaScript pattern (no `u` flag) into regex-lite syntax, as without `i`.
#[cfg(all(test, feature = "compiler"))]
pub(crate) fn translate(js: &str) -> Result<String, String> {
    translate_folded(js, false)
}

/// As [`translate`]; with `fold` (the `i` flag), refuses what regex-lite's ASCII folding would
/// match differently from JavaScript.
#[cfg(feature = "compiler")]
fn translate_folded(js: &str, fold: bool) -> Result<String, String> {
    let literal = |cp: u32| match char::from_u32(cp) {
        Some(c) if fold && folds_beyond_ascii(c) => Err(FOLD_UNSUPPORTED.to_string()),
        _ => Ok(()),
    };
    let class = |set: &Ranges| if fold && !folds_as_in_javascript(set) { Err(FOLD_UNSUPPORTED.to_string()) } else { Ok(()) };
    let push_set = |out: &mut String, set: Ranges, negated: bool| {
        if fold {
            push_folded_class(out, set, negated);
        } else {
            push_class(out, set);
        }
    };
    let chars: Vec<char> = js.chars().collect();
    let mut out = String::with_capacity(js.len() + 16);
    let mut i = 0;
    let mut prev = Prev::Nothing;
    while let Some(&c) = chars.get(i) {
        i += 1;
        prev = match c {
            '\\' => match parse_escape(&chars, &mut i, false)? {
                Atom::Char(cp) => {
                    literal(cp)?;
                    push_char(&mut out, cp);
                    Prev::Atom
                }
                Atom::Set(set) => {
                    // \W, \S, \D: their complements hold letters in both cases or none.
                    class(&set)?;
                    push_set(&mut out, set, false);
                    Prev::Atom
                }
                Atom::Verbatim(s) => {
                    out.push_str(s);
                    Prev::Assertion
                }
            },
            '[' => {
                let negated = chars.get(i) == Some(&'^');
                let set = parse_class(&chars, &mut i)?;
                class(&set)?;
                push_set(&mut out, set, negated);
                Prev::Atom
            }
            '.' => {
                push_class(&mut out, complement(LINE_TERMINATORS.to_vec()));
                Prev::Atom
            }
            '(' => {
                translate_group(&chars, &mut i, &mut out)?;
                Prev::Nothing
            }
            '{' => match quantifier_len(&chars, i) {
                Some(len) => {
                    check_repeatable(prev)?;
                    out.push('{');
                    out.extend(chars.iter().skip(i).take(len));
                    i += len;
                    Prev::Quantifier
                }
                None => {
                    out.push_str(r"\{");
                    Prev::Atom
                }
            },
            '?' if prev == Prev::Quantifier => {
                out.push('?');
                Prev::Lazy
            }
            '*' | '+' | '?' => {
                check_repeatable(prev)?;
                out.push(c);
                Prev::Quantifier
            }
            '}' | ']' => {
                push_char(&mut out, u32::from(c));
                Prev::Atom
            }
            '^' | '$' => {
                out.push(c);
                Prev::Assertion
            }
            '|' => {
                out.push(c);
                Prev::Nothing
            }
            ')' => {
                out.push(c);
                Prev::Atom
            }
            other => {
                literal(u32::from(other))?;
                push_char(&mut out, u32::from(other));
                Prev::Atom
            }
        };
    }
    Ok(out)
}

#[cfg(feature = "compiler")]
fn check_repeatable(prev: Prev) -> Result<(), String> {
    if prev == Prev::Atom {
        Ok(())
    } else {
        Err("nothing to repeat".into())
    }
}

/// After a `(`: a plain group, `(?:`, or a named group (emitted as a plain group).
#[cfg(feature = "compiler")]
fn translate_group(chars: &[char], i: &mut usize, out: &mut String) -> Result<(), String> {
    if chars.get(*i) != Some(&'?') {
        out.push('(');
        return Ok(());
    }
    match (chars.get(*i + 1), chars.get(*i + 2)) {
        (Some(':'), _) => {
            out.push_str("(?:");
            *i += 2;
            Ok(())
        }
        (Some('=' | '!'), _) => Err("lookahead assertions are not supported".into()),
        (Some('<'), Some('=' | '!')) => Err("lookbehind assertions are not supported".into()),
        (Some('<'), _) => {
            let name_start = *i + 2;
            let name_len = chars.iter().skip(name_start).take_while(|c| **c != '>').count();
            if name_len == 0 || chars.get(name_start + name_len) != Some(&'>') {
                return Err("invalid group name".into());
            }
            *i = name_start + name_len + 1;
            out.push('(');
            Ok(())
        }
        _ => Err("invalid group".into()),
    }
}

/// The length of the quantifier body after a `{` (`3}`, `3,}`, `3,5}`), if it is one.
#[cfg(feature = "compiler")]
pub(super) fn quantifier_len(chars: &[char], start: usize) -> Option<usize> {
    let rest = chars.get(start..)?;
    let min = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if min == 0 {
        return None;
    }
    let mut len = min;
    if rest.get(len) == Some(&',') {
        len += 1;
        len += rest.iter().skip(len).take_while(|c| c.is_ascii_digit()).count();
    }
    (rest.get(len) == Some(&'}')).then_some(len + 1)
}

/// Parses the escape after a `\` at `chars[*i]`.
#[cfg(feature = "compiler")]
pub(super) fn parse_escape(chars: &[char], i: &mut usize, in_class: bool) -> Result<Atom, String> {
    let Some(&c) = chars.get(*i) else {
        return Err(r"\ at end of pattern".into());
    };
    *i += 1;
    let atom = match c {
        'd' => Atom::Set(DIGIT.to_vec()),
        'D' => Atom::Set(complement(DIGIT.to_vec())),
        'w' => Atom::Set(WORD.to_vec()),
        'W' => Atom::Set(complement(WORD.to_vec())),
        's' => Atom::Set(SPACE.to_vec()),
        'S' => Atom::Set(complement(SPACE.to_vec())),
        'b' if in_class => Atom::Char(0x08),
        'b' => Atom::Verbatim(r"\b"),
        'B' if !in_class => Atom::Verbatim(r"\B"),
        't' => Atom::Char(0x09),
        'n' => Atom::Char(0x0A),
        'v' => Atom::Char(0x0B),
        'f' => Atom::Char(0x0C),
        'r' => Atom::Char(0x0D),
        '0' if chars.get(*i).is_some_and(char::is_ascii_digit) => {
            return Err("octal escapes are not supported".into())
        }
        '0' => Atom::Char(0),
        '1'..='9' => return Err("backreferences are not supported".into()),
        'c' => match chars.get(*i) {
            Some(&l)
                if l.is_ascii_alphabetic() || (in_class && (l.is_ascii_digit() || l == '_')) =>
            {
                *i += 1;
                Atom::Char(u32::from(l) % 32)
            }
            // Not a control escape: a literal backslash, the `c` is read again as itself.
            _ => {
                *i -= 1;
                Atom::Char(u32::from('\\'))
            }
        },
        'x' => match hex_value(chars, *i, 2) {
            Some(v) => {
                *i += 2;
                Atom::Char(v)
            }
            None => Atom::Char(u32::from('x')),
        },
        'u' => match hex_value(chars, *i, 4) {
            Some(v) => {
                *i += 4;
                Atom::Char(unicode_escape(chars, i, v)?)
            }
            None => Atom::Char(u32::from('u')),
        },
        'k' if chars.get(*i) == Some(&'<') => {
            return Err("named backreferences are not supported".into())
        }
        other => Atom::Char(u32::from(other)),
    };
    Ok(atom)
}

/// A `\uXXXX` value, joined with a following `\uXXXX` low surrogate if it is a high one.
#[cfg(feature = "compiler")]
fn unicode_escape(chars: &[char], i: &mut usize, unit: u32) -> Result<u32, String> {
    let is_high = (0xD800..=0xDBFF).contains(&unit);
    if is_high && chars.get(*i) == Some(&'\\') && chars.get(*i + 1) == Some(&'u') {
        if let Some(low) = hex_value(chars, *i + 2, 4).filter(|l| (0xDC00..=0xDFFF).contains(l)) {
            *i += 6;
            return Ok(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
        }
    }
    if (SURROGATES.0..=SURROGATES.1).contains(&unit) {
        return Err("lone surrogates are not supported".into());
    }
    Ok(unit)
}

#[cfg(feature = "compiler")]
fn hex_value(chars: &[char], start: usize, len: usize) -> Option<u32> {
    let digits = chars.get(start..start.checked_add(len)?)?;
    digits.iter().try_fold(0u32, |acc, c| Some(acc * 16 + c.to_digit(16)?))
}

/// Parses a class after its `[` into a set of code points.
#[cfg(feature = "compiler")]
pub(super) fn parse_class(chars: &[char], i: &mut usize) -> Result<Ranges, String> {
    let negate = chars.get(*i) == Some(&'^');
    if negate {
        *i += 1;
    }
    let mut set = Ranges::new();
    loop {
        match chars.get(*i) {
            None => return Err("unterminated character class".into()),
            Some(']') => {
                *i += 1;
                break;
            }
            Some(_) => {}
        }
        let first = class_atom(chars, i)?;
        let is_range =
            chars.get(*i) == Some(&'-') && !matches!(chars.get(*i + 1), None | Some(']'));
        if !is_range {
            add_atom(&mut set, first);
            continue;
        }
        *i += 1; // the '-'
        match first {
            Atom::Char(lo) => match class_atom(chars, i)? {
                Atom::Char(hi) if lo <= hi => set.push((lo, hi)),
                Atom::Char(_) => return Err("range out of order in character class".into()),
                other => {
                    // `[a-\d]`: JavaScript reads the `-` literally.
                    set.push((lo, lo));
                    set.push((0x2D, 0x2D));
                    add_atom(&mut set, other);
                }
            },
            other => {
                // `[\d-z]`: the `-` is literal, the next member is read on its own.
                add_atom(&mut set, other);
                set.push((0x2D, 0x2D));
            }
        }
    }
    Ok(if negate { complement(set) } else { set })
}

#[cfg(feature = "compiler")]
fn class_atom(chars: &[char], i: &mut usize) -> Result<Atom, String> {
    let Some(&c) = chars.get(*i) else {
        return Err("unterminated character class".into());
    };
    *i += 1;
    if c == '\\' {
        parse_escape(chars, i, true)
    } else {
        Ok(Atom::Char(u32::from(c)))
    }
}

#[cfg(feature = "compiler")]
fn add_atom(set: &mut Ranges, atom: Atom) {
    match atom {
        Atom::Char(c) => set.push((c, c)),
        Atom::Set(ranges) => set.extend(ranges),
        Atom::Verbatim(_) => {}
    }
}

/// Sorts and merges overlapping or adjacent ranges.
#[cfg(feature = "compiler")]
pub(super) fn normalize(mut set: Ranges) -> Ranges {
    set.sort_unstable();
    let mut merged: Ranges = Vec::with_capacity(set.len());
    for (lo, hi) in set {
        match merged.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// All code points not in `set`.
#[cfg(feature = "compiler")]
pub(super) fn complement(set: Ranges) -> Ranges {
    let mut out = Ranges::new();
    let mut next = 0u32;
    for (lo, hi) in normalize(set) {
        if lo > next {
            out.push((next, lo - 1));
        }
        next = hi.saturating_add(1);
    }
    if next <= MAX_CODE_POINT {
        out.push((next, MAX_CODE_POINT));
    }
    out
}

/// Emits a class of explicit ranges (surrogates removed, which no `&str` holds anyway).
#[cfg(feature = "compiler")]
fn push_class(out: &mut String, set: Ranges) {
    let mut ranges = Vec::new();
    for (lo, hi) in normalize(set) {
        let (s_lo, s_hi) = SURROGATES;
        if lo < s_lo {
            ranges.push((lo, hi.min(s_lo - 1)));
        }
        if hi > s_hi {
            ranges.push((lo.max(s_hi + 1), hi));
        }
    }
    if ranges.is_empty() {
        out.push_str(NEVER);
        return;
    }
    out.push('[');
    for (lo, hi) in ranges {
        push_code_point(out, lo);
        if hi > lo {
            out.push('-');
            push_code_point(out, hi);
        }
    }
    out.push(']');
}

/// A class for a case-insensitive pattern. regex-lite folds the ends of a range into classes of
/// their own (`[\x{0}-\x{62}]` is an error under `i`), so the class gets its ASCII letters in
/// both cases here and is matched with folding off. As in JavaScript, a negated class (`[^a]`)
/// is folded before it is negated: `[^a]` matches neither `a` nor `A`.
#[cfg(feature = "compiler")]
fn push_folded_class(out: &mut String, set: Ranges, negated: bool) {
    let folded = if negated { complement(with_both_cases(complement(set))) } else { with_both_cases(set) };
    out.push_str("(?-i:");
    push_class(out, folded);
    out.push(')');
}

/// The set with every ASCII letter in it in both cases.
#[cfg(feature = "compiler")]
fn with_both_cases(mut set: Ranges) -> Ranges {
    let letters: Vec<u32> = set
        .iter()
        .flat_map(|&(lo, hi)| lo.min(0x80)..hi.saturating_add(1).min(0x80))
        .filter_map(char::from_u32)
        .filter(char::is_ascii_alphabetic)
        .map(|c| u32::from(if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }))
        .collect();
    set.extend(letters.into_iter().map(|cp| (cp, cp)));
    normalize(set)
}

#[cfg(feature = "compiler")]
fn push_code_point(out: &mut String, cp: u32) {
    out.push_str(&format!(r"\x{{{cp:X}}}"));
}

/// Emits one literal character, escaped if regex-lite gives it a meaning.
#[cfg(feature = "compiler")]
fn push_char(out: &mut String, cp: u32) {
    match char::from_u32(cp) {
        Some(c) if REGEX_LITE_META.contains(c) => {
            out.push('\\');
            out.push(c);
        }
        Some(c) if !c.is_control() => out.push(c),
        _ => push_code_point(out, cp),
    }
}

#[cfg(all(test, feature = "compiler"))]
mod tests {
    use super::*;

    fn js_match(pattern: &str, fold: bool, haystack: &str) -> bool {
        let compiled = compile_pattern(pattern, fold).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        Matcher::new(&compiled).unwrap().is_match(haystack)
    }

    #[test]
    fn literals_skip_the_regex_engine() {
        let lit = |js| literal_alternatives(js);
        let texts = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(lit("^/products/"), Some((texts(&["/products/"]), Anchor::Start)));
        assert_eq!(lit(r"checkout\.html$"), Some((texts(&["checkout.html"]), Anchor::End)));
        assert_eq!(lit("^a$"), Some((texts(&["a"]), Anchor::Whole)));
        assert_eq!(lit(r"a\$"), Some((texts(&["a$"]), Anchor::Anywhere)));
        assert_eq!(lit("(Mobile|Tablet)"), Some((texts(&["Mobile", "Tablet"]), Anchor::Anywhere)));
        assert_eq!(
            lit("Mobile|Tablet|"),
            Some((texts(&["", "Mobile", "Tablet"]), Anchor::Anywhere))
        );
        assert_eq!(
            lit("^/(a|b)/(?:c|d)$"),
            Some((texts(&["/a/c", "/a/d", "/b/c", "/b/d"]), Anchor::Whole))
        );
        for not_literal in
            ["a.b", r"\d", "^a|b", "(a|b)+", "a*", "(a(b))", "(?=a)", "(a|b)(c|d)(e|f)(g|h)(i|j)"]
        {
            assert_eq!(lit(not_literal), None, "{not_literal}");
        }
        assert!(js_match("-12-25$", false, "1980-12-25"));
        assert!(!js_match("-12-25$", false, "1980-12-25x"));
        assert!(js_match("MOBILE", true, "android mobile"));
        assert!(js_match("", false, "anything"));
        assert!(js_match("^$", true, ""));
        assert!(js_match("^/(products|offers)/3", false, "/offers/3/x"));
        assert!(!js_match("^/(products|offers)/3", false, "/x/offers/3"));
    }

    #[test]
    fn case_insensitive_patterns_beyond_ascii_are_refused_not_misread() {
        // Found by the regex_js fuzz target: JavaScript's `i` matches ǧ with Ǧ, regex-lite's
        // ASCII folding does not (fuzz/regressions/regex_js/).
        for pattern in ["}hlǧ-", "ǧ", "café|thé", r"\u00e9", "[à-ÿ]", r"[\u00c0-\u00d6]x", "Σ", "^/(en|dé)/"] {
            assert_eq!(compile_pattern(pattern, true).unwrap_err(), FOLD_UNSUPPORTED, "{pattern}");
            assert!(compile_pattern(pattern, false).is_ok(), "{pattern} without i");
        }
        // What folds the same either way stays: ASCII letters, classes that hold a letter beyond
        // ASCII with all its cases or none of them, letters without case, ß.
        for (pattern, haystack, matches) in [
            ("^/SPAREN/", "/sparen/groen", true),
            ("[^a]b", "éB", true),
            ("[^a]b", "Ab", false),
            ("x[^b]", "XB", false),
            ("x[^b]", "XC", true),
            ("^[a-c]+$", "AbC", true),
            ("^[A-C]+$", "abd", false),
            (r"^/[a-z]+/\d+$", "/SPAREN/12", true),
            ("[àÀ]x", "ÀX", true),
            ("straße", "STRAßE", true),
            ("日本", "日本語", true),
            (r"\w+", "abc", true),
            (".", "é", true),
        ] {
            assert_eq!(js_match(pattern, true, haystack), matches, "{pattern} on {haystack}");
        }
    }

    #[test]
    fn a_quantified_empty_class_matches_as_in_javascript() {
        // JavaScript: `[]` matches nothing, so `[]*` and `[]?` match the empty string.
        assert!(js_match(r"/[]*|\bz", false, "/"));
        assert!(js_match(r"a[]?b|\bq", false, "ab"));
        assert!(js_match(r"^[]*$", false, ""));
        assert!(!js_match(r"a[]b|\bq", false, "ab"));
        assert!(!js_match(r"[]", false, "anything"));
        assert!(js_match(r"x[]{0}y|\b_", false, "xy"));
    }

    #[test]
    fn the_memo_never_changes_a_verdict() {
        // `\b` keeps the pattern with regex-lite (and its memo).
        let compiled = compile_pattern(r"^/p/\d+\b", false).unwrap();
        assert!(matches!(compiled, Pattern::Regex { .. }));
        let m = Matcher::new(&compiled).unwrap();
        let long = format!("/p/{}", "1".repeat(MAX_MEMO_HAYSTACK));
        for (hay, expected) in
            [("/p/1", true), ("/p/1", true), ("/p/x", false), ("/p/1", true), (long.as_str(), true)]
        {
            assert_eq!(m.is_match(hay), expected, "{hay}");
        }
        assert!(m.clone().is_match("/p/2"));
    }

    #[test]
    fn each_pattern_gets_the_cheapest_matcher() {
        let kind = |js| match compile_pattern(js, false).unwrap() {
            Pattern::Literals { .. } => "literals",
            Pattern::Automaton(_) => "automaton",
            Pattern::Regex { .. } => "regex",
        };
        assert_eq!(kind("^/(nl|en)/help$"), "literals");
        assert_eq!(kind(r"^/products/\d+/(detail|reviews)"), "automaton");
        assert_eq!(kind(r"\bsale\b"), "regex");
        assert_eq!(kind("^a|^b$"), "automaton");
        assert_eq!(kind(r"^a|\bb"), "regex");
    }

    #[test]
    fn regexes_are_prefiltered_by_required_text() {
        let req = |js| {
            required_literals(js).into_iter().map(|r| (r.text, r.at_start)).collect::<Vec<_>>()
        };
        assert_eq!(req(r"^/products/\d+"), vec![("/products/".into(), true)]);
        assert_eq!(req(r"abc+"), vec![("ab".into(), false)]);
        assert_eq!(req(r"\/x\d"), vec![("/x".into(), false)]);
        assert_eq!(req(r"^a\d|b.|[|]"), vec![]);
        assert_eq!(req(r"^a\d|b.|(c|d)"), vec![]);
        assert_eq!(
            req(r"^a\d|b.|c\|"),
            vec![("a".into(), true), ("b".into(), false), ("c|".into(), false)]
        );
        assert_eq!(req(r"(a|b)c"), vec![]);
        assert!(js_match(r"^x\d|^y\d", false, "y1") && !js_match(r"^x\d|^y\d", false, "z1"));
        assert!(js_match(r"^/products/\d+", false, "/products/12"));
        assert!(!js_match(r"^/products/\d+", false, "/productsX12"));
        assert!(js_match(r"^/PRODUCTS/\d+", true, "/products/12"));
        assert!(js_match(r"ab?c", false, "ac"));
    }

    #[test]
    fn javascript_syntax_is_translated() {
        assert!(js_match("(Mobile|Tablet)", false, "Android Mobile Browser"));
        assert!(js_match("(mobile|tablet)", true, "Android Mobile Browser"));
        assert!(!js_match("(mobile|tablet)", false, "Android Mobile Browser"));
        assert!(js_match(r"^/a\/b/\d{2,}$", false, "/a/b/123"));
        assert!(js_match("a.c", false, "abc") && !js_match("a.c", false, "a\nc"));
        assert!(!js_match("a[]", false, "a") && js_match("a[^]c", false, "a\nc"));
        assert!(js_match(r"[\d-z]", false, "-") && !js_match(r"[\d-z]", false, "y"));
        assert!(js_match("[&&]", false, "&"));
        assert!(js_match(r"\s", false, "\u{A0}"));
        assert!(js_match("a{", false, "a{") && js_match("a{,2}", false, "a{,2}"));
        assert!(js_match(r"\u0041\x42", false, "AB"));
        assert!(js_match(r"\uD83D\uDE00", false, "\u{1F600}"));
        assert!(js_match(r"(?<year>\d{4})-", false, "2024-"));
        assert!(js_match(r"\e\<", false, "e<"));
        assert!(js_match(r"[\b]", false, "\u{8}"));
        assert!(js_match(r"\cJ", false, "\n"));
        assert!(js_match("u{2}", false, "uu"));
        assert!(js_match("a*?b+?c??d{1,2}?", false, "bcdd"));
        assert!(js_match(r"\u{2}", false, "uu"));
        assert!(!js_match("[]]", false, "]"));
    }

    #[test]
    fn unsupported_and_invalid_patterns_are_errors() {
        for bad in [
            "/???***[)",
            "(a",
            "[a",
            r"(a)\1",
            "(?=a)",
            "(?<!a)b",
            "a**",
            "a+*",
            "a{2}{3}",
            "^*",
            "*a",
            "(|+)",
            r"\b+",
            r"\",
            "[z-a]",
            "(?i)a",
            r"\uD800",
        ] {
            assert!(compile_pattern(bad, false).is_err(), "{bad}");
        }
    }
}
