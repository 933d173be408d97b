//! The alarm service's state that changes together, under one lock: the alarm model, the alarm
//! queue projection, operator notes, the zones' last known states, and the DC-09 de-duplication
//! window.
use std::collections::{BTreeMap, HashSet, VecDeque};

use serde_json::Value;
use strongroom_alarm::facts::kinds as ak;
use strongroom_alarm::{AlarmQueue, AlarmSystem};
use strongroom_domain::Fact;

use crate::views::OperatorNote;

/// Kind of an operator note on an alarm.
pub const NOTE_ADDED: &str = "alarm.note_added";

/// DC-09 signals remembered for de-duplication.
const SEEN_CAPACITY: usize = 4096;

/// The DC-09 de-duplication key: (account, sequence, index in frame, raw payload).
pub(crate) type SeenKey = (String, u16, u8, String);

/// What the console shows for one zone: its state and since when.
#[derive(Debug, Clone)]
pub(crate) struct ZoneView {
    pub(crate) state: &'static str,
    pub(crate) since_ms: Option<i64>,
}

/// Everything that changes together, under one lock.
pub(crate) struct Core {
    pub(crate) system: AlarmSystem,
    pub(crate) queue: AlarmQueue,
    pub(crate) notes: BTreeMap<String, Vec<OperatorNote>>,
    pub(crate) zones: BTreeMap<String, ZoneView>,
    seen: VecDeque<SeenKey>,
    pub(crate) seen_set: HashSet<SeenKey>,
    /// Journal sequence numbers of access facts already turned into alarm records.
    pub(crate) derived: HashSet<u64>,
}

impl Core {
    /// A core on `system`, with every sensor's state unknown.
    pub(crate) fn new(system: AlarmSystem) -> Core {
        let zones = system
            .config()
            .sensors
            .iter()
            .map(|s| {
                (
                    s.id.clone(),
                    ZoneView {
                        state: "unknown",
                        since_ms: None,
                    },
                )
            })
            .collect();
        Core {
            system,
            queue: AlarmQueue::new(),
            notes: BTreeMap::new(),
            zones,
            seen: VecDeque::new(),
            seen_set: HashSet::new(),
            derived: HashSet::new(),
        }
    }

    /// Applies one journaled fact to the projections (queue, notes, derived access alarms).
    pub(crate) fn project(&mut self, f: &Fact) {
        let _ = self.queue.apply(f);
        if f.kind == NOTE_ADDED
            && let Some(id) = f.payload.get("alarm_id").and_then(Value::as_str)
        {
            let text = |k: &str| {
                f.payload
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            self.notes
                .entry(id.to_owned())
                .or_default()
                .push(OperatorNote {
                    by: text("by"),
                    note: text("note"),
                    time_ms: f.time_ms,
                });
        }
        if f.kind == ak::ALARM_RAISED
            && let Some(seq) = f.payload.get("source_seq").and_then(Value::as_u64)
        {
            self.derived.insert(seq);
        }
    }

    /// Remembers a DC-09 signal so that a repeat of it is skipped.
    pub(crate) fn remember(&mut self, key: SeenKey) {
        if self.seen_set.insert(key.clone()) {
            self.seen.push_back(key);
            while self.seen.len() > SEEN_CAPACITY {
                if let Some(old) = self.seen.pop_front() {
                    self.seen_set.remove(&old);
                }
            }
        }
    }
}
