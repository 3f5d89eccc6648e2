//! `POST /api/v1/clusters/{cluster}/events`: the one way events enter the center.
//!
//! The body is NDJSON, optionally gzip-compressed (`Content-Encoding: gzip`). Each line is a
//! core/v1 Event, an events.k8s.io/v1 Event, a watch frame `{"type":..,"object":..}` or an
//! `EventList`. Malformed lines are rejected one by one with their line number; the rest of the
//! batch is kept. The answer comes only once the accepted lines are durable.

use std::io::Read;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use kec_model::convert::{ParsedLine, parse_document};
use kec_model::time::now_ms;
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;

/// A line that was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedLine {
    /// 1-based line number in the (decompressed) body.
    pub line: usize,
    pub reason: String,
}

/// The answer to an ingest request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestResponse {
    /// Observations stored: each added at least one occurrence.
    pub accepted: u64,
    /// Observations that added no occurrence (already seen: replay, relist, retry).
    pub duplicates: u64,
    /// Watch frames that carry no occurrence (DELETED, BOOKMARK).
    pub ignored: u64,
    /// Occurrences the accepted observations added.
    pub occurrences: i64,
    pub rejected: Vec<RejectedLine>,
}

pub use kec_model::names::is_dns1123_label;

/// The body as received (no copy), or decompressed.
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = move || {
        ApiError::PayloadTooLarge(format!(
            "the body is larger than {limit} bytes: send smaller batches"
        ))
    };
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    let encoding = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .map(|value| value.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(bytes),
        Some("gzip") | Some("x-gzip") => tokio::task::spawn_blocking(move || {
            let mut decoded = Vec::new();
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .take(limit as u64 + 1)
                .read_to_end(&mut decoded)
                .map_err(|error| {
                    ApiError::BadRequest(format!("the gzip body is corrupt: {error}"))
                })?;
            if decoded.len() > limit {
                return Err(too_large());
            }
            Ok(Bytes::from(decoded))
        })
        .await
        .map_err(|error| ApiError::Internal(format!("decompression task failed: {error}")))?,
        Some(other) => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Encoding {other:?} is not supported: send identity or gzip"
        ))),
    }
}

/// Splits the body into observations, ignored frames and rejected lines.
fn parse_body(
    body: &[u8],
    cluster: &str,
    now_ms: i64,
) -> (Vec<kec_model::EventRecord>, Vec<usize>, IngestResponse) {
    let mut observations = Vec::new();
    let mut line_of_observation = Vec::new();
    let mut response = IngestResponse::default();
    for (index, line) in body.split(|byte| *byte == b'\n').enumerate() {
        let line_number = index + 1;
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        for result in parse_document(trimmed, cluster, now_ms) {
            match result {
                Ok(ParsedLine::Observation(observation)) => {
                    observations.push(observation.record);
                    line_of_observation.push(line_number);
                }
                Ok(ParsedLine::Ignored(_)) => response.ignored += 1,
                Err(error) => response.rejected.push(RejectedLine {
                    line: line_number,
                    reason: error.to_string(),
                }),
            }
        }
    }
    (observations, line_of_observation, response)
}

/// `POST /api/v1/clusters/{cluster}/events`
pub async fn ingest_events(
    State(state): State<AppState>,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IngestResponse>, ApiError> {
    let started = std::time::Instant::now();
    let result = ingest(&state, cluster, headers, body).await;
    match &result {
        Ok(_) => state.metrics.ingest_request(200, Some(started.elapsed())),
        Err(error) => state.metrics.ingest_request(error.code().1.as_u16(), None),
    }
    result.map(Json)
}

async fn ingest(
    state: &AppState,
    cluster: String,
    headers: HeaderMap,
    body: Body,
) -> Result<IngestResponse, ApiError> {
    if !is_dns1123_label(&cluster) {
        return Err(ApiError::BadRequest(format!(
            "cluster name {cluster:?} is not a DNS-1123 label: use at most 63 lowercase letters, \
             digits and '-', starting and ending with a letter or digit"
        )));
    }
    let body = read_body(body, &headers, state.max_body_bytes).await?;
    let now = now_ms();
    let (observations, line_of_observation, mut response) = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || parse_body(&body, &cluster, now))
            .await
            .map_err(|error| ApiError::Internal(format!("parse task failed: {error}")))?
    };
    // Live tails get what the store kept; the copy is made only while someone listens.
    let for_tail = state.tail.has_subscribers().then(|| observations.clone());
    let outcome = state
        .with_store(move |store| store.ingest(observations, now))
        .await?;
    if let Some(records) = for_tail {
        let rejected: std::collections::HashSet<usize> = outcome
            .rejected
            .iter()
            .map(|(position, _)| *position)
            .collect();
        state.tail.publish(
            records
                .into_iter()
                .enumerate()
                .filter(|(position, _)| !rejected.contains(position))
                .map(|(_, record)| record),
        );
    }
    response.accepted = outcome.accepted;
    response.duplicates = outcome.duplicates;
    response.occurrences = outcome.occurrences;
    for (position, reason) in outcome.rejected {
        let line = line_of_observation
            .get(position)
            .copied()
            .unwrap_or_default();
        response.rejected.push(RejectedLine { line, reason });
    }
    response.rejected.sort_by_key(|rejected| rejected.line);
    let metrics = &state.metrics;
    metrics.ingest_lines("accepted", response.accepted);
    metrics.ingest_lines("duplicate", response.duplicates);
    metrics.ingest_lines("ignored", response.ignored);
    metrics.ingest_lines("rejected", response.rejected.len() as u64);
    metrics.ingest_occurrences(response.occurrences);
    tracing::debug!(
        cluster,
        accepted = response.accepted,
        duplicates = response.duplicates,
        rejected = response.rejected.len(),
        "ingested a batch"
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_lines_are_judged_one_by_one() {
        let event = r#"{"metadata":{"name":"e","namespace":"d","uid":"u"},"involvedObject":{"kind":"Pod","name":"p"},"reason":"Started","type":"Normal","count":1}"#;
        let body = format!(
            "{event}\n\nnot json\n{{\"type\":\"DELETED\",\"object\":{event}}}\n{{\"kind\":\"EventList\",\"items\":[{event},{{}}]}}\n"
        );
        let (observations, lines, response) = parse_body(body.as_bytes(), "c", 0);
        assert_eq!(observations.len(), 2);
        assert_eq!(lines, [1, 5]);
        assert_eq!(response.ignored, 1);
        let rejected: Vec<usize> = response.rejected.iter().map(|r| r.line).collect();
        assert_eq!(rejected, [3, 5]);
        assert!(response.rejected[0].reason.contains("invalid JSON"));
    }
}
