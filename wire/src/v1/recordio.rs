//! RecordIO, the framing of the v1 event streams: each record is its length
//! in decimal ASCII, a newline, then that many bytes
//! (`<length>\n<bytes>`). Chunk boundaries of the HTTP body mean nothing.
//! [`recordio`] frames one record for the endpoints; [`RecordReader`] takes
//! a stream apart again, for Rust clients and tests.

/// `record` framed as one RecordIO record.
pub fn recordio(record: &[u8]) -> Vec<u8> {
    let header = format!("{}\n", record.len());
    let mut out = Vec::with_capacity(header.len() + record.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(record);
    out
}

/// Why a byte stream is not RecordIO.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordIoError {
    #[error("bad RecordIO header: expected a decimal length and a newline")]
    Header,
    #[error("RecordIO record of {len} bytes exceeds the cap of {max} bytes")]
    TooLarge { len: u64, max: usize },
}

/// Digits a length header may have (u64::MAX has 20).
const MAX_HEADER_DIGITS: usize = 20;

/// Splits a RecordIO stream fed in arbitrary pieces into records.
#[derive(Debug)]
pub struct RecordReader {
    buf: Vec<u8>,
    max_record: usize,
}

impl RecordReader {
    /// A reader that refuses records longer than `max_record` bytes.
    pub fn new(max_record: usize) -> RecordReader {
        RecordReader {
            buf: Vec::new(),
            max_record,
        }
    }

    /// Appends bytes received from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete record, `Ok(None)` until one has fully arrived.
    /// After an error the stream cannot be resynchronised.
    pub fn next_record(&mut self) -> Result<Option<Vec<u8>>, RecordIoError> {
        let Some(newline) = self.buf.iter().position(|&b| b == b'\n') else {
            if self.buf.len() > MAX_HEADER_DIGITS || !self.buf.iter().all(u8::is_ascii_digit) {
                return Err(RecordIoError::Header);
            }
            return Ok(None);
        };
        let digits = self.buf.get(..newline).ok_or(RecordIoError::Header)?;
        if digits.is_empty()
            || digits.len() > MAX_HEADER_DIGITS
            || !digits.iter().all(u8::is_ascii_digit)
        {
            return Err(RecordIoError::Header);
        }
        let len: u64 = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(RecordIoError::Header)?;
        let len_usize = usize::try_from(len)
            .ok()
            .filter(|&l| l <= self.max_record)
            .ok_or(RecordIoError::TooLarge {
                len,
                max: self.max_record,
            })?;
        let start = newline + 1;
        let end = start
            .checked_add(len_usize)
            .ok_or(RecordIoError::TooLarge {
                len,
                max: self.max_record,
            })?;
        if self.buf.len() < end {
            return Ok(None);
        }
        let record = self.buf.get(start..end).map(<[u8]>::to_vec);
        self.buf.drain(..end);
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_a_record_with_its_decimal_length() {
        assert_eq!(
            recordio(b"{\"type\":\"HEARTBEAT\"}"),
            b"20\n{\"type\":\"HEARTBEAT\"}"
        );
        assert_eq!(recordio(b""), b"0\n");
    }

    #[test]
    fn reads_records_split_anywhere() {
        let mut stream = recordio(b"hello");
        stream.extend(recordio(b"{\"a\":1}"));
        stream.extend(recordio(&[b'x'; 300]));
        for piece in [1, 2, 3, 7, stream.len()] {
            let mut reader = RecordReader::new(1024);
            let mut records = Vec::new();
            for chunk in stream.chunks(piece) {
                reader.push(chunk);
                while let Some(r) = reader.next_record().unwrap() {
                    records.push(r);
                }
            }
            assert_eq!(records.len(), 3, "pieces of {piece}");
            assert_eq!(records[0], b"hello");
            assert_eq!(records[2].len(), 300);
        }
    }

    #[test]
    fn rejects_bad_headers_and_oversized_records() {
        for bad in [
            &b"x\n"[..],
            b"\n",
            b"12a",
            b"-1\n",
            b"123456789012345678901",
        ] {
            let mut reader = RecordReader::new(1024);
            reader.push(bad);
            assert_eq!(reader.next_record(), Err(RecordIoError::Header), "{bad:?}");
        }
        let mut reader = RecordReader::new(4);
        reader.push(b"5\nhello");
        assert_eq!(
            reader.next_record(),
            Err(RecordIoError::TooLarge { len: 5, max: 4 })
        );
        let mut reader = RecordReader::new(4);
        reader.push(b"18446744073709551615\n");
        assert!(matches!(
            reader.next_record(),
            Err(RecordIoError::TooLarge { .. })
        ));
    }
}
