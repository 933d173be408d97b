//! Commands that must refuse: areas not allowed for a category, unknown areas, and errors that
//! change nothing.
use crate::common::World;
use strongroom_access::{Command, CommandError, NewPerson, PersonCategory, Schedule};

#[test]
fn surveillance_room_is_not_for_visitors() {
    let mut w = World::new();
    w.add("vic", PersonCategory::Visitor, &[]);
    let r = w.try_cmd(Command::AuthorizeArea {
        person: "vic".into(),
        area: "cctv".into(),
        schedule: Schedule::Always,
        valid_until_ms: None,
    });
    assert!(matches!(r, Err(CommandError::NotAllowedForCategory { .. })));
    w.add("tech", PersonCategory::ServiceProfessional, &[]);
    w.authorize("tech", "cctv", Schedule::Always);
    let unknown = w.try_cmd(Command::AuthorizeArea {
        person: "tech".into(),
        area: "moon".into(),
        schedule: Schedule::Always,
        valid_until_ms: None,
    });
    assert!(matches!(unknown, Err(CommandError::UnknownArea(_))));
}

#[test]
fn errors_change_nothing() {
    let mut w = World::new();
    w.agent("alice", &["back"]);
    let before = w.state.clone();
    let n = w.journal.len();
    for bad in [
        Command::AddPerson(NewPerson::new("alice", PersonCategory::Agent, "A")),
        Command::AddPerson(NewPerson::new("bad id!", PersonCategory::Agent, "A")),
        Command::RevokeCredential {
            credential: "c-99".into(),
            reason: String::new(),
        },
        Command::EndLockdown {
            reason: String::new(),
        },
        Command::AddSecretHolder {
            secret: "nope".into(),
            person: "alice".into(),
        },
    ] {
        assert!(w.try_cmd(bad).is_err());
    }
    assert_eq!(w.state, before);
    assert_eq!(w.journal.len(), n);
}
