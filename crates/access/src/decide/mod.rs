//! The decision engine: `(site, state, request, now) → decision + facts`.
//!
//! [`decide`] reads the state and returns a [`Decision`]; it changes nothing. The caller journals
//! `decision.facts` and applies them to the state (which is how a pending vault badge, an escort, a
//! wrong PIN or an entry is remembered for the next request).
//!
//! The chain for a credential at a reader ([`Request::Present`]):
//! 1. reader known; keypad not locked out (PIN requests only);
//! 2. identify: card → credential (unknown card: deny, record, maybe raise a burst alarm); PIN → the
//!    card holder's PIN or duress PIN, or a PIN credential (wrong PIN: deny, count, maybe lock the
//!    keypad out and raise an alarm); a duress PIN raises `alarm.duress` silently and otherwise
//!    behaves exactly like the person's normal PIN;
//! 3. factors: a card+PIN credential needs both; a card-and-PIN door refuses a single factor;
//! 4. credential(s) active and unexpired; person active; agent badge current;
//! 5. exits (out readers) are granted here;
//! 6. entries: lockdown, area authorization, its validity and schedule, vendor approval (or an
//!    emergency admission), anti-passback, capacity;
//! 7. escorts: a visitor, vendor or service professional entering a secured area needs an agent
//!    granted at the same door within `policy.escort_window_s` (either order);
//! 8. two-person doors (vault): the first agent is pending, a second, different agent within
//!    `policy.vault_dual_auth_window_s` (inclusive) grants both.
//!
//! The reader's feedback depends only on the outcome: a duress entry looks exactly like a normal one
//! at the door.
//!
//! The module is split by decision family: `present` (a credential at a reader, with
//! `identify` finding who it is), `off_reader` (exits, emergency overrides, staff releases),
//! and the `checks` every family shares; `outcome` and `request` hold the types.
use crate::site::AccessSite;
use crate::state::AccessState;

mod checks;
mod identify;
mod off_reader;
mod outcome;
mod present;
mod request;

pub use checks::{credential_check, entry_check, person_check};
pub use outcome::{Decision, DenyReason, Outcome, PendingKind, ReaderFeedback};
pub use request::{EmergencyOverride, ExitSource, GoodFaithAttempt, Presentation, Request};

/// Ids and names from outside are cut to this many characters before they go into a fact.
const MAX_ID_CHARS: usize = 64;

/// `raw` cut to [`MAX_ID_CHARS`] characters, for recording an id that matched nothing.
fn clip_id(raw: &str) -> String {
    raw.chars().take(MAX_ID_CHARS).collect()
}

/// Whether something that happened at `at_ms` lies within `window_ms` before `now_ms` (inclusive;
/// never in the future).
fn within_window_ms(at_ms: i64, now_ms: i64, window_ms: i64) -> bool {
    now_ms.saturating_sub(at_ms) <= window_ms && now_ms >= at_ms
}

/// A duration given in whole seconds (as the site file and parameters give them), in milliseconds.
fn seconds_to_ms(seconds: u32) -> i64 {
    i64::from(seconds) * 1000
}

/// Decides a request. Pure: reads `state`, returns facts for the caller to journal and apply.
pub fn decide(site: &AccessSite, state: &AccessState, req: &Request, now_ms: i64) -> Decision {
    match req {
        Request::Present(pr) => present::present(site, state, pr, now_ms),
        Request::Exit {
            door,
            person,
            source,
        } => off_reader::exit(site, door, person.as_deref(), *source, now_ms),
        Request::EmergencyOverride(o) => off_reader::emergency(site, state, o, now_ms),
        Request::StaffRelease {
            door,
            user,
            reason,
            admits,
        } => off_reader::staff_release(site, state, door, user, reason, *admits, now_ms),
    }
}
