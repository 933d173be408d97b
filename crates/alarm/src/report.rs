//! The handling-time report's summary: how long alarms took from raised to dispatched,
//! acknowledged and resolved, as count, median, 95th percentile and maximum (nearest-rank).
use serde::Serialize;

use crate::queue::HandlingTime;

/// Count, median, 95th percentile and maximum of one handling interval, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntervalStats {
    /// Alarms that reached this step.
    pub count: usize,
    /// Median, ms.
    pub p50_ms: Option<i64>,
    /// 95th percentile, ms.
    pub p95_ms: Option<i64>,
    /// Longest, ms.
    pub max_ms: Option<i64>,
}

impl IntervalStats {
    /// The statistics of `values_ms` (in any order).
    pub fn of(values_ms: impl IntoIterator<Item = i64>) -> IntervalStats {
        let mut sorted: Vec<i64> = values_ms.into_iter().collect();
        sorted.sort_unstable();
        IntervalStats {
            count: sorted.len(),
            p50_ms: percentile(&sorted, 50),
            p95_ms: percentile(&sorted, 95),
            max_ms: sorted.last().copied(),
        }
    }
}

/// The nearest-rank `pct` percentile of sorted values (`None` when there are none).
pub fn percentile(sorted: &[i64], pct: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * pct).div_ceil(100).saturating_sub(1);
    sorted.get(rank.min(sorted.len() - 1)).copied()
}

/// The three intervals of the handling-time report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandlingSummary {
    /// Raised → first dispatch.
    pub raised_to_dispatch: IntervalStats,
    /// Raised → acknowledged.
    pub raised_to_ack: IntervalStats,
    /// Raised → resolved.
    pub raised_to_resolved: IntervalStats,
}

impl HandlingSummary {
    /// The summary of the report's rows.
    pub fn of(rows: &[HandlingTime]) -> HandlingSummary {
        HandlingSummary {
            raised_to_dispatch: IntervalStats::of(
                rows.iter().filter_map(|h| h.raised_to_dispatch_ms),
            ),
            raised_to_ack: IntervalStats::of(rows.iter().filter_map(|h| h.raised_to_ack_ms)),
            raised_to_resolved: IntervalStats::of(
                rows.iter().filter_map(|h| h.raised_to_resolved_ms),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 95), Some(95));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn stats_sort_their_input() {
        let s = IntervalStats::of([30, 10, 20]);
        assert_eq!(s.count, 3);
        assert_eq!(s.p50_ms, Some(20));
        assert_eq!(s.max_ms, Some(30));
        assert_eq!(IntervalStats::of([]), IntervalStats::default());
    }

    #[test]
    fn summary_counts_only_alarms_that_reached_the_step() {
        let row = |dispatch: Option<i64>, ack: Option<i64>| HandlingTime {
            alarm_id: "a".into(),
            alarm_type: "panic".into(),
            test: false,
            raised_ms: 0,
            raised_to_dispatch_ms: dispatch,
            raised_to_ack_ms: ack,
            raised_to_resolved_ms: None,
            outcome: None,
        };
        let s = HandlingSummary::of(&[row(Some(100), None), row(Some(300), Some(50))]);
        assert_eq!(s.raised_to_dispatch.count, 2);
        assert_eq!(s.raised_to_ack.count, 1);
        assert_eq!(s.raised_to_resolved.count, 0);
    }
}
