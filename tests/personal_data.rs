//! Profile snapshots refuse personal data where it hides: Dutch field names, BSNs, card numbers,
//! IBANs glued into tokens and e-mail addresses in disguise, each named by its JSON path; and
//! they keep accepting the pseudonymous ids and numbers a bank's snapshot legitimately holds.

use opmaat::Profile;
use serde_json::{json, Value};

/// The error of a snapshot that must be refused.
fn refused(snapshot: Value) -> opmaat::Error {
    match Profile::from_value(&snapshot) {
        Ok(_) => panic!("accepted: {snapshot}"),
        Err(e) => e,
    }
}

#[test]
fn dutch_field_names_are_refused_with_their_path() {
    let names = [
        "naam", "voornaam", "achternaam", "tussenvoegsel", "adres", "straat", "huisnummer", "postcode",
        "woonplaats", "geboortedatum", "geboorteplaats", "telefoonnummer", "mobiel", "emailadres",
        "rekeningnummer", "klantnummer", "burgerservicenummer", "paspoortnummer", "woon_postcode",
        "partnerVoornaam", "Geboorte-Datum", "telefoonnummer2",
    ];
    for name in names {
        let err = refused(json!({"attributes": {"household": {name: "x"}}}));
        assert_eq!(err.code(), "personal_data", "{name}: {err}");
        let expected = format!("profile.attributes.household.{name}: the attribute name {name:?} suggests ");
        assert!(err.to_string().starts_with(&expected), "{name}: {err}");
    }
}

#[test]
fn personal_values_are_refused_with_their_path() {
    let values = [
        ("111222333", "a citizen service number (BSN)"),
        ("1112.22.333", "a citizen service number (BSN)"),
        ("12345672", "a citizen service number (BSN)"),
        ("4111 1111 1111 1111", "a card number"),
        ("5555-5555-5555-4444", "a card number"),
        ("refNL91ABNA0417164300", "an IBAN"),
        ("NL91ABNA0417164300EUR", "an IBAN"),
        ("jan\u{ff20}example.nl", "an e-mail address"),
        ("jan\u{fe6b}example.nl", "an e-mail address"),
        ("jan%40example.nl", "an e-mail address"),
        ("jan@bücher.de", "an e-mail address"),
    ];
    for (value, what) in values {
        let err = refused(json!({"attributes": {"notes": ["savings", value]}}));
        assert_eq!(err.code(), "personal_data", "{value}: {err}");
        let expected = format!("profile.attributes.notes[1]: looks like {what}");
        assert!(err.to_string().starts_with(&expected), "{value}: {err}");
        if !value.contains(' ') {
            let err = refused(json!({"id": value}));
            assert!(err.to_string().starts_with(&format!("profile.id: looks like {what}")), "{value}: {err}");
        }
    }
}

#[test]
fn pseudonymous_snapshots_are_accepted() {
    let snapshot = json!({
        "id": "v-qwhzkeuvbnmlotrp",
        "attributes": {
            "age": 41, "score": 123456789, "balance_band": "25k-50k", "since": "2026-12-05",
            "segments": ["savings", "mortgage"], "device": "8f14e45f-ceea-467f-a4b8-1e7c5c1c6a2b",
            "session": "3F2504E0-4F89-41D3-9A0C-0305E82C3301", "ref": "9f86d081884c7d659a2feaa0c55ad015",
            "token": "Xk3_pQ9-vT2mLw8zRb1nYe", "campagnenaam": "spaar-spektakel", "regio": "noord",
        },
        "propensities": {"savings": 0.4},
    });
    assert!(Profile::from_value(&snapshot).is_ok(), "{:?}", Profile::from_value(&snapshot).err());
}
