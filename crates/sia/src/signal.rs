//! The one typed alarm signal that both payload formats (Contact ID, SIA DCS) decode into.

use jiff::Timestamp;
use thiserror::Error;

use crate::cid::{self, CidQualifier};
use crate::dcs;
use crate::frame::{Content, Header, MessageKind};

/// Payload format of a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Ademco Contact ID (`ADM-CID`).
    ContactId,
    /// SIA DCS (`SIA-DCS`).
    SiaDcs,
}

/// Event qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qualifier {
    /// New event / opening (CID `1`, SIA `N`).
    New,
    /// Restore / closing (CID `3`).
    Restore,
    /// Condition still present (CID `6`).
    StatusRepeat,
}

/// An alarm event received from a panel (or to be sent to a central station).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmSignal {
    /// Account (from the frame header).
    pub account: String,
    /// Payload format.
    pub protocol: Protocol,
    /// Event code: 3 digits for Contact ID (`"130"`), 2 letters for SIA (`"BA"`).
    pub code: String,
    /// Qualifier.
    pub qualifier: Qualifier,
    /// Zone, if the event names one.
    pub zone: Option<u32>,
    /// Partition/area/group.
    pub partition: Option<u32>,
    /// User, if the event names one.
    pub user: Option<u32>,
    /// Free text (SIA names and `|A` text).
    pub text: Option<String>,
    /// Payload exactly as received (decrypted), e.g. `#1234|1130 01 003`.
    pub raw: String,
    /// Time the panel stamped on the frame, if any.
    pub event_time: Option<Timestamp>,
    /// Receiver clock when the frame was processed (`None` for signals built to send).
    pub received_at: Option<Timestamp>,
    /// DC-09 sequence number of the carrying frame.
    pub seq: u16,
    /// Index of this event within its frame (SIA DCS frames may carry several).
    pub index_in_frame: u8,
    /// The frame was encrypted.
    pub encrypted: bool,
    /// This is a test report (CID 601–608, SIA RX/RP/TX/TS/TE).
    pub test: bool,
}

/// Why a payload could not be turned into signals (answered with DUH).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignalError {
    /// Contact ID payload malformed.
    #[error(transparent)]
    Cid(#[from] cid::CidError),
    /// SIA DCS payload malformed.
    #[error(transparent)]
    Dcs(#[from] dcs::DcsError),
    /// Contact ID event code not defined by DC-05.
    #[error("unknown Contact ID event code {0:03}")]
    UnknownCidCode(u16),
    /// Payload names a different account than the header.
    #[error("payload account {payload} differs from header account {header}")]
    AccountMismatch {
        /// In the header.
        header: String,
        /// In the payload.
        payload: String,
    },
    /// The message kind carries no signal (NULL, ACK …).
    #[error("message kind {0:?} carries no alarm signal")]
    NotAnEvent(MessageKind),
}

/// Decode the content of an `ADM-CID` or `SIA-DCS` frame into signals.
pub fn decode(
    header: &Header,
    account: &str,
    content: &Content,
    received_at: Timestamp,
) -> Result<Vec<AlarmSignal>, SignalError> {
    let base = |protocol, code: String, qualifier, idx: usize| AlarmSignal {
        account: account.to_string(),
        protocol,
        code,
        qualifier,
        zone: None,
        partition: None,
        user: None,
        text: None,
        raw: content.data.clone(),
        event_time: content.timestamp,
        received_at: Some(received_at),
        seq: header.seq,
        index_in_frame: u8::try_from(idx).unwrap_or(u8::MAX),
        encrypted: header.encrypted,
        test: false,
    };
    let check_acct = |inner: &Option<String>| match inner {
        Some(p) if !p.eq_ignore_ascii_case(account) => Err(SignalError::AccountMismatch {
            header: account.into(),
            payload: p.clone(),
        }),
        _ => Ok(()),
    };
    match header.kind {
        MessageKind::AdmCid => {
            let ev = cid::parse(&content.data)?;
            check_acct(&ev.account)?;
            if !cid::is_known(ev.code) {
                return Err(SignalError::UnknownCidCode(ev.code));
            }
            let q = match ev.qualifier {
                CidQualifier::New => Qualifier::New,
                CidQualifier::Restore => Qualifier::Restore,
                CidQualifier::StatusRepeat => Qualifier::StatusRepeat,
            };
            let mut s = base(Protocol::ContactId, format!("{:03}", ev.code), q, 0);
            s.partition = Some(u32::from(ev.partition));
            if cid::reports_user(ev.code) {
                s.user = Some(u32::from(ev.zone_or_user));
            } else {
                s.zone = Some(u32::from(ev.zone_or_user));
            }
            s.test = cid::is_test(ev.code);
            Ok(vec![s])
        }
        MessageKind::SiaDcs => {
            let m = dcs::parse(&content.data)?;
            check_acct(&m.account)?;
            Ok(m.events
                .into_iter()
                .enumerate()
                .map(|(i, e)| {
                    let mut s = base(Protocol::SiaDcs, e.code.clone(), Qualifier::New, i);
                    s.zone = e.zone;
                    s.partition = e.partition;
                    s.user = e.user;
                    s.text = e.text;
                    s.test = dcs::is_test(&e.code);
                    s
                })
                .collect())
        }
        k => Err(SignalError::NotAnEvent(k)),
    }
}

impl AlarmSignal {
    /// The payload text to send for this signal (`#acct|…`), in its own protocol.
    pub fn render_payload(&self) -> Result<String, SignalError> {
        match self.protocol {
            Protocol::ContactId => {
                let code: u16 = self
                    .code
                    .parse()
                    .map_err(|_| cid::CidError::Malformed(self.code.clone()))?;
                if !cid::is_known(code) {
                    return Err(SignalError::UnknownCidCode(code));
                }
                let zu = if cid::reports_user(code) {
                    self.user
                } else {
                    self.zone
                };
                let ev = cid::CidEvent {
                    account: Some(self.account.clone()),
                    qualifier: match self.qualifier {
                        Qualifier::New => CidQualifier::New,
                        Qualifier::Restore => CidQualifier::Restore,
                        Qualifier::StatusRepeat => CidQualifier::StatusRepeat,
                    },
                    code,
                    partition: u8::try_from(self.partition.unwrap_or(0) % 100).unwrap_or(0),
                    zone_or_user: u16::try_from(zu.unwrap_or(0) % 1000).unwrap_or(0),
                };
                Ok(cid::render(&ev))
            }
            Protocol::SiaDcs => {
                if self.code.len() != 2 || !self.code.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(dcs::DcsError::Malformed(self.code.clone()).into());
                }
                let ev = dcs::DcsEvent {
                    code: self.code.clone(),
                    zone: self.zone,
                    partition: self.partition,
                    user: self.user,
                    time_of_day: None,
                    text: None,
                };
                Ok(dcs::render(Some(&self.account), &ev))
            }
        }
    }

    /// A new signal to send (fields not given are empty; `raw` is filled when rendered).
    pub fn new(account: &str, protocol: Protocol, code: &str, qualifier: Qualifier) -> Self {
        Self {
            account: account.to_string(),
            protocol,
            code: code.to_string(),
            qualifier,
            zone: None,
            partition: None,
            user: None,
            text: None,
            raw: String::new(),
            event_time: None,
            received_at: None,
            seq: 0,
            index_in_frame: 0,
            encrypted: false,
            test: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(kind: MessageKind) -> Header {
        Header {
            kind,
            encrypted: false,
            seq: 7,
            receiver: None,
            line: Some("0".into()),
            account: Some("1234".into()),
        }
    }

    #[test]
    fn cid_to_signal() {
        let s = decode(
            &hdr(MessageKind::AdmCid),
            "1234",
            &Content::data("#1234|3401 02 015"),
            Timestamp::UNIX_EPOCH,
        )
        .expect("ok");
        assert_eq!(s.len(), 1);
        assert_eq!(
            (
                s[0].code.as_str(),
                s[0].qualifier,
                s[0].user,
                s[0].zone,
                s[0].partition
            ),
            ("401", Qualifier::Restore, Some(15), None, Some(2))
        );
        assert_eq!(s[0].render_payload().expect("render"), "#1234|3401 02 015");
    }

    #[test]
    fn unknown_cid_and_mismatch() {
        assert_eq!(
            decode(
                &hdr(MessageKind::AdmCid),
                "1234",
                &Content::data("#1234|1999 01 001"),
                Timestamp::UNIX_EPOCH
            ),
            Err(SignalError::UnknownCidCode(999))
        );
        assert!(matches!(
            decode(
                &hdr(MessageKind::AdmCid),
                "1234",
                &Content::data("#9999|1130 01 001"),
                Timestamp::UNIX_EPOCH
            ),
            Err(SignalError::AccountMismatch { .. })
        ));
    }

    #[test]
    fn dcs_to_signals() {
        let s = decode(
            &hdr(MessageKind::SiaDcs),
            "1234",
            &Content::data("#1234|Nri1/BA001/RP"),
            Timestamp::UNIX_EPOCH,
        )
        .expect("ok");
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].code.as_str(), s[0].zone, s[0].partition, s[0].test),
            ("BA", Some(1), Some(1), false)
        );
        assert!(s[1].test);
        assert_eq!(s[1].index_in_frame, 1);
    }
}
