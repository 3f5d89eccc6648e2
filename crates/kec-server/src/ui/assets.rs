//! Static files of the UI, embedded in the binary and served under `/assets/`.
//!
//! Pages link each file with its content hash (`/assets/app.js?v=3f1c..`), so a file can be
//! cached for a year and a new binary is still picked up at once. Text files are gzipped once,
//! on first request, for clients that accept it (ECharts shrinks from 1.1 MB to about 370 kB).

use std::collections::HashMap;
use std::io::Write;
use std::sync::{LazyLock, Mutex};

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Every file under `/assets/`. The vendored libraries come with their licences, served too.
const ASSETS: &[Asset] = &[
    Asset {
        path: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/app.css"),
    },
    Asset {
        path: "app.js",
        content_type: JS,
        bytes: include_bytes!("../../assets/app.js"),
    },
    Asset {
        path: "favicon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../assets/favicon.svg"),
    },
    Asset {
        path: "vendor/README.md",
        content_type: TEXT,
        bytes: include_bytes!("../../assets/vendor/README.md"),
    },
    Asset {
        path: "vendor/htmx/htmx.min.js",
        content_type: JS,
        bytes: include_bytes!("../../assets/vendor/htmx/htmx.min.js"),
    },
    Asset {
        path: "vendor/htmx/LICENSE",
        content_type: TEXT,
        bytes: include_bytes!("../../assets/vendor/htmx/LICENSE"),
    },
    Asset {
        path: "vendor/echarts/echarts.min.js",
        content_type: JS,
        bytes: include_bytes!("../../assets/vendor/echarts/echarts.min.js"),
    },
    Asset {
        path: "vendor/echarts/LICENSE",
        content_type: TEXT,
        bytes: include_bytes!("../../assets/vendor/echarts/LICENSE"),
    },
    Asset {
        path: "vendor/echarts/NOTICE",
        content_type: TEXT,
        bytes: include_bytes!("../../assets/vendor/echarts/NOTICE"),
    },
    Asset {
        path: "vendor/echarts/LICENSE-d3",
        content_type: TEXT,
        bytes: include_bytes!("../../assets/vendor/echarts/LICENSE-d3"),
    },
    Asset {
        path: "vendor/echarts/LICENSE-zrender",
        content_type: TEXT,
        bytes: include_bytes!("../../assets/vendor/echarts/LICENSE-zrender"),
    },
];

/// Content hashes, computed once: they version the URLs and serve as ETags.
static HASHES: LazyLock<HashMap<&'static str, String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| (asset.path, content_hash(asset.bytes)))
        .collect()
});

/// Gzipped bodies, made on first request of each file.
static GZIPPED: LazyLock<Mutex<HashMap<&'static str, Bytes>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

/// FNV-1a, 64 bits: stable across builds and platforms, enough to tell versions apart.
fn content_hash(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The versioned URL of an embedded file, e.g. `/assets/app.js?v=3f1c2a..`.
pub(crate) fn url(path: &str) -> String {
    match HASHES.get(path) {
        Some(hash) => format!("/assets/{path}?v={}", &hash[..12]),
        None => format!("/assets/{path}"),
    }
}

/// The URLs a page layout needs.
pub(crate) struct AssetUrls {
    pub css: String,
    pub favicon: String,
    pub htmx: String,
    pub echarts: String,
    pub app: String,
}

impl AssetUrls {
    pub(crate) fn new() -> AssetUrls {
        AssetUrls {
            css: url("app.css"),
            favicon: url("favicon.svg"),
            htmx: url("vendor/htmx/htmx.min.js"),
            echarts: url("vendor/echarts/echarts.min.js"),
            app: url("app.js"),
        }
    }
}

fn compressible(asset: &Asset) -> bool {
    asset.content_type.starts_with("text/") || asset.content_type == "image/svg+xml"
}

fn gzipped(asset: &'static Asset) -> Option<Bytes> {
    let mut cache = GZIPPED.lock().ok()?;
    if let Some(body) = cache.get(asset.path) {
        return Some(body.clone());
    }
    let body = Bytes::from(gzip(asset.bytes, flate2::Compression::default())?);
    cache.insert(asset.path, body.clone());
    Some(body)
}

/// `bytes`, gzip-compressed (`None` only if the in-memory encoder fails).
pub(crate) fn gzip(bytes: &[u8], level: flate2::Compression) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), level);
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

/// True when the request's `Accept-Encoding` takes gzip.
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|parameter| {
                parameter
                    .trim()
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>() == Ok(0.0))
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// `GET /assets/{*path}`
pub(crate) async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = find(&path) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let etag = HASHES
        .get(asset.path)
        .map(|hash| format!("\"{hash}\""))
        .unwrap_or_default();
    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response_headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(header::ETAG, value);
    }
    let compressible = compressible(asset);
    if compressible {
        response_headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    let not_modified = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim().trim_start_matches("W/") == etag);
    if not_modified {
        return (StatusCode::NOT_MODIFIED, response_headers).into_response();
    }
    if compressible
        && accepts_gzip(&headers)
        && let Some(body) = gzipped(asset)
    {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return (response_headers, body).into_response();
    }
    (response_headers, Bytes::from_static(asset.bytes)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_content_hash() {
        let app = url("app.js");
        assert!(app.starts_with("/assets/app.js?v="), "{app}");
        assert_eq!(app.len(), "/assets/app.js?v=".len() + 12);
        assert_eq!(url("missing.js"), "/assets/missing.js");
    }

    #[test]
    fn gzip_is_negotiated() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(!accepts_gzip(&headers));
    }

    #[test]
    fn every_asset_is_non_empty() {
        for asset in ASSETS {
            assert!(!asset.bytes.is_empty(), "{}", asset.path);
        }
    }
}
