//! Static files of the UI, embedded in the binary and served under `/assets/`.
//!
//! Pages link each file with its content hash (`/assets/app.js?v=3f1c..`), so a file can be
//! cached for a year and a new binary is still picked up at once. Compression is not done here:
//! the UI router's `CompressionLayer` gzips text for clients that accept it (see `ui::routes`).

use std::collections::HashMap;
use std::sync::LazyLock;

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

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";
const TEXT: &str = "text/plain; charset=utf-8";

/// `path => content type` pairs to [`Asset`]s, embedding each file from `assets/{path}`.
macro_rules! assets {
    ($($path:literal => $content_type:expr),* $(,)?) => {
        &[$(Asset {
            path: $path,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../../assets/", $path)),
        }),*]
    };
}

/// Every file under `/assets/`. The vendored libraries come with their licences, served too.
const ASSETS: &[Asset] = assets![
    "app.css" => CSS,
    "app.js" => JS,
    "keys.js" => JS,
    "lanes.js" => JS,
    "overview.js" => JS,
    "favicon.svg" => SVG,
    "vendor/README.md" => TEXT,
    "vendor/htmx/htmx.min.js" => JS,
    "vendor/htmx/LICENSE" => TEXT,
    "vendor/echarts/echarts.min.js" => JS,
    "vendor/echarts/LICENSE" => TEXT,
    "vendor/echarts/NOTICE" => TEXT,
    "vendor/echarts/LICENSE-d3" => TEXT,
    "vendor/echarts/LICENSE-zrender" => TEXT,
];

/// Content hashes, computed once: they version the URLs and serve as ETags.
static HASHES: LazyLock<HashMap<&'static str, String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| (asset.path, content_hash(asset.bytes)))
        .collect()
});

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
    pub keys: String,
    pub lanes: String,
}

impl AssetUrls {
    pub(crate) fn new() -> AssetUrls {
        AssetUrls {
            css: url("app.css"),
            favicon: url("favicon.svg"),
            htmx: url("vendor/htmx/htmx.min.js"),
            echarts: url("vendor/echarts/echarts.min.js"),
            app: url("app.js"),
            keys: url("keys.js"),
            lanes: url("lanes.js"),
        }
    }
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
    // Every asset is text or SVG, which the compression layer gzips and marks with this
    // `Vary`; a 304 has no body to compress, but must carry the same `Vary`.
    response_headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let not_modified = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim().trim_start_matches("W/") == etag);
    if not_modified {
        return (StatusCode::NOT_MODIFIED, response_headers).into_response();
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
    fn every_asset_is_non_empty() {
        for asset in ASSETS {
            assert!(!asset.bytes.is_empty(), "{}", asset.path);
        }
    }
}
