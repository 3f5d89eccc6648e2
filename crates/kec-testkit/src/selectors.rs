//! `labelSelector` and `fieldSelector` query parameters.
//!
//! Label selectors support the full set-based grammar (`a=b`, `a!=b`, `a in (x,y)`,
//! `a notin (x)`, `a`, `!a`). Field selectors support `=`, `==` and `!=` on any dotted path of
//! the served object (kube-apiserver allows only a per-kind list of fields; the fake is more
//! lenient and resolves `metadata.name`, `involvedObject.kind`, `spec.nodeName`, ...).

use serde_json::Value;

use crate::error::ApiStatus;

#[derive(Debug, Clone, PartialEq)]
enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed `labelSelector`; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

impl LabelSelector {
    pub fn parse(text: &str) -> Result<LabelSelector, ApiStatus> {
        let invalid = |detail: &str| {
            ApiStatus::bad_request(format!(
                "unable to parse requirement: invalid label selector {text:?}: {detail}"
            ))
        };
        let mut requirements = Vec::new();
        for clause in split_outside_parentheses(text) {
            let clause = clause.trim();
            if clause.is_empty() {
                continue;
            }
            let requirement = if let Some(key) = clause.strip_prefix('!') {
                LabelRequirement::DoesNotExist(key.trim().to_string())
            } else if let Some((key, value)) = clause.split_once("!=") {
                LabelRequirement::NotEquals(key.trim().to_string(), value.trim().to_string())
            } else if let Some((key, value)) = clause.split_once("==") {
                LabelRequirement::Equals(key.trim().to_string(), value.trim().to_string())
            } else if let Some((key, value)) = clause.split_once('=') {
                LabelRequirement::Equals(key.trim().to_string(), value.trim().to_string())
            } else if let Some((key, values)) = clause.split_once(" notin ") {
                LabelRequirement::NotIn(
                    key.trim().to_string(),
                    parse_set(values).ok_or_else(|| invalid("bad set"))?,
                )
            } else if let Some((key, values)) = clause.split_once(" in ") {
                LabelRequirement::In(
                    key.trim().to_string(),
                    parse_set(values).ok_or_else(|| invalid("bad set"))?,
                )
            } else if clause.chars().all(|character| {
                character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.' | '/')
            }) {
                LabelRequirement::Exists(clause.to_string())
            } else {
                return Err(invalid("unknown operator"));
            };
            requirements.push(requirement);
        }
        Ok(LabelSelector { requirements })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        let label = |key: &str| {
            labels
                .and_then(|labels| labels.get(key))
                .and_then(Value::as_str)
        };
        self.requirements
            .iter()
            .all(|requirement| match requirement {
                LabelRequirement::Equals(key, value) => label(key) == Some(value.as_str()),
                LabelRequirement::NotEquals(key, value) => label(key) != Some(value.as_str()),
                LabelRequirement::In(key, values) => {
                    label(key).is_some_and(|found| values.iter().any(|value| value == found))
                }
                LabelRequirement::NotIn(key, values) => {
                    label(key).is_none_or(|found| values.iter().all(|value| value != found))
                }
                LabelRequirement::Exists(key) => label(key).is_some(),
                LabelRequirement::DoesNotExist(key) => label(key).is_none(),
            })
    }
}

fn parse_set(values: &str) -> Option<Vec<String>> {
    let inner = values.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
            .collect(),
    )
}

/// Splits on commas that are not inside `( )`.
fn split_outside_parentheses(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0_i32;
    let mut start = 0;
    for (position, character) in text.char_indices() {
        match character {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..position]);
                start = position + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A parsed `fieldSelector`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector {
    /// `(dotted path, value, equal)`.
    requirements: Vec<(String, String, bool)>,
}

impl FieldSelector {
    pub fn parse(text: &str) -> Result<FieldSelector, ApiStatus> {
        let mut requirements = Vec::new();
        for clause in text.split(',') {
            let clause = clause.trim();
            if clause.is_empty() {
                continue;
            }
            let (field, value, equal) = if let Some((field, value)) = clause.split_once("!=") {
                (field, value, false)
            } else if let Some((field, value)) = clause.split_once("==") {
                (field, value, true)
            } else if let Some((field, value)) = clause.split_once('=') {
                (field, value, true)
            } else {
                return Err(ApiStatus::bad_request(format!(
                    "invalid selector: '{text}'; can't understand '{clause}'"
                )));
            };
            requirements.push((field.trim().to_string(), value.trim().to_string(), equal));
        }
        Ok(FieldSelector { requirements })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.requirements.iter().all(|(field, expected, equal)| {
            let found = field
                .split('.')
                .try_fold(object, |value, segment| value.get(segment))
                .map(|value| match value {
                    Value::String(text) => text.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            (found == *expected) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_cover_equality_and_sets() {
        let pod = json!({"metadata": {"labels": {"app": "web", "tier": "front"}}});
        let matches = |text: &str| LabelSelector::parse(text).unwrap().matches(&pod);
        assert!(matches("app=web"));
        assert!(matches("app==web,tier"));
        assert!(matches("app in (api, web),!missing"));
        assert!(!matches("app notin (web)"));
        assert!(!matches("tier!=front"));
        assert!(matches(""));
    }

    #[test]
    fn field_selectors_resolve_dotted_paths() {
        let event = json!({"metadata": {"name": "a"}, "involvedObject": {"kind": "Node"}});
        let matches = |text: &str| FieldSelector::parse(text).unwrap().matches(&event);
        assert!(matches("involvedObject.kind=Node"));
        assert!(matches("metadata.name==a,involvedObject.kind!=Pod"));
        assert!(!matches("involvedObject.kind=Pod"));
        assert!(FieldSelector::parse("nonsense").is_err());
    }
}
