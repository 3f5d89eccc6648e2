//! LIST `continue` tokens in kube-apiserver's format: unpadded base64url of
//! `{"v":"meta.k8s.io/v1","rv":<snapshot revision>,"start":"<next key>"}`, where `rv` is the
//! revision of the consistent snapshot the list is paged from (`-1` after an expired token:
//! the rest of the list is then read at the newest revision, inconsistently).

use serde::{Deserialize, Serialize};

use crate::error::ApiStatus;

const TOKEN_API_VERSION: &str = "meta.k8s.io/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContinueToken {
    #[serde(rename = "v")]
    pub api_version: String,
    /// Snapshot revision, or -1 for "the newest".
    #[serde(rename = "rv")]
    pub resource_version: i64,
    /// Storage key to resume at (inclusive): the last returned key plus `\0`.
    #[serde(rename = "start")]
    pub start_key: String,
}

impl ContinueToken {
    /// The token that resumes after `last_key` in the snapshot at `resource_version`.
    pub fn after(last_key: &str, resource_version: i64) -> ContinueToken {
        ContinueToken {
            api_version: TOKEN_API_VERSION.to_string(),
            resource_version,
            start_key: format!("{last_key}\u{0}"),
        }
    }

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64_url_encode(&json)
    }

    pub fn decode(token: &str) -> Result<ContinueToken, ApiStatus> {
        let invalid =
            |detail: &str| ApiStatus::bad_request(format!("continue key is not valid: {detail}"));
        let bytes = base64_url_decode(token).ok_or_else(|| invalid("illegal base64 data"))?;
        let token: ContinueToken =
            serde_json::from_slice(&bytes).map_err(|error| invalid(&error.to_string()))?;
        if token.api_version != TOKEN_API_VERSION {
            return Err(invalid(&format!(
                "incorrect encoded start resourceVersion (version {})",
                token.api_version
            )));
        }
        if token.start_key.is_empty() || token.start_key.contains("..") {
            return Err(invalid("continue key is not valid"));
        }
        Ok(token)
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Go's `base64.RawURLEncoding.EncodeToString`.
fn base64_url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b0 = u32::from(chunk[0]);
        let b1 = chunk.get(1).copied().map_or(0, u32::from);
        let b2 = chunk.get(2).copied().map_or(0, u32::from);
        let triple = (b0 << 16) | (b1 << 8) | b2;
        let characters = chunk.len() + 1;
        for position in 0..characters {
            let index = (triple >> (18 - 6 * position)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// Go's `base64.RawURLEncoding.DecodeString`; `None` on anything that is not valid.
fn base64_url_decode(text: &str) -> Option<Vec<u8>> {
    let mut values = Vec::with_capacity(text.len());
    for byte in text.bytes() {
        let value = ALPHABET.iter().position(|candidate| *candidate == byte)?;
        values.push(u32::try_from(value).ok()?);
    }
    if values.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(values.len() * 3 / 4);
    for chunk in values.chunks(4) {
        let mut accumulator = 0_u32;
        for (position, value) in chunk.iter().enumerate() {
            accumulator |= value << (18 - 6 * position);
        }
        let produced = chunk.len() - 1;
        for position in 0..produced {
            out.push(((accumulator >> (16 - 8 * position)) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length() {
        for length in 0..20_usize {
            let bytes = (0..length)
                .map(|byte| (byte * 37 % 256) as u8)
                .collect::<Vec<_>>();
            assert_eq!(base64_url_decode(&base64_url_encode(&bytes)), Some(bytes));
        }
        assert_eq!(base64_url_encode(b"hello"), "aGVsbG8");
        assert_eq!(base64_url_decode("a"), None);
        assert_eq!(base64_url_decode("a+b/"), None);
    }

    #[test]
    fn tokens_look_like_kube_apiserver_tokens() {
        let token = ContinueToken::after("default/web.1", 1234);
        let encoded = token.encode();
        let json = String::from_utf8(base64_url_decode(&encoded).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"v":"meta.k8s.io/v1","rv":1234,"start":"default/web.1\u0000"}"#
        );
        assert_eq!(ContinueToken::decode(&encoded).unwrap(), token);
        assert!(ContinueToken::decode("not-a-token").is_err());
    }
}
