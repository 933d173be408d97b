//! Law-enforcement case shares (LEP-08): a time-limited link to one incident's report. The link
//! itself is the authorization: an unguessable 256-bit token whose SHA-256 was journaled at
//! creation. Every opening, and every refused attempt on a known link, is journaled before
//! anything is served; an unknown token is plain "not found".
use strongroom_compliance::journal::payload::{int, text};
use strongroom_compliance::report::{self, Format};
use strongroom_domain::{Actor, Fact};

use crate::error::ComplianceError;
use crate::gather::facts_with_prefix;
use crate::input::{new_id, text as input_text};
use crate::kinds;
use crate::report::{RenderedReport, ReportKind, build_report};
use crate::service::ComplianceService;
use crate::snapshot::snapshot;
use crate::views::{Share, ShareAccess, ShareCreated, ShareList, ShareRevoked};

/// Longest life of a case share link, hours.
pub const MAX_SHARE_HOURS: u32 = 24 * 30;

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl ComplianceService {
    /// The case shares folded from the journal.
    async fn all_shares(&self) -> Result<Vec<Share>, ComplianceError> {
        let mut out: Vec<Share> = Vec::new();
        for (_, f) in facts_with_prefix(&self.store, &self.site_id, "case_share.").await? {
            let p = &f.payload;
            let id = text(p, "share_id");
            match f.kind.as_str() {
                kinds::CASE_SHARE_CREATED => out.push(Share {
                    share_id: id,
                    incident_id: text(p, "incident_id"),
                    recipient: text(p, "recipient"),
                    token_sha256: text(p, "token_sha256"),
                    created_ms: f.time_ms,
                    created_by: f.actor.to_string(),
                    expires_ms: int(p, "expires_ms").unwrap_or(0),
                    revoked_ms: None,
                    accesses: Vec::new(),
                }),
                kinds::CASE_SHARE_REVOKED => {
                    if let Some(x) = out.iter_mut().find(|x| x.share_id == id) {
                        x.revoked_ms = Some(f.time_ms);
                    }
                }
                kinds::CASE_SHARE_ACCESSED | kinds::CASE_SHARE_REFUSED => {
                    if let Some(x) = out.iter_mut().find(|x| x.share_id == id) {
                        x.accesses.push(ShareAccess {
                            time_ms: f.time_ms,
                            kind: f.kind.clone(),
                            client: text(p, "client"),
                            format: text(p, "format"),
                            reason: text(p, "reason"),
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The case shares with their accesses.
    pub async fn shares(&self) -> Result<ShareList, ComplianceError> {
        Ok(ShareList {
            shares: self.all_shares().await?,
        })
    }

    /// Creates a link to incident `incident_id`'s report for `recipient`, valid `ttl_hours`.
    pub async fn create_share(
        &self,
        actor: &Actor,
        incident_id: &str,
        recipient: &str,
        ttl_hours: u32,
    ) -> Result<ShareCreated, ComplianceError> {
        if ttl_hours == 0 || ttl_hours > MAX_SHARE_HOURS {
            return Err(ComplianceError::BadRequest(format!(
                "ttl_hours must be 1 to {MAX_SHARE_HOURS}"
            )));
        }
        let recipient = input_text("recipient", recipient, true)?;
        self.incident(incident_id).await?;
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| ComplianceError::Internal(e.to_string()))?;
        let token = hex::encode(raw);
        let now = self.clock.now_ms();
        let share_id = new_id("share", now)?;
        let expires = now.saturating_add(i64::from(ttl_hours) * 3_600_000);
        self.journal
            .append_one(
                Fact::new(kinds::CASE_SHARE_CREATED, actor.clone(), now)
                    .with("share_id", share_id.clone())
                    .with("incident_id", incident_id)
                    .with("recipient", recipient)
                    .with("token_sha256", sha256_hex(&token))
                    .with("expires_ms", expires),
            )
            .await?;
        Ok(ShareCreated {
            share_id,
            expires_ms: expires,
            url: format!(
                "/api/v1/sites/{}/compliance/shared/{token}?format=pdf",
                self.site_id
            ),
        })
    }

    /// Revokes case share `share_id`.
    pub async fn revoke_share(
        &self,
        actor: &Actor,
        share_id: &str,
    ) -> Result<ShareRevoked, ComplianceError> {
        match self
            .all_shares()
            .await?
            .iter()
            .find(|x| x.share_id == share_id)
        {
            None => return Err(ComplianceError::NotFound(format!("share {share_id:?}"))),
            Some(x) if x.revoked_ms.is_some() => {
                return Err(ComplianceError::Conflict("already revoked".into()));
            }
            Some(_) => {}
        }
        let e = self
            .journal
            .append_one(
                Fact::new(
                    kinds::CASE_SHARE_REVOKED,
                    actor.clone(),
                    self.clock.now_ms(),
                )
                .with("share_id", share_id),
            )
            .await?;
        Ok(ShareRevoked {
            share_id: share_id.to_owned(),
            seq: e.seq,
        })
    }

    /// Opens the case share of `token` from `client`: the incident's report as `format`, or
    /// [`ComplianceError::Refused`] for an expired or revoked link (journaled either way), or
    /// [`ComplianceError::NotFound`] for an unknown token.
    pub async fn open_share(
        &self,
        token: &str,
        format: Format,
        client: &str,
    ) -> Result<RenderedReport, ComplianceError> {
        let not_found = || ComplianceError::NotFound("case share".into());
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let hash = sha256_hex(&token.to_ascii_lowercase());
        let Some(share) = self
            .all_shares()
            .await?
            .into_iter()
            .find(|x| x.token_sha256 == hash)
        else {
            return Err(not_found());
        };
        let now = self.clock.now_ms();
        let refused = if share.revoked_ms.is_some() {
            Some("revoked")
        } else if now >= share.expires_ms {
            Some("expired")
        } else {
            None
        };
        if let Some(reason) = refused {
            self.journal
                .append_one(
                    Fact::new(kinds::CASE_SHARE_REFUSED, Actor::System, now)
                        .with("share_id", share.share_id.clone())
                        .with("reason", reason)
                        .with("client", client),
                )
                .await?;
            return Err(ComplianceError::Refused(format!(
                "this case share link is {reason}"
            )));
        }
        let config = self.config();
        let snap = snapshot(&self.store, &self.site_id, &config, Vec::new(), now).await?;
        let doc = build_report(
            ReportKind::Incident,
            &config,
            &snap,
            Some(&share.incident_id),
        )
        .map_err(|_| not_found())?;
        let bytes = report::render(&doc, format);
        self.journal
            .append_one(
                Fact::new(kinds::CASE_SHARE_ACCESSED, Actor::System, now)
                    .with("share_id", share.share_id.clone())
                    .with("incident_id", share.incident_id.clone())
                    .with("recipient", share.recipient.clone())
                    .with("client", client)
                    .with("format", format.extension()),
            )
            .await?;
        Ok(RenderedReport {
            bytes,
            content_type: format.content_type(),
            file_name: format!("incident-{}.{}", share.incident_id, format.extension()),
        })
    }
}
