//! Recognising personal data, so that a profile snapshot stays pseudonymous.
//!
//! A snapshot should carry only what a decision needs: segments, holdings, bands, model scores,
//! consent. These checks catch the usual ways personal data slips in anyway:
//!
//! * **names that say what they hold** ([`personal_name`]), in English and in Dutch (the bank's
//!   own field names are Dutch): `name`, `email`, `iban`, `naam`, `voornaam`, `tussenvoegsel`,
//!   `adres`, `postcode`, `woonplaats`, `geboortedatum`, `telefoonnummer`, `mobiel`,
//!   `rekeningnummer`, `klantnummer`, `burgerservicenummer`, `paspoortnummer`, … Names are
//!   compared after lower-casing, folding full-width and accented Latin letters to ASCII, dropping
//!   everything that is not a letter or digit (`_`, `-`, `.`, `/`, spaces, invisible characters)
//!   and trailing digits (`email2`), and also as a suffix for the unambiguous ones
//!   (`partner_email`, `contactPhone`, `woon_postcode`, `partnerVoornaam`). A bare `…name` or
//!   `…naam` suffix is not among them: `campaign_name` and `productnaam` are fine.
//! * **values that look like it** ([`personal_value`]):
//!   - an e-mail address: `x@host.tld`, also with a full-width or small `@` (`＠`, `﹫`), a
//!     percent-encoded one (`%40`), full-width dots, and letters of any script (`jan@bücher.de`);
//!   - an IBAN, in one piece, in groups, or glued inside a longer token (`refNL91ABNA…`,
//!     `NL91ABNA0417164300EUR`): a country of the IBAN registry, two check digits, the country's
//!     exact BBAN structure (letters and digits where its registry entry has them), and the
//!     mod-97 check;
//!   - a phone number: `+` and 9–15 digits, `00` and 11–17 digits, or a Dutch `0` number of
//!     exactly 10 digits such as `06 1234 5678`, with spaces, dashes, dots, slashes or
//!     parentheses between the digits;
//!   - a citizen service number (BSN): 9 digits (or 8, a BSN whose leading 0 was dropped),
//!     alone or written `1112.22.333` / `111 222 333`, that pass the 11-test;
//!   - a card number: 13–19 digits, optionally in groups separated by spaces or dashes, that
//!     pass the Luhn check.
//!
//! Numbers (BSNs, cards, phones) count only as a whole run of digits, not glued to letters or
//! other digits, so that ids made of letters and digits never trip them; only an IBAN, whose
//! structure is specific enough, is also found inside a token (there it must be in capitals, as
//! IBANs are written electronically).
//!
//! **False positives are deliberate, and bounded.** The checks run on strings only: a JSON number
//! (an amount, a count, a score, `123456789`) is never refused, and that is how a profile should
//! carry numbers. A *string* of 9 digits passes the 11-test 1 time in 11, one of 8 digits
//! likewise (so a compact date such as `"20261205"` is refused 1 time in 11: write dates as
//! RFC 3339, `2026-12-05`, which no check refuses), and a string of 13–19 digits passes Luhn 1
//! time in 10 (a millisecond timestamp in a string, an order number). Strings of only digits of
//! those lengths have no place in a pseudonymous snapshot, so the bank must send them as numbers
//! or leave them out. Random ids must not trip the checks: a canonical UUID (`8-4-4-4-12` hex
//! digits, any case) is never personal data; nor is an id of letters only (what the edge worker
//! gives visitors), a base64url id, or a lower-case hex id that has at least one letter. A hex
//! id that happens to be made of digits only is a number: one of 16 hex digits is that 1 time in
//! 1,900, and then passes Luhn 1 time in 10 (1 in 19,000 such ids refused: measured, as the
//! other rates here). A hex id in capitals, which is unusual, holds something that reads as an
//! IBAN inside it about 1 time in 100,000. The property tests below generate each side.
//!
//! The checks allocate nothing and never panic: they read bytes and chars through iterators
//! and `get`, never by slicing at an offset that may split a character.

/// Attribute names that hold personal data, normalised (see [`personal_name`]), that are
/// refused only as the whole name: as a suffix they would be ambiguous (`campaign_name`).
const PERSONAL_NAMES: &[(&str, &str)] = &[
    ("name", "a name"),
    ("givenname", "a name"),
    ("familyname", "a name"),
    ("middlename", "a name"),
    ("initials", "a name"),
    ("naam", "a name"),
    ("mail", "an e-mail address"),
    ("phone", "a phone number"),
    ("telephone", "a phone number"),
    ("tel", "a phone number"),
    ("mobilenumber", "a phone number"),
    ("mobilephone", "a phone number"),
    ("telefoon", "a phone number"),
    ("mobiel", "a phone number"),
    ("gsm", "a phone number"),
    ("bankaccount", "an account number"),
    ("bankrekening", "an account number"),
    ("creditcard", "a card number"),
    ("address", "an address"),
    ("street", "an address"),
    ("adres", "an address"),
    ("straat", "an address"),
    ("ssn", "a social security number"),
    ("birthday", "a date of birth"),
    ("dob", "a date of birth"),
    ("clientnumber", "a customer number"),
];

/// Normalised names that hold personal data wherever they appear, alone or at the end of a name
/// (`partner_email`, `contactPhoneNumber`, `spouse_first_name`, `woon_postcode`).
const PERSONAL_SUFFIXES: &[(&str, &str)] = &[
    ("email", "an e-mail address"),
    ("emailaddress", "an e-mail address"),
    ("emailadres", "an e-mail address"),
    ("mailadres", "an e-mail address"),
    ("phonenumber", "a phone number"),
    ("telefoonnummer", "a phone number"),
    ("mobielnummer", "a phone number"),
    ("mobielenummer", "a phone number"),
    ("gsmnummer", "a phone number"),
    ("iban", "an account number"),
    ("accountnumber", "an account number"),
    ("rekeningnummer", "an account number"),
    ("cardnumber", "a card number"),
    ("kaartnummer", "a card number"),
    ("pasnummer", "a card number"),
    ("firstname", "a name"),
    ("lastname", "a name"),
    ("fullname", "a name"),
    ("surname", "a name"),
    ("partnername", "a name"),
    ("spousename", "a name"),
    ("childname", "a name"),
    ("contactname", "a name"),
    ("customername", "a name"),
    ("holdername", "a name"),
    ("username", "a user name"),
    ("voornaam", "a name"),
    ("voornamen", "a name"),
    ("achternaam", "a name"),
    ("tussenvoegsel", "a name"),
    ("tussenvoegsels", "a name"),
    ("voorletters", "a name"),
    ("roepnaam", "a name"),
    ("geslachtsnaam", "a name"),
    ("familienaam", "a name"),
    ("meisjesnaam", "a name"),
    ("volledigenaam", "a name"),
    ("klantnaam", "a name"),
    ("partnernaam", "a name"),
    ("contactnaam", "a name"),
    ("streetaddress", "an address"),
    ("homeaddress", "an address"),
    ("housenumber", "an address"),
    ("postcode", "an address"),
    ("postalcode", "an address"),
    ("zipcode", "an address"),
    ("woonadres", "an address"),
    ("postadres", "an address"),
    ("huisadres", "an address"),
    ("factuuradres", "an address"),
    ("straatnaam", "an address"),
    ("huisnummer", "an address"),
    ("huisnummertoevoeging", "an address"),
    ("woonplaats", "an address"),
    ("bsn", "a citizen service number"),
    ("burgerservicenummer", "a citizen service number"),
    ("sofinummer", "a citizen service number"),
    ("socialsecuritynumber", "a social security number"),
    ("passportnumber", "a passport number"),
    ("paspoortnummer", "a passport number"),
    ("rijbewijsnummer", "a driving licence number"),
    ("dateofbirth", "a date of birth"),
    ("birthdate", "a date of birth"),
    ("geboortedatum", "a date of birth"),
    ("geboortedag", "a date of birth"),
    ("geboorteplaats", "a place of birth"),
    ("customernumber", "a customer number"),
    ("klantnummer", "a customer number"),
    ("relatienummer", "a customer number"),
    ("clientnummer", "a customer number"),
];

/// Bytes of a normalised name kept for matching: more than the longest entry above, so a
/// longer name can only match as a suffix.
const NAME_TAIL: usize = 32;

/// What personal data an attribute name suggests, if any.
pub fn personal_name(name: &str) -> Option<&'static str> {
    let mut tail = [0u8; NAME_TAIL];
    let mut start = NAME_TAIL;
    let mut whole = true;
    // Walk the name backwards, so the tail buffer holds the end of the normalised name.
    let mut normal = name.chars().rev().filter_map(name_byte).skip_while(u8::is_ascii_digit);
    for byte in normal.by_ref() {
        match start.checked_sub(1).and_then(|s| tail.get_mut(s).map(|slot| (s, slot))) {
            Some((s, slot)) => {
                *slot = byte;
                start = s;
            }
            None => {
                whole = false;
                break;
            }
        }
    }
    let tail = tail.get(start..).unwrap_or_default();
    let exact = |n: &&(&str, &str)| whole && n.0.as_bytes() == tail;
    PERSONAL_NAMES
        .iter()
        .find(exact)
        .or_else(|| PERSONAL_SUFFIXES.iter().find(|(s, _)| tail.ends_with(s.as_bytes())))
        .map(|(_, what)| *what)
        .or_else(|| personal_value(name))
}

/// A character of a name as the lists above spell it: ASCII letters lower-cased, digits kept,
/// full-width forms and accented Latin letters folded to ASCII, other letters kept as a byte
/// that matches nothing, everything else (separators, spaces, invisible characters) dropped.
fn name_byte(c: char) -> Option<u8> {
    let c = fold_full_width(c);
    if c.is_ascii_alphanumeric() {
        return u8::try_from(c.to_ascii_lowercase()).ok();
    }
    let folded = match c {
        'À'..='Å' | 'à'..='å' => b'a',
        'Ç' | 'ç' => b'c',
        'È'..='Ë' | 'è'..='ë' => b'e',
        'Ì'..='Ï' | 'ì'..='ï' => b'i',
        'Ñ' | 'ñ' => b'n',
        'Ò'..='Ö' | 'ò'..='ö' | 'Ø' | 'ø' => b'o',
        'Ù'..='Ü' | 'ù'..='ü' => b'u',
        'Ý' | 'ý' | 'ÿ' => b'y',
        c if c.is_alphanumeric() => NO_ASCII,
        _ => return None,
    };
    Some(folded)
}

/// Stands for a letter or digit outside ASCII in a normalised name: no list entry has it.
const NO_ASCII: u8 = 0xff;

/// Full-width ASCII forms (U+FF01–U+FF5E) as their ASCII characters.
fn fold_full_width(c: char) -> char {
    const FULL_WIDTH: std::ops::RangeInclusive<u32> = 0xff01..=0xff5e;
    const OFFSET: u32 = 0xff01 - 0x21;
    let code = u32::from(c);
    if FULL_WIDTH.contains(&code) {
        char::from_u32(code - OFFSET).unwrap_or(c)
    } else {
        c
    }
}

/// What personal data a string looks like, if any.
pub fn personal_value(text: &str) -> Option<&'static str> {
    if is_uuid(text) {
        None
    } else if contains_email(text) {
        Some("an e-mail address")
    } else if contains_iban(text) {
        Some("an IBAN")
    } else if contains_phone(text) {
        Some("a phone number")
    } else {
        numbers(text)
    }
}

/// A canonical UUID: 32 hex digits in groups of 8, 4, 4, 4 and 12, joined by dashes.
fn is_uuid(text: &str) -> bool {
    const DASHES: [usize; 4] = [8, 13, 18, 23];
    const LEN: usize = 36;
    text.len() == LEN
        && text.bytes().enumerate().all(|(i, b)| if DASHES.contains(&i) { b == b'-' } else { b.is_ascii_hexdigit() })
}

/// Whether the byte at `i` starts a word: it is the first, or follows a byte that is not an ASCII
/// letter or digit.
fn starts_word(b: &[u8], i: usize) -> bool {
    i.checked_sub(1).and_then(|p| b.get(p)).is_none_or(|c| !c.is_ascii_alphanumeric())
}

// ---- e-mail addresses

/// Characters an `@` is written with: the ASCII one, the full-width one (U+FF20) and the small
/// one (U+FE6B).
const AT_SIGNS: [char; 3] = ['@', '\u{ff20}', '\u{fe6b}'];
/// An `@` percent-encoded, as in a URL.
const PERCENT_AT: &str = "%40";
/// Dots a domain name may be written with; IDNA reads them all as `.`.
const DOTS: [char; 4] = ['.', '\u{3002}', '\u{ff0e}', '\u{ff61}'];
/// Shortest top-level domain.
const MIN_TLD_CHARS: usize = 2;
/// How an internationalised top-level domain is written in ASCII.
const PUNYCODE_PREFIX: &str = "xn--";

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn is_domain_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || DOTS.contains(&c)
}

/// `local@domain.tld`: a non-empty local part, an `@` in any of its forms, a domain of at least
/// two non-empty labels and a top-level label of two or more letters (or punycode).
fn contains_email(text: &str) -> bool {
    text.char_indices().any(|(at, c)| {
        let after = if AT_SIGNS.contains(&c) {
            at + c.len_utf8()
        } else if text.get(at..).is_some_and(|rest| rest.starts_with(PERCENT_AT)) {
            at + PERCENT_AT.len()
        } else {
            return false;
        };
        let local = text.get(..at).is_some_and(|before| before.chars().next_back().is_some_and(is_local_char));
        local && text.get(after..).is_some_and(is_domain)
    })
}

/// Whether `rest` starts with a domain name of two or more labels.
fn is_domain(rest: &str) -> bool {
    let end = rest.char_indices().find(|&(_, c)| !is_domain_char(c)).map_or(rest.len(), |(i, _)| i);
    let Some(domain) = rest.get(..end) else {
        return false;
    };
    let domain = domain.strip_suffix(DOTS).unwrap_or(domain);
    let labels_ok = domain.split(DOTS).all(|label| !label.is_empty());
    let count = domain.split(DOTS).count();
    let tld_ok = domain.rsplit(DOTS).next().is_some_and(|tld| {
        let letters = tld.chars().count() >= MIN_TLD_CHARS && tld.chars().all(char::is_alphabetic);
        let punycode = tld.len() > PUNYCODE_PREFIX.len()
            && tld.get(..PUNYCODE_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(PUNYCODE_PREFIX));
        letters || punycode
    });
    count >= 2 && labels_ok && tld_ok
}

// ---- IBANs

/// The BBAN structure of every country in the IBAN registry (ISO 13616), by country code, in
/// the registry's notation without `!`: `n` digits, `a` letters, `c` letters or digits. The
/// IBAN is the country code, two check digits and the BBAN.
const IBAN_FORMATS: &[(&[u8; 2], &str)] = &[
    (b"AD", "4n4n12c"), (b"AE", "3n16n"), (b"AL", "8n16c"), (b"AT", "5n11n"), (b"AZ", "4a20c"),
    (b"BA", "3n3n8n2n"), (b"BE", "3n7n2n"), (b"BG", "4a4n2n8c"), (b"BH", "4a14c"),
    (b"BI", "5n5n11n2n"), (b"BR", "8n5n10n1a1c"), (b"BY", "4c4n16c"), (b"CH", "5n12c"),
    (b"CR", "4n14n"), (b"CY", "3n5n16c"), (b"CZ", "4n6n10n"), (b"DE", "8n10n"),
    (b"DJ", "5n5n11n2n"), (b"DK", "4n9n1n"), (b"DO", "4c20n"), (b"EE", "2n14n"),
    (b"EG", "4n4n17n"), (b"ES", "4n4n1n1n10n"), (b"FI", "3n11n"), (b"FK", "2a12n"),
    (b"FO", "4n9n1n"), (b"FR", "5n5n11c2n"), (b"GB", "4a6n8n"), (b"GE", "2a16n"),
    (b"GI", "4a15c"), (b"GL", "4n9n1n"), (b"GR", "3n4n16c"), (b"GT", "4c20c"), (b"HN", "4a20n"),
    (b"HR", "7n10n"), (b"HU", "3n4n1n15n1n"), (b"IE", "4a6n8n"), (b"IL", "3n3n13n"),
    (b"IQ", "4a3n12n"), (b"IS", "4n2n6n10n"), (b"IT", "1a5n5n12c"), (b"JO", "4a4n18c"),
    (b"KW", "4a22c"), (b"KZ", "3n13c"), (b"LB", "4n20c"), (b"LC", "4a24c"), (b"LI", "5n12c"),
    (b"LT", "5n11n"), (b"LU", "3n13c"), (b"LV", "4a13c"), (b"LY", "3n3n15n"),
    (b"MC", "5n5n11c2n"), (b"MD", "2c18c"), (b"ME", "3n13n2n"), (b"MK", "3n10c2n"),
    (b"MN", "4n12n"), (b"MR", "5n5n11n2n"), (b"MT", "4a5n18c"), (b"MU", "4a2n2n12n3n3a"),
    (b"NI", "4a20n"), (b"NL", "4a10n"), (b"NO", "4n6n1n"), (b"OM", "3n16c"), (b"PK", "4a16c"),
    (b"PL", "8n16n"), (b"PS", "4a21c"), (b"PT", "4n4n11n2n"), (b"QA", "4a21c"), (b"RO", "4a16c"),
    (b"RS", "3n13n2n"), (b"RU", "9n5n15c"), (b"SA", "2n18c"), (b"SC", "4a2n2n16n3a"),
    (b"SD", "2n12n"), (b"SE", "3n16n1n"), (b"SI", "5n8n2n"), (b"SK", "4n6n10n"),
    (b"SM", "1a5n5n12c"), (b"SO", "4n3n12n"), (b"ST", "8n11n2n"), (b"SV", "4a20n"),
    (b"TL", "3n14n2n"), (b"TN", "2n3n13n2n"), (b"TR", "5n1n16c"), (b"UA", "6n19c"),
    (b"VA", "3n15n"), (b"VG", "4a16n"), (b"XK", "4n10n2n"), (b"YE", "4a4n18c"),
];

/// The BBAN structure of a country with IBANs.
fn bban_format(code: [u8; 2]) -> Option<&'static str> {
    IBAN_FORMATS.iter().find(|(c, _)| **c == code).map(|(_, format)| *format)
}

/// The classes of a BBAN format one character at a time: `"2a1n"` gives `a a n`.
fn bban_classes(format: &str) -> impl Iterator<Item = u8> + '_ {
    let mut count = 0usize;
    format.bytes().flat_map(move |b| {
        let run = if b.is_ascii_digit() {
            count = count * 10 + usize::from(b - b'0');
            0
        } else {
            std::mem::take(&mut count)
        };
        std::iter::repeat_n(b, run)
    })
}

/// Whether `c` is of a BBAN class; `capitals` asks letters to be capitals.
fn of_class(c: u8, class: u8, capitals: bool) -> bool {
    let letter = if capitals { c.is_ascii_uppercase() } else { c.is_ascii_alphabetic() };
    match class {
        b'n' => c.is_ascii_digit(),
        b'a' => letter,
        _ => c.is_ascii_digit() || letter,
    }
}

/// ISO 7064 mod 97-10, one character further: digits are themselves, letters 10–35.
fn mod97(remainder: u32, c: u8) -> u32 {
    const MODULUS: u32 = 97;
    const LETTER_BASE: u32 = 10;
    if c.is_ascii_digit() {
        (remainder * 10 + u32::from(c - b'0')) % MODULUS
    } else {
        (remainder * 100 + u32::from(c.to_ascii_uppercase().wrapping_sub(b'A')) + LETTER_BASE) % MODULUS
    }
}

/// An IBAN anywhere in the text: from a letter that starts a word (either case), or from a
/// capital inside a word (then every letter of the IBAN must be a capital), the letters and
/// digits that follow, whatever separates them, are read as country code, check digits and that
/// country's BBAN, and the mod-97 check must hold (ISO 13616: the BBAN first, then the four
/// leading characters, is 1 mod 97).
fn contains_iban(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len()).any(|start| {
        let capitals = !starts_word(b, start);
        let mut chars = b.get(start..).unwrap_or_default().iter().copied().filter(u8::is_ascii_alphanumeric);
        let head = [chars.next(), chars.next(), chars.next(), chars.next()];
        let [Some(c1), Some(c2), Some(d1), Some(d2)] = head else {
            return false;
        };
        let shaped = of_class(c1, b'a', capitals) && of_class(c2, b'a', capitals) && d1.is_ascii_digit() && d2.is_ascii_digit();
        let Some(format) = bban_format([c1.to_ascii_uppercase(), c2.to_ascii_uppercase()]).filter(|_| shaped) else {
            return false;
        };
        let mut remainder = 0;
        for class in bban_classes(format) {
            match chars.next() {
                Some(c) if of_class(c, class, capitals) => remainder = mod97(remainder, c),
                _ => return false,
            }
        }
        [c1, c2, d1, d2].into_iter().fold(remainder, mod97) == 1
    })
}

// ---- phone numbers

fn is_phone_separator(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')')
}

/// Most digits a phone number has (`00` and 15 digits).
const MAX_PHONE_DIGITS: usize = 17;

/// A phone number: `+` and 9–15 digits, `00` and 11–17 digits, or `0` and exactly 10 digits,
/// with separators between the digits, not glued to other letters or digits.
fn contains_phone(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(&first) = b.get(i) {
        let boundary = i.checked_sub(1).and_then(|p| b.get(p)).is_none_or(|&c| !(c.is_ascii_alphanumeric() || c == b'+'));
        let plus = first == b'+' && b.get(i + 1).is_some_and(u8::is_ascii_digit);
        if !(boundary && (plus || first == b'0')) {
            i += 1;
            continue;
        }
        let digits_from = if plus { i + 1 } else { i };
        let (mut n, mut leading_zeros, mut end) = (0usize, 0usize, digits_from);
        for (j, &c) in b.iter().enumerate().skip(digits_from) {
            if n > MAX_PHONE_DIGITS || !(c.is_ascii_digit() || is_phone_separator(c)) {
                break;
            }
            if c.is_ascii_digit() {
                if n == leading_zeros && c == b'0' {
                    leading_zeros += 1;
                }
                n += 1;
                end = j + 1;
            }
        }
        let glued = b.get(end).is_some_and(u8::is_ascii_alphanumeric);
        let phone = if plus {
            (9..=15).contains(&n)
        } else if leading_zeros >= 2 {
            (11..=MAX_PHONE_DIGITS).contains(&n)
        } else {
            n == 10
        };
        if phone && !glued {
            return true;
        }
        i = end.max(i + 1);
    }
    false
}

// ---- citizen service numbers and card numbers

/// Digits of a BSN, and of one whose leading 0 was dropped.
const BSN_DIGITS: [usize; 2] = [9, 8];
/// How a BSN is written in groups: `111 222 333` and `1112.22.333`.
const BSN_GROUPS: [[usize; 3]; 2] = [[3, 3, 3], [4, 2, 3]];
/// How many digits a card number has.
const CARD_DIGITS: std::ops::RangeInclusive<usize> = 13..=19;

/// Separators between the groups of a written number.
fn is_group_separator(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.')
}

/// A BSN or a card number: numbers written as groups of digits joined by single separators,
/// each starting a word and ending before a byte that is not a letter or digit. Every run of
/// whole groups is tried, so a card number followed by more groups is still found.
fn numbers(text: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    let starts = (0..b.len()).filter(|&i| b.get(i).is_some_and(u8::is_ascii_digit) && starts_word(b, i));
    for start in starts {
        let (mut digits, mut groups, mut lengths) = (0usize, 0usize, [0usize; 3]);
        let (mut separator, mut one_separator, mut card_separators) = (None, true, true);
        let mut i = start;
        loop {
            let len = b.get(i..).unwrap_or_default().iter().take_while(|c| c.is_ascii_digit()).count();
            let end = i + len;
            if b.get(end).is_some_and(u8::is_ascii_alphabetic) {
                break;
            }
            digits += len;
            if let Some(slot) = lengths.get_mut(groups) {
                *slot = len;
            }
            groups += 1;
            let span = b.get(start..end).unwrap_or_default();
            let bsn = match groups {
                1 => BSN_DIGITS.contains(&digits),
                3 => one_separator && BSN_GROUPS.contains(&lengths),
                _ => false,
            };
            if bsn && eleven_test(span) {
                return Some("a citizen service number (BSN)");
            }
            if card_separators && CARD_DIGITS.contains(&digits) && luhn(span) {
                return Some("a card number");
            }
            match (b.get(end), b.get(end + 1)) {
                (Some(&sep), Some(next)) if is_group_separator(sep) && next.is_ascii_digit() && digits < *CARD_DIGITS.end() => {
                    one_separator &= separator.is_none_or(|s| s == sep);
                    card_separators &= sep != b'.';
                    separator = Some(sep);
                    i = end + 1;
                }
                _ => break,
            }
        }
    }
    None
}

/// The digits of a written number, as values 0–9.
fn digit_values(span: &[u8]) -> impl DoubleEndedIterator<Item = u32> + '_ {
    span.iter().filter(|c| c.is_ascii_digit()).map(|&c| u32::from(c - b'0'))
}

/// The Dutch 11-test of a BSN: 9·d1 + 8·d2 + … + 2·d8 − d9 is a multiple of 11, for 9 digits
/// (8 digits are a BSN whose leading 0 was dropped). No BSN is all zeros.
fn eleven_test(span: &[u8]) -> bool {
    const ELEVEN: i64 = 11;
    let (sum, nonzero) = digit_values(span).rev().enumerate().fold((0i64, false), |(sum, nonzero), (i, d)| {
        let weight = if i == 0 { -1 } else { i as i64 + 1 };
        (sum + weight * i64::from(d), nonzero || d != 0)
    });
    nonzero && sum.rem_euclid(ELEVEN) == 0
}

/// The Luhn check of a card number: from the right, every second digit doubled (its digits
/// summed), the total a multiple of 10.
fn luhn(span: &[u8]) -> bool {
    let sum: u32 = digit_values(span)
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 1 { (2 * d) / 10 + (2 * d) % 10 } else { d })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_mail_addresses() {
        for text in ["jan@example.nl", "mail me: j.de.vries+bank@mail.example.com.", "A@B.CO"] {
            assert_eq!(personal_value(text), Some("an e-mail address"), "{text}");
        }
        for text in ["@handle", "user@localhost", "a@b.c", "price 5 @ 3.50", "x@.nl", "x@nl."] {
            assert_ne!(personal_value(text), Some("an e-mail address"), "{text}");
        }
    }

    #[test]
    fn e_mail_addresses_in_disguise() {
        let disguised = [
            "jan＠example.nl",
            "jan﹫example.nl",
            "jan%40example.nl",
            "/contact?from=jan%40example.nl",
            "jan@bücher.de",
            "jürgen@example.de",
            "jan@example．nl",
            "ｊａｎ＠ｅｘａｍｐｌｅ．ｎｌ",
            "jan@voorbeeld.xn--p1ai",
            "jan@пример.рф",
        ];
        for text in disguised {
            assert_eq!(personal_value(text), Some("an e-mail address"), "{text}");
        }
        for text in ["50%40", "100%", "a%40b", "x%4", "%40home.nl", "＠handle", "jan@example.1"] {
            assert_eq!(personal_value(text), None, "{text}");
        }
    }

    #[test]
    fn ibans_are_recognised_by_their_check_digits() {
        for text in ["NL91ABNA0417164300", "NL91 ABNA 0417 1643 00", "iban:nl91abna0417164300", "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"] {
            assert_eq!(personal_value(text), Some("an IBAN"), "{text}");
        }
        // Wrong check digits, too short, not shaped like an IBAN.
        for text in ["NL92ABNA0417164300", "NL91ABNA04171", "savings_2026_premium_band", "AB12"] {
            assert_eq!(personal_value(text), None, "{text}");
        }
        // Check digits that hold, but no country with IBANs, or not that country's structure.
        for shape in ["XX{}ABNA0417164300", "NL{}ABN00417164300", "NL{}ABNA041716430"] {
            let text = (0..100).map(|d| shape.replace("{}", &format!("{d:02}"))).find(|t| checksum_of_whole(t)).unwrap();
            assert_eq!(personal_value(&text), None, "{text}");
        }
        assert_eq!(personal_value("BE68 5390 0754 7034"), Some("an IBAN"), "the shortest but one");
        assert_eq!(personal_value("NO93 8601 1117 947"), Some("an IBAN"), "the shortest");
    }

    /// The mod-97 check of a whole candidate, whatever its structure.
    fn checksum_of_whole(iban: &str) -> bool {
        let b = iban.as_bytes();
        b.iter().skip(4).chain(b.iter().take(4)).fold(0, |r, &c| mod97(r, c)) == 1
    }

    #[test]
    fn ibans_of_many_countries() {
        let examples = [
            "AT611904300234573201",
            "BE68539007547034",
            "CH9300762011623852957",
            "ES9121000418450200051332",
            "FR1420041010050500013M02606",
            "IT60X0542811101000000123456",
            "PL61109010140000071219812874",
            "SA0380000000608010167519",
            "LU280019400644750000",
            "IE29AIBK93115212345678",
        ];
        for text in examples {
            assert_eq!(personal_value(text), Some("an IBAN"), "{text}");
            assert_eq!(personal_value(&text.to_lowercase()), Some("an IBAN"), "{text}");
        }
        // Every format adds up to a length of the registry: 15 to 34 characters.
        for (code, format) in IBAN_FORMATS {
            let len = 4 + bban_classes(format).count();
            assert!((15..=34).contains(&len), "{code:?}: {len}");
            assert!(bban_classes(format).all(|c| matches!(c, b'n' | b'a' | b'c')), "{code:?}");
        }
        assert_eq!(4 + bban_classes("4a10n").count(), 18);
    }

    #[test]
    fn ibans_inside_tokens() {
        for text in ["refNL91ABNA0417164300", "NL91ABNA0417164300EUR", "ref-NL91ABNA0417164300-2026", "x1NL91ABNA0417164300", "betaling:NL91ABNA0417164300EUR"] {
            assert_eq!(personal_value(text), Some("an IBAN"), "{text}");
        }
        // Inside a word an IBAN is written in capitals, as electronically.
        for text in ["refnl91abna0417164300", "refNL91abna0417164300"] {
            assert_eq!(personal_value(text), None, "{text}");
        }
    }

    #[test]
    fn citizen_service_numbers_by_the_eleven_test() {
        for text in ["111222333", "123456782", "bsn 111222333", "1112.22.333", "111 222 333", "111-222-333", "12345672", "012345672"] {
            assert_eq!(personal_value(text), Some("a citizen service number (BSN)"), "{text}");
        }
        for text in ["111222334", "123456789", "000000000", "x111222333", "111222333x", "1112.22-333", "1112223330", "11122233", "2026-12-05", "20261206"] {
            assert_ne!(personal_value(text), Some("a citizen service number (BSN)"), "{text}");
        }
    }

    #[test]
    fn card_numbers_by_luhn() {
        for text in ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "3782 822463 10005", "5555555555554444", "card: 4111 1111 1111 1111 exp 12/29", "6011111111111117"] {
            assert_eq!(personal_value(text), Some("a card number"), "{text}");
        }
        for text in ["4111111111111112", "4111.1111.1111.1111", "a4111111111111111", "4111111111111111b", "411111111111", "41111111111111111111"] {
            assert_ne!(personal_value(text), Some("a card number"), "{text}");
        }
    }

    #[test]
    fn random_ids_are_not_personal_data() {
        // A SplitMix64 stream: the same 100,000 ids on every run.
        let mut state = 0x5eed_u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        for _ in 0..100_000 {
            let (a, b) = (next(), next());
            let uuid = format!("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xfff, b >> 48, b & 0xffff_ffff_ffff);
            assert_eq!(personal_value(&uuid), None, "{uuid}");
            assert_eq!(personal_value(&uuid.to_uppercase()), None, "{uuid}");
        }
        assert!(!is_uuid("NL91ABNA-0417-1643-0000-000000000000"));
        assert!(!is_uuid("0123456é-0123-0123-0123-0123456789ab"));
    }

    #[test]
    fn phone_numbers() {
        for text in ["+31612345678", "+31 6 1234 5678", "06-12345678", "call 020 123 4567", "(020) 123-4567", "0031 6 12345678", "+31 (0)6 12345678"] {
            assert_eq!(personal_value(text), Some("a phone number"), "{text}");
        }
        for text in ["2026-12-05", "05-12-2026", "0.25", "09:30", "band_06", "06123", "x0612345678", "1234567890", "061234567890"] {
            assert_eq!(personal_value(text), None, "{text}");
        }
    }

    #[test]
    fn names_that_hold_personal_data() {
        for name in ["name", "firstName", "last_name", "E-Mail", "email", "phone", "IBAN", "address", "bsn", "partner_email", "contactPhoneNumber", "date_of_birth", "jan@example.nl", "partner_name", "account_holder_name"] {
            assert!(personal_name(name).is_some(), "{name}");
        }
        for name in ["segments", "holdings", "age", "app_user", "in_arrears", "campaign_name", "username_length", "mobile_app", "income_band", "cards"] {
            assert_eq!(personal_name(name), None, "{name}");
        }
    }

    #[test]
    fn dutch_names_that_hold_personal_data() {
        let dutch = [
            "naam", "voornaam", "achternaam", "tussenvoegsel", "voorletters", "roepnaam", "adres", "straat",
            "straatnaam", "huisnummer", "postcode", "woonplaats", "geboortedatum", "geboorteplaats",
            "telefoon", "telefoonnummer", "mobiel", "mobielnummer", "emailadres", "rekeningnummer",
            "kaartnummer", "klantnummer", "relatienummer", "burgerservicenummer", "paspoortnummer",
            "rijbewijsnummer", "Naam", "VoorNaam", "achter_naam", "Geboorte-datum", "e-mailadres",
            "partner_voornaam", "woon_postcode", "adres.postcode", "post/code", "postcode2", "cliëntnummer",
            "ｐｏｓｔｃｏｄｅ", "post\u{200b}code", "post\tcode", "Postcode",
        ];
        for name in dutch {
            assert!(personal_name(name).is_some(), "{name}");
        }
        for name in ["productnaam", "campagnenaam", "leeftijd", "segmenten", "inkomensklasse", "heeft_hypotheek", "regio", "postcodegebied", "woning", "telefoonbankieren"] {
            assert_eq!(personal_name(name), None, "{name}");
        }
        let long = format!("{}_voornaam", "x".repeat(100));
        assert_eq!(personal_name(&long), Some("a name"));
        assert_eq!(personal_name(&format!("{}naam", "x".repeat(100))), None);
    }

    #[test]
    fn strange_text_never_panics() {
        for text in ["", "@", "％40", "%4", "é@é.é", "NL", "NL9", "NL91", "+", "0", "-1-", "\u{10ffff}@x.yz", "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0"] {
            let _ = personal_value(text);
            let _ = personal_name(text);
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Digits as text.
    fn text_of(digits: &[u32]) -> String {
        digits.iter().filter_map(|&d| char::from_digit(d, 10)).collect()
    }

    /// 9 digits that pass the 11-test.
    fn bsn() -> impl Strategy<Value = String> {
        prop::collection::vec(0u32..10, 8).prop_filter_map("no check digit below 10", |digits| {
            let sum: u32 = digits.iter().zip((2..=9).rev()).map(|(d, w)| d * w).sum();
            let check = sum % 11;
            let all: Vec<u32> = digits.iter().copied().chain([check]).collect();
            (check < 10 && all.iter().any(|&d| d != 0)).then(|| text_of(&all))
        })
    }

    /// 13–19 digits that pass Luhn.
    fn card() -> impl Strategy<Value = String> {
        prop::collection::vec(0u32..10, 12..=18).prop_map(|mut digits| {
            let sum: u32 = digits.iter().rev().enumerate().map(|(i, &d)| if i % 2 == 0 { (2 * d) / 10 + (2 * d) % 10 } else { d }).sum();
            digits.push((10 - sum % 10) % 10);
            text_of(&digits)
        })
    }

    /// A Dutch, German or Belgian IBAN with its check digits.
    fn iban() -> impl Strategy<Value = String> {
        let bbans = prop_oneof![
            ("[A-Z]{4}[0-9]{10}").prop_map(|b| ("NL", b)),
            ("[0-9]{18}").prop_map(|b| ("DE", b)),
            ("[0-9]{12}").prop_map(|b| ("BE", b)),
        ];
        bbans.prop_map(|(country, bban)| {
            let remainder = bban.bytes().chain(country.bytes()).chain(*b"00").fold(0, mod97);
            format!("{country}{:02}{bban}", 98 - remainder)
        })
    }

    /// Groups a number's digits by `sizes` with `separator`.
    fn grouped(number: &str, sizes: &[usize], separator: char) -> String {
        let mut out = String::new();
        let mut chars = number.chars();
        for (i, &size) in sizes.iter().enumerate() {
            if i > 0 {
                out.push(separator);
            }
            out.extend(chars.by_ref().take(size));
        }
        out.extend(chars);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn every_bsn_is_refused(bsn in bsn(), form in 0usize..5, sep in prop::sample::select(vec![' ', '.', '-'])) {
            let text = match form {
                0 => bsn.clone(),
                1 => grouped(&bsn, &[3, 3, 3], sep),
                2 => grouped(&bsn, &[4, 2, 3], sep),
                3 => format!("bsn: {bsn}."),
                _ => bsn.strip_prefix('0').map_or_else(|| bsn.clone(), str::to_owned),
            };
            prop_assert_eq!(personal_value(&text), Some("a citizen service number (BSN)"), "{}", text);
        }

        #[test]
        fn every_card_number_is_refused(card in card(), sep in prop::sample::select(vec![None, Some(' '), Some('-')])) {
            let text = match sep {
                Some(sep) => grouped(&card, &[4, 4, 4, 4], sep),
                None => card.clone(),
            };
            let what = personal_value(&text);
            // A card number that starts with 0 or 00 may read as a phone number first.
            prop_assert!(matches!(what, Some("a card number") | Some("a phone number")), "{}: {:?}", text, what);
            prop_assert_eq!(personal_value(&format!("kaart {text} geldig")).is_some(), true);
        }

        #[test]
        fn every_iban_in_a_token_is_refused(iban in iban(), before in "[a-z]{0,4}|[0-9]{0,3}", after in "[A-Z]{0,3}|[0-9]{0,4}") {
            let text = format!("{before}{iban}{after}");
            prop_assert_eq!(personal_value(&text), Some("an IBAN"), "{}", text);
            prop_assert_eq!(personal_value(&grouped(&iban, &[4, 4, 4, 4, 4], ' ')), Some("an IBAN"));
        }

        #[test]
        fn every_e_mail_variant_is_refused(
            local in "[a-z][a-z0-9._+]{0,10}",
            domain in "[a-zü]{1,10}",
            tld in "[a-z]{2,6}",
            at in prop::sample::select(vec!["@", "\u{ff20}", "\u{fe6b}", "%40"]),
            dot in prop::sample::select(vec![".", "\u{ff0e}"]),
            before in "|[a-z ]{0,8} ",
        ) {
            let text = format!("{before}{local}{at}{domain}{dot}{tld}");
            prop_assert_eq!(personal_value(&text), Some("an e-mail address"), "{}", text);
        }

        #[test]
        fn every_uuid_is_accepted(bits in any::<u128>(), upper in any::<u32>()) {
            let hex = format!("{:032x}", (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62));
            let uuid: String = grouped(&hex, &[8, 4, 4, 4, 12], '-')
                .chars()
                .enumerate()
                .map(|(i, c)| if upper >> (i % 32) & 1 == 1 { c.to_ascii_uppercase() } else { c })
                .collect();
            prop_assert_eq!(personal_value(&uuid), None, "{}", uuid);
        }

        #[test]
        fn every_hex_id_with_a_letter_is_accepted(id in "[0-9a-f]{16,64}".prop_filter("an id of digits only is a number", |id| id.bytes().any(|b| b.is_ascii_alphabetic()))) {
            prop_assert_eq!(personal_value(&id), None, "{}", id);
        }

        #[test]
        fn every_letter_id_is_accepted(id in "[a-z]{16}|[A-Za-z]{16}") {
            prop_assert_eq!(personal_value(&id), None, "{}", id);
            prop_assert_eq!(personal_value(&format!("v-{id}")), None, "{}", id);
        }

        #[test]
        fn every_base64url_id_is_accepted(id in "[A-Za-z0-9_-]{22}") {
            prop_assert_eq!(personal_value(&id), None, "{}", id);
        }

        #[test]
        fn no_text_panics(text in "\\PC{0,40}") {
            let _ = personal_value(&text);
            let _ = personal_name(&text);
        }
    }
}
