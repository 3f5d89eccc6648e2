//! A JSON object reader that mirrors Go's `encoding/json` key matching and collects problems.

use serde_json::{Map, Value};

use super::Problems;

/// Reads typed fields from one JSON object, recording each problem with its field path.
///
/// Keys match like Go's decoder: exact name first, then ASCII case-insensitively. Keys that no
/// getter asked for are reported by [`Fields::finish`].
pub(crate) struct Fields<'a> {
    object: &'a Map<String, Value>,
    prefix: String,
    used: Vec<&'a str>,
    sink: &'a std::cell::RefCell<Problems>,
}

impl<'a> Fields<'a> {
    /// Reads the document root, which must be an object.
    pub(crate) fn root(
        value: &'a Value,
        sink: &'a std::cell::RefCell<Problems>,
    ) -> Option<Fields<'a>> {
        match value {
            Value::Object(object) => Some(Fields::new(object, String::new(), sink)),
            _ => {
                sink.borrow_mut()
                    .push("", "the document must be a JSON object");
                None
            }
        }
    }

    fn new(
        object: &'a Map<String, Value>,
        prefix: String,
        sink: &'a std::cell::RefCell<Problems>,
    ) -> Fields<'a> {
        Fields {
            object,
            prefix,
            used: Vec::new(),
            sink,
        }
    }

    /// The full path of a key of this object.
    pub(crate) fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// Records a problem with a key of this object.
    pub(crate) fn problem(&mut self, key: &str, reason: impl Into<String>) {
        let path = self.path(key);
        self.sink.borrow_mut().push(path, reason);
    }

    fn lookup(&mut self, key: &str) -> Option<&'a Value> {
        let object = self.object;
        let (name, value) = object.get_key_value(key).or_else(|| {
            object
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(key))
        })?;
        self.used.push(name.as_str());
        // Go's decoder treats an explicit null like an absent key.
        (!value.is_null()).then_some(value)
    }

    /// Marks a key as known without reading it.
    pub(crate) fn ignore(&mut self, key: &str) {
        let _ = self.lookup(key);
    }

    /// Whether the key is present (and not null).
    pub(crate) fn has(&mut self, key: &str) -> bool {
        let object = self.object;
        object.get(key).is_some_and(|v| !v.is_null())
            || object
                .iter()
                .any(|(name, v)| name.eq_ignore_ascii_case(key) && !v.is_null())
    }

    fn wrong_type(&mut self, key: &str, expected: &str, value: &Value) {
        let found = match value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        self.problem(key, format!("must be {expected}, found {found}"));
    }

    /// A string field.
    pub(crate) fn string(&mut self, key: &str) -> Option<String> {
        let value = self.lookup(key)?;
        match value {
            Value::String(text) => Some(text.clone()),
            other => {
                self.wrong_type(key, "a string", other);
                None
            }
        }
    }

    /// A boolean field.
    pub(crate) fn bool(&mut self, key: &str) -> Option<bool> {
        let value = self.lookup(key)?;
        match value {
            Value::Bool(flag) => Some(*flag),
            other => {
                self.wrong_type(key, "a boolean", other);
                None
            }
        }
    }

    /// An integer field (Go `int`).
    pub(crate) fn int(&mut self, key: &str) -> Option<i64> {
        let value = self.lookup(key)?;
        match value.as_i64() {
            Some(number) => Some(number),
            None => {
                self.wrong_type(key, "an integer", value);
                None
            }
        }
    }

    /// A Go duration string (`"5m"`, `"300ms"`), as nanoseconds.
    pub(crate) fn duration(&mut self, key: &str) -> Option<i64> {
        let text = self.string(key)?;
        match super::duration::parse_go_duration(&text) {
            Ok(nanos) => Some(nanos),
            Err(reason) => {
                self.problem(key, reason);
                None
            }
        }
    }

    /// An array of strings.
    pub(crate) fn strings(&mut self, key: &str) -> Vec<String> {
        let Some(value) = self.lookup(key) else {
            return Vec::new();
        };
        let Value::Array(items) = value else {
            self.wrong_type(key, "an array of strings", value);
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match item {
                Value::String(text) => out.push(text.clone()),
                other => self.wrong_type(&format!("{key}[{index}]"), "a string", other),
            }
        }
        out
    }

    /// An object of string values (NPD's `map[string]string`).
    pub(crate) fn string_map(&mut self, key: &str) -> Vec<(String, String)> {
        let Some(value) = self.lookup(key) else {
            return Vec::new();
        };
        let Value::Object(entries) = value else {
            self.wrong_type(key, "an object of strings", value);
            return Vec::new();
        };
        let mut out = Vec::with_capacity(entries.len());
        for (name, item) in entries {
            match item {
                Value::String(text) => out.push((name.clone(), text.clone())),
                other => self.wrong_type(&format!("{key}.{name}"), "a string", other),
            }
        }
        out
    }

    /// A nested object.
    pub(crate) fn object(&mut self, key: &str) -> Option<Fields<'a>> {
        let value = self.lookup(key)?;
        match value {
            Value::Object(object) => Some(Fields::new(object, self.path(key), self.sink)),
            other => {
                self.wrong_type(key, "an object", other);
                None
            }
        }
    }

    /// An array of objects; items that are not objects are reported and skipped.
    pub(crate) fn objects(&mut self, key: &str) -> Vec<Fields<'a>> {
        let Some(value) = self.lookup(key) else {
            return Vec::new();
        };
        let Value::Array(items) = value else {
            self.wrong_type(key, "an array", value);
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let path = format!("{key}[{index}]");
            match item {
                Value::Object(object) => {
                    out.push(Fields::new(object, self.path(&path), self.sink));
                }
                other => self.wrong_type(&path, "an object", other),
            }
        }
        out
    }

    /// The entries of an object whose values are objects (a map of structs).
    pub(crate) fn object_map(&mut self, key: &str) -> Vec<(String, Fields<'a>)> {
        let Some(value) = self.lookup(key) else {
            return Vec::new();
        };
        let Value::Object(entries) = value else {
            self.wrong_type(key, "an object", value);
            return Vec::new();
        };
        let mut out = Vec::with_capacity(entries.len());
        for (name, item) in entries {
            let path = format!("{key}.{name}");
            match item {
                Value::Object(object) => {
                    out.push((
                        name.clone(),
                        Fields::new(object, self.path(&path), self.sink),
                    ));
                }
                other => self.wrong_type(&path, "an object", other),
            }
        }
        out
    }

    /// Reports every key no getter asked for.
    pub(crate) fn finish(self) {
        for name in self.object.keys() {
            if !self.used.contains(&name.as_str()) {
                let path = self.path(name);
                self.sink.borrow_mut().push(path, "unknown field");
            }
        }
    }
}
