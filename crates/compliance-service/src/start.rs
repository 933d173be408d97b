//! Starting the compliance service on a site: the built-in pack must parse, and the scheduler
//! evaluates the site's pack every minute.
use std::sync::Arc;
use std::time::Duration;

use strongroom_compliance::pack;
use strongroom_store::service::ServiceCtx;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::error::StartError;
use crate::evaluate::Seen;
use crate::ports::SitePorts;
use crate::service::ComplianceService;

/// How often the scheduler evaluates.
const TICK: Duration = Duration::from_secs(60);

/// A started compliance service and its scheduler task.
pub struct StartedCompliance {
    /// The service.
    pub service: Arc<ComplianceService>,
    /// The scheduler.
    pub tasks: Vec<JoinHandle<()>>,
}

/// Starts the compliance service for one site, around `site`.
pub async fn start(
    ctx: &ServiceCtx,
    site: Arc<dyn SitePorts>,
) -> Result<StartedCompliance, StartError> {
    if let Some(Err(e)) = pack::for_site(&site.config()) {
        return Err(StartError(format!(
            "the built-in rule pack does not parse: {e}"
        )));
    }
    let service = Arc::new(ComplianceService {
        site_id: ctx.site_id.clone(),
        store: ctx.store.clone(),
        journal: ctx.journal.clone(),
        clock: ctx.clock.clone(),
        site,
        seen: Mutex::new(Seen::default()),
    });
    let scheduler = service.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = scheduler.evaluate_and_journal().await {
                tracing::warn!(site = %scheduler.site_id, error = %e, "compliance evaluation failed");
            }
        }
    });
    Ok(StartedCompliance {
        service,
        tasks: vec![task],
    })
}
