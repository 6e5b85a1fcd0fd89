//! Arbitrary request headers through the forwarding policy: never a panic, and no
//! hop-by-hop header survives.
#![no_main]

use gateway::proxy::headers::{Peer, set_forwarding, strip_hop_by_hop};
use http::{HeaderName, HeaderValue, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut request = Request::new(());
    // Lines of `name: value`, as far as they parse.
    for line in data.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        request.headers_mut().append(name, value);
    }
    let trusted = data.first().is_some_and(|b| b & 1 == 1);
    // The proxy's order: the client's hop-by-hop headers go first, then the gateway's own
    // are set, so no `Connection` header can remove them.
    strip_hop_by_hop(request.headers_mut());
    set_forwarding(&mut request, &Peer::new([10, 0, 0, 1].into()), trusted);
    for gone in ["connection", "keep-alive", "te", "transfer-encoding", "upgrade", "proxy-authorization"] {
        assert!(!request.headers().contains_key(gone));
    }
    assert!(request.headers().contains_key("x-forwarded-for"));
});
