//! The rollups can never silently disagree with the index: every rollup answer is compared
//! with the fast-field aggregation of the same question, on the same data, for several ranges
//! (aligned and ragged), clusters, types, buckets and limits; after uncommitted ingest, after a
//! crash (WAL replay), after a clean restart and after retention drops days.

use std::collections::HashSet;

use kec_model::EventRecord;
use kec_model::time::DAY_MS;
use kec_sim::synthetic::{SyntheticConfig, SyntheticLoad};
use kec_store::rollup::{HOUR_MS, MINUTE_MS};
use kec_store::{AggregateRequest, Dimension, EmbeddedStore, RollupQuery, StoreConfig};

const DIMENSIONS: [Dimension; 9] = [
    Dimension::Total,
    Dimension::Type,
    Dimension::Cluster,
    Dimension::Namespace,
    Dimension::Kind,
    Dimension::Reason,
    Dimension::Category,
    Dimension::WarningObject,
    Dimension::ProblemNode,
];

fn load(events: u64, days: u32) -> (Vec<EventRecord>, i64) {
    let config = SyntheticConfig {
        events,
        objects: 3_000,
        days,
        ..SyntheticConfig::default()
    };
    let end_ms = config.end_ms;
    let mut load = SyntheticLoad::new(config);
    let mut records = Vec::new();
    while let Some(batch) = load.next_batch(1_000) {
        records.extend(batch);
    }
    // Two clusters, so that cluster filters select something and leave something out.
    for record in &mut records {
        if record.object.name.len() % 2 == 0 {
            record.cluster = "staging".into();
        }
    }
    (records, end_ms)
}

fn ingest(store: &EmbeddedStore, records: &[EventRecord], commit: bool) {
    for batch in records.chunks(2_000) {
        let now = batch.iter().map(|record| record.time_ms).max().unwrap_or(0);
        let outcome = store.ingest(batch.to_vec(), now).unwrap();
        assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
        if commit {
            store.commit(now).unwrap();
        }
    }
}

/// Ranges: aligned to days and hours, ragged at both ends, shorter than a bucket, empty.
fn ranges(end_ms: i64) -> Vec<(i64, i64)> {
    vec![
        (end_ms - DAY_MS, end_ms),
        (end_ms - 2 * DAY_MS, end_ms - DAY_MS),
        (
            end_ms - 3 * DAY_MS + 17 * MINUTE_MS + 3_001,
            end_ms - 41 * MINUTE_MS - 7,
        ),
        (end_ms - 6 * HOUR_MS - 59_999, end_ms - 1),
        (
            end_ms - 90 * MINUTE_MS + 30_000,
            end_ms - 80 * MINUTE_MS + 1,
        ),
        (end_ms - 20_000, end_ms - 10_000),
        (end_ms, end_ms),
    ]
}

/// Compares the rollups with the index for every dimension, cluster and range; returns how
/// many non-empty answers were compared.
fn assert_agrees(store: &EmbeddedStore, end_ms: i64, label: &str) -> usize {
    let mut non_empty = 0;
    let mut check = |query: RollupQuery| {
        let expected = store.aggregate(&query.request()).unwrap();
        let answer = store.rollup_groups(&query).unwrap();
        let actual = answer.rows;
        assert_eq!(actual, expected, "{label}: {query:?}");
        let unlimited = AggregateRequest {
            limit: 0,
            ..query.request()
        };
        let groups: HashSet<Option<String>> = store
            .aggregate(&unlimited)
            .unwrap()
            .into_iter()
            .map(|row| row.group)
            .collect();
        assert_eq!(answer.groups, groups.len(), "{label}: groups of {query:?}");
        // A view reads the edges once for every query of its range: the same answers.
        let view = store.rollup_view(query.from_ms, query.to_ms).unwrap();
        let viewed = view.query(&query).unwrap();
        assert_eq!(viewed.rows, actual, "{label}: view of {query:?}");
        assert_eq!(
            viewed.groups,
            groups.len(),
            "{label}: view groups of {query:?}"
        );
        if !actual.is_empty() {
            non_empty += 1;
        }
    };
    for (from_ms, to_ms) in ranges(end_ms) {
        for cluster in [None, Some("prod"), Some("staging"), Some("nowhere")] {
            for dimension in DIMENSIONS {
                check(RollupQuery {
                    cluster: cluster.map(str::to_string),
                    ..RollupQuery::new(dimension, from_ms, to_ms)
                });
            }
        }
        for dimension in [Dimension::WarningObject, Dimension::ProblemNode] {
            check(RollupQuery {
                limit: 3,
                ..RollupQuery::new(dimension, from_ms, to_ms)
            });
        }
        for dimension in [Dimension::Reason, Dimension::Namespace, Dimension::Kind] {
            check(RollupQuery {
                event_type: Some("Warning".into()),
                limit: 5,
                ..RollupQuery::new(dimension, from_ms, to_ms)
            });
        }
        for (dimension, bucket_ms) in [
            (Dimension::Type, MINUTE_MS),
            (Dimension::Type, 30 * MINUTE_MS),
            (Dimension::Type, 30_000), // finer than the rollups: the index answers
            (Dimension::Total, 3 * HOUR_MS),
            (Dimension::Cluster, 10 * MINUTE_MS),
            (Dimension::Namespace, HOUR_MS),
            (Dimension::Namespace, 10 * MINUTE_MS), // finer than the hour table
            (Dimension::WarningObject, DAY_MS),
        ] {
            check(RollupQuery {
                event_type: (dimension == Dimension::Namespace).then(|| "Warning".into()),
                bucket_ms: Some(bucket_ms),
                limit: if dimension == Dimension::Namespace {
                    4
                } else {
                    0
                },
                ..RollupQuery::new(dimension, from_ms, to_ms)
            });
        }
    }
    non_empty
}

#[test]
fn rollups_answer_what_the_index_answers_across_restarts_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let (records, end_ms) = load(30_000, 3);
    let (first, rest) = records.split_at(records.len() / 2);
    let (second, third) = rest.split_at(rest.len() / 2);
    {
        let store = EmbeddedStore::open(StoreConfig::new(dir.path())).unwrap();
        ingest(&store, first, true);
        // The load is in time order: the first half fills the older ranges only.
        let compared = assert_agrees(&store, end_ms, "after ingest");
        assert!(compared > 40, "only {compared} non-empty answers compared");
        // Ingested but not committed: neither the index nor the rollups show it yet.
        ingest(&store, second, false);
        assert_agrees(&store, end_ms, "uncommitted");
        // Dropped without commit or close: a crash. The WAL holds `second`.
    }
    {
        let store = EmbeddedStore::open(StoreConfig::new(dir.path())).unwrap();
        let replayed_day = store
            .rollup(&RollupQuery::new(
                Dimension::Total,
                end_ms - 3 * DAY_MS,
                end_ms,
            ))
            .unwrap();
        let expected: i64 = first
            .iter()
            .chain(second)
            .map(|record| record.time_ms)
            .filter(|time| *time >= end_ms - 3 * DAY_MS)
            .count()
            .try_into()
            .unwrap();
        assert!(replayed_day[0].records as i64 <= expected);
        assert!(replayed_day[0].records > first.len() as u64 / 2);
        assert_agrees(&store, end_ms, "after WAL replay");
        ingest(&store, third, true);
        store.close(end_ms).unwrap();
    }
    let mut config = StoreConfig::new(dir.path());
    config.retention_days = 2;
    let store = EmbeddedStore::open(config).unwrap();
    let compared = assert_agrees(&store, end_ms, "after a clean restart");
    assert!(compared > 150, "only {compared} non-empty answers compared");
    let stats = store.rollup_stats().unwrap();
    assert!(stats.hour_cells > 0 && stats.minute_cells > 0 && stats.approx_bytes > 0);

    let dropped = store.enforce_retention(end_ms - 1).unwrap();
    assert!(!dropped.is_empty());
    assert_agrees(&store, end_ms, "after retention");
    let old = RollupQuery::new(Dimension::Total, end_ms - 3 * DAY_MS, end_ms - 2 * DAY_MS);
    assert!(store.rollup(&old).unwrap().is_empty());
    assert!(store.rollup_stats().unwrap().hour_buckets < stats.hour_buckets);
}

#[test]
fn rollup_rejects_a_non_positive_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(StoreConfig::new(dir.path())).unwrap();
    let query = RollupQuery {
        bucket_ms: Some(0),
        ..RollupQuery::new(Dimension::Type, 0, DAY_MS)
    };
    let error = store.rollup(&query).unwrap_err();
    assert!(error.is_client_error(), "{error}");
}
