//! Recognising personal data, so that a profile snapshot stays pseudonymous.
//!
//! A snapshot should carry only what a decision needs: segments, holdings, bands, model scores,
//! consent. These checks catch the usual ways personal data slips in anyway:
//!
//! * **names that say what they hold**: `name`, `firstName`, `email`, `phone`, `iban`, `address`,
//!   `bsn`, … ([`personal_name`]); compared after lower-casing and dropping `_`, `-`, `.` and
//!   spaces, and also as a suffix for the unambiguous ones (`partner_email`, `contactPhone`);
//! * **values that look like it** ([`personal_value`]): an e-mail address (`x@host.tld`), an IBAN
//!   (a country code of the IBAN registry, check digits, and letters or digits up to exactly that
//!   country's IBAN length, optionally in groups, whose mod-97 check holds), a phone number (`+` and 9–15 digits, `00` and 11–17 digits, or a Dutch `0`
//!   number of exactly 10 digits such as `06 1234 5678`, with spaces, dashes, dots, slashes or
//!   parentheses between the digits).
//!
//! False positives are possible (a 10-digit string starting with 0 is refused) and deliberate:
//! such values have no place in a pseudonymous snapshot. Random ids must not trip them, though:
//! a canonical UUID (`8-4-4-4-12` hex digits) is never personal data, and the IBAN check asks for
//! a real country and its exact length, so that 1 in 97 random strings shaped like an IBAN's start
//! does not pass on its check digits alone. The checks run on strings only and allocate only for
//! the IBAN candidate being tested.

/// Attribute names that hold personal data, normalised (lower case, no `_`, `-`, `.`, spaces).
const PERSONAL_NAMES: &[(&str, &str)] = &[
    ("name", "a name"),
    ("firstname", "a name"),
    ("lastname", "a name"),
    ("surname", "a name"),
    ("fullname", "a name"),
    ("givenname", "a name"),
    ("familyname", "a name"),
    ("middlename", "a name"),
    ("initials", "a name"),
    ("email", "an e-mail address"),
    ("emailaddress", "an e-mail address"),
    ("mail", "an e-mail address"),
    ("phone", "a phone number"),
    ("phonenumber", "a phone number"),
    ("telephone", "a phone number"),
    ("tel", "a phone number"),
    ("mobilenumber", "a phone number"),
    ("mobilephone", "a phone number"),
    ("iban", "an account number"),
    ("accountnumber", "an account number"),
    ("bankaccount", "an account number"),
    ("cardnumber", "a card number"),
    ("creditcard", "a card number"),
    ("address", "an address"),
    ("streetaddress", "an address"),
    ("street", "an address"),
    ("housenumber", "an address"),
    ("postcode", "an address"),
    ("postalcode", "an address"),
    ("zipcode", "an address"),
    ("bsn", "a citizen service number"),
    ("ssn", "a social security number"),
    ("socialsecuritynumber", "a social security number"),
    ("passportnumber", "a passport number"),
    ("dateofbirth", "a date of birth"),
    ("birthdate", "a date of birth"),
    ("birthday", "a date of birth"),
    ("dob", "a date of birth"),
    ("customernumber", "a customer number"),
    ("clientnumber", "a customer number"),
];

/// Normalised suffixes that mark a name as personal data wherever they appear at the end
/// (`partner_email`, `contactPhoneNumber`, `spouse_first_name`, `account_holder_name`). A bare
/// `…name` suffix is not among them: `campaign_name` is fine.
const PERSONAL_SUFFIXES: &[(&str, &str)] = &[
    ("email", "an e-mail address"),
    ("emailaddress", "an e-mail address"),
    ("phonenumber", "a phone number"),
    ("iban", "an account number"),
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
    ("accountnumber", "an account number"),
    ("dateofbirth", "a date of birth"),
];

/// What personal data an attribute name suggests, if any.
pub fn personal_name(name: &str) -> Option<&'static str> {
    let normal: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    PERSONAL_NAMES
        .iter()
        .find(|(n, _)| *n == normal)
        .or_else(|| PERSONAL_SUFFIXES.iter().find(|(s, _)| normal.ends_with(s)))
        .map(|(_, what)| *what)
        .or_else(|| personal_value(name))
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
        None
    }
}

fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// `local@domain.tld`: a non-empty local part, a domain of at least two non-empty labels and a
/// top-level label of two or more letters.
fn contains_email(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter().enumerate().filter(|(_, &c)| c == b'@').any(|(at, _)| {
        let local = b[..at].iter().rev().take_while(|&&c| is_local_char(c)).count();
        let domain_len = b[at + 1..].iter().take_while(|&&c| is_domain_char(c)).count();
        let domain = &b[at + 1..at + 1 + domain_len];
        let domain = domain.strip_suffix(b".").unwrap_or(domain);
        let mut labels = domain.split(|&c| c == b'.');
        let count = domain.split(|&c| c == b'.').count();
        let tld_ok = domain
            .rsplit(|&c| c == b'.')
            .next()
            .is_some_and(|tld| tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic));
        local > 0 && count >= 2 && labels.all(|l| !l.is_empty()) && tld_ok
    })
}

/// Shortest and longest IBAN.
const IBAN_LEN: std::ops::RangeInclusive<usize> = 15..=34;

/// The IBAN length of every country in the IBAN registry (ISO 13616), by country code.
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24), (b"AE", 23), (b"AL", 28), (b"AT", 20), (b"AZ", 28), (b"BA", 20), (b"BE", 16), (b"BG", 22),
    (b"BH", 22), (b"BI", 27), (b"BR", 29), (b"BY", 28), (b"CH", 21), (b"CR", 22), (b"CY", 28), (b"CZ", 24),
    (b"DE", 22), (b"DJ", 27), (b"DK", 18), (b"DO", 28), (b"EE", 20), (b"EG", 29), (b"ES", 24), (b"FI", 18),
    (b"FK", 18), (b"FO", 18), (b"FR", 27), (b"GB", 22), (b"GE", 22), (b"GI", 23), (b"GL", 18), (b"GR", 27),
    (b"GT", 28), (b"HN", 28), (b"HR", 21), (b"HU", 28), (b"IE", 22), (b"IL", 23), (b"IQ", 23), (b"IS", 26),
    (b"IT", 27), (b"JO", 30), (b"KW", 30), (b"KZ", 20), (b"LB", 28), (b"LC", 32), (b"LI", 21), (b"LT", 20),
    (b"LU", 20), (b"LV", 21), (b"LY", 25), (b"MC", 27), (b"MD", 24), (b"ME", 22), (b"MK", 19), (b"MN", 20),
    (b"MR", 27), (b"MT", 31), (b"MU", 30), (b"NI", 28), (b"NL", 18), (b"NO", 15), (b"OM", 23), (b"PK", 24),
    (b"PL", 28), (b"PS", 29), (b"PT", 25), (b"QA", 29), (b"RO", 24), (b"RS", 22), (b"RU", 33), (b"SA", 24),
    (b"SC", 31), (b"SD", 18), (b"SE", 24), (b"SI", 19), (b"SK", 24), (b"SM", 27), (b"SO", 23), (b"ST", 25),
    (b"SV", 28), (b"TL", 23), (b"TN", 24), (b"TR", 26), (b"UA", 29), (b"VA", 22), (b"VG", 24), (b"XK", 20),
    (b"YE", 30),
];

/// The IBAN length of the country whose code `text` starts with (either case), if it has IBANs.
fn iban_length(text: &[u8]) -> Option<usize> {
    let code = [text.first()?.to_ascii_uppercase(), text.get(1)?.to_ascii_uppercase()];
    IBAN_LENGTHS.iter().find(|(c, _)| **c == code).map(|(_, len)| *len)
}

/// A canonical UUID: 32 hex digits in groups of 8, 4, 4, 4 and 12, joined by dashes.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An IBAN anywhere in the text, written in one piece or in groups: runs of letters and digits
/// are joined (whatever separates them) starting at each run that begins with a country code
/// and check digits, and every join of a valid IBAN length is tested.
fn contains_iban(text: &str) -> bool {
    let runs: Vec<&str> = text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|r| !r.is_empty()).collect();
    let mut candidate = String::with_capacity(*IBAN_LEN.end());
    for start in 0..runs.len() {
        let first = runs[start].as_bytes();
        let shaped = first.len() >= 4
            && first[..2].iter().all(u8::is_ascii_alphabetic)
            && first[2..4].iter().all(u8::is_ascii_digit);
        let Some(length) = iban_length(first).filter(|_| shaped) else {
            continue;
        };
        candidate.clear();
        for run in &runs[start..] {
            candidate.push_str(run);
            if candidate.len() >= length {
                if candidate.len() == length && iban_checksum_holds(&candidate) {
                    return true;
                }
                break;
            }
        }
    }
    false
}

/// ISO 13616: move the first four characters to the end, letters become 10–35, the number
/// mod 97 is 1.
fn iban_checksum_holds(iban: &str) -> bool {
    let b = iban.as_bytes();
    if b.len() < 4 {
        return false;
    }
    let mut remainder = 0u32;
    for &c in b[4..].iter().chain(&b[..4]) {
        remainder = match c {
            b'0'..=b'9' => (remainder * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (remainder * 100 + u32::from(c - b'A') + 10) % 97,
            b'a'..=b'z' => (remainder * 100 + u32::from(c - b'a') + 10) % 97,
            _ => return false,
        };
    }
    remainder == 1
}

fn is_phone_separator(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')')
}

/// A phone number: `+` and 9–15 digits, `00` and 11–17 digits, or `0` and exactly 10 digits,
/// with separators between the digits, not glued to other letters or digits.
fn contains_phone(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let boundary = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'+');
        let plus = b[i] == b'+' && b.get(i + 1).is_some_and(u8::is_ascii_digit);
        if !(boundary && (plus || b[i] == b'0')) {
            i += 1;
            continue;
        }
        let mut digits = Vec::with_capacity(20);
        let mut end = if plus { i + 1 } else { i };
        let mut j = end;
        while j < b.len() && (b[j].is_ascii_digit() || is_phone_separator(b[j])) && digits.len() <= 17 {
            if b[j].is_ascii_digit() {
                digits.push(b[j]);
                end = j + 1;
            }
            j += 1;
        }
        let glued = b.get(end).is_some_and(u8::is_ascii_alphanumeric);
        let n = digits.len();
        let phone = if plus {
            (9..=15).contains(&n)
        } else if digits.starts_with(b"00") {
            (11..=17).contains(&n)
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
    fn ibans_are_recognised_by_their_check_digits() {
        for text in ["NL91ABNA0417164300", "NL91 ABNA 0417 1643 00", "iban:nl91abna0417164300", "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"] {
            assert_eq!(personal_value(text), Some("an IBAN"), "{text}");
        }
        // Wrong check digits, too short, not shaped like an IBAN.
        for text in ["NL92ABNA0417164300", "NL91ABNA04171", "savings_2026_premium_band", "AB12"] {
            assert_eq!(personal_value(text), None, "{text}");
        }
        // Check digits that hold, but no country with IBANs, or not that country's length.
        for shape in ["XX{}ABNA0417164300", "NL{}ABNA041716430012"] {
            let text = (0..100).map(|d| shape.replace("{}", &format!("{d:02}"))).find(|t| iban_checksum_holds(t)).unwrap();
            assert_eq!(personal_value(&text), None, "{text}");
        }
        assert_eq!(personal_value("BE68 5390 0754 7034"), Some("an IBAN"), "the shortest but one");
        assert_eq!(personal_value("NO93 8601 1117 947"), Some("an IBAN"), "the shortest");
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
        for name in ["segments", "holdings", "age", "app_user", "in_arrears", "campaign_name", "username_length", "mobile_app", "income_band"] {
            assert_eq!(personal_name(name), None, "{name}");
        }
    }
}
