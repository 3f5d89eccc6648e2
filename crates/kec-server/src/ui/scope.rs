//! The scope shared by the clusters, overview, lifecycle and node pages: a cluster (`c`, or all),
//! a time range (`from`, `to`) and each page's own parameters, read from and written back to a
//! short query string, plus the top bar's picker that edits it.

use axum::extract::Query;
use axum::http::Uri;

use crate::api::{self, DEFAULT_RANGE};
use crate::error::ApiError;
use crate::ui::format;
use crate::ui::query::UiQuery;
use crate::ui::view::{Choice, PRESETS};

/// A page's query string: non-empty parameters in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn from_uri(uri: &Uri) -> Params {
        let pairs = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map(|Query(pairs)| pairs)
            .unwrap_or_default();
        Params(
            pairs
                .into_iter()
                .map(|(key, value)| (key, value.trim().to_string()))
                .filter(|(_, value)| !value.is_empty())
                .collect(),
        )
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(known, _)| known == key)
            .map(|(_, value)| value.as_str())
    }
}

/// A resolved time range and cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub cluster: Option<String>,
    /// The `from` parameter as given (default `now-6h`).
    pub from: String,
    /// The `to` parameter, when not now.
    pub to: Option<String>,
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Scope {
    /// Reads `c`, `from` and `to`; a time that does not parse is a clear error.
    pub(crate) fn read(params: &Params, now_ms: i64) -> Result<Scope, ApiError> {
        let from = params.get("from").unwrap_or(DEFAULT_RANGE).to_string();
        let to = params
            .get("to")
            .filter(|to| *to != "now")
            .map(str::to_string);
        let from_ms = api::parse_time_param("from", &from, now_ms)?;
        let to_ms = match &to {
            Some(to) => api::parse_time_param("to", to, now_ms)?,
            None => now_ms,
        };
        if from_ms >= to_ms {
            return Err(ApiError::BadRequest(
                "the range is empty: from must be before to".into(),
            ));
        }
        Ok(Scope {
            cluster: params.get("c").map(str::to_string),
            from,
            to,
            from_ms,
            to_ms,
        })
    }

    pub(crate) fn span_ms(&self) -> i64 {
        self.to_ms - self.from_ms
    }

    /// The store filter of this scope: its cluster and range.
    pub(crate) fn filter(&self) -> kec_store::Filter {
        let mut filter = kec_store::Filter::default().between(self.from_ms, self.to_ms);
        if let Some(cluster) = &self.cluster {
            filter = filter.with(kec_store::Field::Cluster, cluster.clone());
        }
        filter
    }

    /// `c`, `from`, `to` as they should appear in a link, then `extra`.
    pub(crate) fn url(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if let Some(cluster) = &self.cluster {
            pairs.push(("c", cluster));
        }
        pairs.extend(extra.iter().filter(|(_, value)| !value.is_empty()));
        if self.from != DEFAULT_RANGE || self.to.is_some() {
            pairs.push(("from", &self.from));
        }
        if let Some(to) = &self.to {
            pairs.push(("to", to));
        }
        let mut out = String::from(path);
        for (index, (key, value)) in pairs.iter().enumerate() {
            out.push(if index == 0 { '?' } else { '&' });
            out.push_str(key);
            out.push('=');
            out.push_str(&encode(value));
        }
        out
    }

    /// The details page of this scope with `filters` (field, value) applied.
    pub(crate) fn details_url(&self, filters: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(cluster) = &self.cluster {
            pairs.push(("cluster".into(), cluster.clone()));
        }
        for (key, value) in filters {
            pairs.push(((*key).into(), (*value).into()));
        }
        pairs.push(("from".into(), self.from.clone()));
        if let Some(to) = &self.to {
            pairs.push(("to".into(), to.clone()));
        }
        UiQuery::from_pairs(pairs).page_url()
    }

    /// The previous period of the same length, ending where this one starts.
    pub(crate) fn previous(&self) -> (i64, i64) {
        (self.from_ms - self.span_ms(), self.from_ms)
    }

    /// `Last 6 hours`, or both ends.
    pub(crate) fn label(&self, now_ms: i64) -> String {
        if self.to.is_none() {
            if let Some((_, label)) = PRESETS.iter().find(|(from, _)| *from == self.from) {
                return (*label).to_string();
            }
            if let Some(back) = self.from.strip_prefix("now-") {
                return format!("Last {back}");
            }
        }
        format!(
            "{} → {}",
            format::short_absolute(self.from_ms, now_ms),
            format::short_absolute(self.to_ms, now_ms)
        )
    }
}

/// Percent-encodes a query value (the same rule as the details page's URLs).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b',' | b':' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The top bar's scope picker: a plain GET form back to the same page.
pub(crate) struct ScopeView {
    pub action: &'static str,
    /// The cluster in scope, or empty for all.
    pub cluster: String,
    pub clusters: Vec<Choice>,
    pub presets: Vec<Choice>,
    pub custom: bool,
    pub from: String,
    pub to: String,
    pub label: String,
    /// The page's own parameters, kept when the scope changes.
    pub hidden: Vec<(String, String)>,
}

impl ScopeView {
    pub(crate) fn new(
        action: &'static str,
        scope: &Scope,
        cluster_names: &[String],
        hidden: Vec<(String, String)>,
        now_ms: i64,
    ) -> ScopeView {
        let selected = scope.cluster.clone().unwrap_or_default();
        let mut clusters: Vec<Choice> = cluster_names
            .iter()
            .map(|name| Choice {
                value: name.clone(),
                label: name.clone(),
                selected: *name == selected,
            })
            .collect();
        if !selected.is_empty() && !cluster_names.contains(&selected) {
            clusters.push(Choice {
                value: selected.clone(),
                label: selected,
                selected: true,
            });
        }
        let presets: Vec<Choice> = PRESETS
            .iter()
            .map(|(from, label)| Choice {
                value: (*from).to_string(),
                label: (*label).to_string(),
                selected: scope.to.is_none() && scope.from == *from,
            })
            .collect();
        ScopeView {
            action,
            cluster: scope.cluster.clone().unwrap_or_default(),
            custom: !presets.iter().any(|preset| preset.selected),
            clusters,
            presets,
            from: scope.from.clone(),
            to: scope.to.clone().unwrap_or_default(),
            label: scope.label(now_ms),
            hidden: hidden
                .into_iter()
                .filter(|(_, value)| !value.is_empty())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(text: &str) -> Params {
        Params::from_uri(&format!("/x?{text}").parse().expect("uri"))
    }

    #[test]
    fn scope_reads_defaults_and_writes_short_links() {
        let now = 100 * kec_model::time::DAY_MS;
        let scope = Scope::read(&params("c=prod&from=&x=1"), now).expect("valid");
        assert_eq!(scope.cluster.as_deref(), Some("prod"));
        assert_eq!(scope.from_ms, now - 6 * 3_600_000);
        assert_eq!(scope.to_ms, now);
        assert_eq!(scope.url("/overview", &[]), "/overview?c=prod");
        assert_eq!(
            scope.details_url(&[("category", "OOM")]),
            "/events?cluster=prod&category=OOM&from=now-6h"
        );
        assert_eq!(
            scope.previous(),
            (now - 12 * 3_600_000, now - 6 * 3_600_000)
        );
        assert_eq!(scope.label(now), "Last 6 hours");
        let custom = Scope::read(&params("from=now-2h&to=now-1h"), now).expect("valid");
        assert_eq!(
            custom.url("/nodes", &[("name", "node a")]),
            "/nodes?name=node%20a&from=now-2h&to=now-1h"
        );
    }

    #[test]
    fn bad_times_are_errors() {
        let now = 100 * kec_model::time::DAY_MS;
        assert!(Scope::read(&params("from=yesterday"), now).is_err());
        assert!(Scope::read(&params("from=now-1h&to=now-2h"), now).is_err());
    }
}
