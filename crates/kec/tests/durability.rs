//! The promise of the ingest API: a 200 means the batch survives kill -9.
//! Starts the real `kec server` binary, ingests, kills it with SIGKILL (no shutdown, no
//! commit), restarts it on the same data directory and checks every acknowledged event.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _already_dead = self.child.kill();
        let _reaped = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kec"))
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("KEC_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("kec binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("kec prints its address");
    let base = line
        .trim()
        .strip_prefix("kec server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Server { child, base }
}

fn event_line(index: usize, count: i64) -> String {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("web-{index}.187a"), "namespace": "shop", "uid": format!("uid-{index}"),
                     "resourceVersion": format!("{}", index * 10 + count as usize)},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": format!("web-{index}")},
        "reason": "BackOff", "message": "Back-off restarting failed container app",
        "type": "Warning", "count": count, "source": {"component": "kubelet", "host": "node-1"},
        "lastTimestamp": jiff::Timestamp::now().to_string(),
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let server = start(dir.path());
    let url = format!("{}/api/v1/clusters/prod/events", server.base);
    // 20 batches of 50 Events, then a second observation of each with a higher count.
    let mut acknowledged_occurrences = 0;
    for round in [1i64, 3] {
        for batch in 0..20 {
            let body: String = (0..50)
                .map(|i| event_line(batch * 50 + i, round) + "\n")
                .collect();
            let response = client.post(&url).body(body).send().await.unwrap();
            assert_eq!(response.status(), 200);
            let answer: serde_json::Value = response.json().await.unwrap();
            assert_eq!(answer["accepted"], 50);
            acknowledged_occurrences += answer["occurrences"].as_i64().unwrap();
        }
    }
    assert_eq!(acknowledged_occurrences, 1000 * 3);
    // SIGKILL right after the last acknowledgement: most of it is only in the write-ahead log.
    drop(server);

    let server = start(dir.path());
    let mut records = 0;
    let mut occurrences = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut request = client
            .get(format!("{}/api/v1/events", server.base))
            .query(&[("cluster", "prod"), ("limit", "1000"), ("from", "now-1h")]);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        let page: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
        let rows = page["records"].as_array().unwrap();
        records += rows.len();
        occurrences += rows
            .iter()
            .map(|r| r["occurrences"].as_i64().unwrap())
            .sum::<i64>();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(records, 2000, "every acknowledged observation is back");
    assert_eq!(occurrences, 3000);
    // The ledger survived too: re-sending the last round adds nothing.
    let body: String = (0..50).map(|i| event_line(i, 3) + "\n").collect();
    let url = format!("{}/api/v1/clusters/prod/events", server.base);
    let answer: serde_json::Value = client
        .post(&url)
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["accepted"], 0);
    assert_eq!(answer["duplicates"], 50);
}
