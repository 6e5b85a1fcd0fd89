use super::*;

/// The refused heads, the heads seen, and whether the scanner still follows.
type Outcome = (Vec<(u64, Refusal)>, u64, bool);

/// Feeds `stream` to a scanner in pieces of `step` bytes; the refused heads, and whether
/// the scanner still follows at the end.
fn scan(stream: &[u8], step: usize) -> Outcome {
    let mut scanner = Scanner::default();
    let mut refused = Vec::new();
    for piece in stream.chunks(step) {
        scanner.feed(piece, |at, why| refused.push((at, why)));
    }
    (refused, scanner.heads, scanner.following())
}

/// Every split of `stream` into two reads, and reads of 1, 2, 3, 7 and all bytes.
fn every_split(stream: &[u8]) -> Vec<Outcome> {
    let mut outcomes: Vec<_> = [1, 2, 3, 7, stream.len()]
        .iter()
        .map(|&step| scan(stream, step))
        .collect();
    for at in 1..stream.len() {
        let mut scanner = Scanner::default();
        let mut refused = Vec::new();
        scanner.feed(&stream[..at], |p, w| refused.push((p, w)));
        scanner.feed(&stream[at..], |p, w| refused.push((p, w)));
        outcomes.push((refused, scanner.heads, scanner.following()));
    }
    outcomes
}

const PLAIN: &[u8] = b"GET /a HTTP/1.1\r\nhost: x\r\n\r\n\
POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
POST /c HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n\
5;name=value\r\nhello\r\nA \r\n0123456789\r\n0\r\nx-trailer: 1\r\n\r\n\
\r\nGET /d HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n";

#[test]
fn ordinary_streams_are_followed_to_the_end_without_a_refusal() {
    for (refused, heads, following) in every_split(PLAIN) {
        assert!(refused.is_empty(), "{refused:?}");
        assert_eq!(heads, 4);
        assert!(following);
    }
}

#[test]
fn body_bytes_that_look_like_a_head_are_skipped_as_body() {
    let smuggled =
        b"GET /x HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n";
    let mut stream = format!(
        "POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
        smuggled.len()
    )
    .into_bytes();
    stream.extend_from_slice(smuggled);
    stream.extend_from_slice(b"GET /b HTTP/1.1\r\nhost: x\r\n\r\n");
    for (refused, heads, following) in every_split(&stream) {
        assert!(refused.is_empty(), "{refused:?}");
        assert_eq!(heads, 2);
        assert!(following);
    }
}

#[test]
fn both_framings_are_refused_at_their_position_in_either_order() {
    for both in [
        &b"POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"[..],
        &b"POST /x HTTP/1.1\r\nhost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"[..],
    ] {
        let mut stream = PLAIN.to_vec();
        stream.extend_from_slice(both);
        for (refused, heads, _) in every_split(&stream) {
            assert_eq!(refused, [(4, Refusal::LengthAndChunked)]);
            assert_eq!(heads, 5);
        }
    }
}

#[test]
fn repeated_content_length_lines_are_refused_even_when_equal() {
    let stream = b"POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\nok\
GET /y HTTP/1.1\r\nhost: x\r\n\r\n";
    for (refused, heads, following) in every_split(stream) {
        assert_eq!(refused, [(0, Refusal::ManyLengths)]);
        assert_eq!(heads, 2);
        assert!(following);
    }
}

#[test]
fn what_hyper_refuses_stops_the_scan_instead_of_guessing() {
    for lost in [
        &b"POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n"[..],
        b"POST /x HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip\r\n\r\n",
        b"POST /x HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n",
        b"POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: +2\r\n\r\n",
        b"GET /x HTTP/1.1\r\nhost : x\r\n\r\n",
        b"POST /x HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"POST /x HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n1;a\nb\r\n",
        b"POST /x HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n1\r\nab\r\n",
        b"POST /x HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
    ] {
        let (refused, _, following) = scan(lost, lost.len());
        assert!(refused.is_empty());
        assert!(!following, "{}", String::from_utf8_lossy(lost));
    }
}

#[test]
fn a_head_longer_than_hyper_buffers_stops_the_scan() {
    let mut scanner = Scanner::default();
    scanner.feed(b"GET /x HTTP/1.1\r\nx-long: ", |_, _| panic!("refused"));
    let filler = vec![b'a'; 8192];
    for _ in 0..(crate::server::MAX_HEAD_BUFFER / filler.len() + 1) {
        scanner.feed(&filler, |_, _| panic!("refused"));
    }
    assert!(!scanner.following());
}

#[test]
fn verdicts_reach_the_request_of_their_position() {
    let verdicts = Verdicts::default();
    verdicts.record(1, Refusal::LengthAndChunked);
    assert_eq!(verdicts.next_request(), None);
    assert_eq!(
        verdicts.next_request(),
        Some(Refused(Refusal::LengthAndChunked))
    );
    assert_eq!(verdicts.next_request(), None);
}
