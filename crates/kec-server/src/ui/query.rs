//! The page state as a query string: parsing what the browser sent into the API's
//! [`EventQuery`], and writing short, canonical URLs back (for links, the address bar and the
//! partial the page polls).
//!
//! The URL of a view is its whole state, so parsing is forgiving: empty parameters (what a plain
//! HTML form sends for blank inputs) mean "not set", unknown parameters are dropped, and a filter
//! parameter given twice (`type=Normal&type=Warning`, two checkboxes) means either value, as a
//! comma list does.

use axum::extract::Query;
use axum::http::Uri;

use crate::api::EventQuery;

/// Every parameter of [`EventQuery`], in the order canonical URLs list them.
pub(crate) const PARAMS: [&str; 14] = [
    "cluster",
    "type",
    "q",
    "namespace",
    "kind",
    "name",
    "reason",
    "category",
    "node",
    "source",
    "from",
    "to",
    "limit",
    "cursor",
];

/// Parameters that filter a field (the store's filter fields): repeated values are alternatives.
fn is_list_param(key: &str) -> bool {
    kec_store::Field::parse(key).is_some()
}

/// The state of an events view: known, non-empty parameters in canonical order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UiQuery {
    params: Vec<(&'static str, String)>,
}

impl UiQuery {
    /// The state encoded in a request's query string.
    pub(crate) fn from_uri(uri: &Uri) -> UiQuery {
        // Deserializing into pairs cannot fail: form decoding is lossy, never strict.
        let pairs = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map(|Query(pairs)| pairs)
            .unwrap_or_default();
        UiQuery::from_pairs(pairs)
    }

    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> UiQuery {
        let mut query = UiQuery::default();
        for (key, value) in pairs {
            let value = value.trim();
            let Some(key) = PARAMS.iter().copied().find(|known| *known == key) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            match query.params.iter_mut().find(|(known, _)| *known == key) {
                Some((_, existing)) if is_list_param(key) => {
                    if !existing.split(',').any(|part| part.trim() == value) {
                        existing.push(',');
                        existing.push_str(value);
                    }
                }
                Some((_, existing)) => *existing = value.to_string(),
                None => query.params.push((key, value.to_string())),
            }
        }
        query.sort();
        query
    }

    fn sort(&mut self) {
        self.params
            .sort_by_key(|(key, _)| PARAMS.iter().position(|known| known == key));
    }

    /// The API's reading of this state (the same parser serves `/api/v1/events`).
    pub(crate) fn event_query(&self) -> Result<EventQuery, String> {
        let uri: Uri = format!("/?{}", self.encode())
            .parse()
            .map_err(|error| format!("the query string is not valid: {error}"))?;
        Query::<EventQuery>::try_from_uri(&uri)
            .map(|Query(query)| query)
            .map_err(|rejection| rejection.body_text())
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(known, _)| *known == key)
            .map(|(_, value)| value.as_str())
    }

    /// This state with `key` set to `value` (or removed when `value` is empty). Any change of
    /// the view starts from its first page, so the cursor goes.
    pub(crate) fn with(&self, key: &str, value: &str) -> UiQuery {
        let mut changed = self.without(key);
        if let Some(key) = PARAMS.iter().copied().find(|known| *known == key)
            && !value.trim().is_empty()
        {
            changed.params.push((key, value.trim().to_string()));
            changed.sort();
        }
        changed
    }

    /// This state without `key`, and from its first page.
    pub(crate) fn without(&self, key: &str) -> UiQuery {
        UiQuery {
            params: self
                .params
                .iter()
                .filter(|(known, _)| *known != key && *known != "cursor")
                .cloned()
                .collect(),
        }
    }

    /// The same state on the page after `cursor`.
    pub(crate) fn at_cursor(&self, cursor: &str) -> UiQuery {
        let mut next = self.without("cursor");
        next.params.push(("cursor", cursor.to_string()));
        next
    }

    /// Filters set (field parameters and the free text), for chips with remove links.
    pub(crate) fn filters(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.params
            .iter()
            .filter(|(key, _)| is_list_param(key) || *key == "q")
            .map(|(key, value)| (*key, value.as_str()))
    }

    /// This state without any filter (time range and page size kept).
    pub(crate) fn without_filters(&self) -> UiQuery {
        UiQuery {
            params: self
                .params
                .iter()
                .filter(|(key, _)| !is_list_param(key) && *key != "q" && *key != "cursor")
                .cloned()
                .collect(),
        }
    }

    /// `a=1&b=2`, percent-encoded.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        for (key, value) in &self.params {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(key);
            out.push('=');
            encode_component(value, &mut out);
        }
        out
    }

    fn url(&self, path: &str) -> String {
        let encoded = self.encode();
        if encoded.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{encoded}")
        }
    }

    /// `path?<this state>&format=<format>` (exports).
    pub(crate) fn with_format_url(&self, path: &str, format: &str) -> String {
        let encoded = self.encode();
        if encoded.is_empty() {
            format!("{path}?format={format}")
        } else {
            format!("{path}?{encoded}&format={format}")
        }
    }

    /// `path?<this state>`.
    pub(crate) fn url_for(&self, path: &str) -> String {
        self.url(path)
    }

    /// The filters of this state written in the query language (`reason:"BackOff" NOT
    /// namespace:"kube-system" words`), for the query page.
    pub(crate) fn query_language(&self) -> String {
        let mut clauses = Vec::new();
        for (key, value) in self.filters() {
            if key == "q" {
                continue;
            }
            let quoted = |text: &str| format!("{key}:\"{}\"", text.replace('"', "\\\""));
            let (excluded, included): (Vec<&str>, Vec<&str>) = value
                .split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .partition(|part| part.starts_with('!'));
            match included.as_slice() {
                [] => {}
                [one] => clauses.push(quoted(one)),
                many => clauses.push(format!(
                    "({})",
                    many.iter()
                        .map(|part| quoted(part))
                        .collect::<Vec<_>>()
                        .join(" OR ")
                )),
            }
            for part in excluded {
                clauses.push(format!("NOT {}", quoted(part.trim_start_matches('!'))));
            }
        }
        if let Some(text) = self.get("q") {
            clauses.push(text.to_string());
        }
        clauses.join(" ")
    }

    /// The full page of this state: what the address bar shows and links share.
    pub(crate) fn page_url(&self) -> String {
        self.url("/events")
    }

    /// The results partial of this state (what the page polls and pages through).
    pub(crate) fn results_url(&self) -> String {
        self.url("/events/results")
    }
}

/// Percent-encodes a query component, keeping the characters that read well in a URL and mean
/// nothing special in a query (`,` separates alternatives, `:` is in times).
fn encode_component(value: &str, out: &mut String) {
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b',' | b':' => {
                out.push(byte as char)
            }
            other => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(other >> 4)] as char);
                out.push(HEX[usize::from(other & 0x0f)] as char);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> UiQuery {
        UiQuery::from_uri(&format!("/events?{text}").parse().expect("test uri"))
    }

    #[test]
    fn blank_and_unknown_parameters_are_dropped() {
        let parsed = query("q=&namespace=shop&kind=&bogus=1&from=now-1h&to=");
        assert_eq!(parsed.encode(), "namespace=shop&from=now-1h");
    }

    #[test]
    fn repeated_filters_are_alternatives_and_scalars_keep_the_last() {
        let parsed = query("type=Normal&type=Warning&type=Warning&from=now-1h&from=now-2h");
        assert_eq!(parsed.get("type"), Some("Normal,Warning"));
        assert_eq!(parsed.get("from"), Some("now-2h"));
        let event_query = parsed.event_query().expect("valid");
        assert_eq!(event_query.event_type.as_deref(), Some("Normal,Warning"));
    }

    #[test]
    fn canonical_urls_are_ordered_encoded_and_reparse() {
        let parsed = query("q=connection+refused%21&from=now-6h&cluster=prod&limit=50");
        assert_eq!(
            parsed.page_url(),
            "/events?cluster=prod&q=connection%20refused%21&from=now-6h&limit=50"
        );
        assert_eq!(query(&parsed.encode()), parsed);
        let event_query = parsed.event_query().expect("valid");
        assert_eq!(event_query.q.as_deref(), Some("connection refused!"));
        assert_eq!(event_query.limit, Some(50));
    }

    #[test]
    fn changing_the_view_drops_the_cursor() {
        let parsed = query("reason=BackOff&cursor=12.3");
        assert_eq!(
            parsed.with("namespace", "shop").encode(),
            "namespace=shop&reason=BackOff"
        );
        assert_eq!(parsed.with("reason", "").encode(), "");
        assert_eq!(
            parsed.at_cursor("9.1").encode(),
            "reason=BackOff&cursor=9.1"
        );
        assert_eq!(parsed.without_filters().page_url(), "/events");
    }

    #[test]
    fn filters_read_as_the_query_language() {
        let parsed = query("type=Warning&reason=BackOff,Failed&namespace=!kube-system&q=oom");
        let text = parsed.query_language();
        assert_eq!(
            text,
            r#"type:"Warning" NOT namespace:"kube-system" (reason:"BackOff" OR reason:"Failed") oom"#
        );
        kec_query::parse(&text).expect("the query language reads it");
    }

    #[test]
    fn a_bad_number_is_reported() {
        let error = query("limit=many")
            .event_query()
            .expect_err("limit is a number");
        assert!(error.contains("limit"), "{error}");
    }

    /// Guards the parameter list against drift from the API's `EventQuery`.
    #[test]
    fn every_event_query_parameter_is_known() {
        let value = serde_json::to_value(EventQuery::default()).expect("serializable");
        let mut fields: Vec<&str> = value
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        let mut known = PARAMS.to_vec();
        known.sort_unstable();
        assert_eq!(fields, known);
    }
}
