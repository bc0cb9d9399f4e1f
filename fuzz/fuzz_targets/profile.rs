//! Profile snapshots, bare and signed: the fuzzer's bytes as a bare snapshot, and the same
//! bytes signed with the test key (so that the snapshot parser behind the signature is reached)
//! under a policy that requires signatures. A snapshot that parses is decided for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opmaat::profile::{signed, ProfilePolicy};
use opmaat::Context;
use opmaat_fuzz::{decide_everywhere, sample_engine, test_key, trusted, NOW};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let bare = ProfilePolicy::default().parse(text);
    if let Ok(profile) = &bare {
        decide_everywhere(sample_engine(), profile, &Context::default(), None, NOW);
    }
    let Ok(wrapper) = signed::sign(data, test_key()) else { return };
    let policy = ProfilePolicy { trusted_keys: trusted().clone(), require_signed: true };
    let signed = policy.parse(&wrapper);
    if let Ok(profile) = &signed {
        decide_everywhere(sample_engine(), profile, &Context::default(), None, NOW);
    }
    // The signature changes nothing about what the snapshot says.
    if let (Ok(a), Ok(b)) = (&bare, &signed) {
        assert_eq!(a.attributes(), b.attributes());
    }
});
