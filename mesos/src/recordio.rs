//! RecordIO framing of the streaming v1 APIs: each record is its byte length in decimal, a newline, then the bytes; mirrors `3rdparty/stout/include/stout/recordio.hpp` (`encode`, `Decoder`) and `src/common/recordio.hpp`.

use bytes::{Buf, Bytes, BytesMut};

/// Why a stream could not be decoded. After an error the decoder stays failed: the next
/// record boundary cannot be known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordIoError {
    #[error("Failed to decode length '{0}'")]
    BadLength(String),
    #[error("Record of {0} bytes is larger than the limit of {1} bytes")]
    TooLarge(u64, u64),
    #[error("Decoder is in a FAILED state")]
    Failed,
}

/// One record: the length header, then `record`.
pub fn encode(record: &[u8]) -> Bytes {
    let header = record.len().to_string();
    let mut out = BytesMut::with_capacity(header.len() + 1 + record.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(b"\n");
    out.extend_from_slice(record);
    out.freeze()
}

/// The longest length header accepted: a `u64` has at most 20 digits.
const MAX_HEADER: usize = 20;

/// An incremental decoder: feed it bytes as they arrive, in any chunking, and take the
/// complete records. As stout's decoder, a zero length yields an empty record and the
/// header is parsed as an unsigned decimal number.
#[derive(Debug)]
pub struct Decoder {
    buffer: BytesMut,
    /// The length of the record being read, once its header is complete.
    length: Option<usize>,
    failed: bool,
    max_record: u64,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(u64::MAX)
    }
}

impl Decoder {
    /// A decoder that refuses records longer than `max_record` bytes (a guard a client adds
    /// against a hostile peer; stout has none).
    pub fn new(max_record: u64) -> Decoder {
        Decoder { buffer: BytesMut::new(), length: None, failed: false, max_record }
    }

    /// Appends `data` and returns the records it completes.
    pub fn decode(&mut self, data: &[u8]) -> Result<Vec<Bytes>, RecordIoError> {
        if self.failed {
            return Err(RecordIoError::Failed);
        }
        self.buffer.extend_from_slice(data);
        let mut records = Vec::new();
        loop {
            match self.length {
                None => {
                    let Some(newline) = self.buffer.iter().position(|&b| b == b'\n') else {
                        if self.buffer.len() > MAX_HEADER {
                            return Err(self.fail_header(self.buffer.len()));
                        }
                        break;
                    };
                    if newline > MAX_HEADER {
                        return Err(self.fail_header(newline));
                    }
                    let header = String::from_utf8_lossy(&self.buffer[..newline]).into_owned();
                    let length: u64 = match header.parse() {
                        Ok(length) if header.bytes().all(|b| b.is_ascii_digit()) => length,
                        _ => {
                            self.failed = true;
                            return Err(RecordIoError::BadLength(header));
                        }
                    };
                    if length > self.max_record {
                        self.failed = true;
                        return Err(RecordIoError::TooLarge(length, self.max_record));
                    }
                    self.buffer.advance(newline + 1);
                    self.length = Some(length as usize);
                }
                Some(length) => {
                    if self.buffer.len() < length {
                        break;
                    }
                    records.push(self.buffer.split_to(length).freeze());
                    self.length = None;
                }
            }
        }
        Ok(records)
    }

    /// Whether a record has been started and not finished (at the end of a stream: it was
    /// cut off).
    pub fn has_partial(&self) -> bool {
        self.length.is_some() || !self.buffer.is_empty()
    }

    fn fail_header(&mut self, len: usize) -> RecordIoError {
        self.failed = true;
        RecordIoError::BadLength(String::from_utf8_lossy(&self.buffer[..len.min(64)]).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_length_newline_record() {
        assert_eq!(&encode(br#"{"type":"HEARTBEAT"}"#)[..], b"20\n{\"type\":\"HEARTBEAT\"}");
        assert_eq!(&encode(b"")[..], b"0\n");
    }

    #[test]
    fn decodes_records_split_anywhere() {
        let mut stream = Vec::new();
        for record in [&b"hello"[..], b"", b"a\nb", "\u{e9}t\u{e9}".as_bytes()] {
            stream.extend_from_slice(&encode(record));
        }
        for chunk in 1..stream.len() {
            let mut decoder = Decoder::default();
            let mut records = Vec::new();
            for piece in stream.chunks(chunk) {
                records.extend(decoder.decode(piece).unwrap());
            }
            assert_eq!(records, vec![&b"hello"[..], b"", b"a\nb", "\u{e9}t\u{e9}".as_bytes()]);
            assert!(!decoder.has_partial());
        }
    }

    #[test]
    fn a_bad_header_fails_the_decoder_for_good() {
        let mut decoder = Decoder::default();
        assert_eq!(decoder.decode(b"1x\nabc"), Err(RecordIoError::BadLength("1x".into())));
        assert_eq!(decoder.decode(b"1\na"), Err(RecordIoError::Failed));
        let mut decoder = Decoder::default();
        assert!(matches!(decoder.decode(&[b'9'; 64]), Err(RecordIoError::BadLength(_))));
        let mut decoder = Decoder::default();
        assert!(matches!(decoder.decode(b"-1\n"), Err(RecordIoError::BadLength(_))));
        let mut decoder = Decoder::new(10);
        assert_eq!(decoder.decode(b"11\n"), Err(RecordIoError::TooLarge(11, 10)));
    }

    #[test]
    fn a_cut_record_is_partial() {
        let mut decoder = Decoder::default();
        assert_eq!(decoder.decode(b"5\nab").unwrap(), Vec::<Bytes>::new());
        assert!(decoder.has_partial());
    }
}
