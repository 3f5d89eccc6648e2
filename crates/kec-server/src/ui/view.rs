//! What the templates print: records, aggregations and the page state turned into views whose
//! strings are ready to show (askama escapes them) and whose links are ready to follow.

use kec_model::EventRecord;
use kec_model::time::DAY_MS;
use kec_store::{AggregateRow, Field, Filter};
use serde_json::json;

use crate::api::EventQuery;
use crate::ui::details::{term_clause, with_clause};
use crate::ui::format;
use crate::ui::query::UiQuery;

/// Pages of the UI, in menu order. Those without an address are not built yet: the menu shows
/// them as plain text so the layout does not move when they arrive.
const PAGES: [(&str, Option<&str>); 8] = [
    ("Clusters", Some("/clusters")),
    ("Overview", Some("/overview")),
    ("Events", Some("/events")),
    ("Query", Some("/query")),
    ("Lifecycle", Some("/lifecycle")),
    ("Nodes", Some("/nodes")),
    ("Queries", Some("/queries")),
    ("Alerts", None),
];

/// Relative ranges offered by the time picker: (`from` parameter, label).
pub(crate) const PRESETS: [(&str, &str); 5] = [
    ("now-15m", "Last 15 minutes"),
    ("now-1h", "Last hour"),
    ("now-6h", "Last 6 hours"),
    ("now-24h", "Last 24 hours"),
    ("now-7d", "Last 7 days"),
];

/// The look-back when a view gives no `from` (the API's default too).
const DEFAULT_FROM: &str = crate::api::DEFAULT_RANGE;

/// Columns of the events table (for `colspan`).
pub(crate) const TABLE_COLUMNS: usize = 9;

pub(crate) struct NavItem {
    pub label: &'static str,
    pub href: Option<&'static str>,
    pub current: bool,
}

pub(crate) fn nav(current: &str) -> Vec<NavItem> {
    PAGES
        .iter()
        .map(|(label, href)| NavItem {
            label,
            href: *href,
            current: *label == current,
        })
        .collect()
}

/// An `<option>`.
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A filter input of the query form.
pub(crate) struct InputView {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub placeholder: &'static str,
    /// Id of a `<datalist>` of suggestions, or empty.
    pub list: &'static str,
}

/// The query form: every control starts from the page state.
pub(crate) struct FormView {
    pub q: String,
    pub clusters: Vec<Choice>,
    pub presets: Vec<Choice>,
    pub custom_range: bool,
    pub from: String,
    pub to: String,
    pub warnings_only: bool,
    pub fields: Vec<InputView>,
    /// State the form has no control for, kept as hidden inputs so submitting keeps it.
    pub hidden: Vec<(&'static str, String)>,
    pub categories: Vec<&'static str>,
}

/// The `from` preset a state shows, if it is one (a missing `from` is the default preset).
fn preset_of(query: &UiQuery) -> Option<&'static str> {
    let to_is_now = query.get("to").is_none_or(|to| to == "now");
    let from = query.get("from").unwrap_or(DEFAULT_FROM);
    PRESETS
        .iter()
        .find(|(value, _)| to_is_now && *value == from)
        .map(|(_, label)| *label)
}

impl FormView {
    pub(crate) fn new(query: &UiQuery, clusters: &[String]) -> FormView {
        let value = |key: &str| query.get(key).unwrap_or_default().to_string();
        let selected_cluster = value("cluster");
        let mut cluster_choices: Vec<Choice> = clusters
            .iter()
            .map(|name| Choice {
                value: name.clone(),
                label: name.clone(),
                selected: *name == selected_cluster,
            })
            .collect();
        if !selected_cluster.is_empty() && !clusters.contains(&selected_cluster) {
            // A cluster that sent nothing yet, or several: keep the selection visible.
            cluster_choices.push(Choice {
                value: selected_cluster.clone(),
                label: selected_cluster.clone(),
                selected: true,
            });
        }
        let from = query.get("from").unwrap_or(DEFAULT_FROM);
        let to_is_now = query.get("to").is_none_or(|to| to == "now");
        let presets: Vec<Choice> = PRESETS
            .iter()
            .map(|(preset_from, label)| Choice {
                value: preset_from.to_string(),
                label: label.to_string(),
                selected: to_is_now && *preset_from == from,
            })
            .collect();
        let custom_range = !presets.iter().any(|preset| preset.selected);
        let event_type = value("type");
        let mut hidden = Vec::new();
        if !event_type.is_empty() && event_type != "Warning" {
            hidden.push(("type", event_type.clone()));
        }
        for key in ["source", "limit"] {
            if let Some(kept) = query.get(key) {
                hidden.push((key, kept.to_string()));
            }
        }
        let input = |name, label, placeholder, list| InputView {
            name,
            label,
            value: value(name),
            placeholder,
            list,
        };
        FormView {
            q: value("q"),
            clusters: cluster_choices,
            presets,
            custom_range,
            from: from.to_string(),
            to: value("to"),
            warnings_only: event_type == "Warning",
            fields: vec![
                input("namespace", "Namespace", "any", ""),
                input("kind", "Kind", "Pod, Node…", ""),
                input("name", "Name", "object name", ""),
                input("reason", "Reason", "BackOff…", ""),
                input("category", "Category", "any", "categories"),
                input("node", "Node", "any", ""),
            ],
            hidden,
            categories: kec_model::Category::ALL
                .iter()
                .map(|category| category.as_str())
                .collect(),
        }
    }
}

/// The time range a view covers, resolved against now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Range {
    pub from_ms: i64,
    /// The end shown: now when the view has no `to`.
    pub to_ms: i64,
    /// The range follows now (no `to`, or a relative one): auto-refresh makes sense.
    pub live: bool,
}

impl Range {
    pub(crate) fn of(event_query: &EventQuery, filter: &Filter, now_ms: i64) -> Range {
        let to = event_query
            .to
            .as_deref()
            .map(str::trim)
            .filter(|to| !to.is_empty());
        let from_ms = filter.from_ms.unwrap_or(now_ms - DAY_MS / 4);
        let to_ms = match to {
            Some(_) => filter.to_ms.unwrap_or(now_ms),
            None => now_ms,
        };
        Range {
            from_ms,
            to_ms: to_ms.max(from_ms + 60_000),
            live: to.is_none_or(|to| to.starts_with("now")),
        }
    }

    pub(crate) fn span_ms(&self) -> i64 {
        self.to_ms - self.from_ms
    }
}

/// The range line above the results.
pub(crate) struct RangeView {
    /// `Last 6 hours` or `10:00 UTC → 12:00 UTC`.
    pub label: String,
    /// Both ends, absolute.
    pub detail: String,
    pub from_iso: String,
    pub to_iso: String,
    pub from_label: String,
    pub to_label: String,
    pub zoom_out_url: Option<String>,
}

/// Longest range "zoom out" offers (retention rarely goes beyond it).
const MAX_ZOOM_OUT_MS: i64 = 90 * DAY_MS;

impl RangeView {
    pub(crate) fn new(query: &UiQuery, range: Range, now_ms: i64) -> RangeView {
        let from_label = format::short_absolute(range.from_ms, now_ms);
        let to_label = format::short_absolute(range.to_ms, now_ms);
        let to_is_now = query.get("to").is_none_or(|to| to == "now");
        let relative_from = query
            .get("from")
            .unwrap_or(DEFAULT_FROM)
            .strip_prefix("now-")
            .filter(|_| to_is_now);
        let label = match (preset_of(query), relative_from) {
            (Some(preset), _) => preset.to_string(),
            (None, Some(back)) => format!("Last {back}"),
            (None, None) => format!("{from_label} → {to_label}"),
        };
        RangeView {
            label,
            detail: format!(
                "{} – {}",
                format::absolute(range.from_ms),
                format::absolute(range.to_ms)
            ),
            from_iso: format::iso(range.from_ms),
            to_iso: format::iso(range.to_ms),
            from_label,
            to_label,
            zoom_out_url: zoom_out(query, range, now_ms),
        }
    }
}

/// The same view over a range twice as long, centred on the same middle (never past now).
fn zoom_out(query: &UiQuery, range: Range, now_ms: i64) -> Option<String> {
    let span = range.span_ms();
    if span >= MAX_ZOOM_OUT_MS {
        return None;
    }
    let from_ms = range.from_ms - span / 2;
    let to_ms = range.to_ms + span / 2;
    let wider = if to_ms >= now_ms {
        // Centring would reach into the future: end at now instead.
        query
            .without("to")
            .with("from", &format::lookback_param(2 * span))
    } else if range.live {
        query
            .with("from", &format::lookback_param(now_ms - from_ms))
            .with("to", &format::lookback_param(now_ms - to_ms))
    } else {
        query
            .with("from", &format::iso(from_ms))
            .with("to", &format::iso(to_ms))
    };
    Some(wider.page_url())
}

/// A filter in force, with the link that removes it.
pub(crate) struct ChipView {
    pub label: &'static str,
    pub value: String,
    pub remove_url: String,
}

pub(crate) fn chips(query: &UiQuery) -> Vec<ChipView> {
    query
        .filters()
        .map(|(key, value)| ChipView {
            label: if key == "q" { "query" } else { key },
            value: value.to_string(),
            remove_url: query.without(key).page_url(),
        })
        .collect()
}

/// One normalized field in an expanded row.
pub(crate) struct FieldView {
    pub label: &'static str,
    pub value: String,
    /// Link that filters on this value, for filterable fields.
    pub filter_url: Option<String>,
    /// Link that filters this value out.
    pub exclude_url: Option<String>,
}

/// The view with `field:value` added to its query box (the cluster picks the cluster).
fn filter_for(query: &UiQuery, field: Field, value: &str) -> String {
    if field == Field::Cluster {
        return query.with("cluster", value).page_url();
    }
    with_clause(query, &term_clause(field, value)).page_url()
}

/// The view with `-field:value` added to its query box.
fn filter_out(query: &UiQuery, field: Field, value: &str) -> String {
    with_clause(query, &format!("-{}", term_clause(field, value))).page_url()
}

/// One table row: one stored record.
pub(crate) struct RowView {
    pub seq: u64,
    /// The Event object (`cluster/uid`): a live-tail repeat replaces the row with this key.
    pub key: String,
    pub warning: bool,
    pub event_type: String,
    /// The Event carried no time: `time_ms` is when kec received it, shown as "unknown".
    pub time_unknown: bool,
    pub time_iso: String,
    pub time_relative: String,
    pub time_title: String,
    pub reason: String,
    pub reason_url: String,
    pub reason_exclude_url: String,
    pub object: String,
    pub object_url: String,
    pub namespace: String,
    pub namespace_url: String,
    pub namespace_exclude_url: String,
    pub message: String,
    pub count_compact: String,
    pub count_title: String,
    /// `+N` when this observation added fewer occurrences than the cumulative count.
    pub delta: Option<String>,
    pub node: String,
    pub node_url: String,
    pub node_exclude_url: String,
    pub cluster: String,
    pub cluster_url: String,
    /// The expanded row's content (fields, raw Event), fetched when the row opens.
    pub detail_url: String,
}

/// An expanded row: the record's fields and its raw Event.
pub(crate) struct DetailView {
    pub seq: u64,
    pub fields: Vec<FieldView>,
    pub raw_json: String,
    /// (label, url): the object's lifecycle, its node, and its events ±10 minutes around.
    pub links: Vec<(String, String)>,
}

/// How far around a record its context reaches.
const CONTEXT_MS: i64 = 10 * 60_000;

impl DetailView {
    pub(crate) fn new(record: &EventRecord, query: &UiQuery, now_ms: i64) -> DetailView {
        DetailView {
            seq: record.seq,
            fields: fields(record, query, now_ms),
            raw_json: raw_json(record),
            links: links(record),
        }
    }
}

/// The expanded row's ways on: lifecycle, node, context.
fn links(record: &EventRecord) -> Vec<(String, String)> {
    let encode = crate::ui::scope::encode;
    let mut links = Vec::new();
    let object = &record.object;
    if !object.name.is_empty() {
        let mut url = format!(
            "/lifecycle?c={}&kind={}&name={}",
            encode(&record.cluster),
            encode(&object.kind),
            encode(&object.name)
        );
        if !object.namespace.is_empty() {
            url.push_str(&format!("&ns={}", encode(&object.namespace)));
        }
        let label = if object.kind.is_empty() {
            "Lifecycle".to_string()
        } else {
            format!("{} lifecycle", object.kind)
        };
        links.push((label, url));
    }
    if !record.node.is_empty() {
        links.push((
            format!("Node {}", record.node),
            format!(
                "/nodes?c={}&name={}",
                encode(&record.cluster),
                encode(&record.node)
            ),
        ));
    }
    let mut clauses = vec![
        term_clause(Field::Kind, &object.kind),
        term_clause(Field::Name, &object.name),
    ];
    if !object.namespace.is_empty() {
        clauses.push(term_clause(Field::Namespace, &object.namespace));
    }
    let context = UiQuery::default()
        .with("cluster", &record.cluster)
        .with("q", &clauses.join(" "))
        .with("from", &format::iso(record.time_ms - CONTEXT_MS))
        .with("to", &format::iso(record.time_ms + CONTEXT_MS));
    links.push((
        "Context: this object ±10 min".to_string(),
        context.page_url(),
    ));
    links
}

/// The address of a record's expanded row, in the view of `query`.
pub(crate) fn detail_url(query: &UiQuery, record: &EventRecord) -> String {
    let base = query.without("limit").url_for("/events/record");
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}t={}&seq={}", record.time_ms, record.seq)
}

impl RowView {
    pub(crate) fn new(record: &EventRecord, query: &UiQuery, now_ms: i64) -> RowView {
        let filter_url = |field: Field| filter_for(query, field, field.value_of(record));
        let exclude_url = |field: Field| filter_out(query, field, field.value_of(record));
        let namespace = Field::Namespace.value_of(record).to_string();
        let mut object_clauses = vec![
            term_clause(Field::Kind, &record.object.kind),
            term_clause(Field::Name, &record.object.name),
        ];
        if !record.object.namespace.is_empty() {
            object_clauses.push(term_clause(Field::Namespace, &record.object.namespace));
        }
        let object_query = with_clause(query, &object_clauses.join(" "));
        let object = if record.object.kind.is_empty() {
            record.object.name.clone()
        } else {
            format!("{}/{}", record.object.kind, record.object.name)
        };
        let time_title = if record.time_is_receipt {
            format!(
                "the Event carries no time; kec received it {}",
                format::absolute(record.time_ms)
            )
        } else {
            format::absolute(record.time_ms)
        };
        RowView {
            seq: record.seq,
            key: format!("{}/{}", record.cluster, record.uid),
            warning: record.is_warning(),
            event_type: record.event_type.clone(),
            time_unknown: record.time_is_receipt,
            time_iso: format::iso(record.time_ms),
            time_relative: format::relative(record.time_ms, now_ms),
            time_title,
            reason: record.reason.clone(),
            reason_url: filter_url(Field::Reason),
            reason_exclude_url: exclude_url(Field::Reason),
            object,
            object_url: object_query.page_url(),
            namespace_url: filter_url(Field::Namespace),
            namespace_exclude_url: exclude_url(Field::Namespace),
            namespace,
            message: record.message.clone(),
            count_compact: format::compact(record.count),
            count_title: format!(
                "{} occurrences counted by Kubernetes so far; this observation added {}",
                format::count(record.count),
                format::count(record.occurrences)
            ),
            delta: (record.occurrences != record.count)
                .then(|| format!("+{}", format::compact(record.occurrences))),
            node: record.node.clone(),
            node_url: filter_url(Field::Node),
            node_exclude_url: exclude_url(Field::Node),
            cluster: record.cluster.clone(),
            cluster_url: filter_url(Field::Cluster),
            detail_url: detail_url(query, record),
        }
    }
}

fn raw_json(record: &EventRecord) -> String {
    let raw = record.raw.to_value();
    if raw.is_null() {
        return "(the original object was not kept)".into();
    }
    serde_json::to_string_pretty(&raw).unwrap_or_else(|error| format!("({error})"))
}

fn fields(record: &EventRecord, query: &UiQuery, now_ms: i64) -> Vec<FieldView> {
    let filterable = |label, field: Field| {
        let value = field.value_of(record).to_string();
        FieldView {
            label,
            filter_url: Some(filter_for(query, field, &value)),
            exclude_url: Some(filter_out(query, field, &value)),
            value,
        }
    };
    let plain = |label, value: String| FieldView {
        label,
        value,
        filter_url: None,
        exclude_url: None,
    };
    let time = |ms: i64| {
        format!(
            "{} ({})",
            format::absolute(ms),
            format::relative(ms, now_ms)
        )
    };
    let event_time = if record.time_is_receipt {
        format!("unknown (received {})", format::absolute(record.time_ms))
    } else {
        time(record.time_ms)
    };
    let all = vec![
        filterable("Cluster", Field::Cluster),
        filterable("Type", Field::Type),
        filterable("Reason", Field::Reason),
        filterable("Category", Field::Category),
        filterable("Namespace", Field::Namespace),
        filterable("Kind", Field::Kind),
        filterable("Name", Field::Name),
        plain("Object uid", record.object.uid.clone()),
        plain("Object apiVersion", record.object.api_version.clone()),
        plain("Field path", record.object.field_path.clone()),
        plain("Message", record.message.clone()),
        filterable("Node", Field::Node),
        filterable("Source", Field::Source),
        plain("Source host", record.source_host.clone()),
        plain("Reporting controller", record.reporting_controller.clone()),
        plain("Reporting instance", record.reporting_instance.clone()),
        plain("Action", record.action.clone()),
        plain("Last seen", event_time),
        plain("First seen", time(record.first_ms)),
        plain("Count", format::count(record.count)),
        plain("Occurrences added", format::count(record.occurrences)),
        plain(
            "Event object",
            format!("{}/{}", record.namespace, record.name),
        ),
        plain("Event uid", record.uid.clone()),
        plain("Event apiVersion", record.api_version.clone()),
        plain("resourceVersion", record.resource_version.clone()),
        plain("Record", format!("#{}", record.seq)),
    ];
    all.into_iter()
        .filter(|field| !field.value.is_empty())
        .collect()
}

/// A non-empty bucket, for the chart's "view as table".
pub(crate) struct BucketView {
    pub time_iso: String,
    pub label: String,
    pub warning: String,
    pub normal: String,
    pub other: String,
}

/// The stacked Normal/Warning histogram.
pub(crate) struct HistogramView {
    /// Chart data for `app.js`: `{start, bucket, from, to, series: [{name, data}]}`.
    pub json: String,
    pub summary: String,
    pub bucket_label: String,
    pub buckets: Vec<BucketView>,
    pub has_other: bool,
}

/// Most buckets a histogram draws (UI.md: aggregate on the server, at most about 200).
pub(crate) const MAX_BUCKETS: i64 = 200;

impl HistogramView {
    pub(crate) fn new(rows: &[AggregateRow], range: Range, bucket_ms: i64) -> HistogramView {
        let start = range.from_ms.div_euclid(bucket_ms) * bucket_ms;
        let end = (range.to_ms - 1).div_euclid(bucket_ms) * bucket_ms;
        let count = usize::try_from((end - start) / bucket_ms + 1).unwrap_or(1);
        let mut warning = vec![0i64; count];
        let mut normal = vec![0i64; count];
        let mut other = vec![0i64; count];
        for row in rows {
            let Some(bucket) = row.bucket_ms else {
                continue;
            };
            if bucket < start || bucket > end {
                continue;
            }
            let Ok(index) = usize::try_from((bucket - start) / bucket_ms) else {
                continue;
            };
            let series = match row.group.as_deref() {
                Some("Warning") => &mut warning,
                Some("Normal") => &mut normal,
                _ => &mut other,
            };
            if let Some(slot) = series.get_mut(index) {
                *slot += row.occurrences;
            }
        }
        let total = |series: &[i64]| series.iter().sum::<i64>();
        let (warning_total, normal_total, other_total) =
            (total(&warning), total(&normal), total(&other));
        let has_other = other_total > 0;
        let bucket_label = format::bucket_label(bucket_ms);
        let mut summary = format!(
            "Occurrences per {bucket_label} bucket from {} to {}: {} Warning, {} Normal",
            format::absolute(range.from_ms),
            format::absolute(range.to_ms),
            format::count(warning_total),
            format::count(normal_total),
        );
        if has_other {
            summary.push_str(&format!(", {} of other types", format::count(other_total)));
        }
        summary.push('.');
        let buckets = (0..count)
            .filter(|index| warning[*index] + normal[*index] + other[*index] > 0)
            .map(|index| {
                let time = start + bucket_ms * index as i64;
                BucketView {
                    time_iso: format::iso(time),
                    label: format::absolute(time),
                    warning: format::count(warning[index]),
                    normal: format::count(normal[index]),
                    other: format::count(other[index]),
                }
            })
            .collect();
        let mut series = vec![
            json!({"name": "Warning", "data": warning}),
            json!({"name": "Normal", "data": normal}),
        ];
        if has_other {
            series.push(json!({"name": "Other", "data": other}));
        }
        let json = json!({
            "start": start,
            "bucket": bucket_ms,
            "from": range.from_ms,
            "to": range.to_ms,
            "series": series,
        })
        .to_string();
        HistogramView {
            json,
            summary,
            bucket_label,
            buckets,
            has_other,
        }
    }
}

/// Why the result is empty, and ways out.
pub(crate) struct EmptyView {
    pub clear_url: Option<String>,
    /// (label, url) of a wider range.
    pub widen: Option<(String, String)>,
    /// (text, url): the newest match before the range, and the range that includes it.
    pub nearest: Option<(String, String)>,
}

impl EmptyView {
    pub(crate) fn new(
        query: &UiQuery,
        range: Range,
        nearest: Option<&EventRecord>,
        now_ms: i64,
    ) -> EmptyView {
        let has_filters = query.filters().next().is_some();
        let widen = [
            ("now-24h", "last 24 hours"),
            ("now-7d", "last 7 days"),
            ("now-30d", "last 30 days"),
        ]
        .into_iter()
        .zip([DAY_MS, 7 * DAY_MS, 30 * DAY_MS])
        .find(|(_, span)| *span > now_ms - range.from_ms)
        .map(|((from, label), _)| {
            (
                format!("Widen to the {label}"),
                query.without("to").with("from", from).page_url(),
            )
        });
        let nearest = nearest.map(|record| {
            let text = format!(
                "The nearest earlier match is from {} ({}).",
                format::absolute(record.time_ms),
                format::relative(record.time_ms, now_ms)
            );
            // Reach a little past it, so the match is not on the range's very edge.
            let back = (now_ms - record.time_ms) + (now_ms - record.time_ms) / 10 + 60_000;
            let url = query.with("from", &format::lookback_param(back)).page_url();
            (text, url)
        });
        EmptyView {
            clear_url: has_filters.then(|| query.without_filters().page_url()),
            widen,
            nearest,
        }
    }
}

/// An error in place of results.
pub(crate) struct ErrorView {
    pub status: u16,
    pub message: String,
    /// For a query that does not parse: the line with a caret under the offending column.
    pub excerpt: Option<String>,
    pub retry_url: String,
    /// The same view from its first page.
    pub reset_url: String,
}

/// Everything under the query form: range line, chips, chart, table, footer. Also the unit the
/// page polls and the form replaces.
#[derive(Default)]
pub(crate) struct ResultsView {
    pub page_url: String,
    pub results_url: String,
    pub poll: bool,
    /// Why the view does not auto-refresh, when it does not.
    pub poll_off: &'static str,
    pub range: Option<RangeView>,
    pub chips: Vec<ChipView>,
    pub error: Option<ErrorView>,
    /// The store holds no events from any cluster.
    pub no_data: bool,
    /// The histogram panel, loaded after the table (its own round trip).
    pub histogram_url: String,
    /// The facets panel, loaded after the table (its own round trip).
    pub facets_url: String,
    /// The query box has pipes: they run on the query page, at this address.
    pub pipes_url: Option<String>,
    pub rows: Vec<RowView>,
    /// The next page: (its rows as a partial, its full page).
    pub more: Option<(String, String)>,
    /// `4 812 occurrences in 311 events`.
    pub totals: Option<String>,
    pub empty: Option<EmptyView>,
    pub columns: usize,
    pub export_csv_url: String,
    pub export_ndjson_url: String,
    /// `EXPORT_CAP`, readable.
    pub export_cap: String,
    /// This view's query string, for "Save".
    pub saved_query: String,
    /// The live tail of this view's filters.
    pub tail_url: String,
    /// This view's filters on the query-language page.
    pub query_language_url: String,
}

pub(crate) fn totals(occurrences: i64, records: u64) -> String {
    format!(
        "{} {} in {} {}",
        format::count(occurrences),
        if occurrences == 1 {
            "occurrence"
        } else {
            "occurrences"
        },
        format::count(i64::try_from(records).unwrap_or(i64::MAX)),
        if records == 1 { "event" } else { "events" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> UiQuery {
        UiQuery::from_uri(&format!("/events?{text}").parse().expect("test uri"))
    }

    #[test]
    fn histograms_stay_within_the_bucket_budget() {
        let now = 1000 * DAY_MS + 12_345;
        for (from, _) in PRESETS {
            let event_query = EventQuery {
                from: Some(from.into()),
                ..EventQuery::default()
            };
            let filter = event_query.filter(now).expect("valid");
            let range = Range::of(&event_query, &filter, now);
            assert!(range.live);
            assert_eq!(range.to_ms, now);
            let bucket = crate::api::bucket_for(range.span_ms(), MAX_BUCKETS);
            let view = HistogramView::new(&[], range, bucket);
            let value: serde_json::Value = serde_json::from_str(&view.json).expect("json");
            let length = value["series"][0]["data"].as_array().expect("data").len();
            assert!(length as i64 <= MAX_BUCKETS + 1, "{from}: {length} buckets");
            assert!(view.buckets.is_empty());
        }
    }

    #[test]
    fn histogram_sums_occurrences_by_type() {
        let range = Range {
            from_ms: 0,
            to_ms: 10_000,
            live: false,
        };
        let row = |bucket, group: &str, occurrences| AggregateRow {
            bucket_ms: Some(bucket),
            group: Some(group.into()),
            records: 1,
            occurrences,
        };
        let rows = [
            row(0, "Warning", 3),
            row(0, "Normal", 1),
            row(5_000, "Warning", 2),
            row(50_000, "Warning", 7),
        ];
        let view = HistogramView::new(&rows, range, 5_000);
        let value: serde_json::Value = serde_json::from_str(&view.json).expect("json");
        assert_eq!(value["series"][0]["data"], json!([3, 2]));
        assert_eq!(value["series"][1]["data"], json!([1, 0]));
        assert!(!view.has_other);
        assert_eq!(view.buckets.len(), 2);
        assert!(view.summary.contains("5 Warning"), "{}", view.summary);
    }

    #[test]
    fn zoom_out_doubles_the_range() {
        let now = 1000 * DAY_MS;
        let live = Range {
            from_ms: now - 3_600_000,
            to_ms: now,
            live: true,
        };
        assert_eq!(
            zoom_out(&query("from=now-1h&reason=BackOff"), live, now).as_deref(),
            Some("/events?reason=BackOff&from=now-2h")
        );
        let fixed = Range {
            from_ms: now - 4 * 3_600_000,
            to_ms: now - 2 * 3_600_000,
            live: false,
        };
        let url = zoom_out(&query("from=a&to=b"), fixed, now).expect("zoomable");
        assert_eq!(
            url,
            format!(
                "/events?from={}&to={}",
                format::iso(now - 5 * 3_600_000),
                format::iso(now - 3_600_000)
            )
        );
    }

    #[test]
    fn presets_are_recognized() {
        assert_eq!(preset_of(&query("")), Some("Last 6 hours"));
        assert_eq!(
            preset_of(&query("from=now-15m&to=now")),
            Some("Last 15 minutes")
        );
        assert_eq!(preset_of(&query("from=now-15m&to=now-5m")), None);
        let form = FormView::new(
            &query("from=now-2h&type=Normal&cluster=x"),
            &["prod".into()],
        );
        assert!(form.custom_range);
        assert!(!form.warnings_only);
        assert_eq!(form.hidden, [("type", "Normal".to_string())]);
        assert_eq!(form.clusters.len(), 2);
        assert!(form.clusters[1].selected);
    }

    #[test]
    fn an_opened_row_links_to_lifecycle_node_and_context() {
        let value = json!({
            "metadata": {"name": "e", "namespace": "shop", "uid": "u1", "resourceVersion": "1"},
            "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web 1"},
            "reason": "BackOff", "message": "m", "type": "Warning", "count": 1,
            "source": {"component": "kubelet", "host": "node-a"},
            "lastTimestamp": "2026-11-25T10:00:00Z",
        });
        let record = match kec_model::convert::parse_value(value, "prod", 0) {
            Ok(kec_model::convert::ParsedLine::Observation(observation)) => observation.record,
            other => panic!("not an observation: {other:?}"),
        };
        let links = links(&record);
        assert_eq!(links[0].0, "Pod lifecycle");
        assert_eq!(
            links[0].1,
            "/lifecycle?c=prod&kind=Pod&name=web%201&ns=shop"
        );
        assert_eq!(links[1].1, "/nodes?c=prod&name=node-a");
        assert_eq!(
            links[2].1,
            "/events?cluster=prod&q=kind:Pod%20name:%22web%201%22%20namespace:shop&from=2026-11-25T09:50:00Z&to=2026-11-25T10:10:00Z"
        );
    }

    #[test]
    fn totals_read_naturally() {
        assert_eq!(totals(4812, 311), "4\u{202f}812 occurrences in 311 events");
        assert_eq!(totals(1, 1), "1 occurrence in 1 event");
    }
}
