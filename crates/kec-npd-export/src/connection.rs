//! How the exporter reaches the API server: NPD's `--apiserver-override` URI plus kec's
//! `--kubeconfig`.
//!
//! NPD's override is `scheme://host[:port]?inClusterConfig=..&auth=..&insecure=..&useServiceAccount=..`:
//! with `inClusterConfig` (default `true`) the in-cluster service account is used and the
//! scheme/host replace its server; with `inClusterConfig=false` the kubeconfig named by `auth`
//! is used, or, without `auth`, the URL alone (no credentials: `kubectl proxy`, tests).
//! Without an override kec infers (`KUBECONFIG` / `~/.kube/config`, else in-cluster), and
//! `--kubeconfig` names the file explicitly (the override's scheme/host then replace its server).

use std::path::PathBuf;

use url::Url;

use crate::{Error, Result};

/// Where the service-account token lives in a Pod.
const SERVICE_ACCOUNT_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// The `--apiserver-override` URI, read the way NPD reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiServerOverride {
    /// `scheme://host[:port]`, when the URI has both.
    pub server: Option<String>,
    pub in_cluster_config: bool,
    /// A kubeconfig file (`auth=`), used when `in_cluster_config` is false.
    pub auth: Option<PathBuf>,
    pub insecure: bool,
    pub use_service_account: bool,
}

fn parse_bool(name: &str, value: &str) -> Result<bool, String> {
    // Go's strconv.ParseBool.
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        other => Err(format!(
            "--apiserver-override: {name}={other:?} is not a boolean"
        )),
    }
}

impl ApiServerOverride {
    /// Parses the URI; the error says what is wrong with it.
    pub fn parse(uri: &str) -> Result<ApiServerOverride, String> {
        let url = Url::parse(uri).map_err(|error| {
            format!("--apiserver-override: {uri:?} is not a valid URI: {error}")
        })?;
        let server = match (url.scheme(), url.host_str()) {
            (scheme @ ("http" | "https"), Some(host)) => Some(match url.port() {
                Some(port) => format!("{scheme}://{host}:{port}"),
                None => format!("{scheme}://{host}"),
            }),
            (_, Some(_)) => {
                return Err(format!(
                    "--apiserver-override: {uri:?} must use http or https"
                ));
            }
            _ => None,
        };
        let mut parsed = ApiServerOverride {
            server,
            in_cluster_config: true,
            auth: None,
            insecure: false,
            use_service_account: false,
        };
        let mut seen = std::collections::HashSet::new();
        for (name, value) in url.query_pairs() {
            // Go's url.Values: the first value of a key counts.
            if !seen.insert(name.to_string()) {
                continue;
            }
            match name.as_ref() {
                "inClusterConfig" => parsed.in_cluster_config = parse_bool(&name, &value)?,
                "insecure" => parsed.insecure = parse_bool(&name, &value)?,
                "useServiceAccount" => parsed.use_service_account = parse_bool(&name, &value)?,
                "auth" if !value.is_empty() => parsed.auth = Some(PathBuf::from(value.as_ref())),
                _ => {}
            }
        }
        if !parsed.in_cluster_config && parsed.auth.is_none() && parsed.server.is_none() {
            return Err(format!(
                "--apiserver-override: {uri:?} has no server and no auth file"
            ));
        }
        Ok(parsed)
    }
}

/// `--apiserver-override` and `--kubeconfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiServerTarget {
    pub apiserver_override: Option<String>,
    pub kubeconfig: Option<PathBuf>,
}

fn config_error(error: impl std::fmt::Display) -> Error {
    Error::KubeConfig(error.to_string())
}

fn server_uri(server: &str) -> Result<http::Uri> {
    server
        .parse::<http::Uri>()
        .map_err(|error| Error::KubeConfig(format!("invalid API server URL {server:?}: {error}")))
}

async fn kubeconfig_file(path: &PathBuf) -> Result<kube::Config> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(config_error)?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(config_error)
}

impl ApiServerTarget {
    /// Every problem with these settings.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(uri) = &self.apiserver_override {
            match ApiServerOverride::parse(uri) {
                Ok(parsed) => {
                    if let Some(auth) = parsed.auth.filter(|_| !parsed.in_cluster_config)
                        && !auth.is_file()
                    {
                        problems.push(format!(
                            "--apiserver-override: auth file {} does not exist",
                            auth.display()
                        ));
                    }
                }
                Err(problem) => problems.push(problem),
            }
        }
        if let Some(path) = &self.kubeconfig
            && !path.is_file()
        {
            problems.push(format!("--kubeconfig: {} does not exist", path.display()));
        }
        problems
    }

    /// A client for these settings.
    pub async fn client(&self) -> Result<kube::Client> {
        let parsed = match &self.apiserver_override {
            Some(uri) => Some(ApiServerOverride::parse(uri).map_err(Error::KubeConfig)?),
            None => None,
        };
        let mut config = match (&self.kubeconfig, &parsed) {
            (Some(path), _) => {
                let mut config = kubeconfig_file(path).await?;
                if let Some(server) = parsed.as_ref().and_then(|parsed| parsed.server.as_ref()) {
                    config.cluster_url = server_uri(server)?;
                }
                config
            }
            (None, Some(parsed)) if parsed.in_cluster_config => {
                let mut config = kube::Config::incluster().map_err(config_error)?;
                if let Some(server) = &parsed.server {
                    config.cluster_url = server_uri(server)?;
                }
                config
            }
            (None, Some(parsed)) => match (&parsed.auth, &parsed.server) {
                (Some(auth), _) => kubeconfig_file(auth).await?,
                (None, Some(server)) => kube::Config::new(server_uri(server)?),
                (None, None) => {
                    return Err(Error::KubeConfig(
                        "--apiserver-override names no server".to_string(),
                    ));
                }
            },
            (None, None) => kube::Config::infer().await.map_err(config_error)?,
        };
        if let Some(parsed) = &parsed {
            if parsed.insecure {
                config.accept_invalid_certs = true;
            }
            if parsed.use_service_account && std::path::Path::new(SERVICE_ACCOUNT_TOKEN).is_file() {
                config.auth_info.token_file = Some(SERVICE_ACCOUNT_TOKEN.to_string());
            }
        }
        kube::Client::try_from(config).map_err(Error::KubeClient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npd_override_uris_are_read_like_npd() {
        let parsed =
            ApiServerOverride::parse("https://10.0.0.1:6443?inClusterConfig=false&insecure=true")
                .unwrap();
        assert_eq!(parsed.server.as_deref(), Some("https://10.0.0.1:6443"));
        assert!(!parsed.in_cluster_config);
        assert!(parsed.insecure);
        let default = ApiServerOverride::parse("https://kubernetes.default").unwrap();
        assert!(
            default.in_cluster_config,
            "in-cluster config is NPD's default"
        );
        let auth = ApiServerOverride::parse("https://x?inClusterConfig=false&auth=/etc/kubeconfig")
            .unwrap();
        assert_eq!(auth.auth, Some(PathBuf::from("/etc/kubeconfig")));
    }

    #[test]
    fn bad_override_uris_are_reported() {
        for (uri, expected) in [
            ("not a uri", "not a valid URI"),
            ("ftp://host", "must use http or https"),
            ("https://host?inClusterConfig=maybe", "is not a boolean"),
        ] {
            let error = ApiServerOverride::parse(uri).unwrap_err();
            assert!(error.contains(expected), "{uri}: {error}");
        }
        let target = ApiServerTarget {
            apiserver_override: Some("https://x?inClusterConfig=false&auth=/nope".into()),
            kubeconfig: Some(PathBuf::from("/no/such/kubeconfig")),
        };
        assert_eq!(target.problems().len(), 2, "{:?}", target.problems());
    }

    #[tokio::test]
    async fn a_plain_url_needs_no_credentials() {
        let target = ApiServerTarget {
            apiserver_override: Some("http://127.0.0.1:1?inClusterConfig=false".into()),
            kubeconfig: None,
        };
        assert!(target.problems().is_empty());
        assert!(target.client().await.is_ok());
    }
}
