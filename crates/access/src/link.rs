//! What a reader's link and a door device's report record: the `device.state` fact of a reader's
//! link with the health facts the alerts need (down, up again, Secure Channel lost), a read
//! refused before any decision, door contact and lock reports, and where silent facts go in a
//! batch.
use serde_json::Value;
use strongroom_domain::fact::kinds as core_kinds;
use strongroom_domain::{Actor, Fact};

/// A card read or keypad entry refused before any decision (a commissioned reader sent it outside
/// its Secure Channel). Fields: `reader`, `door`, `reason` (`not_secure`), `source`.
pub const READ_REFUSED: &str = "access.read_refused";
/// An OSDP reader stopped answering or its line could not be opened. Fields: `device`, `door`,
/// `reason`.
pub const HEALTH_READER_DOWN: &str = "health.reader_down";
/// An OSDP reader answers again. Fields: `device`, `door`.
pub const HEALTH_READER_UP: &str = "health.reader_up";
/// An established Secure Channel was lost, or a handshake failed (a reader may have been swapped
/// or tampered with). Fields: `device`, `door`, `reason`.
pub const HEALTH_READER_INSECURE: &str = "health.reader_secure_channel_down";

/// A reader link's state as reported: `connecting`, `online`, `offline`, `trouble`, `tamper`,
/// with whether its Secure Channel is up and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// The state.
    pub state: String,
    /// Whether the Secure Channel is up.
    pub secure: bool,
    /// Why (a failure's reason), if anything is worth saying.
    pub detail: Option<String>,
}

/// The facts a change of a reader's link from `previous` to `now_state` records: the
/// `device.state` fact, plus `health.reader_down` when it goes offline, `health.reader_up` when
/// it comes back from offline, and `health.reader_secure_channel_down` when it falls into
/// trouble for a Secure Channel reason (once, unless the channel was up again in between).
/// Nothing when nothing changed.
pub fn link_facts(
    reader: &str,
    door: &str,
    previous: &LinkState,
    now_state: &LinkState,
    now_ms: i64,
) -> Vec<Fact> {
    if previous == now_state {
        return Vec::new();
    }
    let actor = Actor::Device(reader.to_owned());
    let (state, secure, detail) = (&now_state.state, now_state.secure, &now_state.detail);
    let mut f = Fact::new(core_kinds::DEVICE_STATE, actor.clone(), now_ms)
        .with("device", reader)
        .with("state", state.as_str())
        .with("secure_channel", if secure { "up" } else { "down" });
    if let Some(d) = detail {
        f = f.with("detail", d.clone());
    }
    let mut facts = vec![f];
    let reason = detail.clone().unwrap_or_default();
    if state == "offline" && previous.state != "offline" {
        facts.push(
            Fact::new(HEALTH_READER_DOWN, actor.clone(), now_ms)
                .with("device", reader)
                .with("door", door)
                .with("reason", reason.clone()),
        );
    }
    if state == "online" && previous.state == "offline" {
        facts.push(
            Fact::new(HEALTH_READER_UP, actor.clone(), now_ms)
                .with("device", reader)
                .with("door", door),
        );
    }
    let channel_lost = detail
        .as_deref()
        .is_some_and(|d| d.starts_with("secure channel"));
    if state == "trouble" && channel_lost && (previous.secure || previous.state != "trouble") {
        facts.push(
            Fact::new(HEALTH_READER_INSECURE, actor, now_ms)
                .with("device", reader)
                .with("door", door)
                .with("reason", reason),
        );
    }
    facts
}

/// A read refused before any decision (`access.read_refused`), from an OSDP reader.
pub fn read_refused(reader: &str, door: &str, reason: &str, now_ms: i64) -> Fact {
    Fact::new(READ_REFUSED, Actor::Device(reader.to_owned()), now_ms)
        .with("reader", reader)
        .with("door", door)
        .with("reason", reason)
        .with("source", "osdp")
}

/// A door device's report (`door.contact`, `door.lock`), carrying `device` and `state` too so
/// the device projection shows the door.
pub fn door_report(
    kind: &str,
    door: &str,
    (field, value): (&str, bool),
    state: &str,
    detail: Option<&str>,
    time_ms: i64,
) -> Fact {
    let mut f = Fact::new(kind, Actor::Device(door.to_owned()), time_ms)
        .with("door", door)
        .with(field, value)
        .with("device", door)
        .with("state", state);
    if let Some(d) = detail {
        f = f.with("detail", d);
    }
    f
}

/// Puts silent facts (`silent: true`, i.e. `alarm.duress`) last in their batch and marks them
/// `visibility = "monitoring"`, so only monitoring roles see them.
pub fn mark_silent(facts: Vec<Fact>) -> Vec<Fact> {
    let (mut loud, silent): (Vec<Fact>, Vec<Fact>) = facts
        .into_iter()
        .partition(|f| f.payload.get("silent") != Some(&Value::Bool(true)));
    for mut f in silent {
        f.payload
            .insert("visibility".into(), Value::String("monitoring".into()));
        loud.push(f);
    }
    loud
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(state: &str, secure: bool, detail: Option<&str>) -> LinkState {
        LinkState {
            state: state.into(),
            secure,
            detail: detail.map(str::to_owned),
        }
    }

    fn kinds(f: &[Fact]) -> Vec<&str> {
        f.iter().map(|f| f.kind.as_str()).collect()
    }

    #[test]
    fn no_change_records_nothing() {
        let l = link("online", true, None);
        assert!(link_facts("r1", "d1", &l, &l, 5).is_empty());
    }

    #[test]
    fn going_offline_and_back_raise_down_then_up() {
        let online = link("online", false, None);
        let offline = link("offline", false, Some("reader stopped answering"));
        let down = link_facts("r1", "d1", &online, &offline, 5);
        assert_eq!(kinds(&down), ["device.state", HEALTH_READER_DOWN]);
        assert_eq!(down[1].payload["reason"], "reader stopped answering");
        assert_eq!(down[1].payload["door"], "d1");
        let up = link_facts("r1", "d1", &offline, &online, 6);
        assert_eq!(kinds(&up), ["device.state", HEALTH_READER_UP]);
        let again = link_facts("r1", "d1", &offline, &link("offline", false, Some("x")), 7);
        assert_eq!(kinds(&again), ["device.state"]);
    }

    #[test]
    fn a_lost_secure_channel_is_reported_once() {
        let secure = link("online", true, None);
        let lost = link("trouble", false, Some("secure channel down: mac"));
        let f = link_facts("r1", "d1", &secure, &lost, 5);
        assert_eq!(kinds(&f), ["device.state", HEALTH_READER_INSECURE]);
        assert_eq!(f[0].payload["secure_channel"], "down");
        let failed = link("trouble", false, Some("secure channel failed: cryptogram"));
        assert_eq!(
            kinds(&link_facts("r1", "d1", &lost, &failed, 6)),
            ["device.state"]
        );
        let power = link("trouble", false, Some("power failure"));
        assert_eq!(
            kinds(&link_facts("r1", "d1", &secure, &power, 6)),
            ["device.state"]
        );
    }

    #[test]
    fn silent_facts_go_last_for_monitoring_only() {
        let loud = Fact::new("access.granted", Actor::System, 1);
        let silent = Fact::new("alarm.duress", Actor::System, 1).with("silent", true);
        let out = mark_silent(vec![silent, loud]);
        assert_eq!(kinds(&out), ["access.granted", "alarm.duress"]);
        assert_eq!(out[1].payload["visibility"], "monitoring");
        assert!(out[0].payload.get("visibility").is_none());
    }

    #[test]
    fn door_reports_name_the_device() {
        let f = door_report("door.contact", "d1", ("open", true), "open", Some("x"), 9);
        assert_eq!(f.payload["device"], "d1");
        assert_eq!(f.payload["state"], "open");
        assert_eq!(f.payload["open"], true);
        assert_eq!(f.payload["detail"], "x");
        assert_eq!(f.actor, Actor::Device("d1".into()));
    }
}
