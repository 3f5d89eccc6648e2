//! The HTTP face: [`app`] routes every request through one handler that records it, applies
//! injected faults, and dispatches on the parsed path and verb.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::cluster::{ListRequest, SnapshotError, WriteOutcome};
use crate::continue_token::ContinueToken;
use crate::error::{ApiStatus, FieldError};
use crate::faults::{Fault, RequestFacts, Verb};
use crate::handle::FakeApiHandle;
use crate::operations::{self, served_bytes, to_served_with_type};
use crate::patch::{PatchType, unsupported_patch_type};
use crate::recording::RecordedRequest;
use crate::resources::{
    API_RESOURCES, DiscoveryPath, ParsedPath, Representation, ResourcePath, group_versions,
    parse_path,
};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::ConnectionAddress;
use crate::state::SharedState;
use crate::watch::{WatchRequest, empty_watch_response, start_watch};

/// The fake API server's router, for `axum::serve` or for driving with `tower::ServiceExt::oneshot`.
pub fn app(handle: FakeApiHandle) -> Router {
    Router::new().fallback(serve_request).with_state(handle)
}

/// Decoded query parameters, in order.
struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(key), percent_decode(value))
            })
            .collect();
        Query { pairs }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.is_empty())
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("1" | "true" | "True"))
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut position = 0;
    while position < bytes.len() {
        match bytes[position] {
            b'+' => out.push(b' '),
            b'%' if position + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[position + 1..position + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        position += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        position += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn serve_request(State(handle): State<FakeApiHandle>, request: Request) -> Response {
    let shared = Arc::clone(&handle.shared);
    let sequence = shared.request_sequence.fetch_add(1, Ordering::SeqCst) + 1;
    let connection = request
        .extensions()
        .get::<ConnectInfo<ConnectionAddress>>()
        .map(|ConnectInfo(connection)| connection.clone());
    let (parts, body) = request.into_parts();
    let query = Query::parse(parts.uri.query());
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect::<Vec<_>>();
    let body_result = to_bytes(body, shared.config.max_request_body_bytes).await;
    let body_bytes = body_result
        .as_ref()
        .map(|bytes| bytes.to_vec())
        .unwrap_or_default();
    let parsed = parse_path(parts.uri.path());
    let verb = match &parsed {
        ParsedPath::Resource(path) => classify_verb(&parts.method, path, &query),
        _ => None,
    };

    let response = if body_result.is_err() {
        ApiStatus::new(
            413,
            "RequestEntityTooLarge",
            "the request body is too large",
        )
        .into_response()
    } else {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        match (&parsed, verb) {
            (ParsedPath::Resource(path), Some(verb)) => {
                let context = RequestContext {
                    shared: &shared,
                    path,
                    verb,
                    query: &query,
                    body: &body_bytes,
                    content_type,
                    connection,
                };
                match serve_resource(context) {
                    Ok(response) => response,
                    Err(status) => status.into_response(),
                }
            }
            (ParsedPath::Resource(_), None) => ApiStatus::new(
                405,
                "MethodNotAllowed",
                format!(
                    "the server does not allow this method on the requested resource ({})",
                    parts.method
                ),
            )
            .into_response(),
            (ParsedPath::Discovery(discovery), _) => serve_discovery(discovery),
            (ParsedPath::Unknown, _) => page_not_found(),
        }
    };

    shared.requests().push(RecordedRequest {
        sequence,
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        query_pairs: query.pairs.clone(),
        headers,
        body: body_bytes,
        verb,
        status: response.status().as_u16(),
    });
    response
}

/// kube-apiserver's answer to a path it does not serve.
fn page_not_found() -> Response {
    let mut response = (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn classify_verb(method: &Method, path: &ResourcePath, query: &Query) -> Option<Verb> {
    let named = path.name.is_some();
    match *method {
        Method::GET if named => Some(Verb::Get),
        Method::GET if path.legacy_watch || query.flag("watch") => Some(Verb::Watch),
        Method::GET => Some(Verb::List),
        Method::POST if !named => Some(Verb::Create),
        Method::PUT if named => Some(Verb::Update),
        Method::PATCH if named => Some(Verb::Patch),
        Method::DELETE if named => Some(Verb::Delete),
        _ => None,
    }
}

struct RequestContext<'a> {
    shared: &'a Arc<SharedState>,
    path: &'a ResourcePath,
    verb: Verb,
    query: &'a Query,
    body: &'a [u8],
    content_type: &'a str,
    connection: Option<ConnectionAddress>,
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut response = (status, serde_json::to_vec(value).unwrap_or_default()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn fault_status(fault: &Fault, context: &RequestContext<'_>) -> Response {
    let resource = context.path.resource;
    match fault {
        Fault::TooManyRequests {
            retry_after_seconds,
        } => ApiStatus::new(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.",
        )
        .with_retry_after(*retry_after_seconds)
        .into_response(),
        Fault::ServiceUnavailable {
            retry_after_seconds,
        } => ApiStatus::new(
            503,
            "ServiceUnavailable",
            "The server is currently unable to handle the request",
        )
        .with_retry_after(*retry_after_seconds)
        .into_response(),
        Fault::InternalError => ApiStatus::new(
            500,
            "InternalError",
            "Internal error occurred: injected by the fake api server",
        )
        .into_response(),
        Fault::Forbidden => {
            let verb = format!("{:?}", context.verb).to_ascii_lowercase();
            let scope = match &context.path.namespace {
                Some(namespace) => format!("in the namespace \"{namespace}\""),
                None => "at the cluster scope".to_string(),
            };
            let mut status = ApiStatus::new(
                403,
                "Forbidden",
                format!(
                    "{} is forbidden: User \"system:serviceaccount:kube-system:kec\" cannot {verb} \
                     resource \"{}\" in API group \"{}\" {scope}",
                    resource.plural, resource.plural, resource.group
                ),
            );
            status.details = Some(Box::new(
                json!({"group": resource.group, "kind": resource.plural}),
            ));
            status.into_response()
        }
        Fault::WatchGone => ApiStatus::new(
            410,
            "Expired",
            "The resourceVersion for the provided watch is too old.",
        )
        .into_response(),
        Fault::WatchEmptyResponse => empty_watch_response(),
        Fault::ContinueGone => {
            let start_key = context
                .query
                .non_empty("continue")
                .and_then(|token| ContinueToken::decode(token).ok())
                .map(|token| token.start_key)
                .unwrap_or_else(|| "\u{0}".to_string());
            continue_expired(&start_key).into_response()
        }
        // Stream faults never arrive here (they are not immediate).
        _ => ApiStatus::new(500, "InternalError", "unexpected fault").into_response(),
    }
}

/// The 410 of an expired continue token, with a token that resumes at the newest revision.
fn continue_expired(start_key: &str) -> ApiStatus {
    let fresh = ContinueToken {
        api_version: "meta.k8s.io/v1".to_string(),
        resource_version: -1,
        start_key: start_key.to_string(),
    };
    let mut status = ApiStatus::new(
        410,
        "Expired",
        "The provided continue parameter is too old to display a consistent list result. You can \
         start a new list without the continue parameter, or use the continue token in this \
         response to retrieve the remainder of the results. Continuing with the provided token \
         results in an inconsistent list - objects that were created, modified, or deleted \
         between the time the first chunk was returned and now may show up in the list.",
    );
    status.list_metadata = Some(Box::new(json!({"continue": fresh.encode()})));
    status
}

fn serve_resource(context: RequestContext<'_>) -> Result<Response, ApiStatus> {
    let resource = context.path.resource;
    let facts = RequestFacts {
        verb: context.verb,
        resource: resource.plural,
        group: resource.group,
        namespace: context.path.namespace.as_deref(),
        has_continue: context.query.non_empty("continue").is_some(),
    };
    let hit = context.shared.faults().take(&facts);
    if let Some(fault) = &hit.immediate {
        return Ok(fault_status(fault, &context));
    }
    if let Some(subresource) = context.path.subresource.as_deref()
        && (subresource != "status"
            || !matches!(context.verb, Verb::Get | Verb::Update | Verb::Patch))
    {
        return Ok(page_not_found());
    }
    let namespace = context.path.namespace.as_deref();
    let name = context.path.name.as_deref().unwrap_or("");
    let subresource = context.path.subresource.as_deref();
    match context.verb {
        Verb::Get => {
            let cluster = context.shared.cluster();
            match cluster.get(resource.storage, namespace.unwrap_or(""), name) {
                Some(object) => Ok(json_response(
                    StatusCode::OK,
                    &to_served_with_type(resource, &object),
                )),
                None => Err(ApiStatus::not_found(resource.plural, resource.group, name)),
            }
        }
        Verb::List => list(context.shared, context.path, context.query),
        Verb::Watch => {
            let timeout = match context.query.non_empty("timeoutSeconds") {
                Some(seconds) => Duration::from_secs(seconds.parse::<u64>().map_err(|_| {
                    ApiStatus::bad_request(format!("invalid timeoutSeconds {seconds:?}"))
                })?),
                None => context.shared.config.default_watch_timeout,
            };
            let request = WatchRequest {
                path: context.path.clone(),
                resource_version: context.query.get("resourceVersion").map(str::to_string),
                timeout,
                allow_bookmarks: context.query.flag("allowWatchBookmarks"),
                send_initial_events: context.query.flag("sendInitialEvents"),
                label_selector: LabelSelector::parse(
                    context.query.get("labelSelector").unwrap_or(""),
                )?,
                field_selector: FieldSelector::parse(
                    context.query.get("fieldSelector").unwrap_or(""),
                )?,
            };
            start_watch(context.shared, request, hit, context.connection)
        }
        Verb::Create => {
            let body = parse_body(context.body)?;
            let created =
                operations::create(&mut context.shared.cluster(), resource, namespace, body)?;
            Ok(json_response(
                StatusCode::CREATED,
                &to_served_with_type(resource, &created),
            ))
        }
        Verb::Update => {
            let body = parse_body(context.body)?;
            let outcome = operations::update(
                &mut context.shared.cluster(),
                resource,
                namespace,
                name,
                subresource,
                body,
            )?;
            Ok(write_response(resource, &outcome))
        }
        Verb::Patch => {
            let patch_type = PatchType::from_content_type(context.content_type)
                .ok_or_else(|| unsupported_patch_type(context.content_type))?;
            let outcome = operations::patch(
                &mut context.shared.cluster(),
                resource,
                namespace,
                name,
                subresource,
                context.body,
                patch_type,
            )?;
            Ok(write_response(resource, &outcome))
        }
        Verb::Delete => {
            let deleted =
                operations::delete(&mut context.shared.cluster(), resource, namespace, name)?;
            let uid = deleted
                .pointer("/metadata/uid")
                .cloned()
                .unwrap_or(Value::Null);
            let mut details = json!({"name": name, "kind": resource.plural, "uid": uid});
            if !resource.group.is_empty() {
                details["group"] = Value::from(resource.group);
            }
            Ok(json_response(
                StatusCode::OK,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                    "status": "Success", "details": details}),
            ))
        }
    }
}

fn write_response(resource: &crate::resources::ApiResource, outcome: &WriteOutcome) -> Response {
    json_response(
        StatusCode::OK,
        &to_served_with_type(resource, outcome.object()),
    )
}

fn parse_body(body: &[u8]) -> Result<Value, ApiStatus> {
    serde_json::from_slice(body).map_err(|error| {
        ApiStatus::bad_request(format!("the object provided is unrecognized: {error}"))
    })
}

/// How a LIST without a continue token reads, from `resourceVersion`, `resourceVersionMatch`
/// and `limit` (the table in the Kubernetes API concepts, "Semantics for get and list").
enum ListRead {
    MostRecent,
    Any,
    NotOlderThan(u64),
    Exact(u64),
}

fn parse_revision(text: &str) -> Result<u64, ApiStatus> {
    text.parse::<u64>().map_err(|_| {
        ApiStatus::invalid(
            "ListOptions",
            "meta.k8s.io",
            "",
            &[FieldError::invalid(
                "resourceVersion",
                text,
                "invalid resource version",
            )],
        )
    })
}

fn list_read(query: &Query, limited: bool) -> Result<ListRead, ApiStatus> {
    let resource_version = query.non_empty("resourceVersion");
    let forbidden = |detail: &str| {
        ApiStatus::invalid(
            "ListOptions",
            "meta.k8s.io",
            "",
            &[FieldError {
                reason: "FieldValueForbidden",
                field: "resourceVersionMatch".into(),
                value: None,
                detail: format!("Forbidden: {detail}"),
            }],
        )
    };
    match (query.non_empty("resourceVersionMatch"), resource_version) {
        (None, None) => Ok(ListRead::MostRecent),
        (None, Some("0")) => Ok(ListRead::Any),
        (None, Some(text)) => {
            let revision = parse_revision(text)?;
            Ok(if limited {
                ListRead::Exact(revision)
            } else {
                ListRead::NotOlderThan(revision)
            })
        }
        (Some("Exact"), Some("0") | None) => Err(forbidden(
            "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\" or unset",
        )),
        (Some("Exact"), Some(text)) => Ok(ListRead::Exact(parse_revision(text)?)),
        (Some("NotOlderThan"), None) => Err(forbidden(
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        )),
        (Some("NotOlderThan"), Some("0")) => Ok(ListRead::Any),
        (Some("NotOlderThan"), Some(text)) => Ok(ListRead::NotOlderThan(parse_revision(text)?)),
        (Some(other), _) => Err(forbidden(&format!(
            "unsupported resourceVersionMatch {other:?}"
        ))),
    }
}

/// 504 of a read from a revision the server does not have yet.
fn too_large_resource_version(requested: u64, current: u64) -> ApiStatus {
    let mut status = ApiStatus::new(
        504,
        "Timeout",
        format!("Timeout: Too large resource version: {requested}, current: {current}"),
    );
    status.details = Some(Box::new(
        json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]}),
    ));
    status.with_retry_after(1)
}

fn list(
    shared: &Arc<SharedState>,
    path: &ResourcePath,
    query: &Query,
) -> Result<Response, ApiStatus> {
    let resource = path.resource;
    let kind = resource.storage;
    let label_selector = LabelSelector::parse(query.get("labelSelector").unwrap_or(""))?;
    let field_selector = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""))?;
    let limit = match query.non_empty("limit") {
        Some(text) => {
            let limit = text
                .parse::<i64>()
                .map_err(|_| ApiStatus::bad_request(format!("invalid limit {text:?}")))?;
            usize::try_from(limit).ok().filter(|limit| *limit > 0)
        }
        None => None,
    };
    let cluster = shared.cluster();
    let current = cluster.revision();
    let (snapshot, start_key, paginate) = match query.non_empty("continue") {
        Some(token_text) => {
            if query
                .non_empty("resourceVersion")
                .is_some_and(|text| text != "0")
            {
                return Err(ApiStatus::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            let token = ContinueToken::decode(token_text)?;
            let snapshot = u64::try_from(token.resource_version)
                .ok()
                .filter(|revision| *revision > 0)
                .unwrap_or(current);
            match cluster.snapshot_available(snapshot) {
                Ok(()) => {}
                Err(SnapshotError::Compacted { .. }) => {
                    return Err(continue_expired(&token.start_key));
                }
                Err(SnapshotError::Future { .. }) => {
                    return Err(ApiStatus::bad_request(
                        "continue key is not valid: the resource version is in the future",
                    ));
                }
            }
            (snapshot, Some(token.start_key), true)
        }
        None => match list_read(query, limit.is_some())? {
            ListRead::MostRecent => (current, None, true),
            // The watch cache answers "any" with everything it has; Events bypass it and page.
            ListRead::Any => (current, None, kind.bypasses_watch_cache()),
            ListRead::NotOlderThan(revision) => {
                if revision > current {
                    return Err(too_large_resource_version(revision, current));
                }
                (current, None, true)
            }
            ListRead::Exact(revision) => match cluster.snapshot_available(revision) {
                Ok(()) => (revision, None, true),
                Err(SnapshotError::Future { current }) => {
                    return Err(too_large_resource_version(revision, current));
                }
                Err(SnapshotError::Compacted { .. }) => {
                    return Err(ApiStatus::new(
                        410,
                        "Expired",
                        "The resourceVersion for the provided list is too old.",
                    ));
                }
            },
        },
    };
    let selective = !label_selector.is_empty() || !field_selector.is_empty();
    let matches = |stored: &Value| {
        if !selective {
            return true;
        }
        let served = to_served_with_type(resource, stored);
        label_selector.matches(&served) && field_selector.matches(&served)
    };
    let page = cluster
        .list_page(&ListRequest {
            kind,
            namespace: path.namespace.as_deref(),
            snapshot,
            start_key: start_key.as_deref(),
            limit: if paginate { limit } else { None },
            matches: &matches,
            count_remaining: !selective,
        })
        .map_err(|_| ApiStatus::new(500, "InternalError", "snapshot vanished"))?;
    drop(cluster);

    let mut metadata = Map::new();
    metadata.insert("resourceVersion".into(), Value::from(snapshot.to_string()));
    if let Some(last_key) = &page.last_key_if_more {
        let token = ContinueToken::after(last_key, i64::try_from(snapshot).unwrap_or(i64::MAX));
        metadata.insert("continue".into(), Value::from(token.encode()));
        if let Some(remaining) = page.remaining_item_count {
            metadata.insert("remainingItemCount".into(), Value::from(remaining));
        }
    }
    // Written by hand so the items are serialized straight from storage, not copied first.
    let mut body = Vec::with_capacity(256 + page.items.len() * 1024);
    body.extend_from_slice(b"{\"kind\":");
    let _ = serde_json::to_writer(&mut body, &format!("{}List", resource.kind));
    body.extend_from_slice(b",\"apiVersion\":");
    let _ = serde_json::to_writer(&mut body, &resource.api_version());
    body.extend_from_slice(b",\"metadata\":");
    let _ = serde_json::to_writer(&mut body, &metadata);
    body.extend_from_slice(b",\"items\":[");
    for (position, item) in page.items.iter().enumerate() {
        if position > 0 {
            body.push(b',');
        }
        match page.items_json.get(position) {
            Some(Some(json)) if resource.representation == Representation::Storage => {
                body.extend_from_slice(json);
            }
            _ => served_bytes(resource, item, false, &mut body),
        }
    }
    body.extend_from_slice(b"]}");
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

fn serve_discovery(discovery: &DiscoveryPath) -> Response {
    match discovery {
        DiscoveryPath::Health => (StatusCode::OK, "ok").into_response(),
        DiscoveryPath::Version => json_response(
            StatusCode::OK,
            &json!({
                "major": "1", "minor": "36", "emulationMajor": "1", "emulationMinor": "36",
                "gitVersion": "v1.36.0", "gitCommit": "kec-testkit", "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc",
                "platform": "linux/amd64"
            }),
        ),
        DiscoveryPath::CoreVersions => json_response(
            StatusCode::OK,
            &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
        ),
        DiscoveryPath::Groups => {
            let groups = group_versions()
                .into_iter()
                .filter(|(group, _)| !group.is_empty())
                .map(|(group, version)| {
                    let group_version = json!({"groupVersion": format!("{group}/{version}"), "version": version});
                    json!({"name": group, "versions": [group_version.clone()], "preferredVersion": group_version})
                })
                .collect::<Vec<_>>();
            json_response(
                StatusCode::OK,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            )
        }
        DiscoveryPath::ResourceList { group, version } => {
            let mut resources = Vec::new();
            for resource in API_RESOURCES
                .iter()
                .filter(|resource| resource.group == *group && resource.version == *version)
            {
                let verbs = [
                    "create", "delete", "get", "list", "patch", "update", "watch",
                ];
                resources.push(json!({
                    "name": resource.plural,
                    "singularName": resource.kind.to_ascii_lowercase(),
                    "namespaced": resource.namespaced,
                    "kind": resource.kind,
                    "verbs": verbs,
                }));
                resources.push(json!({
                    "name": format!("{}/status", resource.plural),
                    "singularName": "",
                    "namespaced": resource.namespaced,
                    "kind": resource.kind,
                    "verbs": ["get", "patch", "update"],
                }));
            }
            let group_version = if group.is_empty() {
                (*version).to_string()
            } else {
                format!("{group}/{version}")
            };
            json_response(
                StatusCode::OK,
                &json!({"kind": "APIResourceList", "apiVersion": "v1",
                    "groupVersion": group_version, "resources": resources}),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::FakeApiServerConfig;
    use axum::body::{Body, to_bytes};
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_router_answers_without_a_socket() {
        let handle = FakeApiHandle::new(FakeApiServerConfig {
            startup_events: false,
            ..FakeApiServerConfig::default()
        });
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/api/v1/namespaces/default/events")
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"metadata":{"name":"n.1"},"involvedObject":{"kind":"Node","name":"n"},"reason":"Rebooted"}"#,
            ))
            .unwrap();
        let response = app(handle.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let created: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(created["metadata"]["namespace"], "default");
        assert_eq!(created["source"], json!({}));
        assert_eq!(handle.total_occurrences(), 1);
        let recorded = handle.requests();
        assert_eq!(recorded[0].verb, Some(Verb::Create));
        assert_eq!(recorded[0].status, 201);
    }

    #[test]
    fn query_parameters_are_form_decoded() {
        let query = Query::parse(Some(
            "fieldSelector=involvedObject.kind%3DNode&labelSelector=a+in+(b)&watch=1",
        ));
        assert_eq!(query.get("fieldSelector"), Some("involvedObject.kind=Node"));
        assert_eq!(query.get("labelSelector"), Some("a in (b)"));
        assert!(query.flag("watch"));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
    }
}
