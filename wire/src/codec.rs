//! The byte format between two nodes.
//!
//! A connection starts with a [`Preamble`] from each side: four magic bytes,
//! the format version, and the node address the sender listens on (so the
//! receiver can send back over the same connection and name the sender's
//! processes). After the preamble the stream is a sequence of frames:
//!
//! ```text
//! frame  = length:u32-le  body            (length = byte count of body, <= cap)
//! body   = header  payload                 (header: postcard; payload: the rest)
//! header = from-id:str  to-id:str  name:str   (postcard varint-length strings)
//! ```
//!
//! `from` and `to` are process ids; the node part of each pid is known from
//! the preambles. A frame addressed to the empty id is for the node itself
//! (links, exits, heartbeats: see [`control`]). The payload is the postcard
//! encoding of the message named `name`.
//!
//! Postcard rather than bincode: bincode has been unmaintained since
//! December 2025 (RUSTSEC-2025-0141), postcard is maintained and its format
//! has a written, stable specification.

use serde::{Deserialize, Serialize};

/// First bytes of every frame connection. The high first byte can never
/// begin an HTTP request, which is how a listener tells the two apart.
pub const MAGIC: [u8; 4] = [0x89, b'M', b'S', b'A'];

/// Version of this format. A peer with another version is refused.
pub const VERSION: u16 = 1;

/// Default cap on one frame's body, in bytes (16 MiB).
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Longest node address accepted in a preamble.
const MAX_ADDRESS_LEN: usize = 256;

/// Bytes of the length prefix of a frame.
pub const LENGTH_PREFIX: usize = 4;

/// Why bytes could not be decoded or a message could not be encoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("not a frame connection: first bytes are {0:02x?}, expected {MAGIC:02x?}")]
    BadMagic([u8; 4]),
    #[error("peer speaks frame format version {theirs}, this node speaks version {ours}")]
    Version { ours: u16, theirs: u16 },
    #[error("peer announced an invalid address ({0})")]
    BadAddress(String),
    #[error("frame of {len} bytes exceeds the cap of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("message could not be encoded: {0}")]
    Encode(String),
}

/// What each side sends first on a frame connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preamble {
    pub version: u16,
    /// The address (`ip:port`) the sending node listens on.
    pub address: String,
}

impl Preamble {
    /// Appends this node's preamble to `out`.
    pub fn encode(address: &str, out: &mut Vec<u8>) {
        let address = &address.as_bytes()[..address.len().min(MAX_ADDRESS_LEN)];
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(address.len() as u16).to_le_bytes());
        out.extend_from_slice(address);
    }

    /// Decodes a preamble from the start of `buf`. `Ok(None)` means more bytes
    /// are needed; otherwise returns the preamble and the bytes it used.
    /// The magic is checked as soon as four bytes are present.
    pub fn decode(buf: &[u8]) -> Result<Option<(Preamble, usize)>, FrameError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let magic = [buf[0], buf[1], buf[2], buf[3]];
        if magic != MAGIC {
            return Err(FrameError::BadMagic(magic));
        }
        if buf.len() < 8 {
            return Ok(None);
        }
        let version = u16::from_le_bytes([buf[4], buf[5]]);
        if version != VERSION {
            return Err(FrameError::Version {
                ours: VERSION,
                theirs: version,
            });
        }
        let len = usize::from(u16::from_le_bytes([buf[6], buf[7]]));
        if len > MAX_ADDRESS_LEN {
            return Err(FrameError::BadAddress(format!("{len} bytes long")));
        }
        let Some(raw) = buf.get(8..8 + len) else {
            return Ok(None);
        };
        let address = std::str::from_utf8(raw)
            .map_err(|_| FrameError::BadAddress("not UTF-8".into()))?
            .to_owned();
        Ok(Some((Preamble { version, address }, 8 + len)))
    }
}

/// One decoded frame, borrowing from the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub name: &'a str,
    pub payload: &'a [u8],
}

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    from: &'a str,
    to: &'a str,
    name: &'a str,
}

impl<'a> Frame<'a> {
    /// Decodes the frame at the start of `buf`. `Ok(None)` means the frame is
    /// not complete yet; otherwise returns it and the bytes it used. A length
    /// over `max` is refused before any body byte arrives.
    pub fn decode(buf: &'a [u8], max: usize) -> Result<Option<(Frame<'a>, usize)>, FrameError> {
        let Some(prefix) = buf.get(..LENGTH_PREFIX) else {
            return Ok(None);
        };
        let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        if len > max {
            return Err(FrameError::TooLarge { len, max });
        }
        let Some(body) = buf.get(LENGTH_PREFIX..LENGTH_PREFIX + len) else {
            return Ok(None);
        };
        let (header, payload) = postcard::take_from_bytes::<Header<'a>>(body)
            .map_err(|e| FrameError::Malformed(e.to_string()))?;
        let frame = Frame {
            from: header.from,
            to: header.to,
            name: header.name,
            payload,
        };
        Ok(Some((frame, LENGTH_PREFIX + len)))
    }

    /// Appends one frame to `out`, encoding `message` as its payload straight
    /// into `out` (no intermediate buffer). On error `out` is left as it was.
    pub fn encode<M: Serialize + ?Sized>(
        out: &mut Vec<u8>,
        from: &str,
        to: &str,
        name: &str,
        message: &M,
        max: usize,
    ) -> Result<usize, FrameError> {
        let start = out.len();
        out.extend_from_slice(&[0; LENGTH_PREFIX]);
        let written = postcard::serialize_with_flavor(&Header { from, to, name }, Append(out))
            .and_then(|()| postcard::serialize_with_flavor(message, Append(out)));
        if let Err(e) = written {
            out.truncate(start);
            return Err(FrameError::Encode(e.to_string()));
        }
        let len = out.len() - start - LENGTH_PREFIX;
        if len > max {
            out.truncate(start);
            return Err(FrameError::TooLarge { len, max });
        }
        out[start..start + LENGTH_PREFIX].copy_from_slice(&(len as u32).to_le_bytes());
        Ok(out.len() - start)
    }

    /// Appends one frame whose payload is already encoded.
    pub fn encode_raw(
        out: &mut Vec<u8>,
        from: &str,
        to: &str,
        name: &str,
        payload: &[u8],
        max: usize,
    ) -> Result<usize, FrameError> {
        Self::encode(out, from, to, name, &RawPayload(payload), max)
    }
}

/// A postcard output that appends to a borrowed buffer, so a failed encode
/// can be rolled back by truncation.
struct Append<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for Append<'_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Serializes as the bytes themselves, with no length prefix, so a payload
/// encoded elsewhere can be framed unchanged.
struct RawPayload<'a>(&'a [u8]);

impl Serialize for RawPayload<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(self.0.len())?;
        for b in self.0 {
            t.serialize_element(b)?;
        }
        t.end()
    }
}

/// Decodes a payload as message type `M`, refusing trailing bytes.
pub fn decode_payload<'de, M: Deserialize<'de>>(payload: &'de [u8]) -> Result<M, FrameError> {
    let (message, rest) =
        postcard::take_from_bytes(payload).map_err(|e| FrameError::Malformed(e.to_string()))?;
    if rest.is_empty() {
        Ok(message)
    } else {
        Err(FrameError::Malformed(format!(
            "{} trailing bytes after the payload",
            rest.len()
        )))
    }
}

/// Messages between nodes themselves, addressed to the empty process id.
pub mod control {
    use serde::{Deserialize, Serialize};

    /// Ask the receiving node to report when `linkee` terminates.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Link {
        pub linker: String,
        pub linkee: String,
    }

    /// `linkee` (on the sending node) has terminated, or never existed.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Exited {
        pub linker: String,
        pub linkee: String,
    }

    /// Sent on an otherwise idle connection so the peer knows this node lives.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Heartbeat;

    crate::messages! {
        Link => "actors.Link",
        Exited => "actors.Exited",
        Heartbeat => "actors.Heartbeat",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        n: u64,
        text: String,
    }

    #[test]
    fn frame_round_trips() {
        let mut out = vec![7u8]; // bytes already queued must survive
        let sample = Sample {
            n: 42,
            text: "hello".into(),
        };
        let used = Frame::encode(&mut out, "a(1)", "b", "test.Sample", &sample, 1024).unwrap();
        assert_eq!(used, out.len() - 1);
        let (frame, consumed) = Frame::decode(&out[1..], 1024).unwrap().unwrap();
        assert_eq!(consumed, used);
        assert_eq!(
            (frame.from, frame.to, frame.name),
            ("a(1)", "b", "test.Sample")
        );
        assert_eq!(decode_payload::<Sample>(frame.payload).unwrap(), sample);
    }

    #[test]
    fn raw_payload_is_framed_unchanged() {
        let mut out = Vec::new();
        Frame::encode_raw(&mut out, "a", "b", "n", &[1, 2, 3], 1024).unwrap();
        let (frame, _) = Frame::decode(&out, 1024).unwrap().unwrap();
        assert_eq!(frame.payload, &[1, 2, 3]);
    }

    #[test]
    fn partial_frames_ask_for_more() {
        let mut out = Vec::new();
        Frame::encode(&mut out, "a", "b", "n", &5u32, 1024).unwrap();
        for cut in 0..out.len() {
            assert_eq!(Frame::decode(&out[..cut], 1024), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn oversized_length_is_refused_before_the_body() {
        let buf = (u32::MAX).to_le_bytes();
        assert!(matches!(
            Frame::decode(&buf, 1024),
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn encoding_over_the_cap_leaves_the_buffer_unchanged() {
        let mut out = vec![1, 2];
        let big = vec![0u8; 100];
        let err = Frame::encode(&mut out, "a", "b", "n", &big, 50).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { .. }));
        assert_eq!(out, vec![1, 2]);
    }

    #[test]
    fn a_failed_encode_leaves_the_buffer_unchanged() {
        struct Unencodable;
        impl Serialize for Unencodable {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("refused"))
            }
        }
        let mut out = vec![9];
        let err = Frame::encode(&mut out, "a", "b", "n", &Unencodable, 1024).unwrap_err();
        assert!(matches!(err, FrameError::Encode(_)));
        assert_eq!(out, vec![9]);
    }

    #[test]
    fn garbage_body_is_malformed() {
        let mut buf = 3u32.to_le_bytes().to_vec();
        buf.extend_from_slice(&[0xff, 0xff, 0xff]);
        assert!(matches!(
            Frame::decode(&buf, 1024),
            Err(FrameError::Malformed(_))
        ));
    }

    #[test]
    fn trailing_payload_bytes_are_refused() {
        assert!(decode_payload::<u8>(&[1, 2]).is_err());
        assert_eq!(decode_payload::<u8>(&[1]), Ok(1));
    }

    #[test]
    fn preamble_round_trips_and_refuses_strangers() {
        let mut out = Vec::new();
        Preamble::encode("127.0.0.1:5050", &mut out);
        let (p, used) = Preamble::decode(&out).unwrap().unwrap();
        assert_eq!(p.address, "127.0.0.1:5050");
        assert_eq!(used, out.len());
        assert_eq!(Preamble::decode(&out[..6]), Ok(None));
        assert!(matches!(
            Preamble::decode(b"GET / HTTP/1.1"),
            Err(FrameError::BadMagic(_))
        ));
        let mut old = out.clone();
        old[4] = 0;
        assert_eq!(
            Preamble::decode(&old),
            Err(FrameError::Version {
                ours: VERSION,
                theirs: 0
            })
        );
    }
}
