//! OSDP v2 packet framing, sans-IO.
//!
//! Layout of one packet on the wire:
//!
//! ```text
//! SOM(0x53) ADDR LEN_LO LEN_HI CTRL [SCB_LEN SCB_TYPE SCB_DATA..] CODE DATA.. [MAC x4] CRC_LO CRC_HI | CKSUM
//! ```
//!
//! * `ADDR` bit 7 is set on replies (PD → CP).
//! * `CTRL` bits 0–1 are the sequence number, bit 2 selects CRC-16 (else an 8-bit checksum),
//!   bit 3 announces a security block.
//! * A 4-byte MAC follows the data when the security block type is SCS_15..SCS_18.
//! * CRC-16/AUG-CCITT (poly 0x1021, init 0x1D0F, not reflected), sent least significant byte first.
//!
//! [`Packet::decode`] parses exactly one frame; [`Decoder`] is a streaming decoder that skips
//! garbage, resynchronises on the next SOM after a bad frame and never panics on any input.

use thiserror::Error;

/// Start of message.
pub const SOM: u8 = 0x53;
/// Address bit set on every reply.
pub const REPLY_BIT: u8 = 0x80;
/// Broadcast address.
pub const BROADCAST_ADDRESS: u8 = 0x7F;
/// Largest packet this codec accepts (OSDP allows up to 1440 bytes on most PDs).
pub const MAX_PACKET_LEN: usize = 1440;
/// Smallest packet: SOM, address, length (2), control, code, checksum.
pub const MIN_PACKET_LEN: usize = 6;
/// Length of the truncated MAC carried by SCS_15..SCS_18 packets.
pub const MAC_LEN: usize = 4;

const CTRL_SEQ_MASK: u8 = 0x03;
const CTRL_CRC: u8 = 0x04;
const CTRL_SCB: u8 = 0x08;

/// Security block types (SCS_xx).
pub mod scs {
    /// CHLNG: CP starts a Secure Channel session.
    pub const SCS_11: u8 = 0x11;
    /// CCRYPT: PD answers with its random and client cryptogram.
    pub const SCS_12: u8 = 0x12;
    /// SCRYPT: CP sends the server cryptogram.
    pub const SCS_13: u8 = 0x13;
    /// RMAC_I: PD sends the initial R-MAC.
    pub const SCS_14: u8 = 0x14;
    /// Command with MAC, data in clear.
    pub const SCS_15: u8 = 0x15;
    /// Reply with MAC, data in clear.
    pub const SCS_16: u8 = 0x16;
    /// Command with MAC, data encrypted.
    pub const SCS_17: u8 = 0x17;
    /// Reply with MAC, data encrypted.
    pub const SCS_18: u8 = 0x18;

    /// Whether a packet with this security block type carries a 4-byte MAC.
    pub fn has_mac(kind: u8) -> bool {
        (SCS_15..=SCS_18).contains(&kind)
    }
}

/// Errors of the packet codec. None of them is fatal to a [`Decoder`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PacketError {
    /// Fewer bytes than the frame needs.
    #[error("truncated packet: need {needed} bytes, have {have}")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// The first byte is not SOM.
    #[error("missing start of message (got {0:#04x})")]
    NoSom(u8),
    /// The length field is outside what OSDP allows.
    #[error("invalid length field {0}")]
    BadLength(usize),
    /// CRC-16 mismatch.
    #[error("CRC mismatch: computed {computed:#06x}, received {received:#06x}")]
    Crc {
        /// CRC over the received bytes.
        computed: u16,
        /// CRC carried by the packet.
        received: u16,
    },
    /// 8-bit checksum mismatch.
    #[error("checksum mismatch: computed {computed:#04x}, received {received:#04x}")]
    Checksum {
        /// Checksum over the received bytes.
        computed: u8,
        /// Checksum carried by the packet.
        received: u8,
    },
    /// The security block is malformed or does not fit in the packet.
    #[error("malformed security block")]
    BadSecurityBlock,
    /// The packet has no room for its command/reply code (and MAC, if any).
    #[error("packet too short for its code and MAC")]
    NoCode,
    /// A field given to the encoder is out of range.
    #[error("cannot encode: {0}")]
    Encode(&'static str),
}

/// Integrity check appended to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrity {
    /// CRC-16, two bytes (what this CP always sends).
    Crc16,
    /// 8-bit two's-complement checksum, one byte.
    Checksum,
}

impl Integrity {
    fn len(self) -> usize {
        match self {
            Integrity::Crc16 => 2,
            Integrity::Checksum => 1,
        }
    }
}

/// Security block of a packet (the bytes after its length byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityBlock {
    /// SCS type (see [`scs`]).
    pub kind: u8,
    /// Data of the block (key type for SCS_11..SCS_14, empty otherwise).
    pub data: Vec<u8>,
}

/// One OSDP packet, decoded or to be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Device address, 0..=0x7F (reply bit stripped).
    pub address: u8,
    /// Set on PD → CP packets.
    pub reply: bool,
    /// Sequence number, 0..=3.
    pub sequence: u8,
    /// CRC-16 or checksum.
    pub integrity: Integrity,
    /// Optional security block.
    pub security: Option<SecurityBlock>,
    /// Command or reply code.
    pub code: u8,
    /// Data after the code (possibly encrypted).
    pub data: Vec<u8>,
    /// Truncated MAC, present exactly when the security block type is SCS_15..SCS_18.
    pub mac: Option<[u8; MAC_LEN]>,
}

/// A decoded packet with the raw bytes it came from (needed to verify its MAC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The decoded packet.
    pub packet: Packet,
    /// All bytes of the packet, SOM to CRC.
    pub raw: Vec<u8>,
}

impl Frame {
    /// The bytes a MAC covers: everything before the MAC (SOM .. end of data).
    pub fn mac_input(&self) -> &[u8] {
        let tail = self.packet.integrity.len()
            + if self.packet.mac.is_some() {
                MAC_LEN
            } else {
                0
            };
        &self.raw[..self.raw.len().saturating_sub(tail)]
    }
}

/// CRC-16/AUG-CCITT as OSDP uses it.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0x1D0F;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// OSDP 8-bit checksum: two's complement of the byte sum.
pub fn checksum(bytes: &[u8]) -> u8 {
    let sum = bytes.iter().fold(0u8, |acc, &b| acc.wrapping_add(b));
    sum.wrapping_neg()
}

impl Packet {
    /// A command packet in clear with CRC-16.
    pub fn command(address: u8, sequence: u8, code: u8, data: Vec<u8>) -> Self {
        Packet {
            address,
            reply: false,
            sequence,
            integrity: Integrity::Crc16,
            security: None,
            code,
            data,
            mac: None,
        }
    }

    /// A reply packet in clear with CRC-16.
    pub fn reply(address: u8, sequence: u8, code: u8, data: Vec<u8>) -> Self {
        Packet {
            reply: true,
            ..Packet::command(address, sequence, code, data)
        }
    }

    fn has_mac_slot(&self) -> bool {
        self.security.as_ref().is_some_and(|s| scs::has_mac(s.kind))
    }

    /// Total encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        let scb = self.security.as_ref().map_or(0, |s| 2 + s.data.len());
        let mac = if self.has_mac_slot() { MAC_LEN } else { 0 };
        5 + scb + 1 + self.data.len() + mac + self.integrity.len()
    }

    fn check_encodable(&self) -> Result<(), PacketError> {
        if self.address > 0x7F {
            return Err(PacketError::Encode("address above 0x7F"));
        }
        if self.sequence > 3 {
            return Err(PacketError::Encode("sequence above 3"));
        }
        if let Some(s) = &self.security
            && s.data.len() > 253
        {
            return Err(PacketError::Encode("security block too long"));
        }
        if self.encoded_len() > MAX_PACKET_LEN {
            return Err(PacketError::Encode("packet longer than MAX_PACKET_LEN"));
        }
        Ok(())
    }

    /// The bytes a MAC covers: the encoded packet up to the end of the data, with the length
    /// field already counting the MAC and the integrity bytes.
    pub fn mac_input(&self) -> Result<Vec<u8>, PacketError> {
        self.check_encodable()?;
        let total = self.encoded_len();
        let mut out = Vec::with_capacity(total);
        out.push(SOM);
        out.push(self.address | if self.reply { REPLY_BIT } else { 0 });
        let len16 = u16::try_from(total).map_err(|_| PacketError::Encode("length"))?;
        out.extend_from_slice(&len16.to_le_bytes());
        let mut ctrl = self.sequence & CTRL_SEQ_MASK;
        if self.integrity == Integrity::Crc16 {
            ctrl |= CTRL_CRC;
        }
        if self.security.is_some() {
            ctrl |= CTRL_SCB;
        }
        out.push(ctrl);
        if let Some(s) = &self.security {
            let scb_len = u8::try_from(2 + s.data.len()).map_err(|_| PacketError::Encode("scb"))?;
            out.push(scb_len);
            out.push(s.kind);
            out.extend_from_slice(&s.data);
        }
        out.push(self.code);
        out.extend_from_slice(&self.data);
        Ok(out)
    }

    /// Encode to wire bytes. A packet whose security block calls for a MAC must carry one.
    pub fn encode(&self) -> Result<Vec<u8>, PacketError> {
        let mut out = self.mac_input()?;
        match (self.has_mac_slot(), &self.mac) {
            (true, Some(mac)) => out.extend_from_slice(mac),
            (false, None) => {}
            (true, None) => return Err(PacketError::Encode("security block needs a MAC")),
            (false, Some(_)) => return Err(PacketError::Encode("MAC without SCS_15..18 block")),
        }
        match self.integrity {
            Integrity::Crc16 => {
                let crc = crc16(&out);
                out.extend_from_slice(&crc.to_le_bytes());
            }
            Integrity::Checksum => {
                let ck = checksum(&out);
                out.push(ck);
            }
        }
        Ok(out)
    }

    /// Decode exactly one packet from `bytes` (which must start with SOM). Returns the frame
    /// and the number of bytes it used.
    pub fn decode(bytes: &[u8]) -> Result<(Frame, usize), PacketError> {
        let have = bytes.len();
        let som = *bytes
            .first()
            .ok_or(PacketError::Truncated { needed: 1, have })?;
        if som != SOM {
            return Err(PacketError::NoSom(som));
        }
        if have < 5 {
            return Err(PacketError::Truncated { needed: 5, have });
        }
        let len = usize::from(u16::from_le_bytes([bytes[2], bytes[3]]));
        if !(MIN_PACKET_LEN..=MAX_PACKET_LEN).contains(&len) {
            return Err(PacketError::BadLength(len));
        }
        if have < len {
            return Err(PacketError::Truncated { needed: len, have });
        }
        let raw = &bytes[..len];
        let ctrl = raw[4];
        let integrity = if ctrl & CTRL_CRC != 0 {
            Integrity::Crc16
        } else {
            Integrity::Checksum
        };
        let body_end = len - integrity.len();
        match integrity {
            Integrity::Crc16 => {
                let received = u16::from_le_bytes([raw[len - 2], raw[len - 1]]);
                let computed = crc16(&raw[..body_end]);
                if received != computed {
                    return Err(PacketError::Crc { computed, received });
                }
            }
            Integrity::Checksum => {
                let received = raw[len - 1];
                let computed = checksum(&raw[..body_end]);
                if received != computed {
                    return Err(PacketError::Checksum { computed, received });
                }
            }
        }
        let mut pos = 5;
        let security = if ctrl & CTRL_SCB != 0 {
            let scb_len = usize::from(*raw.get(pos).ok_or(PacketError::BadSecurityBlock)?);
            if scb_len < 2 || pos + scb_len > body_end {
                return Err(PacketError::BadSecurityBlock);
            }
            let kind = raw[pos + 1];
            let data = raw[pos + 2..pos + scb_len].to_vec();
            pos += scb_len;
            Some(SecurityBlock { kind, data })
        } else {
            None
        };
        let mac_len = if security.as_ref().is_some_and(|s| scs::has_mac(s.kind)) {
            MAC_LEN
        } else {
            0
        };
        if pos + 1 + mac_len > body_end {
            return Err(PacketError::NoCode);
        }
        let code = raw[pos];
        let data_end = body_end - mac_len;
        let data = raw[pos + 1..data_end].to_vec();
        let mac = if mac_len > 0 {
            let mut m = [0u8; MAC_LEN];
            m.copy_from_slice(&raw[data_end..body_end]);
            Some(m)
        } else {
            None
        };
        let packet = Packet {
            address: raw[1] & 0x7F,
            reply: raw[1] & REPLY_BIT != 0,
            sequence: ctrl & CTRL_SEQ_MASK,
            integrity,
            security,
            code,
            data,
            mac,
        };
        Ok((
            Frame {
                packet,
                raw: raw.to_vec(),
            },
            len,
        ))
    }
}

/// Streaming decoder: push bytes as they arrive, pull frames (or errors) out.
///
/// Bytes before a SOM are dropped. After a bad frame (CRC, length, security block) only the
/// SOM byte is dropped, so a real frame hidden inside garbage is still found.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    skipped_bytes: u64,
}

impl Decoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        // Bound memory: a flood without SOM never grows the buffer beyond one packet.
        if self.buf.len() > 4 * MAX_PACKET_LEN {
            let drop = self.buf.len() - MAX_PACKET_LEN;
            self.buf.drain(..drop);
            self.skipped_bytes += drop as u64;
        }
    }

    /// Bytes dropped as garbage so far.
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped_bytes
    }

    /// Bytes buffered, waiting for the rest of a frame.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// Drop everything buffered (e.g. after a line reset).
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Next complete frame, a decode error (after which decoding goes on), or `None` if more
    /// bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Frame, PacketError>> {
        loop {
            match self.buf.iter().position(|&b| b == SOM) {
                None => {
                    self.skipped_bytes += self.buf.len() as u64;
                    self.buf.clear();
                    return None;
                }
                Some(0) => {}
                Some(i) => {
                    self.buf.drain(..i);
                    self.skipped_bytes += i as u64;
                }
            }
            match Packet::decode(&self.buf) {
                Ok((frame, used)) => {
                    self.buf.drain(..used);
                    return Some(Ok(frame));
                }
                Err(PacketError::Truncated { .. }) => return None,
                Err(PacketError::BadLength(_)) => {
                    // Not a frame start: silently look for the next SOM.
                    self.buf.drain(..1);
                    self.skipped_bytes += 1;
                }
                Err(e) => {
                    self.buf.drain(..1);
                    self.skipped_bytes += 1;
                    return Some(Err(e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_known_poll() {
        // POLL to address 0x65, seq 0, CRC: bytes produced by LibOSDP on the wire.
        let p = Packet::command(0x65, 0, 0x60, vec![]);
        let bytes = p.encode().unwrap();
        assert_eq!(&bytes[..6], &[0x53, 0x65, 0x08, 0x00, 0x04, 0x60]);
        assert_eq!(crc16(b"123456789"), 0xE5CC);
    }

    #[test]
    fn roundtrip_with_security_block_and_mac() {
        let mut p = Packet::reply(3, 2, 0x50, vec![1, 2, 3]);
        p.security = Some(SecurityBlock {
            kind: scs::SCS_18,
            data: vec![],
        });
        p.mac = Some([9, 8, 7, 6]);
        let bytes = p.encode().unwrap();
        let (frame, used) = Packet::decode(&bytes).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(frame.packet, p);
        assert_eq!(frame.mac_input(), &p.mac_input().unwrap()[..]);
    }

    #[test]
    fn checksum_packets_decode() {
        let mut p = Packet::command(1, 1, 0x60, vec![]);
        p.integrity = Integrity::Checksum;
        let bytes = p.encode().unwrap();
        assert_eq!(bytes.len(), 7);
        assert_eq!(Packet::decode(&bytes).unwrap().0.packet, p);
    }

    #[test]
    fn decoder_resyncs_after_garbage_and_bad_crc() {
        let good = Packet::command(1, 1, 0x60, vec![]).encode().unwrap();
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xFF;
        let mut d = Decoder::new();
        d.push(&[0x00, 0x53, 0xFF, 0x12]);
        d.push(&bad);
        d.push(&good[..3]);
        let mut frames = 0;
        let mut errors = 0;
        while let Some(r) = d.next_frame() {
            match r {
                Ok(_) => frames += 1,
                Err(_) => errors += 1,
            }
        }
        assert_eq!(frames, 0);
        d.push(&good[3..]);
        while let Some(r) = d.next_frame() {
            match r {
                Ok(f) => {
                    frames += 1;
                    assert_eq!(f.packet.code, 0x60);
                }
                Err(_) => errors += 1,
            }
        }
        assert_eq!(frames, 1);
        assert!(errors >= 1, "the corrupted frame must be reported");
    }

    #[test]
    fn encode_rejects_bad_fields() {
        let mut p = Packet::command(0x80, 0, 0x60, vec![]);
        assert!(p.encode().is_err());
        p.address = 1;
        p.sequence = 4;
        assert!(p.encode().is_err());
        p.sequence = 0;
        p.security = Some(SecurityBlock {
            kind: scs::SCS_15,
            data: vec![],
        });
        assert!(p.encode().is_err(), "MAC missing");
    }

    #[test]
    fn scb_overrunning_packet_is_rejected() {
        // SCB length 0x20 in a short packet.
        let mut raw = vec![0x53, 0x01, 0x00, 0x00, 0x0C, 0x20, 0x15, 0x60];
        let len = (raw.len() + 2) as u16;
        raw[2..4].copy_from_slice(&len.to_le_bytes());
        let crc = crc16(&raw);
        raw.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            Packet::decode(&raw).unwrap_err(),
            PacketError::BadSecurityBlock
        );
    }
}
