//! What a reader's keypad and card reads mean before any decision: the keypad grammar (digits,
//! `*` clears, `#` submits), a card read waiting for its PIN, whether a card must wait for one,
//! and the card number a raw read stands for.
//!
//! Pure: time comes in as an opaque, ordered instant (`T`), so the OSDP adapter drives it with
//! its own clock and the tests with integers.
use crate::model::CredentialKind;
use crate::site::AccessSite;
use crate::state::AccessState;
use strongroom_domain::site::Direction;

/// The most digits a PIN entry keeps; further digits are ignored until `#` or `*`.
pub const MAX_PIN_DIGITS: usize = 16;

/// A presentation the keypad (or a card read, or a timeout) hands on for a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The card read, if any.
    pub card: Option<String>,
    /// The PIN typed, if any (never empty).
    pub pin: Option<String>,
}

/// One reader's keypad entry in progress: digits typed so far and a card read waiting for its
/// PIN, each with the instant it is given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinPad<T> {
    digits: Option<(String, T)>,
    card: Option<(String, T)>,
}

impl<T> Default for PinPad<T> {
    fn default() -> Self {
        PinPad {
            digits: None,
            card: None,
        }
    }
}

impl<T: Copy + Ord> PinPad<T> {
    /// An idle keypad.
    pub fn new() -> PinPad<T> {
        PinPad::default()
    }

    /// Forgets everything (the reader went offline, or sent a read outside its Secure Channel).
    pub fn clear(&mut self) {
        self.digits = None;
        self.card = None;
    }

    /// Whether nothing is in progress.
    pub fn is_idle(&self) -> bool {
        self.digits.is_none() && self.card.is_none()
    }

    /// A card read: digits typed before it are dropped. A card that needs a PIN waits for it
    /// until `deadline`; any other is submitted at once, alone.
    pub fn card_read(&mut self, card: String, needs_pin: bool, deadline: T) -> Option<Submitted> {
        self.digits = None;
        if needs_pin {
            self.card = Some((card, deadline));
            None
        } else {
            self.card = None;
            Some(Submitted {
                card: Some(card),
                pin: None,
            })
        }
    }

    /// Keys pressed: digits accumulate (up to [`MAX_PIN_DIGITS`]) and each keypress moves the
    /// entry's deadline to `deadline`; `*` clears the digits; `#` submits the digits with the
    /// waiting card, if any; anything else is ignored.
    pub fn keys(&mut self, keys: &str, deadline: T) -> Vec<Submitted> {
        let mut out = Vec::new();
        for c in keys.chars() {
            match c {
                '*' => self.digits = None,
                '#' => {
                    let pin = self.digits.take().map(|d| d.0).unwrap_or_default();
                    let card = self.card.take().map(|c| c.0);
                    out.push(Submitted {
                        card,
                        pin: Some(pin).filter(|p| !p.is_empty()),
                    });
                }
                c if c.is_ascii_digit() => {
                    let d = self.digits.get_or_insert_with(|| (String::new(), deadline));
                    d.1 = deadline;
                    if d.0.len() < MAX_PIN_DIGITS {
                        d.0.push(c);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The next instant something is given up, if anything is in progress.
    pub fn next_deadline(&self) -> Option<T> {
        self.digits
            .as_ref()
            .map(|d| d.1)
            .into_iter()
            .chain(self.card.as_ref().map(|c| c.1))
            .min()
    }

    /// Time passed to `now`: digits past their deadline are dropped; a card whose PIN did not
    /// come in time is submitted alone (a card+PIN credential is then refused).
    pub fn expire(&mut self, now: T) -> Option<Submitted> {
        if self.digits.as_ref().is_some_and(|d| d.1 <= now) {
            self.digits = None;
        }
        if self.card.as_ref().is_some_and(|c| c.1 <= now) {
            let card = self.card.take().map(|c| c.0);
            return Some(Submitted { card, pin: None });
        }
        None
    }
}

/// Whether a card read at `reader` should wait for a PIN: the card's credential is card+PIN, or
/// its door needs two factors on the way in. An unknown reader or card does not wait.
pub fn card_needs_pin(site: &AccessSite, state: &AccessState, reader: &str, card: &str) -> bool {
    let Some(r) = site.reader(reader) else {
        return false;
    };
    let Some(normal) = crate::hash::normalize_card(card) else {
        return false;
    };
    let Some(cred) = state.credential_by_card(&site.secret.hash_card(&normal)) else {
        return false;
    };
    let door_needs = site
        .door_at(r.door)
        .is_some_and(|d| d.card_and_pin && r.direction == Direction::In);
    cred.kind == CredentialKind::CardPin || door_needs
}

/// A decoded 26-bit Wiegand read: facility code, card number, and whether both parity bits are
/// right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wiegand26 {
    /// Facility code.
    pub facility: u8,
    /// Card number.
    pub number: u16,
    /// Both parity bits are right.
    pub parity_ok: bool,
}

/// The card number a read stands for: `FAC:NUMBER` for a good 26-bit Wiegand read, else `H` +
/// bit count + `-` + the raw bits in hex.
pub fn card_number(bit_count: u16, data: &[u8], w26: Option<Wiegand26>) -> String {
    match w26 {
        Some(w) if w.parity_ok => format!("{}:{}", w.facility, w.number),
        _ => format!("H{bit_count}-{}", hex::encode_upper(data)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(card: Option<&str>, pin: Option<&str>) -> Submitted {
        Submitted {
            card: card.map(str::to_owned),
            pin: pin.map(str::to_owned),
        }
    }

    #[test]
    fn digits_then_hash_submit_a_pin() {
        let mut p = PinPad::new();
        assert!(p.keys("12", 10).is_empty());
        assert_eq!(p.keys("34#", 11), vec![sub(None, Some("1234"))]);
        assert!(p.is_idle());
    }

    #[test]
    fn star_clears_the_digits() {
        let mut p = PinPad::new();
        assert_eq!(p.keys("99*12#", 10), vec![sub(None, Some("12"))]);
    }

    #[test]
    fn a_bare_hash_submits_nothing_typed() {
        let mut p: PinPad<i64> = PinPad::new();
        assert_eq!(p.keys("#", 10), vec![sub(None, None)]);
    }

    #[test]
    fn other_keys_are_ignored_and_digits_are_capped() {
        let mut p = PinPad::new();
        let long = "1".repeat(20);
        assert_eq!(
            p.keys(&format!("a{long}b#"), 10),
            vec![sub(None, Some(&"1".repeat(MAX_PIN_DIGITS)))]
        );
    }

    #[test]
    fn a_card_that_needs_a_pin_waits_for_it() {
        let mut p = PinPad::new();
        assert_eq!(p.card_read("1:2".into(), true, 10), None);
        assert_eq!(p.next_deadline(), Some(10));
        assert_eq!(p.keys("4321#", 12), vec![sub(Some("1:2"), Some("4321"))]);
        assert!(p.is_idle());
    }

    #[test]
    fn a_card_without_pin_goes_at_once_and_drops_digits_typed_before() {
        let mut p = PinPad::new();
        p.keys("12", 5);
        assert_eq!(
            p.card_read("1:2".into(), false, 10),
            Some(sub(Some("1:2"), None))
        );
        assert!(p.is_idle());
    }

    #[test]
    fn a_pin_that_does_not_come_submits_the_card_alone() {
        let mut p = PinPad::new();
        p.card_read("1:2".into(), true, 10);
        assert_eq!(p.expire(9), None);
        assert_eq!(p.expire(10), Some(sub(Some("1:2"), None)));
        assert!(p.is_idle());
    }

    #[test]
    fn stale_digits_are_forgotten_and_each_key_extends_the_entry() {
        let mut p = PinPad::new();
        p.keys("1", 10);
        p.keys("2", 20);
        assert_eq!(p.expire(15), None);
        assert_eq!(p.next_deadline(), Some(20));
        assert_eq!(p.expire(20), None);
        assert!(p.is_idle());
    }

    #[test]
    fn card_numbers() {
        let good = Wiegand26 {
            facility: 12,
            number: 3456,
            parity_ok: true,
        };
        assert_eq!(card_number(26, &[0], Some(good)), "12:3456");
        let bad = Wiegand26 {
            parity_ok: false,
            ..good
        };
        assert_eq!(card_number(26, &[0xab, 0x01], Some(bad)), "H26-AB01");
        assert_eq!(card_number(34, &[0x0f], None), "H34-0F");
    }
}
