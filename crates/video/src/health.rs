//! Camera health: a pure monitor that turns frame arrivals and clock ticks into down/up events
//! (HLT-01), and the task that drives it with the injected clock and forwards its events.
//!
//! The monitor never reads a clock itself: callers pass `now_90k`. A camera is *down* when no frame
//! has arrived for `down_after_90k` ticks; the onset is the last frame's arrival (or the time the camera
//! was registered, if it never sent one). With `down_after` = 3 s and a 250 ms tick, detection comes
//! at most 3.25 s after the last frame, inside the 5 s budget.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::{Clock, ms_to_90k};
use crate::events::{VideoEvent, VideoEvents};

/// What the monitor reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthEvent {
    /// No frames for the threshold.
    Down {
        /// Camera key.
        camera: String,
        /// Last frame (or registration) time.
        onset_90k: i64,
        /// When the tick noticed.
        detected_90k: i64,
    },
    /// Frames arrive again after a `Down`.
    Up {
        /// Camera key.
        camera: String,
        /// Onset of the outage that ended.
        down_onset_90k: i64,
        /// The first frame after the outage.
        up_90k: i64,
    },
}

impl From<HealthEvent> for VideoEvent {
    fn from(e: HealthEvent) -> Self {
        match e {
            HealthEvent::Down {
                camera,
                onset_90k,
                detected_90k,
            } => VideoEvent::CameraDown {
                camera,
                onset_90k,
                detected_90k,
            },
            HealthEvent::Up {
                camera,
                down_onset_90k,
                up_90k,
            } => VideoEvent::CameraUp {
                camera,
                down_onset_90k,
                up_90k,
            },
        }
    }
}

#[derive(Debug, Clone)]
struct CamState {
    /// Last frame, or registration time if none yet.
    last_seen_90k: i64,
    /// Onset of the current outage, if the camera is down.
    down_onset_90k: Option<i64>,
    /// First frame after an outage, not yet reported as `Up`.
    pending_up_90k: Option<i64>,
}

/// Pure per-camera liveness tracker.
#[derive(Debug, Clone)]
pub struct HealthMonitor {
    down_after_90k: i64,
    cams: BTreeMap<String, CamState>,
    /// `Down` events noticed outside `tick` (a lost connection), reported at the next tick.
    queued: Vec<HealthEvent>,
}

impl HealthMonitor {
    /// A monitor that declares a camera down after `down_after_90k` ticks without frames.
    pub fn new(down_after_90k: i64) -> Self {
        HealthMonitor {
            down_after_90k: down_after_90k.max(1),
            cams: BTreeMap::new(),
            queued: Vec::new(),
        }
    }

    /// Starts expecting frames from `camera` from `now_90k` on.
    pub fn register(&mut self, camera: &str, now_90k: i64) {
        self.cams.entry(camera.to_owned()).or_insert(CamState {
            last_seen_90k: now_90k,
            down_onset_90k: None,
            pending_up_90k: None,
        });
    }

    /// Stops watching `camera` (removed from the configuration).
    pub fn unregister(&mut self, camera: &str) {
        self.cams.remove(camera);
    }

    /// Records a frame from `camera` at `now_90k` (registers unknown cameras).
    pub fn on_frame(&mut self, camera: &str, now_90k: i64) {
        match self.cams.get_mut(camera) {
            Some(s) => {
                s.last_seen_90k = s.last_seen_90k.max(now_90k);
                if s.down_onset_90k.is_some() && s.pending_up_90k.is_none() {
                    s.pending_up_90k = Some(now_90k);
                }
            }
            None => self.register(camera, now_90k),
        }
    }

    /// The recorder lost `camera`'s stream at `now_90k` (closed, refused, errored): the camera is
    /// down at once, without waiting for the silence threshold. The onset is the last frame.
    pub fn on_lost(&mut self, camera: &str, now_90k: i64) {
        let Some(s) = self.cams.get_mut(camera) else {
            return;
        };
        if s.down_onset_90k.is_none() {
            s.down_onset_90k = Some(s.last_seen_90k);
            self.queued.push(HealthEvent::Down {
                camera: camera.to_owned(),
                onset_90k: s.last_seen_90k,
                detected_90k: now_90k,
            });
        }
    }

    /// Arrival time of the last frame from `camera` (or its registration time if none yet).
    pub fn last_seen_90k(&self, camera: &str) -> Option<i64> {
        self.cams.get(camera).map(|s| s.last_seen_90k)
    }

    /// True if `camera` is currently considered down.
    pub fn is_down(&self, camera: &str) -> bool {
        self.cams
            .get(camera)
            .is_some_and(|s| s.down_onset_90k.is_some() && s.pending_up_90k.is_none())
    }

    /// Evaluates every camera at `now_90k`, returning new `Up` and `Down` events (in camera order).
    pub fn tick(&mut self, now_90k: i64) -> Vec<HealthEvent> {
        let mut out = std::mem::take(&mut self.queued);
        for (camera, s) in &mut self.cams {
            if let (Some(onset), Some(up)) = (s.down_onset_90k, s.pending_up_90k) {
                out.push(HealthEvent::Up {
                    camera: camera.clone(),
                    down_onset_90k: onset,
                    up_90k: up,
                });
                s.down_onset_90k = None;
                s.pending_up_90k = None;
            }
            if s.down_onset_90k.is_none() && now_90k - s.last_seen_90k >= self.down_after_90k {
                s.down_onset_90k = Some(s.last_seen_90k);
                out.push(HealthEvent::Down {
                    camera: camera.clone(),
                    onset_90k: s.last_seen_90k,
                    detected_90k: now_90k,
                });
            }
        }
        out
    }
}

/// A monitor shared between the recorder tasks (which call `on_frame`) and the health task.
pub type SharedHealth = Arc<Mutex<HealthMonitor>>;

/// Locks the shared monitor, recovering from a poisoned lock (the state stays usable).
pub fn lock(h: &SharedHealth) -> std::sync::MutexGuard<'_, HealthMonitor> {
    h.lock().unwrap_or_else(|p| p.into_inner())
}

/// Ticks `health` every `tick_ms` with `clock` and emits its events until `shutdown` turns true.
pub async fn run_health<C: Clock, E: VideoEvents>(
    health: SharedHealth,
    clock: Arc<C>,
    events: Arc<E>,
    tick_ms: u64,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(Duration::from_millis(tick_ms.max(10)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            r = shutdown.changed() => {
                if r.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
        let evs = lock(&health).tick(clock.now_90k());
        for e in evs {
            events.emit(e.into()).await;
        }
    }
}

/// Default threshold: 3 s without frames.
pub const DEFAULT_DOWN_AFTER_90K: i64 = ms_to_90k(3_000);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: i64 = 90_000;

    #[test]
    fn down_detected_after_threshold_with_exact_onset() {
        let mut m = HealthMonitor::new(3 * S);
        m.register("a", 0);
        m.on_frame("a", S);
        assert!(m.tick(3 * S).is_empty(), "2 s of silence is not yet down");
        let evs = m.tick(4 * S);
        assert_eq!(
            evs,
            vec![HealthEvent::Down {
                camera: "a".into(),
                onset_90k: S,
                detected_90k: 4 * S
            }]
        );
        assert!(m.is_down("a"));
        assert!(m.tick(10 * S).is_empty(), "down is reported once");
    }

    #[test]
    fn up_after_down_and_other_cameras_unaffected() {
        let mut m = HealthMonitor::new(3 * S);
        m.register("a", 0);
        m.register("b", 0);
        for t in 1..=10 {
            m.on_frame("b", t * S);
        }
        let evs = m.tick(10 * S);
        assert_eq!(evs.len(), 1);
        assert!(matches!(&evs[0], HealthEvent::Down { camera, onset_90k: 0, .. } if camera == "a"));
        m.on_frame("a", 11 * S);
        m.on_frame("b", 11 * S);
        assert!(!m.is_down("a"));
        let evs = m.tick(11 * S);
        assert_eq!(
            evs,
            vec![HealthEvent::Up {
                camera: "a".into(),
                down_onset_90k: 0,
                up_90k: 11 * S
            }]
        );
    }

    #[test]
    fn lost_stream_is_down_at_once_and_reported_once() {
        let mut m = HealthMonitor::new(3 * S);
        m.register("a", 0);
        m.on_frame("a", S);
        m.on_lost("a", S + 10);
        m.on_lost("a", S + 20);
        assert!(m.is_down("a"));
        assert_eq!(
            m.tick(S + 100),
            vec![HealthEvent::Down {
                camera: "a".into(),
                onset_90k: S,
                detected_90k: S + 10
            }]
        );
        assert!(
            m.tick(10 * S).is_empty(),
            "the silence does not report it again"
        );
        m.on_frame("a", 11 * S);
        assert!(matches!(m.tick(11 * S)[..], [HealthEvent::Up { up_90k, .. }] if up_90k == 11 * S));
        m.on_lost("unknown", 0);
        assert!(m.tick(12 * S).is_empty());
    }

    #[test]
    fn never_seen_camera_goes_down_from_registration() {
        let mut m = HealthMonitor::new(3 * S);
        m.register("x", 5 * S);
        assert!(m.tick(7 * S).is_empty());
        assert_eq!(m.tick(8 * S).len(), 1);
        m.unregister("x");
        assert!(m.tick(100 * S).is_empty());
    }

    proptest! {
        /// Whatever the frame arrival pattern, a tick at least every 250 ms detects an outage within
        /// threshold + tick, with onset equal to the last frame.
        #[test]
        fn detection_latency_bounded(gaps_ms in proptest::collection::vec(1i64..8_000, 1..60)) {
            let mut m = HealthMonitor::new(3 * S);
            m.register("c", 0);
            let tick = ms_to_90k(250);
            let mut t = 0i64;
            let mut now = 0i64;
            let mut last_frame = 0i64;
            let mut down: Option<(i64, i64)> = None;
            for g in gaps_ms {
                let next = t + ms_to_90k(g);
                while now + tick < next {
                    now += tick;
                    for e in m.tick(now) {
                        match e {
                            HealthEvent::Down { onset_90k, detected_90k, .. } => {
                                prop_assert_eq!(onset_90k, last_frame);
                                prop_assert!(detected_90k - onset_90k <= 3 * S + tick);
                                prop_assert!(detected_90k - onset_90k >= 3 * S);
                                down = Some((onset_90k, detected_90k));
                            }
                            HealthEvent::Up { down_onset_90k, .. } => {
                                prop_assert_eq!(Some(down_onset_90k), down.map(|d| d.0));
                                down = None;
                            }
                        }
                    }
                }
                t = next;
                m.on_frame("c", t);
                last_frame = t;
            }
            // Any silence of 3 s or more must have produced a Down at some point.
        }
    }
}
