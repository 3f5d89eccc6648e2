//! End-to-end tests of the web UI in a real browser: headless Chromium driven through
//! chromedriver (WebDriver, via fantoccini) against the server started in-process with the
//! demo cluster's events. Screenshots of each page go to `target/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/test.sh installs them). Without
//! them the test says so and passes, except in CI (`CI=true`), where it fails.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use kec_model::convert::{ParsedLine, parse_value};
use kec_server::AppState;
use kec_store::{EmbeddedStore, StoreConfig};
use tower::ServiceExt;

const CHROMIUM: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
const CHROMEDRIVER: [&str; 2] = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

fn first_existing(candidates: &[&str]) -> Option<PathBuf> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

/// chromedriver in a process group of its own, with the browsers it starts; the whole group
/// is killed when dropped, so a failing test leaves no Chromium behind.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = rustix::process::Pid::from_child(&self.0);
        let _already_gone =
            rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _reaped = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// `POST /session/{id}/se/log`: chromedriver's browser console log since the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

/// Console messages of level SEVERE (errors) since the last call.
async fn console_errors(client: &Client) -> Vec<String> {
    let log = client.issue_cmd(BrowserLog).await.expect("browser log");
    log.as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|entry| entry["level"] == "SEVERE")
                .map(|entry| entry["message"].to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A store holding two hours of the demo cluster, and the server on a free port.
async fn start_server(dir: &Path) -> (AppState, SocketAddr) {
    let store = EmbeddedStore::open(StoreConfig::new(dir)).expect("store opens");
    let now = kec_model::time::now_ms();
    let mut cluster = kec_sim::DemoCluster::new(7, now - 2 * 3_600_000);
    let name = cluster.cluster_name().to_string();
    let records: Vec<_> = cluster
        .advance_to(now)
        .into_iter()
        .filter_map(|frame| match parse_value(frame, &name, now) {
            Ok(ParsedLine::Observation(observation)) => Some(observation.record),
            _ => None,
        })
        .collect();
    assert!(
        records.len() > 500,
        "the demo produced {} records",
        records.len()
    );
    store.ingest(records, now).expect("ingest");
    store.commit(now).expect("commit");
    let state = AppState::new(Arc::new(store));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = kec_server::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (state, address)
}

async fn start_browser(chromium: &Path, chromedriver: &Path) -> (Driver, Client) {
    let port = free_port();
    let child = Command::new(chromedriver)
        .process_group(0)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000"],
        }),
    );
    capabilities.insert(
        "goog:loggingPrefs".into(),
        serde_json::json!({"browser": "ALL"}),
    );
    let mut last_error = None;
    for _attempt in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return (driver, client),
            Err(error) => last_error = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("chromedriver did not accept a session: {last_error:?}");
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots directory");
    dir
}

async fn wait_until(client: &Client, what: &str, script: &str) -> serde_json::Value {
    for _attempt in 0..100 {
        let value = client
            .execute(script, Vec::new())
            .await
            .expect("script runs");
        if !(value.is_null() || value == false || value == 0) {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn visit(client: &Client, base: &str, path: &str, screenshot: &str) {
    client
        .goto(&format!("{base}{path}"))
        .await
        .expect("page loads");
    // Charts draw after the deferred scripts run.
    wait_until(
        client,
        "scripts",
        "return document.readyState === 'complete' && !!window.kec",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join(format!("{screenshot}.png")), png)
        .expect("write screenshot");
    let errors = console_errors(client).await;
    assert!(errors.is_empty(), "console errors on {path}: {errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_work_in_a_real_browser() {
    let (Some(chromium), Some(chromedriver)) =
        (first_existing(&CHROMIUM), first_existing(&CHROMEDRIVER))
    else {
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            panic!(
                "CI=true but chromium or chromedriver is missing: apt-get install chromium chromium-driver"
            );
        }
        eprintln!(
            "SKIPPED: browser tests need chromium and chromedriver (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, address) = start_server(dir.path()).await;
    let base = format!("http://{address}");
    let (_driver, client) = start_browser(&chromium, &chromedriver).await;

    // Every page loads without console errors.
    for (path, name) in [
        ("/clusters", "clusters"),
        ("/overview?from=now-3h", "overview"),
        ("/events?from=now-3h", "events"),
        ("/lifecycle?from=now-3h", "lifecycle"),
        ("/nodes?from=now-3h", "nodes"),
        ("/queries", "queries"),
        (
            "/query?q=type%3AWarning%20%7C%20timechart%20span%3D10m%20count%20by%20reason&from=now-3h",
            "query-timechart",
        ),
    ] {
        visit(&client, &base, path, name).await;
    }
    visit(&client, &base, "/overview?from=now-3h", "overview").await;
    wait_until(
        &client,
        "the overview histogram",
        "const el = document.querySelector('[data-histogram]');
         return !!(el && el.querySelector('canvas'));",
    )
    .await;

    // A query-language query typed in the box filters the table.
    visit(&client, &base, "/events?from=now-3h", "events").await;
    let search = client.find(Locator::Id("q")).await.expect("query box");
    search
        .send_keys("type:Warning restarting\u{E007}")
        .await
        .expect("typed");
    wait_until(
        &client,
        "the filtered table",
        "return location.search.includes('q=type:Warning')",
    )
    .await;
    wait_until(
        &client,
        "rows",
        "return document.querySelectorAll('#results tr.ev').length",
    )
    .await;
    let all_match = client
        .execute(
            "return Array.from(document.querySelectorAll('#results tr.ev')).every(row =>
               row.classList.contains('warning') &&
               row.querySelector('.msg').textContent.toLowerCase().includes('restarting'));",
            Vec::new(),
        )
        .await
        .expect("script");
    assert_eq!(
        all_match, true,
        "every row is a Warning that mentions the typed word"
    );
    assert!(console_errors(&client).await.is_empty());

    // A bad query points at its column.
    visit(&client, &base, "/events?from=now-3h", "events-bad-query").await;
    let search = client.find(Locator::Id("q")).await.expect("query box");
    search
        .send_keys("type:Warning namspace:shop\u{E007}")
        .await
        .expect("typed");
    let excerpt = wait_until(
        &client,
        "the query error",
        "const el = document.querySelector('#results .query-excerpt');
         return el ? document.querySelector('#results').textContent : null;",
    )
    .await;
    assert!(
        excerpt.as_str().unwrap_or_default().contains("column 14"),
        "{excerpt}"
    );
    // The 400 of the results is the only complaint the browser logs.
    let errors = console_errors(&client).await;
    assert!(
        errors
            .iter()
            .all(|error| error.contains("/events/results?q=") && error.contains("400")),
        "{errors:?}"
    );

    // A facet click filters (facets are a panel of their own, loaded after the table).
    visit(&client, &base, "/events?from=now-3h", "events-facets").await;
    wait_until(
        &client,
        "the facets panel",
        "return document.querySelector(\"[data-facet='reason'] li:nth-child(2) .facet-value\")",
    )
    .await;
    wait_until(
        &client,
        "the histogram panel",
        "const el = document.querySelector('#results [data-histogram]');
         return !!(el && el.querySelector('canvas'));",
    )
    .await;
    let facet = client
        .find(Locator::Css(
            "[data-facet='reason'] li:nth-child(2) .facet-value",
        ))
        .await
        .expect("a reason facet");
    let reason = facet.text().await.expect("facet text");
    facet.click().await.expect("click");
    wait_until(
        &client,
        "the facet's filter",
        "return location.search.includes('q=reason:')",
    )
    .await;
    wait_until(
        &client,
        "rows after the facet click",
        "return document.querySelectorAll('#results tr.ev').length",
    )
    .await;
    let reasons: Vec<String> = client
        .execute(
            "return Array.from(document.querySelectorAll('#results tr.ev .c-reason a')).map(a => a.textContent);",
            Vec::new(),
        )
        .await
        .ok()
        .and_then(|value| serde_json::from_value(value).ok())
        .unwrap_or_default();
    assert!(!reasons.is_empty(), "rows after the facet click");
    assert!(
        reasons.iter().all(|shown| *shown == reason),
        "{reason}: {reasons:?}"
    );
    let query_box = client
        .find(Locator::Id("q"))
        .await
        .expect("query box")
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert!(
        query_box.contains("reason:"),
        "the box shows the facet's term: {query_box}"
    );

    // An opened row reads its raw Event.
    client
        .find(Locator::Css("#results tr.ev button.expand"))
        .await
        .expect("a row")
        .click()
        .await
        .expect("click");
    wait_until(
        &client,
        "the raw Event of the opened row",
        "const pre = document.querySelector('#results tr.detail:not([hidden]) pre.raw');
         return pre && pre.textContent.includes('involvedObject');",
    )
    .await;
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join("events-row-open.png"), png).expect("write");
    assert!(console_errors(&client).await.is_empty());

    // The pod timeline renders: a canvas, and data in its chart.
    visit(&client, &base, "/lifecycle?from=now-3h", "lifecycle").await;
    client
        .find(Locator::Css(".object-list li a"))
        .await
        .expect("an object with trouble")
        .click()
        .await
        .expect("click");
    let items = wait_until(
        &client,
        "the timeline chart",
        "const el = document.querySelector('[data-timeline]');
         if (!el || !el.querySelector('canvas') || !window.echarts) return 0;
         const chart = echarts.getInstanceByDom(el);
         return chart ? chart.getOption().series[0].data.length : 0;",
    )
    .await;
    assert!(
        items.as_u64().unwrap_or_default() > 0,
        "bars drawn: {items}"
    );
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join("lifecycle-timeline.png"), png).expect("write");
    let errors = console_errors(&client).await;
    assert!(errors.is_empty(), "{errors:?}");

    // Live tail shows a newly ingested event without reload, with the query applied.
    visit(
        &client,
        &base,
        "/events?from=now-3h&q=-reason%3AKecTailSkipped",
        "events-live",
    )
    .await;
    client
        .find(Locator::Css(".tail-switch"))
        .await
        .expect("tail switch")
        .click()
        .await
        .expect("click");
    wait_until(
        &client,
        "the tail to connect",
        "return document.getElementById('tail-status').textContent === 'connected'",
    )
    .await;
    let probe = |uid: &str, reason: &str, count: i64| {
        serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": uid, "namespace": "shop", "uid": uid, "resourceVersion": count.to_string()},
            "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "tail-probe"},
            "reason": reason, "message": "seen by the live tail", "type": "Warning", "count": count,
            "lastTimestamp": jiff::Timestamp::now().to_string(),
        })
        .to_string()
    };
    let ingest = |body: String| {
        let state = state.clone();
        async move {
            let response = kec_server::app(state)
                .oneshot(
                    axum::http::Request::builder()
                        .method("POST")
                        .uri("/api/v1/clusters/demo/events")
                        .body(Body::from(body))
                        .expect("request"),
                )
                .await
                .expect("infallible");
            assert!(response.status().is_success());
        }
    };
    // The query excludes the first; the second shows.
    ingest(format!(
        "{}\n{}",
        probe("browser-probe-0", "KecTailSkipped", 1),
        probe("browser-probe-1", "KecTailProbe", 1)
    ))
    .await;
    wait_until(
        &client,
        "the new event in the table",
        "return document.querySelector('#results tr.ev.tail-new') &&
                document.querySelector('#results').textContent.includes('KecTailProbe')",
    )
    .await;
    let skipped = client
        .execute(
            "return Array.from(document.querySelectorAll('#results tr.ev .c-reason'))
               .some(cell => cell.textContent.includes('KecTailSkipped'))",
            Vec::new(),
        )
        .await
        .expect("script");
    assert_eq!(skipped, false, "the tail applies the query");
    // A repeat of the same Event updates its row's ×N instead of adding a row.
    ingest(probe("browser-probe-1", "KecTailProbe", 4)).await;
    let rows = wait_until(
        &client,
        "the repeat's ×4",
        "const rows = Array.from(document.querySelectorAll('#results tr.ev'))
           .filter(row => row.querySelector('.c-reason').textContent.includes('KecTailProbe'));
         return rows.some(row => row.querySelector('.c-occ').textContent.includes('×4')) ? rows.length : 0;",
    )
    .await;
    assert_eq!(rows, 1, "one row for the Event, its count updated");
    let status = client
        .execute(
            "return document.getElementById('tail-status').textContent",
            Vec::new(),
        )
        .await
        .expect("script");
    assert!(
        status.as_str().unwrap_or_default().contains("/min"),
        "a rate: {status}"
    );
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join("events-live-tail.png"), png).expect("write");
    // Clear removes what the tail added.
    client
        .find(Locator::Id("tail-clear"))
        .await
        .expect("clear button")
        .click()
        .await
        .expect("click");
    wait_until(
        &client,
        "the tail's rows cleared",
        "return !document.querySelector('#results tr.ev.tail-new, #results tr.ev.tail-repeat')",
    )
    .await;
    assert!(console_errors(&client).await.is_empty());
    client.close().await.expect("session closes");
}

// ------------------------------------------------------------------ story pages, keys, theme
//
// The lifecycle phase band, the nodes grid and heatmap, the `?` help and the theme switch
// (issue #4 items 5, 6 and 9), in a session of their own.

/// A pod of the demo that crash-looped: it has a phase band with a Back-off span.
fn crash_looping_pod(state: &AppState) -> (String, String) {
    let filter = kec_store::Filter::default()
        .with(kec_store::Field::Kind, "Pod")
        .with(kec_store::Field::Reason, "BackOff");
    let found = state
        .store
        .search(&kec_store::SearchRequest::newest(filter, 1))
        .expect("search");
    let record = found.records.into_iter().next().expect("a pod in back-off");
    (record.object.namespace, record.object.name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_pages_keys_and_theme_in_a_real_browser() {
    let (Some(chromium), Some(chromedriver)) =
        (first_existing(&CHROMIUM), first_existing(&CHROMEDRIVER))
    else {
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            panic!("CI=true but chromium or chromedriver is missing");
        }
        eprintln!("SKIPPED: browser tests need chromium and chromedriver");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, address) = start_server(dir.path()).await;
    let base = format!("http://{address}");
    let (_driver, client) = start_browser(&chromium, &chromedriver).await;

    // The pod lifecycle draws its phase band with data, under the lanes.
    let (namespace, name) = crash_looping_pod(&state);
    visit(
        &client,
        &base,
        &format!("/lifecycle?from=now-3h&kind=Pod&ns={namespace}&name={name}"),
        "lifecycle-phases",
    )
    .await;
    let phases = wait_until(
        &client,
        "the phase band",
        "const el = document.querySelector('[data-timeline]');
         const chart = el && window.echarts && echarts.getInstanceByDom(el);
         if (!chart) return 0;
         const band = chart.getOption().series.find(s => s.name === 'phase');
         return band ? band.data.length : 0;",
    )
    .await;
    assert!(
        phases.as_u64().unwrap_or_default() > 0,
        "phase spans: {phases}"
    );
    let lanes: Vec<String> = client
        .execute(
            "return echarts.getInstanceByDom(document.querySelector('[data-timeline]'))
               .getOption().yAxis[0].data;",
            Vec::new(),
        )
        .await
        .ok()
        .and_then(|value| serde_json::from_value(value).ok())
        .unwrap_or_default();
    assert_eq!(
        lanes.first().map(String::as_str),
        Some("Phase"),
        "{lanes:?}"
    );
    let table_rows = client
        .execute(
            "return document.querySelectorAll('table.story tr[data-item]').length",
            Vec::new(),
        )
        .await
        .expect("script");
    assert!(
        table_rows.as_u64().unwrap_or_default() > 0,
        "story table rows"
    );

    // A Deployment's workload view: one lane per pod.
    let filter = kec_store::Filter::default()
        .with(kec_store::Field::Kind, "Deployment")
        .with(kec_store::Field::Reason, "ScalingReplicaSet");
    let deployment = state
        .store
        .search(&kec_store::SearchRequest::newest(filter, 1))
        .expect("search")
        .records
        .into_iter()
        .next()
        .expect("a rolling update in the demo");
    visit(
        &client,
        &base,
        &format!(
            "/lifecycle?from=now-3h&kind=Deployment&ns={}&name={}",
            deployment.object.namespace, deployment.object.name
        ),
        "lifecycle-workload",
    )
    .await;
    let pods: Vec<String> = serde_json::from_value(
        wait_until(
            &client,
            "the workload view",
            "const el = document.querySelector('[data-workload]');
             const chart = el && window.echarts && echarts.getInstanceByDom(el);
             return chart ? chart.getOption().yAxis[0].data : null;",
        )
        .await,
    )
    .unwrap_or_default();
    let prefix = format!("{}-", deployment.object.name);
    assert!(
        !pods.is_empty() && pods.iter().all(|pod| pod.starts_with(&prefix)),
        "{pods:?}"
    );
    visit(
        &client,
        &base,
        &format!("/lifecycle?from=now-3h&kind=Pod&ns={namespace}&name={name}"),
        "lifecycle-phases",
    )
    .await;

    // `?` opens the help overlay, Esc closes it.
    client
        .find(Locator::Css("body"))
        .await
        .expect("body")
        .send_keys("?")
        .await
        .expect("typed");
    wait_until(
        &client,
        "the help overlay",
        "const d = document.getElementById('keys-help'); return !!(d && d.open);",
    )
    .await;
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join("keys-help.png"), png).expect("write");
    client
        .find(Locator::Css("#keys-help"))
        .await
        .expect("dialog")
        .send_keys("\u{E00C}")
        .await
        .expect("escape");
    wait_until(
        &client,
        "the help overlay to close",
        "return !document.getElementById('keys-help').open",
    )
    .await;

    // The theme switch sets the html attribute, keeps it across pages, and charts follow.
    client
        .find(Locator::Id("theme-toggle"))
        .await
        .expect("theme toggle")
        .click()
        .await
        .expect("click");
    let theme = client
        .execute(
            "return document.documentElement.dataset.theme || 'auto'",
            Vec::new(),
        )
        .await
        .expect("script");
    assert_eq!(theme, "light", "auto -> light");
    client
        .find(Locator::Id("theme-toggle"))
        .await
        .expect("theme toggle")
        .click()
        .await
        .expect("click");
    let (theme, background) = {
        let value = client
            .execute(
                "return [document.documentElement.dataset.theme,
                         getComputedStyle(document.body).backgroundColor]",
                Vec::new(),
            )
            .await
            .expect("script");
        (value[0].clone(), value[1].clone())
    };
    assert_eq!(theme, "dark", "light -> dark");
    assert_eq!(background, "rgb(15, 19, 24)", "the dark background");
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join("lifecycle-dark.png"), png).expect("write");
    assert!(console_errors(&client).await.is_empty());

    // The nodes page: the grid with its condition columns, the heatmap, a node's timeline,
    // still dark after the reload.
    visit(&client, &base, "/nodes?from=now-3h", "nodes-dark").await;
    let persisted = client
        .execute("return document.documentElement.dataset.theme", Vec::new())
        .await
        .expect("script");
    assert_eq!(persisted, "dark", "the theme is kept in localStorage");
    let columns: Vec<String> = client
        .execute(
            "return Array.from(document.querySelectorAll('#nodes-grid thead th')).map(th => th.textContent)",
            Vec::new(),
        )
        .await
        .ok()
        .and_then(|value| serde_json::from_value(value).ok())
        .unwrap_or_default();
    assert!(
        columns.iter().any(|column| column == "Ready")
            && columns.iter().any(|column| column == "MemoryPressure"),
        "{columns:?}"
    );
    wait_until(
        &client,
        "the heatmap",
        "const el = document.querySelector('[data-heatmap]');
         return !!(el && el.querySelector('canvas'));",
    )
    .await;
    // `j` focuses the first node row, `o` opens it.
    let body = client.find(Locator::Css("body")).await.expect("body");
    body.send_keys("j").await.expect("j");
    wait_until(
        &client,
        "a focused node row",
        "return !!(document.activeElement && document.activeElement.matches('#nodes-grid tr[data-key-row]'))",
    )
    .await;
    client
        .execute("document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'o', bubbles: true}))", Vec::new())
        .await
        .expect("o");
    wait_until(
        &client,
        "the node page",
        "return location.search.includes('name=')",
    )
    .await;
    wait_until(
        &client,
        "the node's condition timeline",
        "return !!document.querySelector('[data-conditions] canvas, [data-timeline] canvas')",
    )
    .await;
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join("node-dark.png"), png).expect("write");
    assert!(console_errors(&client).await.is_empty());

    // Copy link, frozen: absolute from and to.
    let frozen = client
        .execute("return window.kecKeys.linkFor('frozen')", Vec::new())
        .await
        .expect("script");
    let frozen = frozen.as_str().unwrap_or_default().to_string();
    assert!(
        frozen.contains("from=20") && frozen.contains("to=20"),
        "{frozen}"
    );
    let relative = client
        .execute("return window.kecKeys.linkFor('relative')", Vec::new())
        .await
        .expect("script");
    assert!(
        relative
            .as_str()
            .unwrap_or_default()
            .contains("from=now-3h"),
        "{relative}"
    );

    // `[` shifts the window back by half, `]` forward again (back to ending now), `-` doubles
    // it, and `g q` goes to the saved queries keeping the range.
    visit(&client, &base, "/nodes?from=now-2h", "nodes-keys").await;
    let press = |key: &'static str| {
        let client = client.clone();
        async move {
            client
                .find(Locator::Css("body"))
                .await
                .expect("body")
                .send_keys(key)
                .await
                .expect("key");
        }
    };
    press("[").await;
    let shifted = wait_until(
        &client,
        "the earlier window",
        "const p = new URLSearchParams(location.search);
         if (!p.get('to') || !window.kec) return 0;
         return [Date.parse(p.get('to')) - Date.parse(p.get('from')), Date.now() - Date.parse(p.get('to'))];",
    )
    .await;
    assert_eq!(shifted[0], 7_200_000, "the same 2 h window: {shifted}");
    let back = shifted[1].as_i64().unwrap_or_default();
    assert!(
        (3_500_000..3_800_000).contains(&back),
        "half of it earlier: {shifted}"
    );
    press("]").await;
    wait_until(
        &client,
        "the window ending now again",
        "return !!window.kec && location.search.includes('from=now-2h') && !location.search.includes('to=')",
    )
    .await;
    press("-").await;
    wait_until(
        &client,
        "the window zoomed out",
        "return !!window.kec && location.search.includes('from=now-4h')",
    )
    .await;
    press("g").await;
    press("q").await;
    wait_until(
        &client,
        "the saved queries page",
        "return location.pathname === '/queries' && location.search.includes('from=now-4h')",
    )
    .await;
    assert!(console_errors(&client).await.is_empty());
    client.close().await.expect("session closes");
}
