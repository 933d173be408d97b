//! Tests of the Control Panel against simulated readers on a virtual-time bus.

use std::time::Instant;

use super::session::after;
use super::{
    CommandKind, ControlPanel, CpConfig, CpError, CpEvent, ReaderCommand, ReaderConfig, ReaderKey,
};
use crate::message::LedCommand;
use crate::secure::SCBK_D;
use crate::sim::SimPd;

/// The SCBK of the commissioned readers in these tests.
const KEY: [u8; 16] = [0x3C; 16];
/// Virtual time advanced per round of the bus.
const STEP_MS: u64 = 5;

struct Bus {
    cp: ControlPanel,
    pds: Vec<SimPd>,
    now: Instant,
    events: Vec<CpEvent>,
}

impl Bus {
    fn new(readers: Vec<ReaderConfig>, pds: Vec<SimPd>) -> Self {
        Bus {
            cp: ControlPanel::new(CpConfig::default(), readers).unwrap(),
            pds,
            now: Instant::now(),
            events: Vec::new(),
        }
    }

    /// Run the bus for `ms` of virtual time.
    fn run_ms(&mut self, ms: u64) {
        let end = after(self.now, ms);
        while self.now < end {
            while let Some(bytes) = self.cp.poll_transmit(self.now) {
                let replies: Vec<Vec<u8>> = self
                    .pds
                    .iter_mut()
                    .flat_map(|pd| pd.handle_input(&bytes))
                    .collect();
                for r in replies {
                    self.cp.handle_input(&r, self.now);
                }
            }
            while let Some(e) = self.cp.poll_event() {
                self.events.push(e);
            }
            self.now = after(self.now, STEP_MS);
        }
    }

    /// One reader at address 1, commissioned with [`KEY`], served by `pd`.
    fn one_commissioned_reader(pd: SimPd) -> Self {
        Bus::new(vec![reader(1, ReaderKey::Commissioned(KEY))], vec![pd])
    }

    /// [`Bus::one_commissioned_reader`] with a matching PD, run until its Secure Channel is up;
    /// the events so far are dropped.
    fn with_secure_channel_up() -> Self {
        let mut bus = Bus::one_commissioned_reader(SimPd::new(1, KEY));
        bus.run_ms(200);
        assert!(bus.cp.is_secure(1));
        bus.take();
        bus
    }

    /// The events so far, in order, leaving none.
    fn take(&mut self) -> Vec<CpEvent> {
        std::mem::take(&mut self.events)
    }
}

fn reader(address: u8, key: ReaderKey) -> ReaderConfig {
    ReaderConfig { address, key }
}

#[test]
fn secure_card_keypad_and_led() {
    let mut pd = SimPd::new(1, KEY);
    pd.present_card(123, 4567);
    pd.type_keys("1234#");
    let mut bus = Bus::one_commissioned_reader(pd);
    bus.run_ms(300);
    let ev = bus.take();
    assert!(ev.contains(&CpEvent::SecureChannelUp {
        address: 1,
        install_key: false
    }));
    let card = ev
        .iter()
        .find_map(|e| match e {
            CpEvent::CardRead {
                wiegand26, secure, ..
            } => Some((*wiegand26, *secure)),
            _ => None,
        })
        .unwrap();
    let w = card.0.unwrap();
    assert_eq!((w.facility, w.number, card.1), (123, 4567, true));
    assert!(
        ev.iter().any(
            |e| matches!(e, CpEvent::Keypad { digits, secure: true, .. } if digits == "1234#")
        )
    );
    bus.cp
        .submit(1, ReaderCommand::Led(LedCommand::deny()))
        .unwrap();
    bus.run_ms(100);
    assert!(bus.take().contains(&CpEvent::CommandAcked {
        address: 1,
        command: CommandKind::Led
    }));
    let got = bus.pds[0].take_received();
    assert_eq!(got.len(), 1);
    assert!(got[0].secure);
    assert_eq!(got[0].data, LedCommand::deny().to_bytes());
    assert!(bus.cp.stats().rx_packets > 5);
}

#[test]
fn dead_reader_goes_offline_then_online_again() {
    let mut bus = Bus::with_secure_channel_up();
    bus.pds[0].alive = false;
    bus.run_ms(800);
    let ev = bus.take();
    assert!(
        ev.contains(&CpEvent::ReaderOffline { address: 1 }),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, CpEvent::SecureChannelDown { address: 1, .. }))
    );
    assert!(bus.cp.stats().retransmits >= 2);
    // Still dead: no repeated offline events.
    bus.run_ms(3000);
    assert!(
        !bus.take()
            .iter()
            .any(|e| matches!(e, CpEvent::ReaderOffline { .. }))
    );
    bus.pds[0].alive = true;
    bus.run_ms(1500);
    let ev = bus.take();
    assert!(ev.contains(&CpEvent::ReaderOnline { address: 1 }), "{ev:?}");
    assert!(ev.contains(&CpEvent::SecureChannelUp {
        address: 1,
        install_key: false
    }));
}

#[test]
fn never_seen_reader_is_reported_offline_once() {
    let mut pd = SimPd::new(1, KEY);
    pd.alive = false;
    let mut bus = Bus::one_commissioned_reader(pd);
    bus.run_ms(5000);
    let ev = bus.take();
    assert_eq!(ev, vec![CpEvent::ReaderOffline { address: 1 }]);
}

#[test]
fn wrong_key_fails_clearly_and_card_is_marked_insecure() {
    let mut pd = SimPd::new(1, [0x99; 16]);
    pd.present_card(1, 2);
    let mut bus = Bus::one_commissioned_reader(pd);
    bus.run_ms(300);
    let ev = bus.take();
    assert!(ev.iter().any(|e| matches!(e, CpEvent::SecureChannelFailed { reason, .. } if reason.contains("cryptogram"))), "{ev:?}");
    assert!(
        !ev.iter()
            .any(|e| matches!(e, CpEvent::SecureChannelUp { .. }))
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, CpEvent::CardRead { secure: false, .. }))
    );
    assert!(bus.cp.is_online(1));
    assert!(!bus.cp.is_secure(1));
    // KEYSET is refused without a secure channel.
    bus.cp.submit(1, ReaderCommand::SetKey([1; 16])).unwrap();
    bus.run_ms(100);
    assert!(bus.take().iter().any(|e| matches!(
        e,
        CpEvent::CommandFailed {
            command: CommandKind::SetKey,
            ..
        }
    )));
    // Retries the handshake later, and fails again (no fallback to SCBK-D).
    bus.run_ms(10_500);
    let ev = bus.take();
    assert!(
        ev.iter()
            .any(|e| matches!(e, CpEvent::SecureChannelFailed { .. }))
    );
    assert!(!bus.cp.is_secure(1));
}

#[test]
fn install_mode_commissioning_then_no_fallback_to_default_key() {
    let mut bus = Bus::new(
        vec![reader(1, ReaderKey::InstallMode)],
        vec![SimPd::install_mode(1)],
    );
    bus.run_ms(200);
    assert!(bus.take().contains(&CpEvent::SecureChannelUp {
        address: 1,
        install_key: true
    }));
    let new_key = [0x77; 16];
    bus.cp.submit(1, ReaderCommand::SetKey(new_key)).unwrap();
    bus.run_ms(200);
    let ev = bus.take();
    assert!(ev.contains(&CpEvent::KeyChanged { address: 1 }), "{ev:?}");
    assert!(
        ev.contains(&CpEvent::SecureChannelUp {
            address: 1,
            install_key: false
        }),
        "{ev:?}"
    );
    assert_eq!(bus.pds[0].scbk(), new_key);
    // A reader reset to factory (SCBK-D, install mode) is not trusted any more.
    bus.pds[0] = SimPd::install_mode(1);
    bus.run_ms(500);
    let ev = bus.take();
    assert!(
        ev.iter()
            .any(|e| matches!(e, CpEvent::SecureChannelDown { .. })),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, CpEvent::SecureChannelFailed { .. })),
        "{ev:?}"
    );
    assert!(!bus.cp.is_secure(1));
}

#[test]
fn two_readers_on_one_bus_and_tamper() {
    let mut a = SimPd::new(1, KEY);
    a.tamper = true;
    let mut b = SimPd::new(2, [0x44; 16]);
    b.present_card(9, 99);
    let mut bus = Bus::new(
        vec![
            reader(1, ReaderKey::Commissioned(KEY)),
            reader(2, ReaderKey::Commissioned([0x44; 16])),
        ],
        vec![a, b],
    );
    bus.run_ms(400);
    let ev = bus.take();
    assert!(bus.cp.is_secure(1) && bus.cp.is_secure(2), "{ev:?}");
    assert!(ev.contains(&CpEvent::Tamper {
        address: 1,
        active: true
    }));
    assert!(
        !ev.iter()
            .any(|e| matches!(e, CpEvent::Tamper { address: 2, .. }))
    );
    assert!(ev.iter().any(
        |e| matches!(e, CpEvent::CardRead { address: 2, wiegand26: Some(w), .. } if w.number == 99)
    ));
}

#[test]
fn repeated_secure_channel_loss_backs_off() {
    let mut bus = Bus::with_secure_channel_up();
    // A PD that keeps losing its session (e.g. a reader being swapped or attacked):
    // replace it with a fresh one, whose first secured reply will fail.
    for _ in 0..5 {
        bus.pds[0] = SimPd::new(1, KEY);
        bus.run_ms(300);
    }
    let ev = bus.take();
    let downs = ev
        .iter()
        .filter(|e| matches!(e, CpEvent::SecureChannelDown { .. }))
        .count();
    assert!((1..=2).contains(&downs), "flapping: {ev:?}");
    // After the back-off the session comes back.
    bus.run_ms(10_500);
    assert!(bus.cp.is_secure(1), "{:?}", bus.take());
}

#[test]
fn garbage_on_the_line_is_survived() {
    let mut bus = Bus::one_commissioned_reader(SimPd::new(1, KEY));
    bus.run_ms(200);
    bus.cp.handle_input(
        &[0x53, 0x81, 0xFF, 0xFF, 0x00, 0x53, 0x53, 1, 2, 3],
        bus.now,
    );
    bus.run_ms(500);
    assert!(bus.cp.is_secure(1));
    assert!(bus.cp.is_online(1));
}

#[test]
fn config_policy() {
    assert_eq!(
        ControlPanel::new(
            CpConfig::default(),
            vec![reader(1, ReaderKey::Commissioned(SCBK_D))]
        )
        .unwrap_err(),
        CpError::DefaultKeyAsScbk(1)
    );
    assert!(
        ControlPanel::new(
            CpConfig::default(),
            vec![reader(1, ReaderKey::Clear), reader(1, ReaderKey::Clear)]
        )
        .is_err()
    );
    assert!(ControlPanel::new(CpConfig::default(), vec![reader(127, ReaderKey::Clear)]).is_err());
    let mut cp = ControlPanel::new(CpConfig::default(), vec![reader(1, ReaderKey::Clear)]).unwrap();
    assert_eq!(
        cp.submit(2, ReaderCommand::Led(LedCommand::grant())),
        Err(CpError::UnknownReader(2))
    );
}
