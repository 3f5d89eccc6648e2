//! What the chat sinks (`dingtalk`, `wechat`, `lark`, `slack`, `teams`) share: kube-eventer's
//! message text, Go's time layouts that text uses, a neutral [`Summary`] of one Event for the
//! richer formats, HMAC-SHA256 signatures, the checks of a webhook URL that never print it (it
//! holds the robot's token), and reading the `errcode`/`code` these robots answer 200 with.

use base64::Engine;
use hmac::{Hmac, Mac};
use kec_model::EventRecord;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::sinks::http::{Verdict, excerpt, status_verdict};

/// The plain text or the markdown message of a robot (`msg_type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextOrMarkdown {
    /// kube-eventer's text message.
    #[default]
    Text,
    /// A markdown message.
    Markdown,
}

impl TextOrMarkdown {
    /// Reads kube-eventer's `msg_type` parameter.
    pub fn parse(value: &str) -> Option<TextOrMarkdown> {
        match value {
            "text" => Some(TextOrMarkdown::Text),
            "markdown" => Some(TextOrMarkdown::Markdown),
            _ => None,
        }
    }
}

/// How kube-eventer prints the Event's time in its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoTimeLayout {
    /// `time.DateTime`: `2006-01-02 15:04:05` (the dingtalk sink).
    DateTime,
    /// `Time.String()`: `2006-01-02 15:04:05 +0000 UTC` (the wechat sink, dingtalk markdown).
    String,
}

/// Formats epoch milliseconds the way Go does for `layout`, in UTC (kube-eventer prints the
/// process's local time, which is UTC in its container image).
pub fn go_time(ms: i64, layout: GoTimeLayout) -> String {
    let Ok(timestamp) = jiff::Timestamp::from_millisecond(ms) else {
        return ms.to_string();
    };
    let date_time = timestamp.strftime("%Y-%m-%d %H:%M:%S").to_string();
    match layout {
        GoTimeLayout::DateTime => date_time,
        GoTimeLayout::String => {
            // Go prints the fraction only when there is one, without trailing zeros.
            let millis = ms.rem_euclid(1000);
            let fraction = if millis == 0 {
                String::new()
            } else {
                format!(".{millis:03}").trim_end_matches('0').to_string()
            };
            format!("{date_time}{fraction} +0000 UTC")
        }
    }
}

/// kube-eventer's text message (dingtalk and wechat sinks): each label on a line of its own
/// above the fields, the last label first, as kube-eventer prepends them in order. `Name` and
/// `Namespace` are the Event object's, as kube-eventer prints them.
pub fn kube_eventer_text(record: &EventRecord, labels: &[String], layout: GoTimeLayout) -> String {
    let mut text = String::new();
    for label in labels.iter().rev() {
        text.push_str(label);
        text.push('\n');
    }
    text.push_str(&format!(
        "Level:{} \nKind:{} \nNamespace:{} \nName:{} \nReason:{} \nTimestamp:{} \nMessage:{}",
        record.event_type,
        record.object.kind,
        record.namespace,
        record.name,
        record.reason,
        go_time(record.time_ms, layout),
        record.message
    ));
    text
}

/// One Event as the richer chat formats (Slack, Teams, Lark cards) show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `Warning` records are marked (colour, emoji) by each format.
    pub warning: bool,
    /// `Warning BackOff: Pod prod/web-1`.
    pub title: String,
    /// The Event's message.
    pub message: String,
    /// (name, value) pairs, empty values left out.
    pub facts: Vec<(&'static str, String)>,
}

impl Summary {
    /// Summarizes a record; `labels` come first among the facts.
    pub fn of(record: &EventRecord, labels: &[String]) -> Summary {
        let object = &record.object;
        let object_name = if object.namespace.is_empty() {
            object.name.clone()
        } else {
            format!("{}/{}", object.namespace, object.name)
        };
        let title = format!(
            "{} {}: {} {}",
            record.event_type, record.reason, object.kind, object_name
        );
        let mut facts: Vec<(&'static str, String)> = labels
            .iter()
            .filter(|label| !label.trim().is_empty())
            .map(|label| ("Label", label.clone()))
            .collect();
        facts.extend([
            ("Cluster", record.cluster.clone()),
            ("Kind", object.kind.clone()),
            ("Namespace", object.namespace.clone()),
            ("Name", object.name.clone()),
            ("Reason", record.reason.clone()),
            ("Node", record.node.clone()),
            ("Count", record.count.to_string()),
            ("Source", record.source_component.clone()),
            (
                "Time",
                kec_model::time::format_ms(record.time_ms).unwrap_or_default(),
            ),
        ]);
        facts.retain(|(_, value)| !value.is_empty());
        Summary {
            warning: record.is_warning(),
            title,
            message: record.message.clone(),
            facts,
        }
    }
}

/// At most `max` characters of `text`, with `…` as the last one when it was cut.
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Base64 of HMAC-SHA256 of `message` under `key` (DingTalk and Lark signatures).
pub fn hmac_sha256_base64(key: &[u8], message: &[u8]) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks a webhook URL that holds a secret: absolute http(s), and never printed.
pub fn secret_url_problem(field: &str, url: &str) -> Option<String> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            None
        }
        _ if url.is_empty() => Some(format!("{field} is missing")),
        _ => Some(format!(
            "{field} is not an absolute http(s) URL (not shown: it holds the robot's token)"
        )),
    }
}

/// The host of a URL, for `describe()` (the path and query may hold tokens).
pub fn url_host(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|parsed| parsed.host_str().map(str::to_string))
        .unwrap_or_else(|| "an invalid URL".to_string())
}

/// How an API that answers 200 with a code in its JSON body spells it.
#[derive(Debug, Clone, Copy)]
pub struct CodedAnswer<'a> {
    /// The fields that may hold the code, the first present wins (`errcode`; `code`,
    /// `StatusCode`).
    pub code_fields: &'a [&'a str],
    /// The fields that may hold the message.
    pub message_fields: &'a [&'a str],
    /// Codes meaning "not now, try again" (rate limits, busy).
    pub retry_codes: &'a [i64],
}

impl CodedAnswer<'_> {
    /// Judges an answer: other statuses than 200 have their usual meaning; 200 is delivered
    /// when the code is 0 (or absent), retried on `retry_codes`, final otherwise.
    pub fn verdict(&self, status: u16, body: &[u8]) -> Verdict {
        if status != 200 {
            return status_verdict(status, body);
        }
        match self.read(body) {
            Err(reason) => Verdict::Reject(reason),
            Ok(None | Some((0, _))) => Verdict::Delivered,
            Ok(Some((code, message))) if self.retry_codes.contains(&code) => {
                Verdict::Retry(format!("answered code {code}: {message}"))
            }
            Ok(Some((code, message))) => {
                Verdict::Reject(format!("answered code {code}: {message}"))
            }
        }
    }

    /// The code and message of a body; `None` when it has no code field.
    pub fn read(&self, body: &[u8]) -> Result<Option<(i64, String)>, String> {
        let answer: serde_json::Value = serde_json::from_slice(body).map_err(|_| {
            format!(
                "answered 200 with a body that is not JSON: {}",
                excerpt(body)
            )
        })?;
        let Some(code) = self.code_fields.iter().find_map(|field| answer.get(*field)) else {
            return Ok(None);
        };
        let Some(code) = code.as_i64() else {
            return Err(format!(
                "answered 200 with a code that is not a number: {code}"
            ));
        };
        let message = self
            .message_fields
            .iter()
            .find_map(|field| answer.get(*field).and_then(|value| value.as_str()))
            .unwrap_or("")
            .to_string();
        Ok(Some((code, message)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use kec_model::ObjectRef;

    /// A Warning about a pod, at 2024-05-01 10:00:00 UTC.
    pub(crate) fn record() -> EventRecord {
        EventRecord {
            seq: 0,
            cluster: "prod".into(),
            namespace: "shop".into(),
            name: "web-1.17c8a3e1f2".into(),
            uid: "u1".into(),
            resource_version: "7".into(),
            api_version: "v1".into(),
            object: ObjectRef {
                kind: "Pod".into(),
                namespace: "shop".into(),
                name: "web-1".into(),
                uid: "p1".into(),
                api_version: "v1".into(),
                field_path: String::new(),
            },
            reason: "BackOff".into(),
            message: "Back-off restarting failed container app".into(),
            event_type: "Warning".into(),
            source_component: "kubelet".into(),
            source_host: "cn-hangzhou.192.168.0.7".into(),
            reporting_controller: String::new(),
            reporting_instance: String::new(),
            action: String::new(),
            time_ms: 1_714_557_600_000,
            time_is_receipt: false,
            first_ms: 1_714_557_000_000,
            count: 5,
            occurrences: 1,
            category: kec_model::Category::PodCrash,
            node: "cn-hangzhou.192.168.0.7".into(),
            raw: kec_model::RawJson::null(),
        }
    }

    #[test]
    fn go_layouts_print_like_go() {
        assert_eq!(
            go_time(1_714_557_600_000, GoTimeLayout::DateTime),
            "2024-05-01 10:00:00"
        );
        assert_eq!(
            go_time(1_714_557_600_000, GoTimeLayout::String),
            "2024-05-01 10:00:00 +0000 UTC"
        );
        assert_eq!(
            go_time(1_714_557_600_120, GoTimeLayout::String),
            "2024-05-01 10:00:00.12 +0000 UTC"
        );
        assert_eq!(
            go_time(i64::MAX, GoTimeLayout::DateTime),
            i64::MAX.to_string()
        );
    }

    #[test]
    fn kube_eventer_text_puts_the_last_label_first() {
        let text = kube_eventer_text(
            &record(),
            &["first".to_string(), "second".to_string()],
            GoTimeLayout::DateTime,
        );
        assert_eq!(
            text,
            "second\nfirst\nLevel:Warning \nKind:Pod \nNamespace:shop \nName:web-1.17c8a3e1f2 \
             \nReason:BackOff \nTimestamp:2024-05-01 10:00:00 \nMessage:Back-off restarting \
             failed container app"
        );
    }

    #[test]
    fn a_summary_names_the_object_and_leaves_out_empty_facts() {
        let mut record = record();
        record.source_component.clear();
        let summary = Summary::of(&record, &["c-123".to_string(), " ".to_string()]);
        assert!(summary.warning);
        assert_eq!(summary.title, "Warning BackOff: Pod shop/web-1");
        assert_eq!(summary.facts[0], ("Label", "c-123".to_string()));
        assert!(summary.facts.iter().all(|(name, _)| *name != "Source"));
        assert!(summary.facts.contains(&("Count", "5".to_string())));
        record.object.namespace.clear();
        assert_eq!(
            Summary::of(&record, &[]).title,
            "Warning BackOff: Pod web-1"
        );
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate_chars("héllo", 5), "héllo");
        assert_eq!(truncate_chars("héllo wörld", 4), "hél…");
    }

    #[test]
    fn hmac_matches_the_rfc_4231_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let expected = base64::engine::general_purpose::STANDARD.encode(
            [
                0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
                0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
                0x64, 0xec, 0x38, 0x43,
            ]
            .as_slice(),
        );
        assert_eq!(
            hmac_sha256_base64(b"Jefe", b"what do ya want for nothing?"),
            expected
        );
    }

    #[test]
    fn secret_urls_are_checked_without_being_printed() {
        assert!(
            secret_url_problem("u", "https://oapi.dingtalk.com/robot/send?access_token=x")
                .is_none()
        );
        let problem =
            secret_url_problem("u", "oapi.dingtalk.com/robot/send?access_token=SECRET").unwrap();
        assert!(!problem.contains("SECRET"), "{problem}");
        assert_eq!(secret_url_problem("u", "").unwrap(), "u is missing");
        assert_eq!(
            url_host("https://open.feishu.cn/open-apis/bot/v2/hook/x"),
            "open.feishu.cn"
        );
    }

    #[test]
    fn coded_answers_are_judged_by_their_code() {
        let answer = CodedAnswer {
            code_fields: &["code", "StatusCode"],
            message_fields: &["msg", "StatusMessage"],
            retry_codes: &[11232],
        };
        assert_eq!(
            answer.verdict(200, br#"{"code":0,"msg":"ok"}"#),
            Verdict::Delivered
        );
        assert_eq!(
            answer.verdict(200, br#"{"StatusCode":0}"#),
            Verdict::Delivered
        );
        assert_eq!(answer.verdict(200, br#"{"data":{}}"#), Verdict::Delivered);
        assert!(matches!(
            answer.verdict(200, br#"{"code":11232,"msg":"frequency limited"}"#),
            Verdict::Retry(_)
        ));
        assert_eq!(
            answer.verdict(200, br#"{"code":19021,"msg":"sign match fail"}"#),
            Verdict::Reject("answered code 19021: sign match fail".to_string())
        );
        assert!(matches!(answer.verdict(200, b"<html>"), Verdict::Reject(_)));
        assert!(matches!(
            answer.verdict(200, br#"{"code":"x"}"#),
            Verdict::Reject(_)
        ));
        assert!(matches!(answer.verdict(503, b""), Verdict::Retry(_)));
    }
}
