//! DC-09 frames: `LF crc(4 hex) 0LLL "ID" seq [Rrcvr] [Lline] [#acct] [data] [ext…] [_timestamp] CR`.
//!
//! CRC-16/ARC and the length both cover the span from the first `"` to just before CR. Encrypted
//! frames (`"*ADM-CID"`, `"*ACK"`, …) carry hex ciphertext after `[` and no closing `]` (the `]`, any
//! extended data and the timestamp are inside the ciphertext). Parsing is total: every input gives a
//! value or a typed error, never a panic.

use crc::{CRC_16_ARC, Crc};
use jiff::Timestamp;
use thiserror::Error;

use crate::crypto::{self, AesKey, CryptoError};
use crate::timestamp;

const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_ARC);
/// Largest length the 4-hex length field may declare (`0LLL`).
pub const MAX_BODY_BYTES: usize = 0x0FFF;

/// CRC-16/ARC as used by DC-09.
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC16.checksum(bytes)
}

/// Errors for a single frame.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// Fewer bytes than the smallest possible frame.
    #[error("frame too short ({0} bytes)")]
    TooShort(usize),
    /// First byte is not LF.
    #[error("frame does not start with LF")]
    MissingLf,
    /// Last byte is not CR.
    #[error("frame does not end with CR")]
    MissingCr,
    /// CRC or length field is not hex.
    #[error("CRC/length field is not hex")]
    BadPrefix,
    /// Length field disagrees with the body.
    #[error("length field says {declared} bytes, body has {actual}")]
    LengthMismatch {
        /// Declared by the frame.
        declared: usize,
        /// Present.
        actual: usize,
    },
    /// CRC mismatch.
    #[error("CRC mismatch: frame says {declared:04X}, computed {computed:04X}")]
    CrcMismatch {
        /// Declared by the frame.
        declared: u16,
        /// Computed over the body.
        computed: u16,
    },
    /// Body contains bytes outside printable ASCII.
    #[error("frame body is not printable ASCII")]
    NotAscii,
    /// Missing or unknown ID token.
    #[error("unknown or malformed ID token")]
    BadIdToken,
    /// Sequence is not four decimal digits.
    #[error("sequence number is not 4 decimal digits")]
    BadSequence,
    /// Header field (R, L, #, A) malformed.
    #[error("malformed header field near {0:?}")]
    BadHeaderField(String),
    /// Data part (`[...]`) missing or malformed.
    #[error("malformed data/extended/timestamp part")]
    BadContent,
    /// Timestamp malformed.
    #[error(transparent)]
    BadTimestamp(#[from] timestamp::TimestampError),
    /// Encrypted body is not hex.
    #[error("encrypted body is not hex")]
    BadCipherHex,
    /// Encryption/decryption failure (wrong key, corrupt data).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The frame is encrypted but no key was supplied.
    #[error("frame is encrypted but no key is configured")]
    NoKey,
}

/// The ID token (without the `*` encryption marker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// `ADM-CID`: Ademco Contact ID.
    AdmCid,
    /// `SIA-DCS`: SIA DC-03/DC-07 data.
    SiaDcs,
    /// `NULL`: link test / supervision.
    Null,
    /// `ACK`.
    Ack,
    /// `NAK`.
    Nak,
    /// `DUH`: not understood.
    Duh,
}

impl MessageKind {
    /// The token text.
    pub fn token(self) -> &'static str {
        match self {
            Self::AdmCid => "ADM-CID",
            Self::SiaDcs => "SIA-DCS",
            Self::Null => "NULL",
            Self::Ack => "ACK",
            Self::Nak => "NAK",
            Self::Duh => "DUH",
        }
    }

    fn from_token(t: &str) -> Option<Self> {
        Some(match t {
            "ADM-CID" => Self::AdmCid,
            "SIA-DCS" => Self::SiaDcs,
            "NULL" => Self::Null,
            "ACK" => Self::Ack,
            "NAK" => Self::Nak,
            "DUH" => Self::Duh,
            _ => return None,
        })
    }
}

/// Everything in a frame before the `[`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// ID token.
    pub kind: MessageKind,
    /// `*` marker present.
    pub encrypted: bool,
    /// Sequence number 0000–9999.
    pub seq: u16,
    /// Receiver number (hex digits, kept as text to echo back exactly).
    pub receiver: Option<String>,
    /// Line/prefix number (hex digits, as text).
    pub line: Option<String>,
    /// Account (`#` field), 3–16 hex digits.
    pub account: Option<String>,
}

/// The readable part of a frame: what follows `[` once decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// Text between `[` and `]`.
    pub data: String,
    /// Extended data fields (text inside each further `[...]`).
    pub extended: Vec<String>,
    /// Sender timestamp (UTC).
    pub timestamp: Option<Timestamp>,
}

impl Content {
    /// Content with data only.
    pub fn data(data: impl Into<String>) -> Self {
        Self {
            data: data.into(),
            extended: Vec::new(),
            timestamp: None,
        }
    }

    /// Render as it follows `[` in a plain frame: `data]` `[ext]`… `_timestamp`.
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(self.data.len() + 24);
        s.push_str(&self.data);
        s.push(']');
        for x in &self.extended {
            s.push('[');
            s.push_str(x);
            s.push(']');
        }
        if let Some(ts) = self.timestamp {
            s.push('_');
            s.push_str(&timestamp::format(ts));
        }
        s
    }

    /// Parse the text that follows `[` in a plain frame (or a decrypted body).
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        let close = text.find(']').ok_or(FrameError::BadContent)?;
        let data = &text[..close];
        if data.contains('[') {
            return Err(FrameError::BadContent);
        }
        let mut rest = &text[close + 1..];
        let mut extended = Vec::new();
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or(FrameError::BadContent)?;
            let x = &r[..end];
            if x.contains('[') {
                return Err(FrameError::BadContent);
            }
            extended.push(x.to_string());
            rest = &r[end + 1..];
        }
        let timestamp = match rest {
            "" => None,
            r => Some(timestamp::parse(
                r.strip_prefix('_').ok_or(FrameError::BadContent)?,
            )?),
        };
        Ok(Self {
            data: data.to_string(),
            extended,
            timestamp,
        })
    }
}

/// What follows the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Clear text.
    Plain(Content),
    /// AES ciphertext (already hex-decoded).
    Encrypted(Vec<u8>),
}

/// A whole DC-09 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Header fields.
    pub header: Header,
    /// Body.
    pub body: Body,
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse_header(s: &str) -> Result<(Header, &str), FrameError> {
    let s = s.strip_prefix('"').ok_or(FrameError::BadIdToken)?;
    let end = s.find('"').ok_or(FrameError::BadIdToken)?;
    let tok = &s[..end];
    let (encrypted, tok) = match tok.strip_prefix('*') {
        Some(t) => (true, t),
        None => (false, tok),
    };
    let kind = MessageKind::from_token(tok).ok_or(FrameError::BadIdToken)?;
    let s = &s[end + 1..];
    let seq_txt = s.get(..4).ok_or(FrameError::BadSequence)?;
    if !seq_txt.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FrameError::BadSequence);
    }
    let seq: u16 = seq_txt.parse().map_err(|_| FrameError::BadSequence)?;
    let mut s = &s[4..];
    let (mut receiver, mut line, mut account) = (None, None, None);
    // Fields in DC-09 order: R, L, then # (or `A`, which the standard's own NAK example uses).
    let mut stage = 0u8;
    loop {
        let Some(first) = s.bytes().next() else {
            return Err(FrameError::BadContent);
        };
        if first == b'[' {
            break;
        }
        // A field's value is the run of hex digits after its letter (so `L0A0` reads as line `0A0`).
        let field_end = 1 + s[1..].bytes().take_while(u8::is_ascii_hexdigit).count();
        let value = &s[1..field_end];
        let bad = || FrameError::BadHeaderField(s.chars().take(12).collect());
        let (field_stage, max_len) = match first {
            b'R' => (1, 6),
            b'L' => (2, 6),
            b'#' | b'A' => (3, 16),
            _ => return Err(bad()),
        };
        if field_stage <= stage || !is_hex(value) || value.len() > max_len {
            return Err(bad());
        }
        if first == b'#' && value.len() < 3 {
            return Err(bad());
        }
        stage = field_stage;
        let v = Some(value.to_string());
        match first {
            b'R' => receiver = v,
            b'L' => line = v,
            b'#' => account = v,
            _ => {}
        }
        s = &s[field_end..];
    }
    Ok((
        Header {
            kind,
            encrypted,
            seq,
            receiver,
            line,
            account,
        },
        &s[1..],
    ))
}

impl Frame {
    /// Parse one complete frame (LF … CR), checking length and CRC.
    pub fn parse(raw: &[u8]) -> Result<Self, FrameError> {
        if raw.len() < 12 {
            return Err(FrameError::TooShort(raw.len()));
        }
        if raw[0] != b'\n' {
            return Err(FrameError::MissingLf);
        }
        if raw[raw.len() - 1] != b'\r' {
            return Err(FrameError::MissingCr);
        }
        let (crc, len) = parse_prefix(&raw[1..9]).ok_or(FrameError::BadPrefix)?;
        let body = &raw[9..raw.len() - 1];
        if usize::from(len) != body.len() {
            return Err(FrameError::LengthMismatch {
                declared: usize::from(len),
                actual: body.len(),
            });
        }
        let computed = crc16(body);
        if computed != crc {
            return Err(FrameError::CrcMismatch {
                declared: crc,
                computed,
            });
        }
        if !body.iter().all(|b| (0x20..0x7f).contains(b)) {
            return Err(FrameError::NotAscii);
        }
        let text = std::str::from_utf8(body).map_err(|_| FrameError::NotAscii)?;
        let (header, rest) = parse_header(text)?;
        let body = if header.encrypted {
            Body::Encrypted(crypto::hex_decode(rest).ok_or(FrameError::BadCipherHex)?)
        } else {
            Body::Plain(Content::parse(rest)?)
        };
        Ok(Self { header, body })
    }

    /// Encode to wire bytes (LF … CR).
    pub fn encode(&self) -> Vec<u8> {
        let h = &self.header;
        let mut s = String::with_capacity(64);
        s.push('"');
        if h.encrypted {
            s.push('*');
        }
        s.push_str(h.kind.token());
        s.push('"');
        s.push_str(&format!("{:04}", h.seq % 10_000));
        if let Some(r) = &h.receiver {
            s.push('R');
            s.push_str(r);
        }
        if let Some(l) = &h.line {
            s.push('L');
            s.push_str(l);
        }
        if let Some(a) = &h.account {
            s.push('#');
            s.push_str(a);
        }
        s.push('[');
        match &self.body {
            Body::Plain(c) => s.push_str(&c.render()),
            Body::Encrypted(ct) => s.push_str(&crypto::hex_encode(ct)),
        }
        let mut out = Vec::with_capacity(s.len() + 10);
        out.push(b'\n');
        out.extend_from_slice(
            format!("{:04X}{:04X}", crc16(s.as_bytes()), s.len() & 0xFFFF).as_bytes(),
        );
        out.extend_from_slice(s.as_bytes());
        out.push(b'\r');
        out
    }

    /// Build a frame; with a key the content is sealed (`pad_seed` feeds the pad) and `*` is set.
    pub fn build(
        mut header: Header,
        content: &Content,
        key: Option<&AesKey>,
        pad_seed: &[u8; 16],
    ) -> Result<Self, FrameError> {
        header.encrypted = key.is_some();
        let body = match key {
            Some(k) => Body::Encrypted(k.seal(&content.render(), pad_seed)?),
            None => Body::Plain(content.clone()),
        };
        Ok(Self { header, body })
    }

    /// The readable content: plain content as is, encrypted content decrypted with `key`.
    pub fn open(&self, key: Option<&AesKey>) -> Result<Content, FrameError> {
        match (&self.body, key) {
            (Body::Plain(c), _) => Ok(c.clone()),
            (Body::Encrypted(_), None) => Err(FrameError::NoKey),
            (Body::Encrypted(ct), Some(k)) => Content::parse(&k.open(ct)?),
        }
    }
}

fn parse_prefix(p: &[u8]) -> Option<(u16, u16)> {
    let txt = std::str::from_utf8(p).ok()?;
    if !txt.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let crc = u16::from_str_radix(txt.get(..4)?, 16).ok()?;
    let len = u16::from_str_radix(txt.get(4..8)?, 16).ok()?;
    Some((crc, len))
}

/// Declared total frame length (LF…CR inclusive) from the first 9 bytes, if they are well formed.
pub fn declared_frame_len(first9: &[u8]) -> Option<usize> {
    if first9.len() < 9 || first9[0] != b'\n' {
        return None;
    }
    let (_, len) = parse_prefix(&first9[1..9])?;
    Some(usize::from(len) + 10)
}

/// Reply kinds a receiver sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// Accepted.
    Ack,
    /// Rejected; sender should retry (carries receiver time).
    Nak,
    /// Not understood; retrying will not help.
    Duh,
}

/// Build an ACK for `req`: same sequence, R, L and account. Encrypted requests get an encrypted
/// ACK carrying the receiver time `now`; plain requests a plain `[]`.
pub fn build_ack(
    req: &Header,
    key: Option<&AesKey>,
    now: Timestamp,
    pad_seed: &[u8; 16],
) -> Result<Vec<u8>, FrameError> {
    let header = Header {
        kind: MessageKind::Ack,
        encrypted: false,
        ..req.clone()
    };
    let key = if req.encrypted { key } else { None };
    let content = Content {
        data: String::new(),
        extended: Vec::new(),
        timestamp: key.map(|_| now),
    };
    Ok(Frame::build(header, &content, key, pad_seed)?.encode())
}

/// Build a DUH for `req` (plain, same sequence, R, L and account).
pub fn build_duh(req: &Header) -> Vec<u8> {
    let header = Header {
        kind: MessageKind::Duh,
        encrypted: false,
        ..req.clone()
    };
    Frame {
        header,
        body: Body::Plain(Content::data("")),
    }
    .encode()
}

/// Build a NAK: sequence 0000, `R0`/`L0` unless known, account when known, receiver time `now` so
/// the sender can correct its clock. NAKs are never encrypted (the sender may lack our key state).
pub fn build_nak(req: Option<&Header>, now: Timestamp) -> Vec<u8> {
    let header = Header {
        kind: MessageKind::Nak,
        encrypted: false,
        seq: 0,
        receiver: Some(
            req.and_then(|h| h.receiver.clone())
                .unwrap_or_else(|| "0".into()),
        ),
        line: Some(
            req.and_then(|h| h.line.clone())
                .unwrap_or_else(|| "0".into()),
        ),
        account: req.and_then(|h| h.account.clone()),
    };
    let content = Content {
        data: String::new(),
        extended: Vec::new(),
        timestamp: Some(now),
    };
    Frame {
        header,
        body: Body::Plain(content),
    }
    .encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &[u8] = b"\nCD170029\"ADM-CID\"0001R1L2#1234[#1234|1130 01 003]\r";
    const EXAMPLE_ACK: &[u8] = b"\nC7370014\"ACK\"0001R1L2#1234[]\r";

    #[test]
    fn parses_readme_example() {
        let f = Frame::parse(EXAMPLE).expect("parse");
        assert_eq!(f.header.kind, MessageKind::AdmCid);
        assert_eq!(f.header.seq, 1);
        assert_eq!(f.header.receiver.as_deref(), Some("1"));
        assert_eq!(f.header.line.as_deref(), Some("2"));
        assert_eq!(f.header.account.as_deref(), Some("1234"));
        assert_eq!(f.open(None).expect("open").data, "#1234|1130 01 003");
        assert_eq!(f.encode(), EXAMPLE);
    }

    #[test]
    fn builds_readme_ack() {
        let f = Frame::parse(EXAMPLE).expect("parse");
        let ack = build_ack(&f.header, None, Timestamp::UNIX_EPOCH, &[0; 16]).expect("ack");
        assert_eq!(ack, EXAMPLE_ACK);
    }

    #[test]
    fn rejects_bad_crc_length_and_tokens() {
        let mut bad = EXAMPLE.to_vec();
        bad[20] = b'9';
        assert!(matches!(
            Frame::parse(&bad),
            Err(FrameError::CrcMismatch { .. })
        ));
        assert!(matches!(
            Frame::parse(&EXAMPLE[..30]),
            Err(FrameError::MissingCr)
        ));
        let mut short = EXAMPLE.to_vec();
        short.remove(40);
        assert!(matches!(
            Frame::parse(&short),
            Err(FrameError::LengthMismatch { .. })
        ));
        let odd = Frame {
            header: Header {
                kind: MessageKind::Null,
                encrypted: false,
                seq: 1,
                receiver: None,
                line: None,
                account: Some("12".into()),
            },
            body: Body::Plain(Content::data("")),
        }
        .encode();
        assert!(matches!(
            Frame::parse(&odd),
            Err(FrameError::BadHeaderField(_))
        ));
        let body = "\"XYZ\"0001#1234[]";
        let tok = format!("\n{:04X}{:04X}{body}\r", crc16(body.as_bytes()), body.len());
        assert_eq!(Frame::parse(tok.as_bytes()), Err(FrameError::BadIdToken));
    }

    #[test]
    fn accepts_standard_nak_with_a_field() {
        let body = "\"NAK\"0000R0L0A0[]_12:00:00,01-02-2026";
        let raw = format!(
            "\n{:04X}{:04X}{}\r",
            crc16(body.as_bytes()),
            body.len(),
            body
        );
        let f = Frame::parse(raw.as_bytes()).expect("nak");
        assert_eq!(f.header.kind, MessageKind::Nak);
        assert!(f.open(None).expect("c").timestamp.is_some());
    }

    #[test]
    fn encrypted_round_trip_and_nak() {
        let key = AesKey::from_ascii("0123456789ABCDEF").expect("key");
        let now = timestamp::parse("10:00:00,05-06-2026").expect("ts");
        let header = Header {
            kind: MessageKind::SiaDcs,
            encrypted: false,
            seq: 42,
            receiver: None,
            line: Some("0".into()),
            account: Some("ABC1".into()),
        };
        let content = Content {
            data: "#ABC1|Nri1/BA001".into(),
            extended: vec!["X12.5".into()],
            timestamp: Some(now),
        };
        let f = Frame::build(header, &content, Some(&key), &[9; 16]).expect("build");
        let wire = f.encode();
        let back = Frame::parse(&wire).expect("parse");
        assert!(back.header.encrypted);
        assert_eq!(back.open(Some(&key)).expect("open"), content);
        assert_eq!(back.open(None), Err(FrameError::NoKey));
        let ack = build_ack(&back.header, Some(&key), now, &[3; 16]).expect("ack");
        let ack = Frame::parse(&ack).expect("ack parse");
        assert!(ack.header.encrypted);
        assert_eq!(ack.header.kind, MessageKind::Ack);
        assert_eq!(ack.open(Some(&key)).expect("ack open").timestamp, Some(now));
        let nak = Frame::parse(&build_nak(None, now)).expect("nak");
        assert_eq!(nak.header.seq, 0);
        assert_eq!(nak.open(None).expect("nak").timestamp, Some(now));
    }
}
