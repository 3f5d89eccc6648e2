//! `GET /events/export?format=csv|ndjson&<the details page's query>`: the result of a details
//! view as a file, newest first, streamed a page at a time, up to [`EXPORT_CAP`] records. The
//! query box is the query language, searched as the table searches it.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use kec_model::EventRecord;
use kec_model::time::now_ms;
use kec_store::{EventPageRequest, Field};

use crate::AppState;
use crate::error::ApiError;
use crate::ui::details::DetailsSearch;
use crate::ui::format;
use crate::ui::query::UiQuery;
use crate::ui::scope::Params;

/// Most records an export holds; the last line says when it was reached.
pub(crate) const EXPORT_CAP: usize = 100_000;
/// Records read per store call.
const CHUNK: usize = 1_000;

/// The columns of a CSV export.
const CSV_HEADER: [&str; 14] = [
    "last_seen",
    "first_seen",
    "cluster",
    "type",
    "reason",
    "category",
    "kind",
    "namespace",
    "name",
    "node",
    "source",
    "count",
    "occurrences",
    "message",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Ndjson,
}

fn csv_chunk(records: &[EventRecord], with_header: bool) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if with_header {
        writer.write_record(CSV_HEADER)?;
    }
    for record in records {
        let (last, first) = (format::iso(record.time_ms), format::iso(record.first_ms));
        let (count, occurrences) = (record.count.to_string(), record.occurrences.to_string());
        writer.write_record([
            last.as_str(),
            first.as_str(),
            &record.cluster,
            &record.event_type,
            &record.reason,
            record.category.as_str(),
            &record.object.kind,
            Field::Namespace.value_of(record),
            &record.object.name,
            &record.node,
            Field::Source.value_of(record),
            &count,
            &occurrences,
            &record.message,
        ])?;
    }
    writer
        .into_inner()
        .map_err(|error| error.into_error().into())
}

fn ndjson_chunk(records: &[EventRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        let line = serde_json::json!({
            "cluster": record.cluster,
            "seq": record.seq,
            "occurrences": record.occurrences,
            "category": record.category.as_str(),
            "event": record.raw.to_value(),
        });
        // Writing a Value to a Vec cannot fail.
        let _written = serde_json::to_writer(&mut out, &line);
        out.push(b'\n');
    }
    out
}

/// `GET /events/export`
pub(crate) async fn export(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let format = match Params::from_uri(&uri).get("format") {
        Some("csv") | None => Format::Csv,
        Some("ndjson" | "json") => Format::Ndjson,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format={other:?} is not one export writes: use csv or ndjson"
            )));
        }
    };
    let query = UiQuery::from_uri(&uri).without("cursor").without("limit");
    let details = DetailsSearch::of(&query, now_ms())?;
    let (chunk_tx, chunk_rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut request = EventPageRequest {
            search: details.search,
            limit: CHUNK,
            cursor: None,
            with_totals: false,
        };
        let mut written = 0usize;
        loop {
            request.limit = CHUNK.min(EXPORT_CAP - written);
            let page = match store.search_events(&request) {
                Ok(page) => page,
                Err(error) => {
                    let _closed = chunk_tx.blocking_send(Err(std::io::Error::other(error)));
                    return;
                }
            };
            let bytes = match format {
                Format::Csv => match csv_chunk(&page.records, written == 0) {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        let _closed = chunk_tx.blocking_send(Err(std::io::Error::other(error)));
                        return;
                    }
                },
                Format::Ndjson => ndjson_chunk(&page.records),
            };
            written += page.records.len();
            if chunk_tx.blocking_send(Ok(Bytes::from(bytes))).is_err() {
                return; // the client went away
            }
            match page.next_cursor {
                Some(cursor) if written < EXPORT_CAP => request.cursor = Some(cursor),
                Some(_) => {
                    let note = match format {
                        Format::Csv => format!(
                            "# export stopped at its cap of {EXPORT_CAP} records; narrow the query for the rest\n"
                        ),
                        Format::Ndjson => format!("{{\"truncated\":true,\"cap\":{EXPORT_CAP}}}\n"),
                    };
                    let _closed = chunk_tx.blocking_send(Ok(Bytes::from(note)));
                    return;
                }
                None => return,
            }
        }
    });
    let stream = futures_util::stream::unfold(chunk_rx, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let (content_type, file) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "kec-events.csv"),
        Format::Ndjson => ("application/x-ndjson", "kec-events.ndjson"),
    };
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
