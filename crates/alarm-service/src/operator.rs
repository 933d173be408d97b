//! The operator API of [`AlarmService`]: the alarm queue (list, acknowledge, note, resolve),
//! arming, the console panic button, drills, the handling-time report and the notification
//! incidents. Every command journals its facts before it returns; `sees_silent` is whether the
//! caller holds `Permission::SilentAlarmsView` (silent alarms are invisible to everyone else).
use strongroom_alarm::facts::kinds as ak;
use strongroom_alarm::report::HandlingSummary;
use strongroom_alarm::{
    AlarmRecord, ArmCommand, ArmMethod, ArmMode, CodeKind, Input, Outcome, SignalKind, ZoneSignal,
    ZoneType, routing,
};
use strongroom_domain::{Actor, Fact};
use strongroom_notify::escalation::IncidentView;

use crate::core::{Core, NOTE_ADDED};
use crate::error::AlarmError;
use crate::service::AlarmService;
use crate::views::{
    AlarmDetail, ArmingChange, ArmingMode, ArmingStatus, HandlingReport, PartitionState, ZoneStatus,
};

/// Longest operator note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// Most alarms a full listing returns (newest first).
pub const MAX_LISTED_ALARMS: usize = 500;

fn check_note(note: &str) -> Result<(), AlarmError> {
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(AlarmError::NoteTooLong {
            max_chars: MAX_NOTE_CHARS,
        });
    }
    Ok(())
}

fn detail(core: &Core, rec: &AlarmRecord) -> AlarmDetail {
    AlarmDetail {
        record: rec.clone(),
        operator_notes: core.notes.get(&rec.alarm_id).cloned().unwrap_or_default(),
    }
}

/// The alarm as `sees_silent` may see it after a command.
fn detail_of(core: &Core, alarm_id: &str, sees_silent: bool) -> Result<AlarmDetail, AlarmError> {
    core.queue
        .get(alarm_id, sees_silent)
        .map(|r| detail(core, r))
        .ok_or_else(|| strongroom_alarm::QueueError::UnknownAlarm(alarm_id.to_owned()).into())
}

fn partitions(core: &Core) -> Vec<PartitionState> {
    core.system
        .config()
        .partitions()
        .into_iter()
        .map(|p| PartitionState {
            partition: p,
            state: core
                .system
                .state(p)
                .map(|s| strongroom_alarm::system::ArmState::as_str(s).to_owned()),
        })
        .collect()
}

/// The id of the alarm a command raised, if it raised one.
fn raised_alarm_id(facts: &[Fact]) -> Option<String> {
    facts
        .iter()
        .find(|f| f.kind == ak::ALARM_RAISED)
        .and_then(|f| f.payload.get("alarm_id"))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

impl AlarmService {
    /// Open alarms in handling order, or (`include_resolved`) the latest
    /// [`MAX_LISTED_ALARMS`] of all, newest first.
    pub async fn alarms(&self, sees_silent: bool, include_resolved: bool) -> Vec<AlarmDetail> {
        let core = self.core.lock().await;
        if include_resolved {
            let mut v: Vec<_> = core
                .queue
                .all()
                .filter(|r| r.visibility.visible_to(sees_silent))
                .collect();
            v.sort_by(|a, b| (b.raised_ms, &b.alarm_id).cmp(&(a.raised_ms, &a.alarm_id)));
            v.into_iter()
                .take(MAX_LISTED_ALARMS)
                .map(|r| detail(&core, r))
                .collect()
        } else {
            core.queue
                .open(sees_silent)
                .into_iter()
                .map(|r| detail(&core, r))
                .collect()
        }
    }

    /// One alarm.
    pub async fn alarm(
        &self,
        alarm_id: &str,
        sees_silent: bool,
    ) -> Result<AlarmDetail, AlarmError> {
        detail_of(&*self.core.lock().await, alarm_id, sees_silent)
    }

    /// Acknowledges an alarm (its notification escalation stops).
    pub async fn acknowledge(
        &self,
        alarm_id: &str,
        by: &Actor,
        sees_silent: bool,
        note: &str,
    ) -> Result<AlarmDetail, AlarmError> {
        check_note(note)?;
        let now_ms = self.clock.now_ms();
        let out = {
            let mut core = self.core.lock().await;
            let f = core.queue.ack(alarm_id, by, sees_silent, note, now_ms)?;
            self.commit(&mut core, vec![f]).await?;
            detail_of(&core, alarm_id, sees_silent)?
        };
        self.ack_incident(alarm_id, &by.to_string()).await;
        Ok(out)
    }

    /// Adds an operator note to an alarm.
    pub async fn add_note(
        &self,
        alarm_id: &str,
        by: &Actor,
        sees_silent: bool,
        note: &str,
    ) -> Result<AlarmDetail, AlarmError> {
        check_note(note)?;
        if note.trim().is_empty() {
            return Err(AlarmError::EmptyNote);
        }
        let now_ms = self.clock.now_ms();
        let mut core = self.core.lock().await;
        let rec = detail_of(&core, alarm_id, sees_silent)?.record;
        let f = Fact::new(NOTE_ADDED, by.clone(), now_ms)
            .with("alarm_id", alarm_id)
            .with("by", by.to_string())
            .with("note", note)
            .with("alarm_type", rec.alarm_type.clone())
            .with("audible", rec.audible)
            .with("visibility", rec.visibility.as_str())
            .with("test", rec.test);
        self.commit(&mut core, vec![f]).await?;
        detail_of(&core, alarm_id, sees_silent)
    }

    /// Resolves an alarm as real, false or a drill (acknowledging it if need be).
    pub async fn resolve(
        &self,
        alarm_id: &str,
        by: &Actor,
        sees_silent: bool,
        outcome: Outcome,
        notes: &str,
    ) -> Result<AlarmDetail, AlarmError> {
        check_note(notes)?;
        let now_ms = self.clock.now_ms();
        let out = {
            let mut core = self.core.lock().await;
            let facts = core
                .queue
                .resolve(alarm_id, by, sees_silent, outcome, notes, now_ms)?;
            self.commit(&mut core, facts).await?;
            detail_of(&core, alarm_id, sees_silent)?
        };
        self.ack_incident(alarm_id, &by.to_string()).await;
        Ok(out)
    }

    /// Partitions, zones (as `sees_silent` may see them) and the communication paths.
    pub async fn arming(&self, sees_silent: bool) -> ArmingStatus {
        let (partitions, zones) = {
            let core = self.core.lock().await;
            let zones = core
                .system
                .config()
                .sensors
                .iter()
                .filter(|s| s.zone_type.visibility().visible_to(sees_silent))
                .map(|s| {
                    let z = core.zones.get(&s.id);
                    let state = if core.system.supervisor().is_failed(&s.id) {
                        "silent"
                    } else {
                        z.map_or("unknown", |z| z.state)
                    };
                    ZoneStatus {
                        sensor: s.id.clone(),
                        name: s.name.clone(),
                        zone_type: s.zone_type.as_str().to_owned(),
                        area: s.area.clone(),
                        zone: s.zone,
                        partition: s.partition,
                        panel: s.panel.clone(),
                        state: state.to_owned(),
                        since_ms: z.and_then(|z| z.since_ms),
                    }
                })
                .collect();
            (partitions(&core), zones)
        };
        ArmingStatus {
            partitions,
            zones,
            receiver: self.receiver_tcp_addr().map(|a| a.to_string()),
            central_pending: self.central_pending().await,
        }
    }

    /// Arms or disarms one partition (`None`: every partition) from the console.
    pub async fn set_arming(
        &self,
        partition: Option<u16>,
        mode: ArmingMode,
        by: &Actor,
    ) -> Result<ArmingChange, AlarmError> {
        if let Some(p) = partition
            && self.core.lock().await.system.state(p).is_none()
        {
            return Err(AlarmError::UnknownPartition(p));
        }
        let cmd = ArmCommand {
            partition,
            method: ArmMethod::Api,
            actor: by.clone(),
            code: CodeKind::Normal,
            device: Some("console".into()),
        };
        let input = match mode {
            ArmingMode::Away => Input::Arm(cmd, ArmMode::Away),
            ArmingMode::Stay => Input::Arm(cmd, ArmMode::Stay),
            ArmingMode::Disarm => Input::Disarm(cmd),
        };
        let facts = self.drive(input, false, None).await?;
        let core = self.core.lock().await;
        Ok(ArmingChange {
            changed: facts
                .iter()
                .filter(|f| f.kind.starts_with("arming."))
                .count(),
            partitions: partitions(&core),
        })
    }

    /// The console panic button (momentary): raises a panic alarm on `partition`; returns its
    /// id (`None` if the model raised nothing, e.g. a repeat within the same alarm).
    pub async fn panic(&self, by: &Actor, partition: u16) -> Result<Option<String>, AlarmError> {
        let now_ms = self.clock.now_ms();
        let mut s = ZoneSignal::new(routing::console_source(by), 0, SignalKind::Alarm, now_ms);
        s.partition = partition;
        s.category = Some(ZoneType::Panic);
        s.code = Some("console_panic".into());
        let facts = self.drive(Input::Signal(s.clone()), true, None).await?;
        // The button is momentary: restore it so the next press raises again.
        s.kind = SignalKind::Restore;
        self.drive(Input::Signal(s), false, None).await?;
        Ok(raised_alarm_id(&facts))
    }

    /// A drill on one (non-supervisory) sensor: a test alarm that goes out as a test report.
    pub async fn drill(&self, sensor: &str, by: &Actor) -> Result<Option<String>, AlarmError> {
        let supervisory = {
            let core = self.core.lock().await;
            core.system
                .config()
                .sensors
                .iter()
                .find(|s| s.id == sensor)
                .map(|s| s.zone_type.is_supervisory())
        };
        match supervisory {
            None => return Err(AlarmError::UnknownSensor(sensor.to_owned())),
            Some(true) => return Err(AlarmError::SupervisoryZone(sensor.to_owned())),
            Some(false) => {}
        }
        let facts = self
            .drive(
                Input::Drill {
                    sensor: sensor.to_owned(),
                    actor: by.clone(),
                },
                false,
                None,
            )
            .await?;
        Ok(raised_alarm_id(&facts))
    }

    /// Handling times of the alarms raised in `[from_ms, to_ms)` that the caller may see.
    pub async fn handling_report(
        &self,
        from_ms: i64,
        to_ms: i64,
        sees_silent: bool,
    ) -> Result<HandlingReport, AlarmError> {
        if from_ms > to_ms {
            return Err(AlarmError::BadWindow);
        }
        let core = self.core.lock().await;
        let alarms: Vec<_> = core
            .queue
            .handling_report(from_ms, to_ms)
            .into_iter()
            .filter(|h| core.queue.get(&h.alarm_id, sees_silent).is_some())
            .collect();
        Ok(HandlingReport {
            summary: HandlingSummary::of(&alarms),
            alarms,
        })
    }

    /// The notification incidents held (empty without notification chains), newest first;
    /// silent ones only for `sees_silent`.
    pub fn incidents(&self, sees_silent: bool) -> Vec<IncidentView> {
        self.notifier
            .get()
            .and_then(|n| n.incidents().ok())
            .unwrap_or_default()
            .into_iter()
            .filter(|i| sees_silent || !i.silent)
            .collect()
    }

    /// Acknowledges the incident an id or short code names, as `by` (stops its escalation; the
    /// acknowledgment is journaled as `notify.acknowledged`). A silent incident is unknown to a
    /// caller who may not see it.
    pub async fn acknowledge_incident(
        &self,
        id_or_code: &str,
        by: &str,
        sees_silent: bool,
    ) -> Result<strongroom_notify::AckOutcome, AlarmError> {
        let unknown = || AlarmError::UnknownIncident(id_or_code.to_owned());
        let n = self.notifier.get().ok_or_else(unknown)?;
        let id = n.resolve(id_or_code).ok().flatten().ok_or_else(unknown)?;
        let hidden = !sees_silent
            && n.incidents()
                .unwrap_or_default()
                .iter()
                .any(|i| i.id == id && i.silent);
        if hidden {
            return Err(unknown());
        }
        n.acknowledge(&id, by).await.map_err(|e| match e {
            strongroom_notify::NotifyError::Ack(e) => {
                AlarmError::IncidentAcknowledged(e.to_string())
            }
            e => AlarmError::Notifier(e.to_string()),
        })
    }
}
