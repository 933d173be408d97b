//! Sans-IO receiver core: takes one raw frame and `now`, applies the account, encryption, clock
//! window and replay policy, and says what to do: deliver signals (then ACK, or NAK if delivery
//! fails), acknowledge a link test, re-acknowledge a duplicate, or reject with NAK/DUH.
//!
//! Policy (stricter than pysiaalarm on purpose):
//! - unknown account → NAK; no account → NAK;
//! - plain frame for an account that has a key → NAK; encrypted frame without a configured key → NAK;
//! - encrypted frame without timestamp → NAK; any timestamp older than `past_s` or more than
//!   `future_s` ahead → NAK carrying our time;
//! - undecodable payload or unknown Contact ID code → DUH;
//! - same account + sequence + payload already delivered within the replay memory → ACK again
//!   without delivering (a retransmission after a lost ACK, or a replay: both harmless).

use std::collections::{HashMap, VecDeque};

use jiff::{SignedDuration, Timestamp};
use thiserror::Error;

use crate::crypto::AesKey;
use crate::frame::{self, Frame, FrameError, Header, MessageKind, ReplyKind};
use crate::signal::{self, AlarmSignal, SignalError};

/// Accepted sender clock skew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// Oldest accepted timestamp, seconds before `now` (DC-09/pysiaalarm: 40).
    pub past_s: i64,
    /// Furthest accepted timestamp, seconds after `now` (DC-09/pysiaalarm: 20).
    pub future_s: i64,
}

impl Default for TimeWindow {
    fn default() -> Self {
        Self {
            past_s: 40,
            future_s: 20,
        }
    }
}

/// One configured panel account.
#[derive(Debug, Clone)]
pub struct AccountPolicy {
    /// Account id (3–16 hex digits; compared case-insensitively).
    pub account: String,
    /// AES key; when set, plain frames from this account are refused.
    pub key: Option<AesKey>,
    /// Supervision: the account must be heard at least this often (None = unsupervised).
    pub supervision_interval_s: Option<u64>,
}

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejection {
    /// Frame structure, CRC or length wrong.
    #[error("malformed frame: {0}")]
    Malformed(FrameError),
    /// Frame has no account field.
    #[error("frame carries no account")]
    NoAccount,
    /// Account not configured.
    #[error("unknown account {0}")]
    UnknownAccount(String),
    /// Plain frame for an account that requires encryption.
    #[error("plain frame for encrypted account {0}")]
    PlainForKeyedAccount(String),
    /// Encrypted frame for an account without a key.
    #[error("encrypted frame for account {0} which has no key")]
    NoKeyForAccount(String),
    /// Decryption or decrypted content failed (wrong key, corrupt).
    #[error("cannot decrypt frame for account {account}: {error}")]
    Decrypt {
        /// Account.
        account: String,
        /// Cause.
        error: FrameError,
    },
    /// Encrypted frame without timestamp.
    #[error("encrypted frame without timestamp")]
    MissingTimestamp,
    /// Timestamp too old.
    #[error("timestamp {skew_s} s old (limit {limit_s} s)")]
    Stale {
        /// Age in seconds.
        skew_s: i64,
        /// Limit.
        limit_s: i64,
    },
    /// Timestamp too far ahead.
    #[error("timestamp {skew_s} s in the future (limit {limit_s} s)")]
    Future {
        /// Seconds ahead.
        skew_s: i64,
        /// Limit.
        limit_s: i64,
    },
    /// Payload not understood (answered with DUH).
    #[error("payload not understood: {0}")]
    NotUnderstood(SignalError),
    /// A reply kind (ACK/NAK/DUH) sent to a receiver.
    #[error("unexpected message kind {0:?}")]
    UnexpectedKind(MessageKind),
}

impl Rejection {
    /// Which reply the rejection is answered with.
    pub fn reply_kind(&self) -> ReplyKind {
        match self {
            Self::NotUnderstood(_) | Self::UnexpectedKind(_) => ReplyKind::Duh,
            _ => ReplyKind::Nak,
        }
    }
}

/// Identifies a delivered frame for replay memory; pass it back to [`ReceiverCore::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayToken {
    account: String,
    seq: u16,
    fingerprint: String,
}

/// Signals to deliver, with both possible replies prepared.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Account (normalised upper case).
    pub account: String,
    /// Signals in frame order.
    pub signals: Vec<AlarmSignal>,
    /// Reply to send once every signal is durable.
    pub ack: Vec<u8>,
    /// Reply to send if delivery failed.
    pub nak: Vec<u8>,
    /// For [`ReceiverCore::commit`] after successful delivery.
    pub token: ReplayToken,
}

/// What the IO layer must do with a frame.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Deliver, then ACK (or NAK on failure), then `commit`.
    Deliver(Delivery),
    /// A valid NULL (link test / supervision poll): send `ack`, mark the account heard.
    LinkTest {
        /// Account.
        account: String,
        /// Reply.
        ack: Vec<u8>,
    },
    /// Already delivered: send `ack`, do not deliver again.
    Duplicate {
        /// Account.
        account: String,
        /// Sequence.
        seq: u16,
        /// Reply.
        ack: Vec<u8>,
    },
    /// Refused: send `reply` (NAK or DUH).
    Reject {
        /// Why.
        rejection: Rejection,
        /// Reply bytes.
        reply: Vec<u8>,
    },
}

struct Seen {
    seq: u16,
    fingerprint: String,
    at: Timestamp,
}

/// Largest replay memory per account.
const REPLAY_ENTRIES_PER_ACCOUNT: usize = 256;

/// The receiver's state: accounts and replay memory.
pub struct ReceiverCore {
    accounts: HashMap<String, AccountPolicy>,
    window: TimeWindow,
    seen: HashMap<String, VecDeque<Seen>>,
}

impl ReceiverCore {
    /// Core for these accounts.
    pub fn new(accounts: impl IntoIterator<Item = AccountPolicy>, window: TimeWindow) -> Self {
        let accounts = accounts
            .into_iter()
            .map(|a| (a.account.to_ascii_uppercase(), a))
            .collect();
        Self {
            accounts,
            window,
            seen: HashMap::new(),
        }
    }

    /// Configured accounts.
    pub fn accounts(&self) -> impl Iterator<Item = &AccountPolicy> {
        self.accounts.values()
    }

    fn replay_retention(&self) -> SignedDuration {
        SignedDuration::from_secs(self.window.past_s + self.window.future_s + 60)
    }

    fn reject(rejection: Rejection, header: Option<&Header>, now: Timestamp) -> Outcome {
        let reply = match rejection.reply_kind() {
            ReplyKind::Duh => header.map_or_else(|| frame::build_nak(None, now), frame::build_duh),
            _ => frame::build_nak(header, now),
        };
        Outcome::Reject { rejection, reply }
    }

    /// Decide what to do with one raw frame (LF…CR).
    pub fn process(&mut self, raw: &[u8], now: Timestamp, pad_seed: &[u8; 16]) -> Outcome {
        let f = match Frame::parse(raw) {
            Ok(f) => f,
            Err(e) => return Self::reject(Rejection::Malformed(e), None, now),
        };
        let h = &f.header;
        let Some(acct_raw) = h.account.as_deref() else {
            return Self::reject(Rejection::NoAccount, Some(h), now);
        };
        let account = acct_raw.to_ascii_uppercase();
        let Some(policy) = self.accounts.get(&account) else {
            return Self::reject(Rejection::UnknownAccount(account), Some(h), now);
        };
        let key = policy.key.clone();
        match (h.encrypted, &key) {
            (false, Some(_)) => {
                return Self::reject(Rejection::PlainForKeyedAccount(account), Some(h), now);
            }
            (true, None) => return Self::reject(Rejection::NoKeyForAccount(account), Some(h), now),
            _ => {}
        }
        if matches!(
            h.kind,
            MessageKind::Ack | MessageKind::Nak | MessageKind::Duh
        ) {
            return Self::reject(Rejection::UnexpectedKind(h.kind), Some(h), now);
        }
        let content = match f.open(key.as_ref()) {
            Ok(c) => c,
            Err(error) => return Self::reject(Rejection::Decrypt { account, error }, Some(h), now),
        };
        match content.timestamp {
            None if h.encrypted => return Self::reject(Rejection::MissingTimestamp, Some(h), now),
            None => {}
            Some(ts) => {
                let skew_s = now.duration_since(ts).as_secs();
                if skew_s > self.window.past_s {
                    return Self::reject(
                        Rejection::Stale {
                            skew_s,
                            limit_s: self.window.past_s,
                        },
                        Some(h),
                        now,
                    );
                }
                if -skew_s > self.window.future_s {
                    return Self::reject(
                        Rejection::Future {
                            skew_s: -skew_s,
                            limit_s: self.window.future_s,
                        },
                        Some(h),
                        now,
                    );
                }
            }
        }
        let ack = match frame::build_ack(h, key.as_ref(), now, pad_seed) {
            Ok(a) => a,
            Err(e) => return Self::reject(Rejection::Malformed(e), Some(h), now),
        };
        if h.kind == MessageKind::Null {
            return Outcome::LinkTest { account, ack };
        }
        let signals = match signal::decode(h, &account, &content, now) {
            Ok(s) => s,
            Err(e) => return Self::reject(Rejection::NotUnderstood(e), Some(h), now),
        };
        let mut fingerprint = String::from(h.kind.token());
        fingerprint.push('|');
        fingerprint.push_str(&content.data);
        for x in &content.extended {
            fingerprint.push('[');
            fingerprint.push_str(x);
        }
        let retention = self.replay_retention();
        if let Some(q) = self.seen.get_mut(&account) {
            while q
                .front()
                .is_some_and(|s| now.duration_since(s.at) > retention)
            {
                q.pop_front();
            }
            if q.iter()
                .any(|s| s.seq == h.seq && s.fingerprint == fingerprint)
            {
                return Outcome::Duplicate {
                    account,
                    seq: h.seq,
                    ack,
                };
            }
        }
        let nak = frame::build_nak(Some(h), now);
        let token = ReplayToken {
            account: account.clone(),
            seq: h.seq,
            fingerprint,
        };
        Outcome::Deliver(Delivery {
            account,
            signals,
            ack,
            nak,
            token,
        })
    }

    /// Record a delivered frame so a retransmission or replay is not delivered twice.
    pub fn commit(&mut self, token: ReplayToken, now: Timestamp) {
        let q = self.seen.entry(token.account).or_default();
        if q.len() >= REPLAY_ENTRIES_PER_ACCOUNT {
            q.pop_front();
        }
        q.push_back(Seen {
            seq: token.seq,
            fingerprint: token.fingerprint,
            at: now,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Content, Frame};

    fn now() -> Timestamp {
        crate::timestamp::parse("12:00:00,06-01-2026").expect("ts")
    }

    fn key() -> AesKey {
        AesKey::from_ascii("0123456789ABCDEF").expect("key")
    }

    fn core() -> ReceiverCore {
        ReceiverCore::new(
            [
                AccountPolicy {
                    account: "1234".into(),
                    key: None,
                    supervision_interval_s: None,
                },
                AccountPolicy {
                    account: "ab12".into(),
                    key: Some(key()),
                    supervision_interval_s: Some(60),
                },
            ],
            TimeWindow::default(),
        )
    }

    fn frame(
        acct: &str,
        kind: MessageKind,
        seq: u16,
        data: &str,
        key: Option<&AesKey>,
        ts: Option<Timestamp>,
    ) -> Vec<u8> {
        let h = Header {
            kind,
            encrypted: false,
            seq,
            receiver: Some("1".into()),
            line: Some("0".into()),
            account: Some(acct.into()),
        };
        let c = Content {
            data: data.into(),
            extended: vec![],
            timestamp: ts,
        };
        Frame::build(h, &c, key, &[5; 16]).expect("build").encode()
    }

    fn reply_kind(bytes: &[u8]) -> MessageKind {
        Frame::parse(bytes).expect("reply parses").header.kind
    }

    #[test]
    fn plain_cid_delivers_then_duplicate_is_not_redelivered() {
        let mut c = core();
        let raw = frame(
            "1234",
            MessageKind::AdmCid,
            1,
            "#1234|1130 01 003",
            None,
            None,
        );
        let Outcome::Deliver(d) = c.process(&raw, now(), &[0; 16]) else {
            panic!("expected delivery")
        };
        assert_eq!(d.signals[0].code, "130");
        assert_eq!(reply_kind(&d.ack), MessageKind::Ack);
        assert_eq!(reply_kind(&d.nak), MessageKind::Nak);
        // not committed yet (delivery failed, say): same frame is delivered again
        assert!(matches!(
            c.process(&raw, now(), &[0; 16]),
            Outcome::Deliver(_)
        ));
        c.commit(d.token, now());
        assert!(matches!(
            c.process(&raw, now(), &[0; 16]),
            Outcome::Duplicate { seq: 1, .. }
        ));
        // replay memory expires
        let later = now()
            .checked_add(SignedDuration::from_secs(500))
            .expect("t");
        assert!(matches!(
            c.process(&raw, later, &[0; 16]),
            Outcome::Deliver(_)
        ));
    }

    #[test]
    fn encrypted_policy() {
        let mut c = core();
        let k = key();
        let good = frame(
            "AB12",
            MessageKind::SiaDcs,
            2,
            "#AB12|Nri1/BA001",
            Some(&k),
            Some(now()),
        );
        let Outcome::Deliver(d) = c.process(&good, now(), &[0; 16]) else {
            panic!("expected delivery")
        };
        let ack = Frame::parse(&d.ack).expect("ack");
        assert!(ack.header.encrypted);
        assert_eq!(ack.open(Some(&k)).expect("open").timestamp, Some(now()));

        type Case = (Vec<u8>, fn(&Rejection) -> bool);
        let cases: Vec<Case> = vec![
            (
                frame("AB12", MessageKind::SiaDcs, 3, "#AB12|NBA1", None, None),
                |r| matches!(r, Rejection::PlainForKeyedAccount(_)),
            ),
            (
                frame("AB12", MessageKind::SiaDcs, 3, "#AB12|NBA1", Some(&k), None),
                |r| matches!(r, Rejection::MissingTimestamp),
            ),
            (
                frame(
                    "AB12",
                    MessageKind::SiaDcs,
                    3,
                    "#AB12|NBA1",
                    Some(&AesKey::from_ascii("FEDCBA9876543210").expect("k")),
                    Some(now()),
                ),
                |r| matches!(r, Rejection::Decrypt { .. }),
            ),
            (
                frame(
                    "1234",
                    MessageKind::SiaDcs,
                    3,
                    "#1234|NBA1",
                    Some(&k),
                    Some(now()),
                ),
                |r| matches!(r, Rejection::NoKeyForAccount(_)),
            ),
            (
                frame("9999", MessageKind::SiaDcs, 3, "#9999|NBA1", None, None),
                |r| matches!(r, Rejection::UnknownAccount(_)),
            ),
            (
                frame(
                    "AB12",
                    MessageKind::SiaDcs,
                    3,
                    "#AB12|NBA1",
                    Some(&k),
                    now().checked_sub(SignedDuration::from_secs(41)).ok(),
                ),
                |r| matches!(r, Rejection::Stale { skew_s: 41, .. }),
            ),
            (
                frame(
                    "AB12",
                    MessageKind::SiaDcs,
                    3,
                    "#AB12|NBA1",
                    Some(&k),
                    now().checked_add(SignedDuration::from_secs(21)).ok(),
                ),
                |r| matches!(r, Rejection::Future { skew_s: 21, .. }),
            ),
            (b"\n0000000A\"NULL\"0000\r".to_vec(), |r| {
                matches!(r, Rejection::Malformed(_))
            }),
        ];
        for (i, (raw, check)) in cases.into_iter().enumerate() {
            match c.process(&raw, now(), &[0; 16]) {
                Outcome::Reject { rejection, reply } => {
                    assert!(check(&rejection), "case {i}: {rejection:?}");
                    let nak = Frame::parse(&reply).expect("nak");
                    assert_eq!(nak.header.kind, MessageKind::Nak, "case {i}");
                    assert_eq!(nak.open(None).expect("c").timestamp, Some(now()));
                }
                o => panic!("case {i}: expected reject, got {o:?}"),
            }
        }
        // inside the window at both edges
        for off in [-40i64, 20] {
            let ts = now()
                .checked_add(SignedDuration::from_secs(off))
                .expect("t");
            let raw = frame("AB12", MessageKind::Null, 0, "", Some(&k), Some(ts));
            assert!(
                matches!(c.process(&raw, now(), &[0; 16]), Outcome::LinkTest { .. }),
                "{off}"
            );
        }
    }

    #[test]
    fn unknown_cid_code_gets_duh() {
        let mut c = core();
        let raw = frame(
            "1234",
            MessageKind::AdmCid,
            4,
            "#1234|1999 01 003",
            None,
            None,
        );
        let Outcome::Reject { rejection, reply } = c.process(&raw, now(), &[0; 16]) else {
            panic!("expected reject")
        };
        assert!(matches!(
            rejection,
            Rejection::NotUnderstood(SignalError::UnknownCidCode(999))
        ));
        let duh = Frame::parse(&reply).expect("duh");
        assert_eq!((duh.header.kind, duh.header.seq), (MessageKind::Duh, 4));
    }
}
