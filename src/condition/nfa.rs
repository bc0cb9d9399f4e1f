//! A small bit-parallel automaton for the regular expressions targeting conditions usually
//! hold (`^/products/\d+/(detail|reviews)`, `\.pdf$`, `^[A-Z]{2}\d+$`).
//!
//! regex-lite is linear-time but costs several hundred nanoseconds per call even on a short
//! URL. Most patterns are small: characters and classes, groups, alternation, quantifiers, an
//! anchor at either end. Such a pattern becomes a position automaton (Glushkov): one state per
//! character class occurrence, at most [`MAX_POSITIONS`], no empty transitions. The set of live
//! states is one `u64`; each input character costs a table lookup and an OR of the follow
//! sets of the live states. Matching is linear in the haystack and never backtracks.
//!
//! `^` and `$` may appear anywhere (`(^|/)help(/|$)`). Anything else (word boundaries,
//! lookaround, more positions) stays with regex-lite. The compiler only builds an automaton for a pattern regex-lite also accepts, and
//! the tests check both agree on many random patterns.

use serde::{Deserialize, Serialize};

/// Most character positions (states) of one automaton: the bits of a `u64`.
pub(crate) const MAX_POSITIONS: usize = 64;
/// Most code-point ranges one position may match: every range of a class as written, and the
/// case-folded twins of each (a Unicode class folds into more pieces than it had).
pub(crate) const MAX_RANGES: usize = 4096;

/// A compiled position automaton, as stored in the pool.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct Nfa {
    /// The characters each position matches, as sorted inclusive code-point ranges (already
    /// case-folded for `$regexi`).
    #[serde(deserialize_with = "crate::limits::nested_seq::<MAX_POSITIONS, MAX_RANGES, _, _>")]
    pub sets: Vec<Vec<(u32, u32)>>,
    /// For each position, the positions that may follow it.
    #[serde(deserialize_with = "crate::limits::seq::<MAX_POSITIONS, _, _>")]
    pub follow: Vec<u64>,
    /// Positions a match may start with anywhere.
    pub first_anywhere: u64,
    /// Positions a match may start with at the start of the haystack only (after `^`).
    pub first_at_start: u64,
    /// Positions a match may end with anywhere.
    pub last_anywhere: u64,
    /// Positions a match may end with at the end of the haystack only (before `$`).
    pub last_at_end: u64,
    /// Some alternative matches the empty string at some position of any haystack.
    pub empty_anywhere: bool,
    /// Some alternative (`^...$`) matches the empty haystack.
    pub empty_haystack: bool,
}

impl Nfa {
    /// Checks what matching relies on: as many follow sets as positions, at most
    /// [`MAX_POSITIONS`], no bit beyond the last position.
    pub(crate) fn check(&self) -> Result<(), String> {
        let n = self.sets.len();
        if n > MAX_POSITIONS || self.follow.len() != n {
            return Err("automaton has an inconsistent number of positions".into());
        }
        let used = if n == MAX_POSITIONS { u64::MAX } else { (1u64 << n) - 1 };
        let in_range = |mask: u64| mask & !used == 0;
        let masks =
            [self.first_anywhere, self.first_at_start, self.last_anywhere, self.last_at_end];
        if !(masks.iter().all(|&m| in_range(m)) && self.follow.iter().all(|&f| in_range(f))) {
            return Err("automaton refers to a missing position".into());
        }
        Ok(())
    }
}

/// An automaton ready to match: [`Nfa`] plus a table of the positions each ASCII character
/// matches.
#[derive(Debug, Clone)]
pub(crate) struct NfaMatcher {
    nfa: Nfa,
    ascii: Box<[u64; 128]>,
}

impl NfaMatcher {
    pub(crate) fn new(nfa: Nfa) -> Result<NfaMatcher, String> {
        nfa.check()?;
        let mut ascii = Box::new([0u64; 128]);
        for (c, mask) in (0u32..).zip(ascii.iter_mut()) {
            *mask = positions_matching(&nfa.sets, c);
        }
        Ok(NfaMatcher { nfa, ascii })
    }

    /// The positions whose class contains `c`.
    fn mask(&self, c: char) -> u64 {
        match self.ascii.get(c as usize) {
            Some(&mask) => mask,
            None => positions_matching(&self.nfa.sets, u32::from(c)),
        }
    }

    /// Whether the pattern matches somewhere in `haystack`.
    pub(crate) fn is_match(&self, haystack: &str) -> bool {
        let nfa = &self.nfa;
        if nfa.empty_anywhere || (nfa.empty_haystack && haystack.is_empty()) {
            return true;
        }
        if haystack.is_ascii() {
            let table = &self.ascii;
            self.run(haystack.bytes().map(|b| table.get(usize::from(b)).copied().unwrap_or(0)))
        } else {
            self.run(haystack.chars().map(|c| self.mask(c)))
        }
    }

    /// Runs the automaton over the haystack, given as the positions each character matches.
    fn run(&self, masks: impl Iterator<Item = u64>) -> bool {
        let nfa = &self.nfa;
        let mut live = 0u64;
        let mut starting = nfa.first_anywhere | nfa.first_at_start;
        for mask in masks {
            if live == 0 && starting == 0 {
                return false; // every alternative is anchored at the start, and all died
            }
            let mut reachable = starting;
            let mut rest = live;
            while rest != 0 {
                let q = rest.trailing_zeros() as usize;
                reachable |= nfa.follow.get(q).copied().unwrap_or(0);
                rest &= rest - 1;
            }
            live = reachable & mask;
            starting = nfa.first_anywhere;
            if live & nfa.last_anywhere != 0 {
                return true;
            }
        }
        live & nfa.last_at_end != 0
    }
}

fn positions_matching(sets: &[Vec<(u32, u32)>], c: u32) -> u64 {
    let mut mask = 0u64;
    for (i, set) in sets.iter().enumerate().take(MAX_POSITIONS) {
        let hit = set
            .binary_search_by(|&(lo, hi)| {
                if hi < c {
                    std::cmp::Ordering::Less
                } else if lo > c {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok();
        if hit {
            mask |= 1 << i;
        }
    }
    mask
}

#[cfg(feature = "compiler")]
pub(crate) use build::compile_nfa;

/// Building automata from JavaScript patterns (feature `compiler`).
#[cfg(feature = "compiler")]
mod build {
    use super::{Nfa, MAX_POSITIONS, MAX_RANGES};
    use crate::condition::regex::{
        complement, normalize, parse_class, parse_escape, quantifier_len, Atom, Ranges,
        LINE_TERMINATORS,
    };

    /// Deepest group nesting the parser follows.
    const MAX_NESTING: u32 = 16;
    /// Largest count of a counted quantifier (`{n,m}`) worth expanding.
    const MAX_COUNT: u32 = MAX_POSITIONS as u32;

    /// A parsed pattern (the subset this module handles).
    enum Ast {
        Set(Ranges),
        /// `^`: the start of the haystack.
        Start,
        /// `$`: the end of the haystack.
        End,
        Concat(Vec<Ast>),
        Alt(Vec<Ast>),
        Repeat {
            item: Box<Ast>,
            min: u32,
            max: Option<u32>,
        },
    }

    /// The automaton of a JavaScript pattern regex-lite accepts, if it is in the subset.
    pub(crate) fn compile_nfa(js: &str, fold: bool) -> Option<Nfa> {
        let chars: Vec<char> = js.chars().collect();
        let mut parser = Parser { chars: &chars, i: 0, depth: 0, fold };
        let ast = parser.alternation()?;
        if parser.i != chars.len() {
            return None;
        }
        let mut builder = Builder { sets: Vec::new(), follow: Vec::new() };
        let info = builder.build(&ast)?;
        Some(Nfa {
            sets: builder.sets,
            follow: builder.follow,
            first_anywhere: info.first,
            first_at_start: info.first_at_start,
            last_anywhere: info.last,
            last_at_end: info.last_at_end,
            // Every haystack has a start and an end where such an empty match can sit.
            empty_anywhere: info.empty || info.empty_at_start || info.empty_at_end,
            empty_haystack: info.empty_haystack,
        })
    }

    struct Parser<'a> {
        chars: &'a [char],
        i: usize,
        depth: u32,
        fold: bool,
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<char> {
            self.chars.get(self.i).copied()
        }

        /// `a|b|c` up to a `)` or the end.
        fn alternation(&mut self) -> Option<Ast> {
            let mut branches = vec![self.concatenation()?];
            while self.peek() == Some('|') {
                self.i += 1;
                branches.push(self.concatenation()?);
            }
            Some(if branches.len() == 1 { branches.pop()? } else { Ast::Alt(branches) })
        }

        /// Quantified atoms up to a `|`, a `)` or the end.
        fn concatenation(&mut self) -> Option<Ast> {
            let mut items = Vec::new();
            while !matches!(self.peek(), None | Some('|' | ')')) {
                let atom = self.atom()?;
                let quantifiable = !matches!(atom, Ast::Start | Ast::End);
                let item = self.quantified(atom)?;
                if !quantifiable && matches!(item, Ast::Repeat { .. }) {
                    return None; // `^*`: JavaScript rejects it anyway
                }
                items.push(item);
            }
            Some(Ast::Concat(items))
        }

        fn atom(&mut self) -> Option<Ast> {
            let c = self.peek()?;
            self.i += 1;
            let set = match c {
                '(' => return self.group(),
                '^' => return Some(Ast::Start),
                '$' => return Some(Ast::End),
                '[' => {
                    // As in JavaScript, a negated class is folded before it is negated.
                    let negated = self.peek() == Some('^');
                    let set = parse_class(self.chars, &mut self.i).ok()?;
                    if self.fold && negated {
                        return Some(Ast::Set(complement(fold_ascii(complement(set)))));
                    }
                    set
                }
                '.' => complement(LINE_TERMINATORS.to_vec()),
                '\\' => match parse_escape(self.chars, &mut self.i, false).ok()? {
                    Atom::Char(cp) => vec![(cp, cp)],
                    Atom::Set(set) => set,
                    Atom::Verbatim(_) => return None, // \b, \B
                },
                '{' if quantifier_len(self.chars, self.i).is_some() => return None,
                '*' | '+' | '?' => return None,
                other => vec![(u32::from(other), u32::from(other))],
            };
            Some(Ast::Set(if self.fold { fold_ascii(set) } else { normalize(set) }))
        }

        /// After `(`: `(?:...)`, `(?<name>...)` or `(...)`.
        fn group(&mut self) -> Option<Ast> {
            if self.peek() == Some('?') {
                match self.chars.get(self.i + 1)? {
                    ':' => self.i += 2,
                    '<' if !matches!(self.chars.get(self.i + 2), Some('=' | '!')) => {
                        let close = self.chars.iter().skip(self.i).position(|c| *c == '>')?;
                        self.i += close + 1;
                    }
                    _ => return None, // lookaround
                }
            }
            self.depth += 1;
            if self.depth > MAX_NESTING {
                return None;
            }
            let inner = self.alternation()?;
            self.depth -= 1;
            if self.peek() != Some(')') {
                return None;
            }
            self.i += 1;
            Some(inner)
        }

        /// The atom with its quantifier, if any (a lazy `?` changes nothing for a yes/no match).
        fn quantified(&mut self, atom: Ast) -> Option<Ast> {
            let (min, max) = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => {
                    // A `{` that is no quantifier is a literal: the next atom.
                    let Some(len) = quantifier_len(self.chars, self.i + 1) else {
                        return Some(atom);
                    };
                    let body: String = self.chars.iter().skip(self.i + 1).take(len - 1).collect();
                    self.i += len; // the body and `}`; the `{` is consumed below
                    counts(&body)?
                }
                _ => return Some(atom),
            };
            self.i += 1;
            if self.peek() == Some('?') {
                self.i += 1;
            }
            Some(Ast::Repeat { item: Box::new(atom), min, max })
        }
    }

    /// `n`, `n,` or `n,m` of a counted quantifier.
    fn counts(body: &str) -> Option<(u32, Option<u32>)> {
        let (min, max) = match body.split_once(',') {
            None => {
                let n = body.parse().ok()?;
                (n, Some(n))
            }
            Some((min, "")) => (min.parse().ok()?, None),
            Some((min, max)) => (min.parse().ok()?, Some(max.parse().ok()?)),
        };
        let fits = min <= MAX_COUNT && max.is_none_or(|m| m >= min && m <= MAX_COUNT);
        fits.then_some((min, max))
    }

    /// Adds the other case of every ASCII letter in `set` (regex-lite's case-insensitive mode).
    fn fold_ascii(set: Ranges) -> Ranges {
        let mut folded = set.clone();
        for (lo, hi) in set {
            for c in lo.max(0x41)..=hi.min(0x7A) {
                match char::from_u32(c) {
                    Some(l) if l.is_ascii_uppercase() => folded.push((c + 0x20, c + 0x20)),
                    Some(l) if l.is_ascii_lowercase() => folded.push((c - 0x20, c - 0x20)),
                    _ => {}
                }
            }
        }
        normalize(folded)
    }

    /// Glushkov facts of a sub-pattern. A match of it may begin with a position of `first`
    /// anywhere or of `first_at_start` at the start of the haystack only, and end with a
    /// position of `last` anywhere or of `last_at_end` at the end only. The `empty*` flags say
    /// where it matches the empty string: anywhere, at the start, at the end, in "".
    #[derive(Clone, Copy, Default)]
    struct Info {
        first: u64,
        first_at_start: u64,
        last: u64,
        last_at_end: u64,
        empty: bool,
        empty_at_start: bool,
        empty_at_end: bool,
        empty_haystack: bool,
    }

    impl Info {
        /// The empty pattern (and what an optional item adds).
        const EMPTY: Info = Info {
            first: 0,
            first_at_start: 0,
            last: 0,
            last_at_end: 0,
            empty: true,
            empty_at_start: true,
            empty_at_end: true,
            empty_haystack: true,
        };

        fn optional(self) -> Info {
            Info {
                empty: true,
                empty_at_start: true,
                empty_at_end: true,
                empty_haystack: true,
                ..self
            }
        }

        fn or(self, b: Info) -> Info {
            Info {
                first: self.first | b.first,
                first_at_start: self.first_at_start | b.first_at_start,
                last: self.last | b.last,
                last_at_end: self.last_at_end | b.last_at_end,
                empty: self.empty || b.empty,
                empty_at_start: self.empty_at_start || b.empty_at_start,
                empty_at_end: self.empty_at_end || b.empty_at_end,
                empty_haystack: self.empty_haystack || b.empty_haystack,
            }
        }
    }

    struct Builder {
        sets: Vec<Ranges>,
        follow: Vec<u64>,
    }

    impl Builder {
        fn build(&mut self, ast: &Ast) -> Option<Info> {
            match ast {
                Ast::Set(set) => {
                    let p = self.sets.len();
                    if p >= MAX_POSITIONS || set.len() > MAX_RANGES {
                        return None;
                    }
                    self.sets.push(set.clone());
                    self.follow.push(0);
                    Some(Info { first: 1 << p, last: 1 << p, ..Info::default() })
                }
                Ast::Start => {
                    Some(Info { empty_at_start: true, empty_haystack: true, ..Info::default() })
                }
                Ast::End => {
                    Some(Info { empty_at_end: true, empty_haystack: true, ..Info::default() })
                }
                Ast::Concat(items) => {
                    let mut acc = Info::EMPTY;
                    for item in items {
                        let next = self.build(item)?;
                        acc = self.concat(acc, next);
                    }
                    Some(acc)
                }
                Ast::Alt(branches) => {
                    let mut acc = Info::default();
                    for branch in branches {
                        acc = acc.or(self.build(branch)?);
                    }
                    Some(acc)
                }
                Ast::Repeat { item, min, max } => self.repeat(item, *min, *max),
            }
        }

        /// `item{min,max}` as copies: `min` required ones, then optional ones or a loop.
        fn repeat(&mut self, item: &Ast, min: u32, max: Option<u32>) -> Option<Info> {
            let mut acc = Info::EMPTY;
            for k in 0..min {
                let copy = self.build(item)?;
                if max.is_none() && k + 1 == min {
                    self.link(copy.last, copy.first); // the last required copy repeats
                }
                acc = self.concat(acc, copy);
            }
            match max {
                None if min == 0 => {
                    let copy = self.build(item)?;
                    self.link(copy.last, copy.first);
                    acc = self.concat(acc, copy.optional());
                }
                None => {}
                Some(max) => {
                    for _ in min..max {
                        let copy = self.build(item)?;
                        acc = self.concat(acc, copy.optional());
                    }
                }
            }
            Some(acc)
        }

        /// `a` then `b`. Characters cannot follow an end (`$`) nor precede a start (`^`).
        fn concat(&mut self, a: Info, b: Info) -> Info {
            self.link(a.last, b.first);
            Info {
                first: a.first | if a.empty { b.first } else { 0 },
                first_at_start: a.first_at_start
                    | if a.empty_at_start { b.first | b.first_at_start } else { 0 },
                last: b.last | if b.empty { a.last } else { 0 },
                last_at_end: b.last_at_end
                    | if b.empty_at_end { a.last | a.last_at_end } else { 0 },
                empty: a.empty && b.empty,
                empty_at_start: a.empty_at_start && b.empty_at_start,
                empty_at_end: a.empty_at_end && b.empty_at_end,
                empty_haystack: a.empty_haystack && b.empty_haystack,
            }
        }

        /// Every position in `from` may be followed by every position in `to`.
        fn link(&mut self, from: u64, to: u64) {
            for (q, follow) in self.follow.iter_mut().enumerate() {
                if from & (1 << q) != 0 {
                    *follow |= to;
                }
            }
        }
    }
}

#[cfg(all(test, feature = "compiler"))]
mod tests {
    use super::*;
    use crate::condition::regex::{build_regex, translate};

    fn nfa(js: &str, fold: bool) -> Option<NfaMatcher> {
        compile_nfa(js, fold).map(|n| NfaMatcher::new(n).expect("valid automaton"))
    }

    #[test]
    fn common_patterns_become_automata() {
        let m = nfa(r"^/products/\d+/(detail|reviews)", false).expect("supported");
        assert!(m.is_match("/products/12/detail?x"));
        assert!(m.is_match("/products/1/reviews"));
        assert!(!m.is_match("/products//detail"));
        assert!(!m.is_match("x/products/1/detail"));
        let m = nfa(r"^[A-Z]{2}\d{2,3}$", false).expect("supported");
        assert!(m.is_match("NL123") && m.is_match("BE12"));
        assert!(!m.is_match("NL1234") && !m.is_match("nl12"));
        let m = nfa(r"^[A-Z]{2}\d{2,3}$", true).expect("supported");
        assert!(m.is_match("nl12"));
        let m = nfa(r"\.pdf$", false).expect("supported");
        assert!(m.is_match("a.pdf") && !m.is_match("a.pdf?x"));
        let m = nfa("a*$", false).expect("supported");
        assert!(m.is_match("b") && m.is_match(""));
        let m = nfa("^a*$", false).expect("supported");
        assert!(m.is_match("") && m.is_match("aa") && !m.is_match("ab"));
        let m = nfa(r"^\d+$|^$|x$", false).expect("supported");
        assert!(m.is_match("12") && m.is_match("") && m.is_match("ax"));
        assert!(!m.is_match("1a") && !m.is_match("xa"));
        let m = nfa("(^|/)help(/|$)", false).expect("supported");
        assert!(m.is_match("help") && m.is_match("/x/help/") && m.is_match("a/help"));
        assert!(!m.is_match("xhelp") && !m.is_match("/helpx"));
        let m = nfa("a^b|c$d|^$", false).expect("supported");
        assert!(m.is_match("") && !m.is_match("ab") && !m.is_match("cd"));
        let deep = "(((((((((((((((((a)))))))))))))))))";
        for unsupported in [r"\bword", "(?=a)", "(?<=a)b", "a{65}", deep] {
            assert!(compile_nfa(unsupported, false).is_none(), "{unsupported}");
        }
    }

    /// A tiny deterministic generator of patterns and haystacks.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    fn random_pattern(rng: &mut Rng, depth: u32) -> String {
        const ATOMS: &[&str] = &[
            "a", "b", "c", "1", ".", "[ab]", "[^a]", r"\d", r"\w", r"\s", "[a-c1]", "é", r"\.",
            "(^|a)", "(b|$)", "^", "$",
        ];
        const QUANTIFIERS: &[&str] =
            &["", "", "", "*", "+", "?", "{2}", "{1,2}", "{0,}", "*?", "{2,3}"];
        let mut out = String::new();
        for _ in 0..1 + rng.next(4) {
            if depth < 3 && rng.next(5) == 0 {
                let branches: Vec<String> =
                    (0..1 + rng.next(3)).map(|_| random_pattern(rng, depth + 1)).collect();
                out.push_str(&format!("({})", branches.join("|")));
            } else {
                out.push_str(ATOMS[rng.next(ATOMS.len())]);
            }
            out.push_str(QUANTIFIERS[rng.next(QUANTIFIERS.len())]);
        }
        out
    }

    #[test]
    fn automata_agree_with_regex_lite() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let alphabet = ['a', 'b', 'c', '1', '.', ' ', '\n', 'é', 'A'];
        let mut compared = 0;
        for _ in 0..6000 {
            let mut pattern = random_pattern(&mut rng, 0);
            if rng.next(3) == 0 {
                pattern.insert(0, '^');
            }
            if rng.next(3) == 0 {
                pattern.push('$');
            }
            if rng.next(4) == 0 {
                let (open, close) = [("", ""), ("^", ""), ("", "$"), ("^", "$")][rng.next(4)];
                pattern = format!("{pattern}|{open}{}{close}", random_pattern(&mut rng, 1));
            }
            let fold = rng.next(4) == 0;
            let Ok(source) = translate(&pattern) else { continue };
            let Ok(regex) = build_regex(&source, fold) else { continue };
            let Some(automaton) = nfa(&pattern, fold) else { continue };
            for _ in 0..25 {
                let haystack: String =
                    (0..rng.next(8)).map(|_| alphabet[rng.next(alphabet.len())]).collect();
                assert_eq!(
                    automaton.is_match(&haystack),
                    regex.is_match(&haystack),
                    "pattern {pattern:?} (fold {fold}) on {haystack:?}"
                );
                compared += 1;
            }
        }
        assert!(compared > 50_000, "only {compared} comparisons");
    }

    #[test]
    fn malformed_automata_are_rejected() {
        let ok = Nfa {
            sets: vec![vec![(97, 97)]],
            follow: vec![1],
            first_anywhere: 1,
            first_at_start: 0,
            last_anywhere: 1,
            last_at_end: 0,
            empty_anywhere: false,
            empty_haystack: false,
        };
        assert!(NfaMatcher::new(ok.clone()).is_ok());
        assert!(NfaMatcher::new(Nfa { last_at_end: 2, ..ok.clone() }).is_err());
        assert!(NfaMatcher::new(Nfa { follow: vec![], ..ok.clone() }).is_err());
        assert!(NfaMatcher::new(Nfa { follow: vec![4], ..ok }).is_err());
    }
}
