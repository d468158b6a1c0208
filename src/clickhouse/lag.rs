//! Consumer lag from librdkafka's statistics (`system.kafka_consumers.rdkafka_stat`): the only
//! place ClickHouse exposes the partitions' high watermarks. The statistics are emitted only when
//! the server configures `<kafka><statistics_interval_ms>` (ClickHouse 26.9 does not default it),
//! so lag is "unknown" rather than 0 when they are missing.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    topics: BTreeMap<String, TopicStats>,
}

#[derive(Deserialize)]
struct TopicStats {
    #[serde(default)]
    partitions: BTreeMap<String, PartitionStats>,
}

#[derive(Deserialize)]
struct PartitionStats {
    partition: i64,
    hi_offset: i64,
    committed_offset: i64,
}

/// Messages of `topic` not yet committed by the consumer (summed over its partitions), or `None`
/// when the statistics don't say (not configured, not fetched yet, unparsable).
pub fn committed_lag(rdkafka_stat: &str, topic: &str) -> Option<i64> {
    let stats: Stats = serde_json::from_str(rdkafka_stat).ok()?;
    let partitions = &stats.topics.get(topic)?.partitions;
    let mut lag = None;
    // Partition -1 is librdkafka's placeholder for messages not yet assigned to a partition.
    for p in partitions.values().filter(|p| p.partition >= 0) {
        // Negative offsets are librdkafka's "invalid" markers (-1001): nothing known yet.
        if p.hi_offset < 0 || p.committed_offset < 0 {
            return None;
        }
        lag = Some(lag.unwrap_or(0) + (p.hi_offset - p.committed_offset).max(0));
    }
    lag
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATS: &str = include_str!("testdata/rdkafka_stat.json");

    #[test]
    fn lag_is_high_watermark_minus_committed_offset() {
        assert_eq!(committed_lag(STATS, "openlmis.referencedata.facilities"), Some(0));
        let behind = STATS.replacen("\"hi_offset\": 11", "\"hi_offset\": 15", 1);
        assert_eq!(committed_lag(&behind, "openlmis.referencedata.facilities"), Some(4));
    }

    #[test]
    fn unknown_when_statistics_do_not_say() {
        assert_eq!(committed_lag("", "t"), None);
        assert_eq!(committed_lag(STATS, "other.topic"), None);
        let unfetched = STATS.replacen("\"committed_offset\": 11", "\"committed_offset\": -1001", 1);
        assert_eq!(committed_lag(&unfetched, "openlmis.referencedata.facilities"), None);
    }
}
