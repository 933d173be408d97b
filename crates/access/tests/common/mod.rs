//! The test site and a small harness: commands and decisions go through the real path (execute or
//! decide → journal → apply), so every test also exercises rebuildability.
#![allow(dead_code, clippy::unwrap_used)]

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use strongroom_access::{
    AccessParams, AccessSite, AccessState, Command, CommandError, CredentialKind, Decision,
    NewCredential, NewPerson, PersonCategory, Presentation, Request, Schedule, SiteSecret, Source,
    decide, execute,
};
use strongroom_domain::site::SiteConfig;
use strongroom_domain::{Actor, Fact};

pub const SITE: &str = r#"
[site]
id = "test"
name = "Test Dispensary"
jurisdiction = "il-dispensary"
timezone = "America/Chicago"
operating_hours = { mon = "09:00-21:00", tue = "09:00-21:00", wed = "09:00-21:00", thu = "09:00-21:00", fri = "09:00-21:00", sat = "10:00-18:00" }

[[area]]
id = "exterior"
name = "Exterior"
kind = "exterior"

[[area]]
id = "lobby"
name = "Lobby"
kind = "public"
capacity = 10

[[area]]
id = "sales"
name = "Sales floor"
kind = "limited_access"
capacity = 3

[[area]]
id = "back"
name = "Back of house"
kind = "restricted_access"

[[area]]
id = "store"
name = "Storage room"
kind = "restricted_access"
anti_passback = true

[[area]]
id = "vault"
name = "Vault"
kind = "vault"
capacity = 4

[[area]]
id = "safe"
name = "Currency safe"
kind = "currency_safe"

[[area]]
id = "cctv"
name = "Surveillance room"
kind = "surveillance_room"

[[door]]
id = "front"
name = "Front"
from = "exterior"
to = "lobby"

[[door]]
id = "barrier"
name = "Barrier"
from = "lobby"
to = "sales"
barrier = true

[[door]]
id = "sales-back"
name = "Sales to back"
from = "sales"
to = "back"

[[door]]
id = "store-door"
name = "Storage"
from = "back"
to = "store"

[[door]]
id = "vault-door"
name = "Vault door"
from = "back"
to = "vault"
held_open_limit_s = 60
unlock_s = 5

[[door]]
id = "safe-door"
name = "Safe"
from = "vault"
to = "safe"

[[door]]
id = "cctv-door"
name = "CCTV"
from = "back"
to = "cctv"

[[reader]]
id = "r-front"
door = "front"

[[reader]]
id = "r-barrier"
door = "barrier"
keypad = true

[[reader]]
id = "r-barrier-out"
door = "barrier"
direction = "out"

[[reader]]
id = "r-back"
door = "sales-back"
keypad = true

[[reader]]
id = "r-store"
door = "store-door"

[[reader]]
id = "r-store-out"
door = "store-door"
direction = "out"

[[reader]]
id = "r-vault"
door = "vault-door"
keypad = true

[[reader]]
id = "r-vault-2"
door = "vault-door"
keypad = true

[[reader]]
id = "r-vault-out"
door = "vault-door"
direction = "out"

[[reader]]
id = "r-safe"
door = "safe-door"
keypad = true

[[reader]]
id = "r-cctv"
door = "cctv-door"

[policy]
vault_dual_auth_window_s = 30
escort_window_s = 30
lockdown_roles = ["security-manager"]
unknown_card_burst = 5
unknown_card_window_s = 60
pin_attempts_lockout = 5
"#;

pub const SECRET: &[u8] = b"test-site-secret-0123456789abcdef";

pub fn config() -> SiteConfig {
    SiteConfig::parse("test.toml", SITE).unwrap_or_else(|e| panic!("{e}"))
}

pub fn site(params: AccessParams) -> AccessSite {
    AccessSite::new(&config(), params, SiteSecret::new(SECRET).unwrap()).unwrap()
}

/// Epoch milliseconds of a wall-clock time in America/Chicago (`"2025-06-02T12:00"`).
pub fn chicago(s: &str) -> i64 {
    let dt: DateTime = s.parse().unwrap();
    let tz = TimeZone::get("America/Chicago").unwrap();
    dt.to_zoned(tz).unwrap().timestamp().as_millisecond()
}

/// A Monday, noon, Chicago: open hours.
pub fn monday_noon() -> i64 {
    chicago("2025-06-02T12:00")
}

/// A new credential of `kind` for `person` with the given card and/or PIN: no expiry, replacing
/// nothing.
pub fn new_credential(
    person: &str,
    kind: CredentialKind,
    card: Option<&str>,
    pin: Option<&str>,
) -> NewCredential {
    NewCredential {
        person: person.into(),
        kind,
        card: card.map(Into::into),
        pin: pin.map(Into::into),
        expires_ms: None,
        replaces: None,
    }
}

pub struct World {
    pub site: AccessSite,
    pub state: AccessState,
    pub journal: Vec<Fact>,
    pub now: i64,
    pub actor: Actor,
}

impl World {
    pub fn new() -> World {
        World::with(AccessParams::default())
    }

    pub fn with(params: AccessParams) -> World {
        World {
            site: site(params),
            state: AccessState::new(),
            journal: Vec::new(),
            now: monday_noon(),
            actor: Actor::User("manager".into()),
        }
    }

    pub fn commit(&mut self, facts: &[Fact]) {
        for f in facts {
            assert_eq!(f.validate(), Ok(()), "{f:?}");
            let applied = self.state.apply(f);
            assert!(
                !matches!(applied, strongroom_access::Applied::Malformed(_)),
                "{applied:?} for {f:?}"
            );
            self.journal.push(f.clone());
        }
    }

    pub fn try_cmd(&mut self, cmd: Command) -> Result<Vec<Fact>, CommandError> {
        let facts = execute(&self.site, &self.state, &cmd, &self.actor, self.now)?;
        self.commit(&facts);
        Ok(facts)
    }

    pub fn cmd(&mut self, cmd: Command) -> Vec<Fact> {
        let dbg = format!("{cmd:?}");
        self.try_cmd(cmd).unwrap_or_else(|e| panic!("{dbg}: {e}"))
    }

    pub fn request(&mut self, req: Request) -> Decision {
        let d = decide(&self.site, &self.state, &req, self.now);
        self.commit(&d.facts.clone());
        d
    }

    pub fn present(&mut self, reader: &str, card: Option<&str>, pin: Option<&str>) -> Decision {
        self.request(Request::Present(Presentation {
            reader: reader.into(),
            card: card.map(Into::into),
            pin: pin.map(Into::into),
            source: Source::Osdp,
        }))
    }

    pub fn card(&mut self, reader: &str, card: &str) -> Decision {
        self.present(reader, Some(card), None)
    }

    pub fn advance_s(&mut self, s: i64) {
        self.now += s * 1000;
    }

    pub fn add(&mut self, id: &str, category: PersonCategory, roles: &[&str]) {
        let mut np = NewPerson::new(id, category, &format!("Name of {id}"));
        np.roles = roles.iter().map(|r| (*r).to_owned()).collect();
        np.agent_id = Some(format!("AGT-{id}"));
        if category.needs_vendor_approval() {
            np.company = Some("Acme Services".into());
            np.service_type = Some("security".into());
        }
        self.cmd(Command::AddPerson(np));
    }

    /// Issues a credential and returns its id.
    pub fn issue(
        &mut self,
        person: &str,
        kind: CredentialKind,
        card: Option<&str>,
        pin: Option<&str>,
    ) -> String {
        let facts = self.cmd(Command::IssueCredential(new_credential(
            person, kind, card, pin,
        )));
        facts
            .last()
            .and_then(|f| f.payload.get("credential"))
            .and_then(|v| v.as_str())
            .unwrap()
            .to_owned()
    }

    pub fn authorize(&mut self, person: &str, area: &str, schedule: Schedule) {
        self.cmd(Command::AuthorizeArea {
            person: person.into(),
            area: area.into(),
            schedule,
            valid_until_ms: None,
        });
    }

    /// An agent with a card `CARD-<id>`, authorised always for `areas`; returns the credential id.
    pub fn agent(&mut self, id: &str, areas: &[&str]) -> String {
        self.badged(
            id,
            PersonCategory::Agent,
            &["agent"],
            &format!("CARD-{id}"),
            areas,
        )
    }

    /// A person of `category` with `roles` and a card `card`, authorised always for `areas`;
    /// returns the credential id.
    pub fn badged(
        &mut self,
        id: &str,
        category: PersonCategory,
        roles: &[&str],
        card: &str,
        areas: &[&str],
    ) -> String {
        self.add(id, category, roles);
        let c = self.issue(id, CredentialKind::Card, Some(card), None);
        for a in areas {
            self.authorize(id, a, Schedule::Always);
        }
        c
    }

    /// Forgets where everyone is (a manager's occupancy reset), so entries start afresh.
    pub fn reset_occupancy(&mut self) {
        self.cmd(Command::ResetOccupancy {
            person: None,
            reason: "test".into(),
        });
    }

    /// Facts of `kind` in the journal.
    pub fn facts_of(&self, kind: &str) -> Vec<&Fact> {
        self.journal.iter().filter(|f| f.kind == kind).collect()
    }

    /// The journal replayed into a fresh state equals the live state (through JSON, as the journal
    /// stores it).
    pub fn assert_rebuilds(&self) {
        let text = serde_json::to_string(&self.journal).unwrap();
        let back: Vec<Fact> = serde_json::from_str(&text).unwrap();
        let rebuilt = AccessState::from_facts(&back);
        assert_eq!(
            rebuilt, self.state,
            "replayed state differs from live state"
        );
    }
}
