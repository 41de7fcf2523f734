//! Arbitrary bytes into the frame decoder, as a hostile peer would send
//! them: the preamble decoder, then a loop of frame decodes over the rest
//! (exactly as the runtime's reader does), then each frame's payload as
//! several message types. Nothing may panic; every length reported as used
//! must lie within the input; a strict prefix of a frame or preamble must
//! ask for more bytes; and what decodes must encode back to the same frame.
//!
//! The first input byte picks the frame cap, so small caps (and the
//! `TooLarge` path) are reached as easily as the default one.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::codec::{control, decode_payload, LENGTH_PREFIX};
use wire::{Frame, Message, Preamble, DEFAULT_MAX_FRAME};

const CAPS: [usize; 5] = [0, 16, 1024, DEFAULT_MAX_FRAME, usize::MAX];

fuzz_target!(|data: &[u8]| {
    check_preamble(data);
    let Some((&choice, stream)) = data.split_first() else {
        return;
    };
    let cap = CAPS[usize::from(choice) % CAPS.len()];
    // Frames follow a preamble when there is one, as on a connection.
    let start = match Preamble::decode(stream) {
        Ok(Some((_, used))) => used,
        _ => 0,
    };
    check_frames(&stream[start..], cap);
});

fn check_preamble(buf: &[u8]) {
    let Ok(Some((preamble, used))) = Preamble::decode(buf) else {
        return;
    };
    assert!(
        used <= buf.len(),
        "preamble used {used} of {} bytes",
        buf.len()
    );
    assert_eq!(Preamble::decode(&buf[..used - 1]), Ok(None));
    // A preamble that decodes is exactly what `encode` writes for it.
    let mut again = Vec::new();
    Preamble::encode(&preamble.address, &mut again);
    assert_eq!(again, &buf[..used]);
}

fn check_frames(buf: &[u8], cap: usize) {
    let mut pos = 0;
    while pos < buf.len() {
        let rest = &buf[pos..];
        let (frame, used) = match Frame::decode(rest, cap) {
            Ok(Some(decoded)) => decoded,
            // Incomplete: the reader waits for more. Error: it closes.
            Ok(None) | Err(_) => return,
        };
        assert!(
            (LENGTH_PREFIX..=rest.len()).contains(&used),
            "frame used {used} of {} bytes",
            rest.len()
        );
        assert!(
            used - LENGTH_PREFIX <= cap,
            "frame of {used} bytes over cap {cap}"
        );
        assert!(frame.payload.len() <= used - LENGTH_PREFIX);
        assert_eq!(Frame::decode(&rest[..used - 1], cap), Ok(None));

        let mut out = Vec::new();
        let n = Frame::encode_raw(
            &mut out,
            frame.from,
            frame.to,
            frame.name,
            frame.payload,
            usize::MAX,
        )
        .expect("a decoded frame encodes");
        assert_eq!(n, out.len());
        assert_eq!(Frame::decode(&out, usize::MAX), Ok(Some((frame, n))));

        check_payload(frame.payload);
        pos += used;
    }
}

/// Decodes `payload` as several message types: the node's own control
/// messages, and two of the richest cluster messages (nested structs,
/// options, sequences, enums, floats).
fn check_payload(payload: &[u8]) {
    if let Ok(link) = decode_payload::<control::Link>(payload) {
        round_trip(control::Link::NAME, &link);
    }
    if let Ok(exited) = decode_payload::<control::Exited>(payload) {
        round_trip(control::Exited::NAME, &exited);
    }
    let _ = decode_payload::<control::Heartbeat>(payload);
    let _ = decode_payload::<wire::agent::RunTask>(payload);
    let _ = decode_payload::<wire::scheduler::Accept>(payload);
}

fn round_trip<M: Message + PartialEq + std::fmt::Debug>(name: &str, message: &M) {
    let mut out = Vec::new();
    Frame::encode(&mut out, "a", "b", name, message, usize::MAX)
        .expect("a decoded message encodes");
    let (frame, _) = Frame::decode(&out, usize::MAX).unwrap().unwrap();
    assert_eq!(&decode_payload::<M>(frame.payload).unwrap(), message);
}
