//! OSDP command and reply codes and their typed payloads (the bytes after the code).
//!
//! Builders produce the data field of a command; parsers turn a reply's (decrypted) data field
//! into a typed [`Reply`]. Parsing never panics: short or malformed data is a [`MessageError`].

use thiserror::Error;

/// Command codes (CP → PD).
pub mod cmd {
    /// Poll.
    pub const POLL: u8 = 0x60;
    /// ID report request.
    pub const ID: u8 = 0x61;
    /// Capabilities request.
    pub const CAP: u8 = 0x62;
    /// Local status request (tamper, power).
    pub const LSTAT: u8 = 0x64;
    /// Output control.
    pub const OUT: u8 = 0x68;
    /// Reader LED control.
    pub const LED: u8 = 0x69;
    /// Reader buzzer control.
    pub const BUZ: u8 = 0x6A;
    /// Communication settings.
    pub const COMSET: u8 = 0x6E;
    /// Encryption key set.
    pub const KEYSET: u8 = 0x75;
    /// Secure Channel challenge.
    pub const CHLNG: u8 = 0x76;
    /// Secure Channel server cryptogram.
    pub const SCRYPT: u8 = 0x77;
    /// Maximum receive size.
    pub const ACURXSIZE: u8 = 0x7B;
}

/// Reply codes (PD → CP).
pub mod reply {
    /// Acknowledge.
    pub const ACK: u8 = 0x40;
    /// Negative acknowledge.
    pub const NAK: u8 = 0x41;
    /// Device identification.
    pub const PDID: u8 = 0x45;
    /// Device capabilities.
    pub const PDCAP: u8 = 0x46;
    /// Local status report.
    pub const LSTATR: u8 = 0x48;
    /// Card data, raw bit array.
    pub const RAW: u8 = 0x50;
    /// Card data, character array.
    pub const FMT: u8 = 0x51;
    /// Keypad data.
    pub const KEYPAD: u8 = 0x53;
    /// Communication configuration report.
    pub const COM: u8 = 0x54;
    /// Client cryptogram (Secure Channel).
    pub const CCRYPT: u8 = 0x76;
    /// Initial R-MAC (Secure Channel).
    pub const RMAC_I: u8 = 0x78;
    /// PD busy.
    pub const BUSY: u8 = 0x79;
}

/// Errors parsing a reply payload.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MessageError {
    /// Payload shorter than its fixed part.
    #[error("reply {code:#04x}: payload of {have} bytes, need {needed}")]
    Short {
        /// Reply code.
        code: u8,
        /// Bytes required.
        needed: usize,
        /// Bytes present.
        have: usize,
    },
    /// A length field inside the payload disagrees with the payload.
    #[error("reply {0:#04x}: inner length does not match payload")]
    InnerLength(u8),
}

/// NAK reason codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NakReason {
    /// 0x01: message check character(s) error.
    Integrity,
    /// 0x02: command length error.
    CommandLength,
    /// 0x03: unknown command code.
    UnknownCommand,
    /// 0x04: sequence number error.
    Sequence,
    /// 0x05: unsupported security block or its conditions not met.
    SecurityBlock,
    /// 0x06: encrypted communication required.
    EncryptionRequired,
    /// 0x07: BIO type not supported.
    BioType,
    /// 0x08: BIO format not supported.
    BioFormat,
    /// 0x09: unable to process command record.
    Record,
    /// Any other value.
    Other(u8),
}

impl NakReason {
    /// From the wire byte.
    pub fn from_byte(b: u8) -> Self {
        match b {
            0x01 => Self::Integrity,
            0x02 => Self::CommandLength,
            0x03 => Self::UnknownCommand,
            0x04 => Self::Sequence,
            0x05 => Self::SecurityBlock,
            0x06 => Self::EncryptionRequired,
            0x07 => Self::BioType,
            0x08 => Self::BioFormat,
            0x09 => Self::Record,
            other => Self::Other(other),
        }
    }
}

/// Card data format in a RAW reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardFormat {
    /// 0x00: not specified, raw bit array.
    Raw,
    /// 0x01: Wiegand bit array.
    Wiegand,
    /// Anything else.
    Other(u8),
}

impl CardFormat {
    fn from_byte(b: u8) -> Self {
        match b {
            0 => Self::Raw,
            1 => Self::Wiegand,
            x => Self::Other(x),
        }
    }
}

/// PD identification (PDID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdId {
    /// IEEE OUI vendor code (3 bytes).
    pub vendor_code: u32,
    /// Model number.
    pub model: u8,
    /// Model version.
    pub version: u8,
    /// Serial number.
    pub serial_number: u32,
    /// Firmware major.minor.build.
    pub firmware: [u8; 3],
}

/// One PD capability triple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    /// Function code.
    pub function: u8,
    /// Compliance level.
    pub compliance: u8,
    /// Number of objects.
    pub count: u8,
}

/// A 26-bit Wiegand (H10301) card number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wiegand26 {
    /// 8-bit facility code.
    pub facility: u8,
    /// 16-bit card number.
    pub number: u16,
    /// Both parity bits are right.
    pub parity_ok: bool,
}

impl Wiegand26 {
    /// Decode 26 bits, MSB first, left-aligned in `data`.
    pub fn decode(bit_count: u16, data: &[u8]) -> Option<Self> {
        if bit_count != 26 || data.len() < 4 {
            return None;
        }
        let word = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) >> 6;
        let bits = word & 0x03FF_FFFF;
        let even = (bits >> 25) & 1;
        let odd = bits & 1;
        let payload = (bits >> 1) & 0x00FF_FFFF;
        let first12 = (payload >> 12) & 0xFFF;
        let last12 = payload & 0xFFF;
        let parity_ok =
            (first12.count_ones() + even).is_multiple_of(2) && (last12.count_ones() + odd) % 2 == 1;
        Some(Wiegand26 {
            facility: ((payload >> 16) & 0xFF) as u8,
            number: (payload & 0xFFFF) as u16,
            parity_ok,
        })
    }

    /// Encode as 26 bits, MSB first, left-aligned in 4 bytes (for test PDs).
    pub fn encode(facility: u8, number: u16) -> [u8; 4] {
        let payload = (u32::from(facility) << 16) | u32::from(number);
        let even = ((payload >> 12) & 0xFFF).count_ones() % 2;
        let odd = 1 - ((payload & 0xFFF).count_ones() % 2);
        let bits = (even << 25) | (payload << 1) | odd;
        (bits << 6).to_be_bytes()
    }
}

/// A typed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// ACK.
    Ack,
    /// NAK with its reason.
    Nak(NakReason),
    /// PDID.
    PdId(PdId),
    /// PDCAP.
    PdCap(Vec<Capability>),
    /// LSTATR.
    LocalStatus {
        /// Tamper switch active.
        tamper: bool,
        /// Power failure.
        power_failure: bool,
    },
    /// RAW card data.
    CardRaw {
        /// Reader number on the PD.
        reader: u8,
        /// Format code.
        format: CardFormat,
        /// Number of valid bits.
        bit_count: u16,
        /// Bits, MSB first.
        data: Vec<u8>,
    },
    /// FMT card data (characters).
    CardFormatted {
        /// Reader number on the PD.
        reader: u8,
        /// Read direction.
        direction: u8,
        /// Characters.
        data: Vec<u8>,
    },
    /// KEYPAD data.
    Keypad {
        /// Reader number on the PD.
        reader: u8,
        /// Key codes as sent ('0'..'9', 0x7F '*', 0x0D '#').
        keys: Vec<u8>,
    },
    /// COM.
    Com {
        /// New address.
        address: u8,
        /// New baud rate.
        baud_rate: u32,
    },
    /// CCRYPT (raw data: cUID, RND.B, client cryptogram).
    Ccrypt(Vec<u8>),
    /// RMAC_I (raw data: initial R-MAC).
    RmacI(Vec<u8>),
    /// BUSY.
    Busy,
    /// Any reply this CP does not interpret.
    Unknown {
        /// Reply code.
        code: u8,
        /// Payload.
        data: Vec<u8>,
    },
}

fn need(code: u8, data: &[u8], needed: usize) -> Result<(), MessageError> {
    if data.len() < needed {
        Err(MessageError::Short {
            code,
            needed,
            have: data.len(),
        })
    } else {
        Ok(())
    }
}

impl Reply {
    /// Parse a reply's (decrypted) data field.
    pub fn parse(code: u8, data: &[u8]) -> Result<Reply, MessageError> {
        Ok(match code {
            reply::ACK => Reply::Ack,
            reply::NAK => {
                need(code, data, 1)?;
                Reply::Nak(NakReason::from_byte(data[0]))
            }
            reply::PDID => {
                need(code, data, 12)?;
                Reply::PdId(PdId {
                    vendor_code: u32::from_le_bytes([data[0], data[1], data[2], 0]),
                    model: data[3],
                    version: data[4],
                    serial_number: u32::from_le_bytes([data[5], data[6], data[7], data[8]]),
                    firmware: [data[9], data[10], data[11]],
                })
            }
            reply::PDCAP => Reply::PdCap(
                data.chunks_exact(3)
                    .map(|c| Capability {
                        function: c[0],
                        compliance: c[1],
                        count: c[2],
                    })
                    .collect(),
            ),
            reply::LSTATR => {
                need(code, data, 2)?;
                Reply::LocalStatus {
                    tamper: data[0] != 0,
                    power_failure: data[1] != 0,
                }
            }
            reply::RAW => {
                need(code, data, 4)?;
                let bit_count = u16::from_le_bytes([data[2], data[3]]);
                let bytes = usize::from(bit_count).div_ceil(8);
                if data.len() < 4 + bytes {
                    return Err(MessageError::InnerLength(code));
                }
                Reply::CardRaw {
                    reader: data[0],
                    format: CardFormat::from_byte(data[1]),
                    bit_count,
                    data: data[4..4 + bytes].to_vec(),
                }
            }
            reply::FMT => {
                need(code, data, 3)?;
                let n = usize::from(data[2]);
                if data.len() < 3 + n {
                    return Err(MessageError::InnerLength(code));
                }
                Reply::CardFormatted {
                    reader: data[0],
                    direction: data[1],
                    data: data[3..3 + n].to_vec(),
                }
            }
            reply::KEYPAD => {
                need(code, data, 2)?;
                let n = usize::from(data[1]);
                if data.len() < 2 + n {
                    return Err(MessageError::InnerLength(code));
                }
                Reply::Keypad {
                    reader: data[0],
                    keys: data[2..2 + n].to_vec(),
                }
            }
            reply::COM => {
                need(code, data, 5)?;
                Reply::Com {
                    address: data[0],
                    baud_rate: u32::from_le_bytes([data[1], data[2], data[3], data[4]]),
                }
            }
            reply::CCRYPT => Reply::Ccrypt(data.to_vec()),
            reply::RMAC_I => Reply::RmacI(data.to_vec()),
            reply::BUSY => Reply::Busy,
            _ => Reply::Unknown {
                code,
                data: data.to_vec(),
            },
        })
    }
}

/// Render keypad key codes as text: digits as is, 0x7F as '*', 0x0D as '#'.
pub fn keys_to_text(keys: &[u8]) -> String {
    keys.iter()
        .map(|&k| match k {
            0x7F => '*',
            0x0D => '#',
            b'0'..=b'9' | b'A'..=b'D' => char::from(k),
            _ => '?',
        })
        .collect()
}

/// LED colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LedColor {
    /// Off / black.
    Black = 0,
    /// Red.
    Red = 1,
    /// Green.
    Green = 2,
    /// Amber.
    Amber = 3,
    /// Blue.
    Blue = 4,
    /// Magenta.
    Magenta = 5,
    /// Cyan.
    Cyan = 6,
    /// White.
    White = 7,
}

/// A temporary LED pattern (the permanent state is left unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedCommand {
    /// Reader number on the PD.
    pub reader: u8,
    /// LED number on the reader.
    pub led: u8,
    /// Colour while on.
    pub on_color: LedColor,
    /// Colour while off.
    pub off_color: LedColor,
    /// On time per flash, ms (sent in 100 ms units).
    pub on_time_ms: u32,
    /// Off time per flash, ms (sent in 100 ms units).
    pub off_time_ms: u32,
    /// How long the temporary pattern lasts, ms (sent in 100 ms units).
    pub duration_ms: u32,
}

fn units_100ms_u8(ms: u32) -> u8 {
    u8::try_from(ms.div_ceil(100)).unwrap_or(u8::MAX)
}

impl LedCommand {
    /// "Grant": green, steady, for 1 s.
    pub fn grant() -> Self {
        LedCommand {
            reader: 0,
            led: 0,
            on_color: LedColor::Green,
            off_color: LedColor::Black,
            on_time_ms: 1000,
            off_time_ms: 0,
            duration_ms: 1000,
        }
    }

    /// "Deny": red flashing (200 ms on, 200 ms off) for 2 s.
    pub fn deny() -> Self {
        LedCommand {
            reader: 0,
            led: 0,
            on_color: LedColor::Red,
            off_color: LedColor::Black,
            on_time_ms: 200,
            off_time_ms: 200,
            duration_ms: 2000,
        }
    }

    /// The 14-byte LED record.
    pub fn to_bytes(&self) -> Vec<u8> {
        let timer = u16::try_from(self.duration_ms.div_ceil(100)).unwrap_or(u16::MAX);
        let t = timer.to_le_bytes();
        vec![
            self.reader,
            self.led,
            0x02, // temporary: set state and start timer
            units_100ms_u8(self.on_time_ms),
            units_100ms_u8(self.off_time_ms),
            self.on_color as u8,
            self.off_color as u8,
            t[0],
            t[1],
            0x00, // permanent: no operation
            0,
            0,
            0,
            0,
        ]
    }
}

/// A buzzer pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuzzerCommand {
    /// Reader number on the PD.
    pub reader: u8,
    /// On time, ms (100 ms units).
    pub on_time_ms: u32,
    /// Off time, ms (100 ms units).
    pub off_time_ms: u32,
    /// Number of beeps (0 = until told otherwise).
    pub count: u8,
}

impl BuzzerCommand {
    /// One short beep.
    pub fn beep() -> Self {
        BuzzerCommand {
            reader: 0,
            on_time_ms: 200,
            off_time_ms: 100,
            count: 1,
        }
    }

    /// The 5-byte BUZ record (tone 2 = default tone).
    pub fn to_bytes(&self) -> Vec<u8> {
        vec![
            self.reader,
            0x02,
            units_100ms_u8(self.on_time_ms),
            units_100ms_u8(self.off_time_ms),
            self.count,
        ]
    }
}

/// Output control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputCommand {
    /// Output number.
    pub output: u8,
    /// Control code (1 = permanent off, 2 = permanent on, 5/6 = temporary on/off).
    pub control_code: u8,
    /// Timer, ms (100 ms units).
    pub timer_ms: u32,
}

impl OutputCommand {
    /// The 4-byte OUT record.
    pub fn to_bytes(&self) -> Vec<u8> {
        let t = u16::try_from(self.timer_ms.div_ceil(100))
            .unwrap_or(u16::MAX)
            .to_le_bytes();
        vec![self.output, self.control_code, t[0], t[1]]
    }
}

/// KEYSET payload: key type 1 (SCBK), length 16, key.
pub fn keyset_bytes(scbk: &[u8; 16]) -> Vec<u8> {
    let mut v = vec![0x01, 16];
    v.extend_from_slice(scbk);
    v
}

/// COMSET payload.
pub fn comset_bytes(address: u8, baud_rate: u32) -> Vec<u8> {
    let mut v = vec![address];
    v.extend_from_slice(&baud_rate.to_le_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wiegand_roundtrip_matches_demo_encoding() {
        // osdp_demo.py's wiegand26(123, 4567).
        let bytes = Wiegand26::encode(123, 4567);
        let w = Wiegand26::decode(26, &bytes).unwrap();
        assert_eq!((w.facility, w.number, w.parity_ok), (123, 4567, true));
        let mut broken = bytes;
        broken[1] ^= 0x40;
        assert!(!Wiegand26::decode(26, &broken).unwrap().parity_ok);
        assert!(Wiegand26::decode(32, &bytes).is_none());
    }

    #[test]
    fn raw_reply_parses_and_short_is_error() {
        let r = Reply::parse(reply::RAW, &[0, 1, 26, 0, 1, 2, 3, 4]).unwrap();
        assert_eq!(
            r,
            Reply::CardRaw {
                reader: 0,
                format: CardFormat::Wiegand,
                bit_count: 26,
                data: vec![1, 2, 3, 4]
            }
        );
        assert!(Reply::parse(reply::RAW, &[0, 1, 26, 0, 1]).is_err());
        assert!(Reply::parse(reply::NAK, &[]).is_err());
    }

    #[test]
    fn keypad_text() {
        let r = Reply::parse(reply::KEYPAD, &[0, 5, b'1', b'2', b'3', b'4', 0x0D]).unwrap();
        let Reply::Keypad { keys, .. } = r else {
            panic!("not keypad")
        };
        assert_eq!(keys_to_text(&keys), "1234#");
    }

    #[test]
    fn led_grant_is_green_one_second() {
        let b = LedCommand::grant().to_bytes();
        assert_eq!(b.len(), 14);
        assert_eq!(b[2], 2);
        assert_eq!(b[3], 10);
        assert_eq!(b[5], LedColor::Green as u8);
        assert_eq!(u16::from_le_bytes([b[7], b[8]]), 10);
    }
}
