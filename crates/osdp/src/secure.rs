//! OSDP Secure Channel (SCS_11..SCS_18), AES-128.
//!
//! * Session keys: `S-ENC = AES(SCBK, 01 82 RND.A[0..6] 00..)`, `S-MAC1 = AES(SCBK, 01 01 ..)`,
//!   `S-MAC2 = AES(SCBK, 01 02 ..)`.
//! * Client cryptogram (PD → CP, in CCRYPT) `= AES(S-ENC, RND.A ‖ RND.B)`; server cryptogram
//!   (CP → PD, in SCRYPT) `= AES(S-ENC, RND.B ‖ RND.A)`; initial R-MAC
//!   `= AES(S-MAC2, AES(S-MAC1, server cryptogram))`.
//! * Every later packet carries a MAC: CBC-MAC over the packet (SOM .. data, 0x80-padded unless
//!   already block-aligned) with S-MAC1 for all blocks but the last and S-MAC2 for the last,
//!   chained from the previous MAC of the other direction. Four bytes go on the wire.
//! * Data is encrypted with AES-CBC under S-ENC, always padded with 0x80 00.., IV = bitwise
//!   inverse of the other direction's last MAC.
//!
//! The CP's random (RND.A) comes from the OS RNG; nothing the peer sends is used as randomness.

use aes::Aes128;
use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use thiserror::Error;

use crate::packet::{Frame, Packet, PacketError, SecurityBlock, scs};

/// SCBK-D, the install-mode default key from the OSDP specification.
pub const SCBK_D: [u8; 16] = [
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F,
];

/// Secure Channel errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SecureError {
    /// The OS random generator failed.
    #[error("OS random generator failed: {0}")]
    Random(String),
    /// The PD's client cryptogram does not verify: almost always a wrong SCBK.
    #[error("client cryptogram mismatch (wrong SCBK?)")]
    CryptogramMismatch,
    /// The PD's initial R-MAC does not verify.
    #[error("initial R-MAC mismatch")]
    RmacMismatch,
    /// The PD rejected our server cryptogram.
    #[error("PD rejected the server cryptogram (status {0:#04x})")]
    Rejected(u8),
    /// A packet MAC does not verify.
    #[error("MAC mismatch")]
    MacMismatch,
    /// A packet that must be secured arrived without the right security block.
    #[error("packet not secured (security block {0:?})")]
    NotSecured(Option<u8>),
    /// The PD answered with another key type than requested.
    #[error("key type mismatch: asked {asked}, got {got}")]
    KeyTypeMismatch {
        /// Key type requested.
        asked: u8,
        /// Key type the PD used.
        got: u8,
    },
    /// Encrypted data has a bad length or padding.
    #[error("bad encrypted data: {0}")]
    BadCiphertext(&'static str),
    /// A handshake payload has the wrong length.
    #[error("bad handshake payload length {0}")]
    BadHandshakeLength(usize),
    /// Building the packet failed.
    #[error(transparent)]
    Packet(#[from] PacketError),
}

/// Which key a session is keyed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// SCBK-D, install mode only (key type byte 0).
    Default,
    /// The reader's own SCBK (key type byte 1).
    Scbk,
}

impl KeyKind {
    /// The key-type byte carried in SCS_11..SCS_14 blocks.
    pub fn byte(self) -> u8 {
        match self {
            KeyKind::Default => 0,
            KeyKind::Scbk => 1,
        }
    }
}

/// Fill `buf` from the OS random generator.
pub fn os_random(buf: &mut [u8]) -> Result<(), SecureError> {
    getrandom::fill(buf).map_err(|e| SecureError::Random(e.to_string()))
}

fn cipher(key: &[u8; 16]) -> Aes128 {
    Aes128::new(&Array::from(*key))
}

fn ecb(c: &Aes128, block: [u8; 16]) -> [u8; 16] {
    let mut b = Array::from(block);
    c.encrypt_block(&mut b);
    b.into()
}

fn ecb_dec(c: &Aes128, block: [u8; 16]) -> [u8; 16] {
    let mut b = Array::from(block);
    c.decrypt_block(&mut b);
    b.into()
}

fn xor16(a: &mut [u8; 16], b: &[u8; 16]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

fn invert(mut v: [u8; 16]) -> [u8; 16] {
    for x in &mut v {
        *x = !*x;
    }
    v
}

fn block_at(data: &[u8], i: usize) -> [u8; 16] {
    let mut b = [0u8; 16];
    b.copy_from_slice(&data[i * 16..i * 16 + 16]);
    b
}

/// Constant-time equality.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The three session keys.
#[derive(Clone)]
pub struct SessionKeys {
    enc: Aes128,
    mac1: Aes128,
    mac2: Aes128,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(..)")
    }
}

impl SessionKeys {
    /// Derive S-ENC, S-MAC1 and S-MAC2 from the base key and the CP random.
    pub fn derive(scbk: &[u8; 16], rnd_a: &[u8; 8]) -> Self {
        let base = cipher(scbk);
        let derive = |b1: u8| {
            let mut b = [0u8; 16];
            b[0] = 0x01;
            b[1] = b1;
            b[2..8].copy_from_slice(&rnd_a[..6]);
            cipher(&ecb(&base, b))
        };
        SessionKeys {
            enc: derive(0x82),
            mac1: derive(0x01),
            mac2: derive(0x02),
        }
    }

    fn cryptogram(&self, first: &[u8; 8], second: &[u8; 8]) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(first);
        b[8..].copy_from_slice(second);
        ecb(&self.enc, b)
    }

    /// Client cryptogram, `AES(S-ENC, RND.A ‖ RND.B)`.
    pub fn client_cryptogram(&self, rnd_a: &[u8; 8], rnd_b: &[u8; 8]) -> [u8; 16] {
        self.cryptogram(rnd_a, rnd_b)
    }

    /// Server cryptogram, `AES(S-ENC, RND.B ‖ RND.A)`.
    pub fn server_cryptogram(&self, rnd_a: &[u8; 8], rnd_b: &[u8; 8]) -> [u8; 16] {
        self.cryptogram(rnd_b, rnd_a)
    }

    /// Initial R-MAC from the server cryptogram.
    pub fn initial_rmac(&self, server_cryptogram: &[u8; 16]) -> [u8; 16] {
        ecb(&self.mac2, ecb(&self.mac1, *server_cryptogram))
    }

    /// OSDP MAC of `data` chained from `iv` (full 16 bytes).
    pub fn mac(&self, iv: &[u8; 16], data: &[u8]) -> [u8; 16] {
        let mut buf = data.to_vec();
        if buf.is_empty() || !buf.len().is_multiple_of(16) {
            buf.push(0x80);
            while !buf.len().is_multiple_of(16) {
                buf.push(0);
            }
        }
        let blocks = buf.len() / 16;
        let mut chain = *iv;
        for i in 0..blocks {
            let mut b = block_at(&buf, i);
            xor16(&mut b, &chain);
            chain = if i + 1 == blocks {
                ecb(&self.mac2, b)
            } else {
                ecb(&self.mac1, b)
            };
        }
        chain
    }

    /// AES-CBC encrypt with 0x80 padding (always added).
    pub fn encrypt(&self, iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
        let mut buf = data.to_vec();
        buf.push(0x80);
        while !buf.len().is_multiple_of(16) {
            buf.push(0);
        }
        let mut chain = *iv;
        for i in 0..buf.len() / 16 {
            let mut b = block_at(&buf, i);
            xor16(&mut b, &chain);
            chain = ecb(&self.enc, b);
            buf[i * 16..i * 16 + 16].copy_from_slice(&chain);
        }
        buf
    }

    /// AES-CBC decrypt and strip the 0x80 padding.
    pub fn decrypt(&self, iv: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, SecureError> {
        if data.is_empty() || !data.len().is_multiple_of(16) {
            return Err(SecureError::BadCiphertext("length not a multiple of 16"));
        }
        let mut out = Vec::with_capacity(data.len());
        let mut chain = *iv;
        for i in 0..data.len() / 16 {
            let c = block_at(data, i);
            let mut p = ecb_dec(&self.enc, c);
            xor16(&mut p, &chain);
            out.extend_from_slice(&p);
            chain = c;
        }
        while out.last() == Some(&0) {
            out.pop();
        }
        if out.pop() != Some(0x80) {
            return Err(SecureError::BadCiphertext("missing 0x80 padding marker"));
        }
        Ok(out)
    }
}

/// An established Secure Channel: keys and the MAC chain of both directions.
#[derive(Debug, Clone)]
pub struct SecureChannel {
    keys: SessionKeys,
    c_mac: [u8; 16],
    r_mac: [u8; 16],
}

impl SecureChannel {
    /// A channel whose chain starts from the initial R-MAC.
    pub fn new(keys: SessionKeys, rmac_i: [u8; 16]) -> Self {
        SecureChannel {
            keys,
            c_mac: [0; 16],
            r_mac: rmac_i,
        }
    }

    fn seal(&mut self, p: &mut Packet, is_cmd: bool) -> Result<(), SecureError> {
        let encrypted = !p.data.is_empty();
        let kind = match (is_cmd, encrypted) {
            (true, false) => scs::SCS_15,
            (true, true) => scs::SCS_17,
            (false, false) => scs::SCS_16,
            (false, true) => scs::SCS_18,
        };
        let (chain, other) = if is_cmd {
            (self.r_mac, &mut self.c_mac)
        } else {
            (self.c_mac, &mut self.r_mac)
        };
        if encrypted {
            p.data = self.keys.encrypt(&invert(chain), &p.data);
        }
        p.security = Some(SecurityBlock {
            kind,
            data: Vec::new(),
        });
        p.mac = None;
        let mac = self.keys.mac(&chain, &p.mac_input()?);
        *other = mac;
        p.mac = Some([mac[0], mac[1], mac[2], mac[3]]);
        Ok(())
    }

    fn open(&mut self, frame: &Frame, is_cmd: bool) -> Result<Packet, SecureError> {
        let kind = frame.packet.security.as_ref().map(|s| s.kind);
        let (plain, enc) = if is_cmd {
            (scs::SCS_15, scs::SCS_17)
        } else {
            (scs::SCS_16, scs::SCS_18)
        };
        if kind != Some(plain) && kind != Some(enc) {
            return Err(SecureError::NotSecured(kind));
        }
        let received = frame.packet.mac.ok_or(SecureError::NotSecured(kind))?;
        let chain = if is_cmd { self.r_mac } else { self.c_mac };
        let mac = self.keys.mac(&chain, frame.mac_input());
        if !ct_eq(&mac[..4], &received) {
            return Err(SecureError::MacMismatch);
        }
        let mut packet = frame.packet.clone();
        if kind == Some(enc) {
            // Decryption IV: inverse of the other direction's MAC, unchanged by this packet.
            let iv = invert(chain);
            packet.data = self.keys.decrypt(&iv, &packet.data)?;
        }
        if is_cmd {
            self.c_mac = mac;
        } else {
            self.r_mac = mac;
        }
        Ok(packet)
    }

    /// CP side: secure an outgoing command (encrypts data if any, sets SCS_15/17, adds MAC).
    pub fn seal_command(&mut self, p: &mut Packet) -> Result<(), SecureError> {
        self.seal(p, true)
    }

    /// CP side: verify and decrypt a reply. The chain is only advanced on success.
    pub fn open_reply(&mut self, frame: &Frame) -> Result<Packet, SecureError> {
        self.open(frame, false)
    }

    /// PD side: secure an outgoing reply.
    pub fn seal_reply(&mut self, p: &mut Packet) -> Result<(), SecureError> {
        self.seal(p, false)
    }

    /// PD side: verify and decrypt a command.
    pub fn open_command(&mut self, frame: &Frame) -> Result<Packet, SecureError> {
        self.open(frame, true)
    }
}

/// CP side of the handshake, from CHLNG to CCRYPT.
#[derive(Clone)]
pub struct CpHandshake {
    scbk: [u8; 16],
    kind: KeyKind,
    rnd_a: [u8; 8],
}

impl std::fmt::Debug for CpHandshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpHandshake")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// CP side after a verified CCRYPT, waiting for RMAC_I.
#[derive(Debug, Clone)]
pub struct CpPending {
    keys: SessionKeys,
    kind: KeyKind,
    server_cryptogram: [u8; 16],
    /// The PD's client UID from CCRYPT.
    pub client_uid: [u8; 8],
}

fn key_block(kind: u8, key_type: KeyKind) -> SecurityBlock {
    SecurityBlock {
        kind,
        data: vec![key_type.byte()],
    }
}

fn check_key_type(
    scb: Option<&SecurityBlock>,
    want_kind: u8,
    asked: KeyKind,
) -> Result<u8, SecureError> {
    let scb = scb.ok_or(SecureError::NotSecured(None))?;
    if scb.kind != want_kind {
        return Err(SecureError::NotSecured(Some(scb.kind)));
    }
    Ok(scb.data.first().copied().unwrap_or(asked.byte()))
}

impl CpHandshake {
    /// Start a handshake with a fresh random from the OS.
    pub fn new(scbk: [u8; 16], kind: KeyKind) -> Result<Self, SecureError> {
        let mut rnd_a = [0u8; 8];
        os_random(&mut rnd_a)?;
        Ok(Self::with_random(scbk, kind, rnd_a))
    }

    /// Start a handshake with a given random (tests only: production uses [`CpHandshake::new`]).
    pub fn with_random(scbk: [u8; 16], kind: KeyKind, rnd_a: [u8; 8]) -> Self {
        CpHandshake { scbk, kind, rnd_a }
    }

    /// The CHLNG command.
    pub fn chlng_packet(&self, address: u8, sequence: u8) -> Packet {
        let mut p = Packet::command(
            address,
            sequence,
            crate::message::cmd::CHLNG,
            self.rnd_a.to_vec(),
        );
        p.security = Some(key_block(scs::SCS_11, self.kind));
        p
    }

    /// Verify a CCRYPT reply (its security block and data).
    pub fn on_ccrypt(&self, reply: &Packet) -> Result<CpPending, SecureError> {
        let got = check_key_type(reply.security.as_ref(), scs::SCS_12, self.kind)?;
        if got != self.kind.byte() {
            return Err(SecureError::KeyTypeMismatch {
                asked: self.kind.byte(),
                got,
            });
        }
        let d = &reply.data;
        if d.len() != 32 {
            return Err(SecureError::BadHandshakeLength(d.len()));
        }
        let mut client_uid = [0u8; 8];
        client_uid.copy_from_slice(&d[..8]);
        let mut rnd_b = [0u8; 8];
        rnd_b.copy_from_slice(&d[8..16]);
        let keys = SessionKeys::derive(&self.scbk, &self.rnd_a);
        let expected = keys.client_cryptogram(&self.rnd_a, &rnd_b);
        if !ct_eq(&expected, &d[16..32]) {
            return Err(SecureError::CryptogramMismatch);
        }
        let server_cryptogram = keys.server_cryptogram(&self.rnd_a, &rnd_b);
        Ok(CpPending {
            keys,
            kind: self.kind,
            server_cryptogram,
            client_uid,
        })
    }
}

impl CpPending {
    /// The SCRYPT command.
    pub fn scrypt_packet(&self, address: u8, sequence: u8) -> Packet {
        let mut p = Packet::command(
            address,
            sequence,
            crate::message::cmd::SCRYPT,
            self.server_cryptogram.to_vec(),
        );
        p.security = Some(key_block(scs::SCS_13, self.kind));
        p
    }

    /// Verify RMAC_I and open the channel.
    pub fn on_rmac_i(self, reply: &Packet) -> Result<SecureChannel, SecureError> {
        let status = check_key_type(reply.security.as_ref(), scs::SCS_14, KeyKind::Scbk)?;
        if status != 0x01 {
            return Err(SecureError::Rejected(status));
        }
        if reply.data.len() != 16 {
            return Err(SecureError::BadHandshakeLength(reply.data.len()));
        }
        let rmac_i = self.keys.initial_rmac(&self.server_cryptogram);
        if !ct_eq(&rmac_i, &reply.data) {
            return Err(SecureError::RmacMismatch);
        }
        Ok(SecureChannel::new(self.keys, rmac_i))
    }
}

/// PD side of the handshake (for test PDs): answers CHLNG and SCRYPT.
#[derive(Debug, Clone)]
pub struct PdHandshake {
    keys: SessionKeys,
    rnd_a: [u8; 8],
    rnd_b: [u8; 8],
}

impl PdHandshake {
    /// Handle CHLNG data (RND.A); returns the state and the CCRYPT data.
    pub fn on_chlng(
        scbk: &[u8; 16],
        rnd_a_data: &[u8],
        rnd_b: [u8; 8],
        client_uid: [u8; 8],
    ) -> Result<(Self, Vec<u8>), SecureError> {
        if rnd_a_data.len() != 8 {
            return Err(SecureError::BadHandshakeLength(rnd_a_data.len()));
        }
        let mut rnd_a = [0u8; 8];
        rnd_a.copy_from_slice(rnd_a_data);
        let keys = SessionKeys::derive(scbk, &rnd_a);
        let mut data = client_uid.to_vec();
        data.extend_from_slice(&rnd_b);
        data.extend_from_slice(&keys.client_cryptogram(&rnd_a, &rnd_b));
        Ok((PdHandshake { keys, rnd_a, rnd_b }, data))
    }

    /// Handle SCRYPT data; returns the channel and the RMAC_I data.
    pub fn on_scrypt(self, data: &[u8]) -> Result<(SecureChannel, [u8; 16]), SecureError> {
        let expected = self.keys.server_cryptogram(&self.rnd_a, &self.rnd_b);
        if !ct_eq(&expected, data) {
            return Err(SecureError::CryptogramMismatch);
        }
        let rmac_i = self.keys.initial_rmac(&expected);
        Ok((SecureChannel::new(self.keys, rmac_i), rmac_i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::Packet;

    fn handshake(
        cp_key: [u8; 16],
        pd_key: [u8; 16],
    ) -> Result<(SecureChannel, SecureChannel), SecureError> {
        let cp = CpHandshake::new(cp_key, KeyKind::Scbk)?;
        let chlng = cp.chlng_packet(1, 1);
        let (pd_hs, ccrypt_data) = PdHandshake::on_chlng(&pd_key, &chlng.data, [7; 8], [1; 8])?;
        let mut ccrypt = Packet::reply(1, 1, crate::message::reply::CCRYPT, ccrypt_data);
        ccrypt.security = Some(SecurityBlock {
            kind: scs::SCS_12,
            data: vec![1],
        });
        let pending = cp.on_ccrypt(&ccrypt)?;
        let scrypt = pending.scrypt_packet(1, 2);
        let (pd_chan, rmac) = pd_hs.on_scrypt(&scrypt.data)?;
        let mut rmac_i = Packet::reply(1, 2, crate::message::reply::RMAC_I, rmac.to_vec());
        rmac_i.security = Some(SecurityBlock {
            kind: scs::SCS_14,
            data: vec![1],
        });
        Ok((pending.on_rmac_i(&rmac_i)?, pd_chan))
    }

    fn frame(p: &Packet) -> Frame {
        Packet::decode(&p.encode().unwrap()).unwrap().0
    }

    #[test]
    fn handshake_and_traffic_both_ways() {
        let key = [0x42; 16];
        let (mut cp, mut pd) = handshake(key, key).unwrap();
        for i in 0..5u8 {
            let mut cmd = Packet::command(1, 1 + i % 3, 0x69, vec![i; 14]);
            cp.seal_command(&mut cmd).unwrap();
            assert_ne!(cmd.data, vec![i; 14], "data must be encrypted");
            let opened = pd.open_command(&frame(&cmd)).unwrap();
            assert_eq!(opened.data, vec![i; 14]);
            let mut rep = Packet::reply(1, 1 + i % 3, 0x40, vec![]);
            pd.seal_reply(&mut rep).unwrap();
            assert_eq!(cp.open_reply(&frame(&rep)).unwrap().code, 0x40);
        }
    }

    #[test]
    fn wrong_key_fails_cryptogram() {
        let err = handshake([1; 16], [2; 16]).unwrap_err();
        assert_eq!(err, SecureError::CryptogramMismatch);
    }

    #[test]
    fn tampered_packet_fails_mac_and_chain_survives() {
        let key = [0x11; 16];
        let (mut cp, mut pd) = handshake(key, key).unwrap();
        let mut rep = Packet::reply(1, 1, 0x50, vec![0, 1, 26, 0, 1, 2, 3, 4]);
        pd.seal_reply(&mut rep).unwrap();
        let mut bytes = rep.encode().unwrap();
        bytes[8] ^= 1;
        let n = bytes.len();
        let crc = crate::packet::crc16(&bytes[..n - 2]).to_le_bytes();
        bytes[n - 2..].copy_from_slice(&crc);
        let bad = Packet::decode(&bytes).unwrap().0;
        assert_eq!(cp.open_reply(&bad).unwrap_err(), SecureError::MacMismatch);
        assert_eq!(
            cp.open_reply(&frame(&rep)).unwrap().data,
            vec![0, 1, 26, 0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn cbc_roundtrip_pads_block_aligned_data() {
        let keys = SessionKeys::derive(&SCBK_D, &[1; 8]);
        for len in [0usize, 1, 15, 16, 17, 32] {
            let data: Vec<u8> = (0..len as u8).collect();
            let c = keys.encrypt(&[3; 16], &data);
            assert_eq!(c.len() % 16, 0);
            assert!(c.len() > len);
            assert_eq!(keys.decrypt(&[3; 16], &c).unwrap(), data);
        }
        assert!(keys.decrypt(&[0; 16], &[0; 15]).is_err());
    }

    #[test]
    fn os_random_differs_between_handshakes() {
        let a = CpHandshake::new(SCBK_D, KeyKind::Default).unwrap();
        let b = CpHandshake::new(SCBK_D, KeyKind::Default).unwrap();
        assert_ne!(a.rnd_a, b.rnd_a);
    }
}
