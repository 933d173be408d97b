//! Streaming verification of a site's journal.
//!
//! Feed events in sequence order with [`Verifier::push`], then hand the checkpoints to
//! [`Verifier::finish`]. Memory stays constant whatever the journal's length: the verifier keeps
//! the running hash, the expected next sequence number and the hashes at checkpointed sequences
//! only. The first problem found is reported with its sequence number.
use std::collections::HashMap;

use ed25519_dalek::VerifyingKey;

use crate::GENESIS_HASH;
use crate::canonical::JournalEvent;
use crate::checkpoint::Checkpoint;

/// What is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Tamper {
    /// The stored hash does not match the content and the previous hash: the event was altered,
    /// or events were inserted or reordered before it.
    #[error(
        "event {seq}: stored hash does not match its content and chain (altered, inserted or reordered)"
    )]
    HashMismatch {
        /// The first bad sequence number.
        seq: u64,
    },
    /// Sequence numbers jump: events were removed.
    #[error("event {expected}: missing (next stored event is {found}); events were removed")]
    Missing {
        /// The sequence number that should come next.
        expected: u64,
        /// The one found instead.
        found: u64,
    },
    /// A sequence number repeats or goes backwards: events were inserted or reordered.
    #[error("event {found}: out of order after {previous} (inserted or reordered)")]
    OutOfOrder {
        /// The previous sequence number.
        previous: u64,
        /// The one found.
        found: u64,
    },
    /// An event belongs to another site.
    #[error("event {seq}: belongs to site {found:?}, not {expected:?}")]
    WrongSite {
        /// Sequence number.
        seq: u64,
        /// The site being verified.
        expected: String,
        /// The site in the event.
        found: String,
    },
    /// A checkpoint's signature is invalid.
    #[error("checkpoint at event {seq}: signature is not valid for this site's key")]
    BadCheckpointSignature {
        /// The checkpoint's sequence number.
        seq: u64,
    },
    /// A checkpoint seals a different head than the chain has.
    #[error("checkpoint at event {seq}: sealed hash differs from the chain (history rewritten)")]
    CheckpointMismatch {
        /// The checkpoint's sequence number.
        seq: u64,
    },
    /// A signed checkpoint names an event that no longer exists: the tail was cut.
    #[error(
        "event {first_missing}: missing; a signed checkpoint seals event {checkpoint_seq} but the journal ends at {last_seq} (tail cut)"
    )]
    TailCut {
        /// First missing sequence number.
        first_missing: u64,
        /// The checkpoint that proves it existed.
        checkpoint_seq: u64,
        /// The last event present.
        last_seq: u64,
    },
}

impl Tamper {
    /// The first bad sequence number.
    pub fn seq(&self) -> u64 {
        match self {
            Tamper::HashMismatch { seq }
            | Tamper::WrongSite { seq, .. }
            | Tamper::BadCheckpointSignature { seq }
            | Tamper::CheckpointMismatch { seq } => *seq,
            Tamper::Missing { expected, .. } => *expected,
            Tamper::OutOfOrder { found, .. } => *found,
            Tamper::TailCut { first_missing, .. } => *first_missing,
        }
    }
}

/// The result of a successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The last sequence number.
    pub last_seq: u64,
    /// The head hash.
    pub head_hash: [u8; 32],
    /// Events after the last checkpoint (not yet sealed; a cut there is not provable).
    pub unsealed_tail: u64,
}

/// A streaming verifier for one site.
pub struct Verifier {
    site_id: String,
    prev_hash: [u8; 32],
    next_seq: u64,
    /// Sequence numbers whose hash we must remember for checkpoints, and the hash once seen.
    wanted: HashMap<u64, Option<[u8; 32]>>,
    events: u64,
}

impl Verifier {
    /// A verifier for `site_id`; `checkpoint_seqs` are the sequence numbers of the stored
    /// checkpoints, so their hashes can be kept while streaming (constant memory otherwise).
    pub fn new(site_id: &str, checkpoint_seqs: impl IntoIterator<Item = u64>) -> Verifier {
        Verifier {
            site_id: site_id.to_owned(),
            prev_hash: GENESIS_HASH,
            next_seq: 1,
            wanted: checkpoint_seqs.into_iter().map(|s| (s, None)).collect(),
            events: 0,
        }
    }

    /// Checks the next event.
    pub fn push(&mut self, e: &JournalEvent) -> Result<(), Tamper> {
        if e.site_id != self.site_id {
            return Err(Tamper::WrongSite {
                seq: e.seq,
                expected: self.site_id.clone(),
                found: e.site_id.clone(),
            });
        }
        if e.seq < self.next_seq {
            return Err(Tamper::OutOfOrder {
                previous: self.next_seq - 1,
                found: e.seq,
            });
        }
        if e.seq > self.next_seq {
            return Err(Tamper::Missing {
                expected: self.next_seq,
                found: e.seq,
            });
        }
        let computed = e.expected_hash(&self.prev_hash);
        if computed != e.hash {
            return Err(Tamper::HashMismatch { seq: e.seq });
        }
        if let Some(slot) = self.wanted.get_mut(&e.seq) {
            *slot = Some(computed);
        }
        self.prev_hash = computed;
        self.next_seq += 1;
        self.events += 1;
        Ok(())
    }

    /// Checks the checkpoints against what was streamed and ends the verification.
    pub fn finish(
        self,
        checkpoints: &[Checkpoint],
        key: &VerifyingKey,
    ) -> Result<VerifyReport, Tamper> {
        let last_seq = self.next_seq - 1;
        let mut sorted: Vec<&Checkpoint> = checkpoints.iter().collect();
        sorted.sort_by_key(|c| c.seq);
        for cp in &sorted {
            if !cp.signature_valid(key) || cp.site_id != self.site_id {
                return Err(Tamper::BadCheckpointSignature { seq: cp.seq });
            }
        }
        // The highest valid checkpoint beyond the end proves a cut tail.
        if let Some(cp) = sorted.iter().rev().find(|c| c.seq > last_seq) {
            return Err(Tamper::TailCut {
                first_missing: last_seq + 1,
                checkpoint_seq: cp.seq,
                last_seq,
            });
        }
        for cp in &sorted {
            match self.wanted.get(&cp.seq) {
                Some(Some(h)) if *h == cp.head_hash => {}
                _ => return Err(Tamper::CheckpointMismatch { seq: cp.seq }),
            }
        }
        let sealed = sorted.last().map_or(0, |c| c.seq);
        Ok(VerifyReport {
            events: self.events,
            checkpoints: sorted.len() as u64,
            last_seq,
            head_hash: self.prev_hash,
            unsealed_tail: last_seq - sealed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::SiteKey;

    fn chain(n: u64) -> Vec<JournalEvent> {
        let mut prev = GENESIS_HASH;
        (1..=n)
            .map(|seq| {
                let e = JournalEvent::seal(
                    &prev,
                    seq,
                    "demo",
                    1_000 + seq as i64,
                    "test.event",
                    "system",
                    format!("{{\"n\":{seq}}}"),
                );
                prev = e.hash;
                e
            })
            .collect()
    }

    fn run(
        events: &[JournalEvent],
        cps: &[Checkpoint],
        key: &SiteKey,
    ) -> Result<VerifyReport, Tamper> {
        let mut v = Verifier::new("demo", cps.iter().map(|c| c.seq));
        for e in events {
            v.push(e)?;
        }
        v.finish(cps, &key.verifying_key())
    }

    fn setup() -> (Vec<JournalEvent>, Vec<Checkpoint>, SiteKey) {
        let key = SiteKey::generate().expect("rng");
        let events = chain(20);
        let cps = vec![
            key.checkpoint("demo", 10, events[9].hash, 5),
            key.checkpoint("demo", 20, events[19].hash, 6),
        ];
        (events, cps, key)
    }

    #[test]
    fn intact_chain_verifies() {
        let (events, cps, key) = setup();
        let r = run(&events, &cps, &key).expect("intact");
        assert_eq!(r.events, 20);
        assert_eq!(r.unsealed_tail, 0);
    }

    #[test]
    fn altered_payload_is_named() {
        let (mut events, cps, key) = setup();
        events[4].payload = "{\"n\":99}".into();
        assert_eq!(
            run(&events, &cps, &key),
            Err(Tamper::HashMismatch { seq: 5 })
        );
    }

    #[test]
    fn removed_event_is_named() {
        let (mut events, cps, key) = setup();
        events.remove(6);
        assert_eq!(
            run(&events, &cps, &key),
            Err(Tamper::Missing {
                expected: 7,
                found: 8
            })
        );
    }

    #[test]
    fn inserted_event_is_named() {
        let (mut events, cps, key) = setup();
        // An inserted event renumbered into the chain: its hash cannot match.
        let mut forged = events[3].clone();
        forged.payload = "{\"n\":\"forged\"}".into();
        events.insert(4, forged);
        for (i, e) in events.iter_mut().enumerate() {
            e.seq = i as u64 + 1;
        }
        assert_eq!(run(&events, &cps, &key).map_err(|t| t.seq()), Err(5));
    }

    #[test]
    fn swapped_events_are_named() {
        let (mut events, cps, key) = setup();
        events.swap(2, 3);
        assert!(matches!(
            run(&events, &cps, &key),
            Err(Tamper::Missing {
                expected: 3,
                found: 4
            })
        ));
        // Swapping content but keeping numbering: hash mismatch at the first.
        let (mut events, cps, key) = setup();
        let (a, b) = (events[2].payload.clone(), events[3].payload.clone());
        events[2].payload = b;
        events[3].payload = a;
        assert_eq!(
            run(&events, &cps, &key),
            Err(Tamper::HashMismatch { seq: 3 })
        );
    }

    #[test]
    fn tail_cut_after_checkpoint_is_named() {
        let (mut events, cps, key) = setup();
        events.truncate(15);
        assert_eq!(
            run(&events, &cps, &key),
            Err(Tamper::TailCut {
                first_missing: 16,
                checkpoint_seq: 20,
                last_seq: 15
            })
        );
    }

    #[test]
    fn forged_checkpoint_is_named() {
        let (events, mut cps, key) = setup();
        cps[0].head_hash[0] ^= 1;
        assert_eq!(
            run(&events, &cps, &key),
            Err(Tamper::BadCheckpointSignature { seq: 10 })
        );
    }

    #[test]
    fn rewritten_history_with_valid_hashes_fails_checkpoint() {
        // An attacker recomputes the whole chain after changing event 3, but cannot re-sign.
        let (events, cps, key) = setup();
        let mut prev = GENESIS_HASH;
        let rewritten: Vec<JournalEvent> = events
            .iter()
            .map(|e| {
                let payload = if e.seq == 3 {
                    "{\"n\":333}".to_owned()
                } else {
                    e.payload.clone()
                };
                let n = JournalEvent::seal(
                    &prev, e.seq, &e.site_id, e.time_ms, &e.kind, &e.actor, payload,
                );
                prev = n.hash;
                n
            })
            .collect();
        assert_eq!(
            run(&rewritten, &cps, &key),
            Err(Tamper::CheckpointMismatch { seq: 10 })
        );
    }
}
