//! A large synthetic site for the decision benchmark and the latency example: 100 areas, 500 doors
//! (one entry reader each, plus an exit reader on every fifth), 10,000 agents each holding a card
//! (every fourth a card+PIN) and ten area authorizations with mixed schedules.
#![allow(dead_code, clippy::unwrap_used)]

use std::fmt::Write;

use strongroom_access::{
    AccessParams, AccessSite, AccessState, Command, CredentialKind, NewCredential, NewPerson,
    PersonCategory, Presentation, Request, Schedule, SiteSecret, Source, Weekday, Window, execute,
};
use strongroom_domain::Actor;
use strongroom_domain::site::SiteConfig;

pub const AREAS: usize = 100;
pub const DOORS: usize = 500;
pub const AGENTS: usize = 10_000;
pub const AUTHS_PER_AGENT: usize = 10;

pub struct Big {
    pub site: AccessSite,
    pub state: AccessState,
    /// Monday 12:00 in America/Chicago.
    pub now: i64,
}

fn kind(i: usize) -> &'static str {
    match i {
        0 => "public",
        1 => "vault",
        2 => "currency_safe",
        3 => "surveillance_room",
        _ if i.is_multiple_of(3) => "limited_access",
        _ => "restricted_access",
    }
}

pub fn site_toml() -> String {
    let mut s = String::from(
        "[site]\nid = \"big\"\nname = \"Big\"\njurisdiction = \"il-dispensary\"\ntimezone = \"America/Chicago\"\n\
         operating_hours = { mon = \"09:00-21:00\", tue = \"09:00-21:00\", wed = \"09:00-21:00\", thu = \"09:00-21:00\", fri = \"09:00-21:00\" }\n\n",
    );
    for a in 0..AREAS {
        let cap = if a % 10 == 5 { "capacity = 1000\n" } else { "" };
        let apb = if a % 10 == 7 {
            "anti_passback = true\n"
        } else {
            ""
        };
        write!(
            s,
            "[[area]]\nid = \"a{a}\"\nname = \"Area {a}\"\nkind = \"{}\"\n{cap}{apb}\n",
            kind(a)
        )
        .unwrap();
    }
    for d in 0..DOORS {
        let to = d % AREAS;
        let from = (d / AREAS + to + 1) % AREAS;
        let from = if from == to { (from + 1) % AREAS } else { from };
        write!(
            s,
            "[[door]]\nid = \"d{d}\"\nname = \"Door {d}\"\nfrom = \"a{from}\"\nto = \"a{to}\"\n\n"
        )
        .unwrap();
        write!(
            s,
            "[[reader]]\nid = \"r{d}\"\ndoor = \"d{d}\"\nkeypad = true\n\n"
        )
        .unwrap();
        if d % 5 == 0 {
            write!(
                s,
                "[[reader]]\nid = \"r{d}-out\"\ndoor = \"d{d}\"\ndirection = \"out\"\n\n"
            )
            .unwrap();
        }
    }
    s
}

pub fn card(i: usize) -> String {
    format!("{:010}", 4_000_000_000u64 + i as u64)
}

pub fn pin(i: usize) -> String {
    format!("{:06}", 100_000 + i)
}

/// Area `k` of agent `i`'s ten.
pub fn agent_area(i: usize, k: usize) -> usize {
    (i * 7 + k * 13) % AREAS
}

pub fn schedule(i: usize, k: usize) -> Schedule {
    match (i + k) % 4 {
        0 | 1 => Schedule::Always,
        2 => Schedule::OperatingHours,
        _ => Schedule::Windows {
            windows: vec![
                Window::parse(
                    &[Weekday::Mon, Weekday::Tue, Weekday::Wed],
                    "07:00",
                    "19:00",
                )
                .unwrap(),
                Window::parse(&[Weekday::Fri], "22:00", "06:00").unwrap(),
            ],
        },
    }
}

pub fn build() -> Big {
    let config = SiteConfig::parse("big.toml", &site_toml()).unwrap_or_else(|e| panic!("{e}"));
    let site = AccessSite::new(
        &config,
        AccessParams::default(),
        SiteSecret::new(b"benchmark-secret-0123456789abcdef").unwrap(),
    )
    .unwrap();
    let mut state = AccessState::new();
    let actor = Actor::User("bench".into());
    let now: i64 = {
        let dt: jiff::civil::DateTime = "2025-06-02T12:00".parse().unwrap();
        dt.to_zoned(site.tz.clone())
            .unwrap()
            .timestamp()
            .as_millisecond()
    };
    let run = |state: &mut AccessState, cmd: Command| {
        let facts = execute(&site, state, &cmd, &actor, now).unwrap();
        state.apply_all(&facts);
    };
    for i in 0..AGENTS {
        let mut np = NewPerson::new(
            &format!("agent-{i}"),
            PersonCategory::Agent,
            &format!("Agent {i}"),
        );
        np.roles = vec!["agent".into()];
        np.agent_id = Some(format!("IL-{i:06}"));
        run(&mut state, Command::AddPerson(np));
        let card_pin = i.is_multiple_of(4);
        run(
            &mut state,
            Command::IssueCredential(NewCredential {
                person: format!("agent-{i}"),
                kind: if card_pin {
                    CredentialKind::CardPin
                } else {
                    CredentialKind::Card
                },
                card: Some(card(i)),
                pin: card_pin.then(|| pin(i)),
                expires_ms: None,
                replaces: None,
            }),
        );
        for k in 0..AUTHS_PER_AGENT {
            run(
                &mut state,
                Command::AuthorizeArea {
                    person: format!("agent-{i}"),
                    area: format!("a{}", agent_area(i, k)),
                    schedule: schedule(i, k),
                    valid_until_ms: None,
                },
            );
        }
    }
    Big { site, state, now }
}

/// A door into area `a` (doors `a`, `a + 100`, ...).
pub fn door_into(a: usize, n: usize) -> usize {
    a + AREAS * (n % (DOORS / AREAS))
}

/// The i-th request of a realistic mix: 70 % an agent at a door of one of their areas (with the
/// PIN when the credential needs it), 10 % an agent at a door they are not authorised for, 10 %
/// an unknown card, 10 % a PIN-only attempt.
pub fn request(i: usize) -> Request {
    let agent = (i * 7919) % AGENTS;
    let (reader, card_no, pin_no) = match i % 10 {
        0..=6 => {
            let a = agent_area(agent, (i / 10) % AUTHS_PER_AGENT);
            let r = format!("r{}", door_into(a, i));
            (
                r,
                Some(card(agent)),
                agent.is_multiple_of(4).then(|| pin(agent)),
            )
        }
        7 => {
            let a = (agent_area(agent, 0) + 1) % AREAS;
            (format!("r{}", door_into(a, i)), Some(card(agent)), None)
        }
        8 => (format!("r{}", i % DOORS), Some(format!("UNKNOWN{i}")), None),
        _ => (
            format!("r{}", i % DOORS),
            None,
            Some(pin((i * 31) % AGENTS)),
        ),
    };
    Request::Present(Presentation {
        reader,
        card: card_no,
        pin: pin_no,
        source: Source::Osdp,
    })
}
