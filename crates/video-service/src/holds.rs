//! Legal holds (RET-03/04): footage under a hold is never purged, whatever its age. Placing and
//! releasing are journaled (`video.hold_placed`, `video.hold_released`); where the jurisdiction
//! requires it, a release needs the regulator's approval reference.
use strongroom_domain::{Actor, Fact};
use strongroom_video::index::{self, Hold, NewHold};

use crate::error::VideoError;
use crate::export::valid_text;
use crate::kinds;
use crate::service::VideoService;
use crate::time::ms_from_90k;
use crate::views::{HoldList, HoldView};

/// Longest hold reason, in characters.
const MAX_REASON_CHARS: usize = 1000;
/// Longest case or approval reference, in characters.
const MAX_REFERENCE_CHARS: usize = 200;

impl HoldView {
    /// The view of a stored hold.
    pub fn of(h: &Hold) -> HoldView {
        HoldView {
            id: h.id,
            cameras: h.cameras.clone(),
            all_cameras: h.all_cameras,
            from_ms: ms_from_90k(h.start_90k),
            to_ms: ms_from_90k(h.end_90k),
            reason: h.reason.clone(),
            reference: h.reference.clone(),
            created_ms: ms_from_90k(h.created_90k),
            created_by: h.created_by.clone(),
            released_ms: h.released_90k.map(ms_from_90k),
            released_by: h.released_by.clone(),
            release_approval: h.release_approval.clone(),
            active: h.is_active(),
        }
    }
}

fn check_reference(field: &str, v: &str) -> Result<String, VideoError> {
    let v = v.trim().to_owned();
    if v.chars().count() > MAX_REFERENCE_CHARS {
        return Err(VideoError::BadRequest(format!(
            "{field} may have at most {MAX_REFERENCE_CHARS} characters"
        )));
    }
    Ok(v)
}

impl VideoService {
    /// Places a legal hold on `cameras` (empty: every camera) over `[from_ms, to_ms)` and
    /// journals it; returns its id. The compliance service calls this when an incident opens.
    pub async fn place_hold(
        &self,
        cameras: Vec<String>,
        from_ms: i64,
        to_ms: i64,
        reason: &str,
        reference: &str,
        by: Actor,
    ) -> Result<i64, VideoError> {
        let reason = valid_text("reason", reason, MAX_REASON_CHARS)?;
        let reference = check_reference("reference", reference)?;
        if to_ms <= from_ms {
            return Err(VideoError::BadRequest("to_ms must be after from_ms".into()));
        }
        for c in &cameras {
            self.camera_name(c)?;
        }
        let now = self.clock.now_ms();
        let hold = NewHold {
            cameras: cameras.clone(),
            start_90k: from_ms.saturating_mul(90),
            end_90k: to_ms.saturating_mul(90),
            reason: reason.clone(),
            reference: reference.clone(),
            created_by: by.to_string(),
        };
        let id = index::create_hold(&self.pool, &hold, now.saturating_mul(90)).await?;
        self.journal
            .append_one(
                Fact::new(kinds::HOLD_PLACED, by, now)
                    .with("hold_id", id)
                    .with("all_cameras", cameras.is_empty())
                    .with("cameras", cameras)
                    .with("from_ms", from_ms)
                    .with("to_ms", to_ms)
                    .with("reason", reason)
                    .with("reference", reference),
            )
            .await?;
        Ok(id)
    }

    /// Every hold, and whether releasing one needs an approval reference on this site.
    pub async fn holds(&self) -> Result<HoldList, VideoError> {
        let holds = index::holds(&self.pool).await?;
        Ok(HoldList {
            holds: holds.iter().map(HoldView::of).collect(),
            release_needs_approval: self
                .config()
                .site
                .jurisdiction
                .hold_release_needs_approval(),
        })
    }

    /// Releases a hold (journaled); on a site whose jurisdiction requires it, only with the
    /// regulator's approval reference.
    pub async fn release_hold(
        &self,
        id: i64,
        approval_reference: &str,
        by: &Actor,
    ) -> Result<(), VideoError> {
        let needs = self
            .config()
            .site
            .jurisdiction
            .hold_release_needs_approval();
        let approval = check_reference("approval_reference", approval_reference)?;
        if needs && approval.is_empty() {
            return Err(VideoError::BadRequest(
                "releasing a hold on this site needs the Department's approval reference (approval_reference)".into(),
            ));
        }
        let now = self.clock.now_ms();
        index::release_hold(
            &self.pool,
            id,
            &by.to_string(),
            &approval,
            needs,
            now.saturating_mul(90),
        )
        .await?;
        self.journal
            .append_one(
                Fact::new(kinds::HOLD_RELEASED, by.clone(), now)
                    .with("hold_id", id)
                    .with("approval_reference", approval),
            )
            .await?;
        Ok(())
    }
}
