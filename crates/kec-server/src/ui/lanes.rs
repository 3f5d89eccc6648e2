//! Swimlanes of one object's story, built from its Events: which lane an Event belongs to
//! (scheduling, image, one per container, probes, volumes, node; conditions and problems for
//! Nodes), one bar per Event object from first to last seen with its ×N and observation ticks,
//! restart/OOM markers, and for Pods a phase band (Pending, Running, Back-off, Terminated)
//! inferred from the Events. Pure functions over records, so any kind of object works.

use std::collections::BTreeMap;

use kec_model::{Category, EventRecord};
use serde_json::json;

use crate::ui::format;

/// Lanes in display order; container lanes (`container <name>`) go between Image and Probes.
const POD_LANES: [&str; 7] = [
    "Scheduling",
    "Image",
    "Containers",
    "Probes",
    "Volumes",
    "Node",
    "Other",
];
const NODE_LANES: [&str; 4] = ["Conditions", "Problems", "Pods", "Lifecycle"];

/// The container an Event is about, from `spec.containers{web}` (or init/ephemeral ones).
fn container_of(field_path: &str) -> Option<&str> {
    let start = field_path.find('{')?;
    let end = field_path[start..].find('}')? + start;
    field_path
        .get(start + 1..end)
        .filter(|name| !name.is_empty())
}

/// The lane of `record` in its object's timeline.
pub(crate) fn lane_of(record: &EventRecord) -> String {
    let reason = record.reason.as_str();
    if record.object.kind == "Node" {
        let lane = match record.category {
            Category::NodeProblem => "Problems",
            Category::NodeNotReady => "Conditions",
            Category::Evicted => "Pods",
            _ if reason.starts_with("NodeHas")
                || reason.starts_with("NodeNot")
                || reason == "NodeReady"
                || reason == "NodeSchedulable" =>
            {
                "Conditions"
            }
            _ if record.source_component.contains("monitor") => "Problems",
            _ => "Lifecycle",
        };
        return lane.to_string();
    }
    let message = record.message.to_ascii_lowercase();
    let lane = match (record.category, reason) {
        (Category::FailedScheduling, _) | (_, "Scheduled" | "Preempted" | "NotTriggerScaleUp") => {
            "Scheduling"
        }
        (Category::ImagePullBackOff, _)
        | (_, "Pulling" | "Pulled" | "ErrImagePull" | "ImagePullBackOff" | "ErrImageNeverPull") => {
            "Image"
        }
        (_, "Failed" | "BackOff") if message.contains("image") => "Image",
        (Category::Unhealthy, _) | (_, "Unhealthy" | "ProbeWarning") => "Probes",
        (Category::FailedMount, _)
        | (_, "FailedMount" | "FailedAttachVolume" | "SuccessfulAttachVolume") => "Volumes",
        (Category::Evicted | Category::NodeNotReady | Category::NodeProblem, _)
        | (_, "Evicted" | "TaintManagerEviction" | "NodeNotReady" | "Preempting") => "Node",
        _ => match container_of(&record.object.field_path) {
            Some(container) => return format!("container {container}"),
            None if matches!(record.category, Category::PodCrash | Category::Oom)
                || matches!(
                    reason,
                    "Created" | "Started" | "Killing" | "BackOff" | "OOMKilling"
                ) =>
            {
                "Containers"
            }
            None => "Other",
        },
    };
    lane.to_string()
}

/// Whether an observation is a restart or an OOM kill (full-height markers).
fn marker_of(record: &EventRecord) -> Option<&'static str> {
    if record.category == Category::Oom || record.reason.contains("OOM") {
        Some("OOM")
    } else if record.category == Category::PodCrash {
        Some("restart")
    } else {
        None
    }
}

/// A pod phase as its Events suggest it (kubelet reports no phase change as an Event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Pending,
    Running,
    BackOff,
    Terminated,
}

impl Phase {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::BackOff => "Back-off",
            Phase::Terminated => "Terminated",
        }
    }
}

/// The phase an observation moves a pod to, given the phase it is in.
fn phase_after(record: &EventRecord, current: Option<Phase>) -> Option<Phase> {
    let message = record.message.to_ascii_lowercase();
    let restarting = message.contains("restart");
    let next = match record.reason.as_str() {
        "Started" => Phase::Running,
        "Killing" if restarting => Phase::BackOff,
        "Killing"
        | "Evicted"
        | "Preempted"
        | "Preempting"
        | "TaintManagerEviction"
        | "NodeShutdown"
        | "Shutdown"
        | "Deleted" => Phase::Terminated,
        "BackOff" if message.contains("image") => Phase::Pending,
        "BackOff" => Phase::BackOff,
        _ if matches!(record.category, Category::PodCrash | Category::Oom) => Phase::BackOff,
        "Scheduled"
        | "FailedScheduling"
        | "Pulling"
        | "Pulled"
        | "ErrImagePull"
        | "ImagePullBackOff"
        | "FailedMount"
        | "FailedAttachVolume"
        | "Created"
        | "FailedCreatePodSandBox"
        | "SandboxChanged" => match current {
            // Pulls and creations during a crash loop are the restart, not a new start.
            Some(Phase::Running | Phase::BackOff) => return None,
            _ => Phase::Pending,
        },
        _ => return None,
    };
    Some(next)
}

/// The phase band of a pod: `(start, end, phase)` spans covering first event to `to_ms`,
/// adjacent spans of the same phase merged. Empty for other kinds.
pub(crate) fn phases(records: &[EventRecord], to_ms: i64) -> Vec<(i64, i64, Phase)> {
    if records.iter().any(|record| record.object.kind != "Pod") {
        return Vec::new();
    }
    // Every observation is a point; a repeated Event's first-seen time is one more, so a
    // crash loop first noticed at its 4th back-off still starts where it began.
    let mut first_seen: BTreeMap<&str, &EventRecord> = BTreeMap::new();
    for record in records {
        let earliest = first_seen.entry(record.uid.as_str()).or_insert(record);
        if record.first_ms < earliest.first_ms {
            *earliest = record;
        }
    }
    let mut points: Vec<(i64, &EventRecord)> = records
        .iter()
        .map(|record| (record.time_ms, record))
        .chain(
            first_seen
                .values()
                .filter(|record| record.first_ms > 0 && record.first_ms < record.time_ms)
                .map(|record| (record.first_ms, *record)),
        )
        .collect();
    points.sort_by_key(|(at, record)| (*at, record.seq));
    let mut band: Vec<(i64, i64, Phase)> = Vec::new();
    let mut current: Option<Phase> = None;
    for (at, record) in points {
        let Some(next) = phase_after(record, current) else {
            continue;
        };
        if current != Some(next) {
            if let Some(last) = band.last_mut() {
                last.1 = at;
            }
            band.push((at, at, next));
            current = Some(next);
        }
    }
    if let Some(last) = band.last_mut() {
        last.1 = to_ms.max(last.0);
    }
    band.retain(|(start, end, _)| end > start);
    band
}

/// One Event object in a lane: a bar from first to last seen.
pub(crate) struct Item {
    pub lane: String,
    pub reason: String,
    pub message: String,
    pub warning: bool,
    pub first_ms: i64,
    pub last_ms: i64,
    pub count: i64,
    pub occurrences: i64,
    pub observations: Vec<i64>,
}

/// The table line of an item, in first-seen order.
pub(crate) struct StoryRow {
    pub lane: String,
    pub reason: String,
    pub message: String,
    pub warning: bool,
    pub first_iso: String,
    pub first_label: String,
    pub last_label: String,
    pub count: String,
    pub count_title: String,
}

/// An object's timeline, ready for the chart and its table.
pub(crate) struct Timeline {
    /// Chart data for `app.js`: `{from, to, lanes, items, ticks, markers}`.
    pub json: String,
    pub story: Vec<StoryRow>,
    pub lanes: usize,
    pub restarts: i64,
    pub ooms: i64,
    pub summary: String,
    /// Whether a phase band is drawn (Pods).
    pub has_phases: bool,
}

/// Groups `records` (one object's, any order) into lanes and bars.
pub(crate) fn items(records: &[EventRecord]) -> Vec<Item> {
    items_by(records, &lane_of)
}

/// Groups `records` into bars, each in the lane `lane_of` names.
fn items_by(records: &[EventRecord], lane_of: &dyn Fn(&EventRecord) -> String) -> Vec<Item> {
    let mut by_event: BTreeMap<(String, String), Item> = BTreeMap::new();
    for record in records {
        let lane = lane_of(record);
        // Events without a uid (rare, hand-made) are one item per reason.
        let identity = if record.uid.is_empty() {
            record.reason.clone()
        } else {
            record.uid.clone()
        };
        let first = if record.first_ms > 0 {
            record.first_ms.min(record.time_ms)
        } else {
            record.time_ms
        };
        let item = by_event
            .entry((lane.clone(), identity))
            .or_insert_with(|| Item {
                lane,
                reason: record.reason.clone(),
                message: record.message.clone(),
                warning: false,
                first_ms: first,
                last_ms: record.time_ms,
                count: 0,
                occurrences: 0,
                observations: Vec::new(),
            });
        item.warning |= record.is_warning();
        item.first_ms = item.first_ms.min(first);
        if record.time_ms >= item.last_ms {
            item.last_ms = record.time_ms;
            item.message = record.message.clone();
        }
        item.count = item.count.max(record.count);
        item.occurrences += record.occurrences;
        item.observations.push(record.time_ms);
    }
    let mut items: Vec<Item> = by_event.into_values().collect();
    items.sort_by_key(|item| (item.first_ms, item.last_ms));
    items
}

fn lane_order(lanes: &mut Vec<String>, node: bool) {
    let rank = |lane: &str| -> (usize, String) {
        let order: &[&str] = if node { &NODE_LANES } else { &POD_LANES };
        match order.iter().position(|known| *known == lane) {
            Some(position) => (position * 2, String::new()),
            // Containers sit where "Containers" is, by name.
            None => (3, lane.to_string()),
        }
    };
    lanes.sort_by_key(|lane| rank(lane));
    lanes.dedup();
}

/// The timeline of one object's records over `from_ms..to_ms`.
pub(crate) fn timeline(records: &[EventRecord], from_ms: i64, to_ms: i64, now_ms: i64) -> Timeline {
    build(records, from_ms, to_ms, now_ms, false)
}

/// The workload view: the same bars, one lane per pod (in the order they first appear).
pub(crate) fn workload_timeline(
    records: &[EventRecord],
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> Timeline {
    build(records, from_ms, to_ms, now_ms, true)
}

fn build(
    records: &[EventRecord],
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
    per_object: bool,
) -> Timeline {
    let node = records
        .first()
        .is_some_and(|record| record.object.kind == "Node");
    let items = if per_object {
        items_by(records, &|record| record.object.name.clone())
    } else {
        items(records)
    };
    let mut lanes: Vec<String> = items.iter().map(|item| item.lane.clone()).collect();
    if per_object {
        // Items are in first-seen order: keep each lane's first appearance.
        let mut seen = std::collections::HashSet::new();
        lanes.retain(|lane| seen.insert(lane.clone()));
    } else {
        lane_order(&mut lanes, node);
    }
    let lane_index = |lane: &str| lanes.iter().position(|known| known == lane).unwrap_or(0);
    let mut chart_items = Vec::new();
    let mut ticks = Vec::new();
    for item in &items {
        let index = lane_index(&item.lane);
        chart_items.push(json!([
            index,
            item.first_ms,
            item.last_ms,
            u8::from(item.warning),
            format!("{} ×{}", item.reason, format::compact(item.count)),
            item.message,
        ]));
        for time in &item.observations {
            ticks.push(json!([index, time]));
        }
    }
    let mut markers = Vec::new();
    // Kubernetes' count of each restart or OOM Event (its highest), summed over Events.
    let mut marked: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    // One marker per kind per 1/120 of the range: a crash loop restarts hundreds of times,
    // and a line for each would hide the chart.
    let min_gap_ms = ((to_ms - from_ms) / 120).max(1);
    let mut last_marker: BTreeMap<&str, i64> = BTreeMap::new();
    let mut sorted: Vec<&EventRecord> = records.iter().collect();
    sorted.sort_by_key(|record| record.time_ms);
    for record in sorted {
        if let Some(kind) = marker_of(record) {
            let last = last_marker.entry(kind).or_insert(i64::MIN);
            if record.time_ms.saturating_sub(*last) >= min_gap_ms {
                markers.push(json!([record.time_ms, kind]));
                *last = record.time_ms;
            }
            let count = marked.entry((kind, record.uid.as_str())).or_default();
            *count = (*count).max(record.count);
        }
    }
    let total = |wanted: &str| -> i64 {
        marked
            .iter()
            .filter(|((kind, _), _)| *kind == wanted)
            .map(|(_, count)| count)
            .sum()
    };
    let (restarts, ooms) = (total("restart"), total("OOM"));
    let earliest = items
        .iter()
        .map(|item| item.first_ms)
        .min()
        .unwrap_or(from_ms);
    let band: Vec<serde_json::Value> = (if per_object {
        Vec::new()
    } else {
        phases(records, to_ms)
    })
    .into_iter()
    .map(|(start, end, phase)| json!([start, end, phase.label()]))
    .collect();
    let has_phases = !band.is_empty();
    let phase_summary = match band.last().and_then(|span| span.get(2)) {
        Some(now_phase) => {
            let mut spans: BTreeMap<&str, usize> = BTreeMap::new();
            for span in &band {
                if let Some(name) = span.get(2).and_then(serde_json::Value::as_str) {
                    *spans.entry(name).or_default() += 1;
                }
            }
            let counted: Vec<String> = spans
                .iter()
                .map(|(name, count)| format!("{name} {count}×"))
                .collect();
            format!(
                "; phase now {} ({})",
                now_phase.as_str().unwrap_or_default(),
                counted.join(", ")
            )
        }
        None => String::new(),
    };
    let json = json!({
        "from": earliest.min(from_ms),
        "to": to_ms,
        "lanes": lanes,
        "phases": band,
        "items": chart_items,
        "ticks": ticks,
        "markers": markers,
    })
    .to_string();
    let story = items
        .iter()
        .map(|item| StoryRow {
            lane: item.lane.clone(),
            reason: item.reason.clone(),
            message: item.message.clone(),
            warning: item.warning,
            first_iso: format::iso(item.first_ms),
            first_label: format::short_absolute(item.first_ms, now_ms),
            last_label: format::short_absolute(item.last_ms, now_ms),
            count: format::compact(item.count),
            count_title: format!(
                "{} counted by Kubernetes; {} observations stored",
                format::count(item.count),
                item.observations.len()
            ),
        })
        .collect();
    let summary = format!(
        "{} Events in {} lanes ({}); {} restart back-offs and {} OOM kills{phase_summary}",
        items.len(),
        lanes.len(),
        lanes.join(", "),
        format::count(restarts),
        format::count(ooms)
    );
    Timeline {
        json,
        story,
        lanes: lanes.len() + usize::from(has_phases),
        restarts,
        ooms,
        summary,
        has_phases,
    }
}

#[cfg(test)]
mod tests {
    use kec_model::convert::{ParsedLine, parse_value};

    use super::*;

    fn record(
        uid: &str,
        kind: &str,
        reason: &str,
        field_path: &str,
        message: &str,
        count: i64,
        minute: i64,
    ) -> EventRecord {
        let time = jiff::Timestamp::from_second(1_800_000_000 + minute * 60)
            .map(|ts| ts.to_string())
            .unwrap_or_default();
        let value = serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("web-1.{uid}"), "namespace": "shop", "uid": uid, "resourceVersion": "1"},
            "involvedObject": {"kind": kind, "namespace": "shop", "name": "web-1", "fieldPath": field_path},
            "reason": reason, "message": message, "count": count,
            "type": if reason == "BackOff" || reason == "FailedScheduling" { "Warning" } else { "Normal" },
            "lastTimestamp": time, "firstTimestamp": time,
            "source": {"component": "kubelet"},
        });
        match parse_value(value, "prod", 1_000) {
            Ok(ParsedLine::Observation(observation)) => observation.record,
            other => panic!("not an observation: {other:?}"),
        }
    }

    #[test]
    fn events_find_their_lanes() {
        let cases = [
            (
                "Pod",
                "Scheduled",
                "",
                "assigned shop/web-1 to node-a",
                "Scheduled",
            ),
            (
                "Pod",
                "FailedScheduling",
                "",
                "0/3 nodes are available",
                "Scheduling",
            ),
            (
                "Pod",
                "Pulling",
                "spec.containers{web}",
                "Pulling image \"web:1\"",
                "Image",
            ),
            (
                "Pod",
                "Started",
                "spec.containers{web}",
                "Started container web",
                "container web",
            ),
            (
                "Pod",
                "BackOff",
                "spec.containers{web}",
                "Back-off restarting failed container",
                "container web",
            ),
            (
                "Pod",
                "Unhealthy",
                "spec.containers{web}",
                "Readiness probe failed",
                "Probes",
            ),
            (
                "Pod",
                "FailedMount",
                "",
                "MountVolume.SetUp failed",
                "Volumes",
            ),
            (
                "Pod",
                "Evicted",
                "",
                "The node was low on resource: memory",
                "Node",
            ),
            (
                "Node",
                "NodeNotReady",
                "",
                "Node node-a status is now: NodeNotReady",
                "Conditions",
            ),
            (
                "Node",
                "KernelOops",
                "",
                "kernel: BUG: unable to handle",
                "Problems",
            ),
            ("Deployment", "ScalingReplicaSet", "", "Scaled up", "Other"),
        ];
        for (kind, reason, path, message, lane) in cases {
            let expected = if lane == "Scheduled" {
                "Scheduling"
            } else {
                lane
            };
            let record = record("u", kind, reason, path, message, 1, 0);
            assert_eq!(lane_of(&record), expected, "{kind} {reason}");
        }
    }

    #[test]
    fn a_repeated_event_is_one_bar_with_ticks_and_markers() {
        let records = vec![
            record("s", "Pod", "Scheduled", "", "assigned", 1, 0),
            record(
                "b",
                "Pod",
                "BackOff",
                "spec.containers{web}",
                "Back-off restarting failed container",
                1,
                5,
            ),
            record(
                "b",
                "Pod",
                "BackOff",
                "spec.containers{web}",
                "Back-off restarting failed container",
                4,
                9,
            ),
            record(
                "p",
                "Pod",
                "Pulled",
                "spec.containers{web}",
                "Successfully pulled image",
                1,
                1,
            ),
        ];
        let grouped = items(&records);
        assert_eq!(grouped.len(), 3);
        let backoff = grouped
            .iter()
            .find(|item| item.reason == "BackOff")
            .expect("bar");
        assert_eq!(backoff.count, 4);
        assert_eq!(backoff.observations.len(), 2);
        assert!(backoff.warning);
        assert_eq!(backoff.last_ms - backoff.first_ms, 4 * 60_000);

        let timeline = timeline(&records, 0, 1_900_000_000_000, 1_900_000_000_000);
        let value: serde_json::Value = serde_json::from_str(&timeline.json).expect("json");
        assert_eq!(
            value["lanes"],
            serde_json::json!(["Scheduling", "Image", "container web"])
        );
        assert_eq!(value["items"].as_array().map(Vec::len), Some(3));
        assert_eq!(value["ticks"].as_array().map(Vec::len), Some(4));
        assert_eq!(
            timeline.restarts, 4,
            "occurrences of the crash-loop back-off"
        );
        assert_eq!(timeline.story[0].reason, "Scheduled", "first seen first");
        assert!(timeline.story.iter().any(|row| row.count == "4"));
    }

    #[test]
    fn the_phase_band_follows_a_pod_from_pending_through_a_crash_loop_to_termination() {
        let minute = |m: i64| (1_800_000_000 + m * 60) * 1000;
        let records = vec![
            record("s", "Pod", "Scheduled", "", "assigned", 1, 0),
            record(
                "p",
                "Pod",
                "Pulled",
                "spec.containers{web}",
                "pulled image",
                1,
                1,
            ),
            record(
                "t",
                "Pod",
                "Started",
                "spec.containers{web}",
                "Started container web",
                1,
                2,
            ),
            record(
                "b",
                "Pod",
                "BackOff",
                "spec.containers{web}",
                "Back-off restarting failed container",
                1,
                5,
            ),
            // A restart during the loop pulls again: still backing off, not pending.
            record(
                "p2",
                "Pod",
                "Pulling",
                "spec.containers{web}",
                "Pulling image",
                1,
                6,
            ),
            record(
                "b",
                "Pod",
                "BackOff",
                "spec.containers{web}",
                "Back-off restarting failed container",
                4,
                9,
            ),
            record(
                "k",
                "Pod",
                "Killing",
                "spec.containers{web}",
                "Stopping container web",
                1,
                20,
            ),
        ];
        let band = phases(&records, minute(30));
        let named: Vec<(i64, i64, &str)> = band
            .iter()
            .map(|(start, end, phase)| (*start, *end, phase.label()))
            .collect();
        assert_eq!(
            named,
            [
                (minute(0), minute(2), "Pending"),
                (minute(2), minute(5), "Running"),
                (minute(5), minute(20), "Back-off"),
                (minute(20), minute(30), "Terminated"),
            ]
        );
        let timeline = timeline(&records, minute(0), minute(30), minute(30));
        let value: serde_json::Value = serde_json::from_str(&timeline.json).expect("json");
        assert_eq!(value["phases"].as_array().map(Vec::len), Some(4));
        assert!(
            timeline.summary.contains(
                "phase now Terminated (Back-off 1×, Pending 1×, Running 1×, Terminated 1×)"
            ),
            "{}",
            timeline.summary
        );
    }

    #[test]
    fn a_liveness_kill_is_a_restart_and_other_kinds_have_no_phases() {
        let records = vec![
            record(
                "t",
                "Pod",
                "Started",
                "spec.containers{web}",
                "Started container web",
                1,
                0,
            ),
            record(
                "k",
                "Pod",
                "Killing",
                "spec.containers{web}",
                "Container web failed liveness probe, will be restarted",
                1,
                3,
            ),
        ];
        let band = phases(&records, (1_800_000_000 + 10 * 60) * 1000);
        assert_eq!(band.last().map(|span| span.2), Some(Phase::BackOff));
        let deployment = vec![record(
            "d",
            "Deployment",
            "ScalingReplicaSet",
            "",
            "Scaled up",
            1,
            0,
        )];
        assert!(phases(&deployment, 2_000_000_000_000).is_empty());
    }
}
