//! `kec query '<query>'`: runs a query-language query on a kec server (`GET /api/v1/query`)
//! and prints the result as a table, JSON or CSV. docs/QUERY.md describes the language.

use anyhow::{Context, bail};
use kec_store::QueryResult;

/// How `kec query` prints the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns, times in RFC 3339, and a summary line on stderr.
    Table,
    /// The server's JSON answer, pretty-printed.
    Json,
    /// CSV with a header row.
    Csv,
}

/// Options of `kec query`.
#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// The query, e.g. 'type:Warning | stats sum(occurrences) as n by namespace | sort -n'.
    pub query: String,
    /// Base URL of the kec server.
    #[arg(long, env = "KEC_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Start of the time window: RFC 3339, epoch milliseconds or now-15m / now-6h / now-7d.
    #[arg(long, default_value = "now-6h")]
    pub from: String,
    /// End of the time window (exclusive), same forms; default now.
    #[arg(long)]
    pub to: Option<String>,
    /// Most rows returned (the server's default is 1000, its maximum 10000).
    #[arg(long)]
    pub limit: Option<usize>,
    /// How to print the result.
    #[arg(long, value_enum, default_value = "table")]
    pub output: OutputFormat,
}

/// Runs `kec query`.
pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let body = fetch(&args).await?;
    let printed = render(&body, args.output)?;
    print!("{}", printed.stdout);
    if let Some(summary) = printed.summary {
        eprintln!("{summary}");
    }
    Ok(())
}

/// Calls the API and returns the JSON answer, or the server's error as a readable message.
async fn fetch(args: &QueryArgs) -> anyhow::Result<serde_json::Value> {
    let url = format!("{}/api/v1/query", args.server.trim_end_matches('/'));
    let mut params = vec![("q", args.query.clone()), ("from", args.from.clone())];
    if let Some(to) = &args.to {
        params.push(("to", to.clone()));
    }
    if let Some(limit) = args.limit {
        params.push(("limit", limit.to_string()));
    }
    // reqwest is built without a default TLS provider (the workspace picks ring, as kube
    // does); installing it again is refused harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .context("cannot build the HTTP client")?;
    let response = client
        .get(&url)
        .query(&params)
        .send()
        .await
        .with_context(|| format!("cannot reach the kec server at {}", args.server))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .with_context(|| format!("the answer of {url} is not JSON (HTTP {status})"))?;
    if !status.is_success() {
        bail!("{}", error_message(&body, status.as_u16()));
    }
    Ok(body)
}

/// The server's error body as a message; a bad query shows its excerpt and caret.
fn error_message(body: &serde_json::Value, status: u16) -> String {
    let error = &body["error"];
    let message = error["message"]
        .as_str()
        .unwrap_or("the server refused the query");
    match (
        error["line"].as_u64(),
        error["column"].as_u64(),
        error["excerpt"].as_str(),
    ) {
        (Some(line), Some(column), Some(excerpt)) => {
            format!("{message} (line {line}, column {column})\n{excerpt}")
        }
        _ => format!("{message} (HTTP {status})"),
    }
}

/// What to print: the result on stdout, and for tables a summary for stderr.
struct Printed {
    stdout: String,
    summary: Option<String>,
}

fn render(body: &serde_json::Value, format: OutputFormat) -> anyhow::Result<Printed> {
    if format == OutputFormat::Json {
        return Ok(Printed {
            stdout: serde_json::to_string_pretty(body)? + "\n",
            summary: None,
        });
    }
    let result: QueryResult = serde_json::from_value(body.clone())
        .context("the server's answer is not a query result")?;
    match format {
        OutputFormat::Csv => {
            let (columns, rows) = result.table();
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(columns.iter().map(|column| column.name.as_str()))?;
            for row in &rows {
                writer.write_record(
                    row.iter()
                        .zip(&columns)
                        .map(|(value, column)| value.display(column.kind)),
                )?;
            }
            let bytes = writer.into_inner().context("cannot finish the CSV")?;
            Ok(Printed {
                stdout: String::from_utf8(bytes).context("the CSV is not UTF-8")?,
                summary: None,
            })
        }
        _ => {
            let (_, rows) = result.table();
            let mut summary = format!("{} rows", rows.len());
            if let Some(matched) = result.matched {
                summary.push_str(&format!(", {matched} events matched"));
            }
            if result.scan_limited {
                summary.push_str(&format!(
                    "; only the newest {} were read (narrow the search or the time range)",
                    result.scanned
                ));
            }
            if result.rows_limited {
                summary.push_str("; more rows were cut (use --limit)");
            }
            Ok(Printed {
                stdout: result.to_text(),
                summary: Some(summary),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer() -> serde_json::Value {
        json!({
            "query": "* | stats count by namespace",
            "ast": {},
            "matched": 3, "scanned": 3, "scan_limited": false, "rows_limited": true,
            "output": {
                "type": "rows",
                "columns": [{"name": "namespace", "kind": "string"}, {"name": "last", "kind": "time"}, {"name": "count", "kind": "integer"}],
                "rows": [["shop, east", 0, 2], ["pay", 60000, 1]],
            },
        })
    }

    #[test]
    fn table_aligns_columns_and_formats_times() {
        let printed = render(&answer(), OutputFormat::Table).unwrap();
        assert_eq!(
            printed.stdout,
            "namespace   last                  count\n\
             ----------  --------------------  -----\n\
             shop, east  1970-01-01T00:00:00Z      2\n\
             pay         1970-01-01T00:01:00Z      1\n"
        );
        assert_eq!(
            printed.summary.as_deref(),
            Some("2 rows, 3 events matched; more rows were cut (use --limit)")
        );
    }

    #[test]
    fn csv_quotes_and_series_become_columns() {
        let printed = render(&answer(), OutputFormat::Csv).unwrap();
        assert_eq!(
            printed.stdout,
            "namespace,last,count\n\"shop, east\",1970-01-01T00:00:00Z,2\npay,1970-01-01T00:01:00Z,1\n"
        );
        let series = json!({
            "query": "* | timechart span=1m count by type", "scanned": 3, "scan_limited": false, "rows_limited": false,
            "output": {"type": "series", "span_ms": 60000, "buckets": [0, 60000],
                "value": {"name": "count", "kind": "integer"}, "by": {"name": "type", "kind": "string"},
                "series": [{"name": "Warning", "values": [2, 0]}, {"name": "Normal", "values": [0, 1]}], "other_series": 0},
        });
        let printed = render(&series, OutputFormat::Csv).unwrap();
        assert_eq!(
            printed.stdout,
            "time,Warning,Normal\n1970-01-01T00:00:00Z,2,0\n1970-01-01T00:01:00Z,0,1\n"
        );
    }

    #[test]
    fn a_bad_query_shows_the_caret() {
        let body = json!({"error": {"code": "bad_query", "message": "unknown field `nope`", "retryable": false,
            "line": 1, "column": 14, "excerpt": "type:Warning nope:x\n             ^"}});
        assert_eq!(
            error_message(&body, 400),
            "unknown field `nope` (line 1, column 14)\ntype:Warning nope:x\n             ^"
        );
        let other = json!({"error": {"code": "store_unavailable", "message": "event index: boom"}});
        assert_eq!(error_message(&other, 503), "event index: boom (HTTP 503)");
        assert!(render(&json!({"unexpected": true}), OutputFormat::Table).is_err());
    }
}
