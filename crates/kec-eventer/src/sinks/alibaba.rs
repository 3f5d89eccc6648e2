//! What the Alibaba Cloud sinks ([`super::sls`], [`super::eventbridge`]) share: the AccessKey
//! pair (from the config, a mounted Secret or kube-eventer's environment variables), a type
//! that keeps it out of logs, and the pieces of Alibaba Cloud's HMAC-SHA1 signatures.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};

/// A secret string: `Debug` prints `***`, so it never reaches a log line or an error.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sensitive(String);

impl Sensitive {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Sensitive {
        Sensitive(value.into())
    }

    /// The secret itself, for signing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("***")
    }
}

/// The file names of the AccessKey in a mounted Secret (e.g. `alibaba-addon-secret`).
pub const SECRET_KEY_ID_FILE: &str = "access-key-id";
/// See [`SECRET_KEY_ID_FILE`].
pub const SECRET_KEY_SECRET_FILE: &str = "access-key-secret";
/// Optional: an STS security token next to a temporary AccessKey.
pub const SECRET_TOKEN_FILE: &str = "security-token";

/// kube-eventer's environment variables, read when the config names no AccessKey.
pub const ENV_KEY_ID: &str = "AccessKeyId";
/// See [`ENV_KEY_ID`].
pub const ENV_KEY_SECRET: &str = "AccessKeySecret";

/// Where a sink's AccessKey comes from (`access_key:`). Give either `id` and `secret`, or
/// `secret_dir`; with neither, the environment variables `AccessKeyId` and `AccessKeySecret`
/// are read at start, as kube-eventer does. The key is read once, when the sink starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessKeyConfig {
    /// The AccessKey ID. Prefer `secret_dir`: a config file is easier to leak than a Secret.
    pub id: Option<Sensitive>,
    /// The AccessKey secret.
    pub secret: Option<Sensitive>,
    /// An STS security token, when the AccessKey is temporary (sent as `x-acs-security-token`).
    pub security_token: Option<Sensitive>,
    /// A directory where a Kubernetes Secret is mounted (such as `alibaba-addon-secret` in
    /// `kube-system`) holding the files `access-key-id`, `access-key-secret` and, optionally,
    /// `security-token`.
    pub secret_dir: Option<PathBuf>,
    /// A Kubernetes Secret read through the API when the eventer starts, with the same keys
    /// as `secret_dir` (`access-key-id`, `access-key-secret`, optionally `security-token`).
    /// `secret_ref: {}` names ACK's `kube-system/alibaba-addon-secret`.
    pub secret_ref: Option<SecretRef>,
}

/// A Secret by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretRef {
    pub namespace: String,
    pub name: String,
}

impl Default for SecretRef {
    fn default() -> SecretRef {
        SecretRef {
            namespace: "kube-system".to_string(),
            name: "alibaba-addon-secret".to_string(),
        }
    }
}

/// A resolved AccessKey. `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: Sensitive,
    pub secret: Sensitive,
    pub security_token: Option<Sensitive>,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("AccessKey(***)")
    }
}

impl AccessKeyConfig {
    /// An inline pair (kube-eventer's `accessKeyId` / `accessKeySecret` URL parameters).
    pub fn inline(id: &str, secret: &str) -> AccessKeyConfig {
        AccessKeyConfig {
            id: Some(Sensitive::new(id)),
            secret: Some(Sensitive::new(secret)),
            ..AccessKeyConfig::default()
        }
    }

    /// kube-eventer's `accessKeyId` and `accessKeySecret` parameters of `uri`: both or neither.
    pub fn from_flag(
        uri: &crate::kube_eventer::SinkUri,
        problems: &mut Vec<String>,
    ) -> Option<AccessKeyConfig> {
        match (uri.param("accessKeyId"), uri.param("accessKeySecret")) {
            (Some(id), Some(secret)) => Some(AccessKeyConfig::inline(id, secret)),
            (None, None) => None,
            _ => {
                problems.push(format!(
                    "--sink {}: accessKeyId and accessKeySecret go together",
                    uri.kind
                ));
                None
            }
        }
    }

    /// Every problem with these settings, prefixed with `field`; never shows a secret.
    pub fn problems(&self, field: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let inline = self.id.is_some() || self.secret.is_some();
        let sources = [inline, self.secret_dir.is_some(), self.secret_ref.is_some()];
        if sources.iter().filter(|given| **given).count() > 1 {
            problems.push(format!(
                "{field}: give one of id and secret, secret_dir or secret_ref"
            ));
        }
        if self.id.is_some() != self.secret.is_some() {
            problems.push(format!("{field}: id and secret go together"));
        }
        for (name, value) in [("id", &self.id), ("secret", &self.secret)] {
            if value
                .as_ref()
                .is_some_and(|value| value.expose().trim().is_empty())
            {
                problems.push(format!("{field}.{name} is empty"));
            }
        }
        if self.security_token.is_some() && !inline {
            problems.push(format!(
                "{field}.security_token goes with an inline id and secret (a mounted Secret has its own security-token file)"
            ));
        }
        problems
    }

    /// Reads the AccessKey; `env` looks up an environment variable (injected for tests).
    pub fn resolve(
        &self,
        field: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<AccessKey, String> {
        if let (Some(id), Some(secret)) = (&self.id, &self.secret) {
            return Ok(AccessKey {
                id: id.clone(),
                secret: secret.clone(),
                security_token: self.security_token.clone(),
            });
        }
        if let Some(dir) = &self.secret_dir {
            return read_secret_dir(field, dir);
        }
        if let Some(reference) = &self.secret_ref {
            // Read through the API when the eventer starts (see `load_secret_refs`).
            return Err(format!(
                "{field}: Secret {}/{} was not read",
                reference.namespace, reference.name
            ));
        }
        match (env(ENV_KEY_ID), env(ENV_KEY_SECRET)) {
            (Some(id), Some(secret)) if !id.trim().is_empty() && !secret.trim().is_empty() => {
                Ok(AccessKey {
                    id: Sensitive::new(id.trim()),
                    secret: Sensitive::new(secret.trim()),
                    security_token: None,
                })
            }
            _ => Err(format!(
                "{field}: no AccessKey: set access_key.id and access_key.secret, access_key.secret_dir, or the environment variables {ENV_KEY_ID} and {ENV_KEY_SECRET}"
            )),
        }
    }
}

/// Reads a mounted Secret's files; errors name the file, never its content.
fn read_secret_dir(field: &str, dir: &Path) -> Result<AccessKey, String> {
    let read = |name: &str| -> Result<Option<Sensitive>, String> {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().is_empty() => {
                Err(format!("{field}: {} is empty", path.display()))
            }
            Ok(text) => Ok(Some(Sensitive::new(text.trim()))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(format!("{field}: cannot read {}: {error}", path.display())),
        }
    };
    let missing = |name: &str| format!("{field}: {} is missing", dir.join(name).display());
    let id = read(SECRET_KEY_ID_FILE)?.ok_or_else(|| missing(SECRET_KEY_ID_FILE))?;
    let secret = read(SECRET_KEY_SECRET_FILE)?.ok_or_else(|| missing(SECRET_KEY_SECRET_FILE))?;
    let security_token = read(SECRET_TOKEN_FILE)?;
    Ok(AccessKey {
        id,
        secret,
        security_token,
    })
}

/// Reads the `secret_ref` Secrets of the Alibaba Cloud sinks through the Kubernetes API (once,
/// at start) and puts their AccessKeys in the config; every failure is listed.
pub(crate) async fn load_secret_refs(
    mut config: crate::EventerConfig,
    client: &kube::Client,
) -> crate::Result<crate::EventerConfig> {
    let mut problems = Vec::new();
    for (name, sink) in &mut config.sinks {
        let access_key = match sink {
            super::SinkConfig::Sls(sls) => &mut sls.access_key,
            super::SinkConfig::EventBridge(eventbridge) => &mut eventbridge.access_key,
            _ => continue,
        };
        let Some(reference) = access_key.secret_ref.take() else {
            continue;
        };
        let field = format!("sinks.{name}.access_key.secret_ref");
        match read_secret(client, &reference, &field).await {
            Ok(key) => {
                access_key.id = Some(key.id);
                access_key.secret = Some(key.secret);
                access_key.security_token = key.security_token;
            }
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(crate::Error::InvalidConfig(problems))
    }
}

/// One Secret's AccessKey; errors name the Secret and key, never a value.
async fn read_secret(
    client: &kube::Client,
    reference: &SecretRef,
    field: &str,
) -> Result<AccessKey, String> {
    use k8s_openapi::api::core::v1::Secret;
    let secrets: kube::Api<Secret> = kube::Api::namespaced(client.clone(), &reference.namespace);
    let shown = format!("Secret {}/{}", reference.namespace, reference.name);
    let secret = match secrets.get_opt(&reference.name).await {
        Ok(Some(secret)) => secret,
        Ok(None) => return Err(format!("{field}: {shown} does not exist")),
        Err(error) => return Err(format!("{field}: cannot read {shown}: {error}")),
    };
    let data = secret.data.unwrap_or_default();
    let value = |key: &str| -> Result<Option<Sensitive>, String> {
        match data.get(key) {
            None => Ok(None),
            Some(bytes) => match std::str::from_utf8(&bytes.0).map(str::trim) {
                Ok("") => Err(format!("{field}: {key} of {shown} is empty")),
                Ok(text) => Ok(Some(Sensitive::new(text))),
                Err(_) => Err(format!("{field}: {key} of {shown} is not UTF-8")),
            },
        }
    };
    let missing = |key: &str| format!("{field}: {shown} has no {key}");
    Ok(AccessKey {
        id: value(SECRET_KEY_ID_FILE)?.ok_or_else(|| missing(SECRET_KEY_ID_FILE))?,
        secret: value(SECRET_KEY_SECRET_FILE)?.ok_or_else(|| missing(SECRET_KEY_SECRET_FILE))?,
        security_token: value(SECRET_TOKEN_FILE)?,
    })
}

/// The process environment (what sinks use outside tests).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `base64(hmac-sha1(secret, text))`: the signature of SLS (v1) and of EventBridge.
pub fn hmac_sha1_base64(secret: &str, text: &str) -> String {
    // HMAC takes keys of any length; the error branch cannot happen.
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// An HTTP date (`Sat, 18 Apr 2020 05:30:41 GMT`, RFC 9110) of epoch milliseconds.
pub fn http_date(ms: i64) -> String {
    let timestamp = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    jiff::fmt::rfc2822::DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&timestamp)
        .unwrap_or_default()
}

/// The host (and port) of an endpoint URL, and whether it is an IP address or `localhost`
/// (a local fake or a proxy, where no per-project or per-account name can be resolved).
pub fn endpoint_host(url: &reqwest::Url) -> Option<(String, bool)> {
    let host = url.host_str()?;
    let literal =
        host == "localhost" || host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok();
    let text = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    Some((text, literal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_access_keys_come_in_pairs() {
        let flag = |text: &str| {
            let mut problems = Vec::new();
            let key = AccessKeyConfig::from_flag(
                &crate::kube_eventer::SinkUri::parse(text),
                &mut problems,
            );
            (key, problems)
        };
        let (key, problems) = flag("sls:https://x?accessKeyId=id&accessKeySecret=s");
        assert_eq!(key, Some(AccessKeyConfig::inline("id", "s")));
        assert!(problems.is_empty());
        assert_eq!(flag("sls:https://x"), (None, Vec::new()));
        let (key, problems) = flag("eventbridge:https://x?accessKeyId=id");
        assert_eq!(key, None);
        assert_eq!(
            problems,
            ["--sink eventbridge: accessKeyId and accessKeySecret go together"]
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = AccessKeyConfig {
            security_token: Some(Sensitive::new("token-value")),
            ..AccessKeyConfig::inline("LTAI-id-value", "secret-value")
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("LTAI-id-value") && !shown.contains("secret-value"));
        assert!(!shown.contains("token-value"), "{shown}");
        let key = config.resolve("access_key", |_| None).unwrap();
        assert_eq!(format!("{key:?}"), "AccessKey(***)");
        assert_eq!(key.id.expose(), "LTAI-id-value");
    }

    #[test]
    fn access_key_problems_are_listed_without_the_secret() {
        let config = AccessKeyConfig {
            id: Some(Sensitive::new(" ")),
            secret: None,
            security_token: None,
            secret_dir: Some("/x".into()),
            secret_ref: None,
        };
        let problems = config.problems("sinks.sls.access_key");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(AccessKeyConfig::default().problems("a").is_empty());
        assert!(AccessKeyConfig::inline("a", "b").problems("a").is_empty());
    }

    #[test]
    fn the_access_key_comes_from_a_mounted_secret_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let config = AccessKeyConfig {
            secret_dir: Some(dir.path().to_path_buf()),
            ..AccessKeyConfig::default()
        };
        let error = config.resolve("k", |_| None).unwrap_err();
        assert!(error.contains("access-key-id is missing"), "{error}");
        std::fs::write(dir.path().join("access-key-id"), "LTAIid\n").unwrap();
        std::fs::write(dir.path().join("access-key-secret"), "sec\n").unwrap();
        let key = config.resolve("k", |_| None).unwrap();
        assert_eq!((key.id.expose(), key.secret.expose()), ("LTAIid", "sec"));
        assert_eq!(key.security_token, None);
        std::fs::write(dir.path().join("security-token"), "").unwrap();
        assert!(config.resolve("k", |_| None).unwrap_err().contains("empty"));

        let env = |name: &str| match name {
            "AccessKeyId" => Some("envid".to_string()),
            "AccessKeySecret" => Some("envsecret".to_string()),
            _ => None,
        };
        let key = AccessKeyConfig::default().resolve("k", env).unwrap();
        assert_eq!(key.id.expose(), "envid");
        let error = AccessKeyConfig::default()
            .resolve("k", |_| None)
            .unwrap_err();
        assert!(error.contains("no AccessKey"), "{error}");
    }

    #[test]
    fn signature_pieces_follow_the_published_examples() {
        // RFC 2202 test case 2 for HMAC-SHA1, in base64.
        assert_eq!(
            hmac_sha1_base64("Jefe", "what do ya want for nothing?"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
        assert_eq!(
            http_date(1_587_187_841_000),
            "Sat, 18 Apr 2020 05:30:41 GMT"
        );
        let url = reqwest::Url::parse("http://127.0.0.1:8080/x").unwrap();
        assert_eq!(endpoint_host(&url), Some(("127.0.0.1:8080".into(), true)));
        let url = reqwest::Url::parse("https://cn-hangzhou.log.aliyuncs.com").unwrap();
        assert_eq!(
            endpoint_host(&url),
            Some(("cn-hangzhou.log.aliyuncs.com".into(), false))
        );
    }
}
