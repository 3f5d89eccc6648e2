//! Every request the fake API server receives, kept so tests can assert what clients sent.

use serde_json::Value;

use crate::faults::Verb;

/// One request as received, with the status it was answered with.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Arrival order, from 1.
    pub sequence: u64,
    pub method: String,
    pub path: String,
    /// The raw query string (without `?`).
    pub query: String,
    /// The decoded query parameters, in order.
    pub query_pairs: Vec<(String, String)>,
    /// All headers, names lowercase, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The Kubernetes verb, when the path named a resource.
    pub verb: Option<Verb>,
    /// The HTTP status of the answer (200 for a watch that streamed).
    pub status: u16,
}

impl RecordedRequest {
    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query_pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn is_watch(&self) -> bool {
        self.verb == Some(Verb::Watch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_find_params_headers_and_json() {
        let request = RecordedRequest {
            sequence: 1,
            method: "PATCH".into(),
            path: "/api/v1/namespaces/a/events/b".into(),
            query: "fieldManager=x".into(),
            query_pairs: vec![("fieldManager".into(), "x".into())],
            headers: vec![(
                "content-type".into(),
                "application/strategic-merge-patch+json".into(),
            )],
            body: br#"{"count":2}"#.to_vec(),
            verb: Some(Verb::Patch),
            status: 200,
        };
        assert_eq!(request.query_param("fieldManager"), Some("x"));
        assert_eq!(
            request.header("Content-Type"),
            Some("application/strategic-merge-patch+json")
        );
        assert_eq!(request.body_json().unwrap()["count"], 2);
        assert!(!request.is_watch());
    }
}
