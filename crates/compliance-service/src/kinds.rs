//! Fact kinds this service journals beyond those of `strongroom_compliance::facts::kinds`
//! (which also names the record kinds: `maintenance.recorded`, `incident.updated`,
//! `outage.notified`, ...).

/// A legal hold was asked for but the video subsystem could not place it. Payload:
/// `incident_id`, `cameras`, `from_ms`, `to_ms`, `reason`, `error`.
pub const HOLD_REQUESTED: &str = "hold.requested";
/// A law-enforcement case share was created (LEP-08). Payload: `share_id`, `incident_id`,
/// `recipient`, `token_sha256` (the link's token itself is never stored), `expires_ms`.
pub const CASE_SHARE_CREATED: &str = "case_share.created";
/// A case share was revoked. Payload: `share_id`.
pub const CASE_SHARE_REVOKED: &str = "case_share.revoked";
/// A case share link was opened. Payload: `share_id`, `incident_id`, `recipient`, `client`,
/// `format`.
pub const CASE_SHARE_ACCESSED: &str = "case_share.accessed";
/// An expired or revoked case share link was tried. Payload: `share_id`, `reason`, `client`.
pub const CASE_SHARE_REFUSED: &str = "case_share.refused";
