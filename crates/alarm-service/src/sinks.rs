//! The device adapters' hand-off into the alarm service: the DC-09 receiver's and the MQTT
//! adapter's signal sinks (each acknowledges its source only after the facts are journaled), and
//! the injected clock as the `sia` crate's clock.
use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use strongroom_alarm::facts::kinds as ak;
use strongroom_alarm::{Input, ZoneSignal};
use strongroom_domain::{Actor, Clock, Fact};
use strongroom_sia::{AlarmSignal, SupervisionEvent};

use crate::service::AlarmService;

/// The domain clock seen as a `sia` clock (and as a clonable domain clock for the MQTT adapter).
#[derive(Clone)]
pub(crate) struct SharedClock(pub(crate) Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now_ms(&self) -> i64 {
        self.0.now_ms()
    }
}

impl strongroom_sia::clock::Clock for SharedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millisecond(self.0.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// Signals from the DC-09 receiver, by panel.
pub(crate) struct Dc09Sink {
    pub(crate) rt: Arc<AlarmService>,
    /// Account (upper case) → panel id.
    pub(crate) panels: BTreeMap<String, String>,
}

impl Dc09Sink {
    /// The panel a DC-09 account belongs to (the account itself when no panel names it).
    fn panel_of(&self, account: &str) -> String {
        self.panels
            .get(&account.to_ascii_uppercase())
            .cloned()
            .unwrap_or_else(|| account.to_owned())
    }
}

impl strongroom_sia::receiver::SignalSink for Dc09Sink {
    async fn deliver(
        &self,
        signal: AlarmSignal,
    ) -> Result<(), strongroom_sia::receiver::SinkError> {
        let acct = signal.account.to_ascii_uppercase();
        let panel = self.panels.get(&acct).cloned().unwrap_or(acct);
        self.rt
            .dc09_signal(&panel, signal)
            .await
            .map_err(|e| strongroom_sia::receiver::SinkError(e.to_string()))
    }

    async fn supervision(
        &self,
        event: SupervisionEvent,
    ) -> Result<(), strongroom_sia::receiver::SinkError> {
        let fact = match event {
            SupervisionEvent::Failure {
                account,
                last_heard,
                detected_at,
            } => {
                let panel = self.panel_of(&account);
                Fact::new(
                    ak::DEVICE_SILENT,
                    Actor::Device(panel.clone()),
                    detected_at.as_millisecond(),
                )
                .with("device", panel)
                .with("device_type", "panel")
                .with("account", account)
                .with("reason", "dc09_supervision")
                .with("onset_ms", last_heard.as_millisecond())
                .with("detected_ms", detected_at.as_millisecond())
            }
            SupervisionEvent::Restore { account, heard_at } => {
                let panel = self.panel_of(&account);
                Fact::new(
                    ak::DEVICE_RESTORED,
                    Actor::Device(panel.clone()),
                    heard_at.as_millisecond(),
                )
                .with("device", panel)
                .with("device_type", "panel")
                .with("account", account)
                .with("restored_ms", heard_at.as_millisecond())
            }
        };
        self.rt
            .journal_plain(vec![fact])
            .await
            .map_err(|e| strongroom_sia::receiver::SinkError(e.to_string()))
    }
}

/// Signals and bus facts from the MQTT adapter.
pub(crate) struct MqttSink(pub(crate) Arc<AlarmService>);

impl strongroom_alarm::mqtt::SignalSink for MqttSink {
    async fn signal(&self, signal: ZoneSignal) -> Result<(), strongroom_alarm::mqtt::SinkError> {
        self.0
            .drive(Input::Signal(signal), true, None)
            .await
            .map(|_| ())
            .map_err(|e| strongroom_alarm::mqtt::SinkError(e.to_string()))
    }

    async fn fact(&self, fact: Fact) -> Result<(), strongroom_alarm::mqtt::SinkError> {
        self.0
            .journal_plain(vec![fact])
            .await
            .map_err(|e| strongroom_alarm::mqtt::SinkError(e.to_string()))
    }
}
