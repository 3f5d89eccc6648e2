//! Go's RE2 dialect on top of the regex crate. The syntax is the same; the difference is that
//! Go's Perl classes and word boundaries are ASCII-only while the regex crate's are Unicode:
//! Go's `\d` never matches `٣`, its `\s` is `[\t\n\f\r ]`. [`translate`] rewrites those escapes
//! to explicit ASCII classes so a rule matches exactly what it matches in NPD (and the smaller
//! classes make matching faster).

/// [`translate`], falling back to the pattern as written when the rewrite does not compile
/// (an odd class such as `[\d-z]`): Unicode classes are closer to Go than an error.
pub fn translate_or_original(pattern: &str) -> String {
    let translated = translate(pattern);
    if regex::Regex::new(&translated).is_ok() {
        translated
    } else {
        pattern.to_string()
    }
}

/// Rewrites Go's ASCII Perl classes (`\d \D \w \W \s \S`, also inside `[...]` for the positive
/// ones) and word boundaries (`\b \B`) into regex-crate syntax with Go's meaning.
pub fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    // Inside a bracket class; `class_start` marks the position where `]` is still literal.
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        if c == '\\' {
            let Some(next) = chars.next() else {
                out.push('\\');
                break;
            };
            class_start = false;
            let replacement = if in_class {
                match next {
                    'd' => Some("0-9"),
                    'w' => Some("0-9A-Za-z_"),
                    's' => Some("\\t\\n\\f\\r "),
                    _ => None,
                }
            } else {
                match next {
                    'd' => Some("[0-9]"),
                    'D' => Some("[^0-9]"),
                    'w' => Some("[0-9A-Za-z_]"),
                    'W' => Some("[^0-9A-Za-z_]"),
                    's' => Some("[\\t\\n\\f\\r ]"),
                    'S' => Some("[^\\t\\n\\f\\r ]"),
                    'b' => Some("(?-u:\\b)"),
                    'B' => Some("(?-u:\\B)"),
                    _ => None,
                }
            };
            match replacement {
                Some(text) => out.push_str(text),
                None => {
                    out.push('\\');
                    out.push(next);
                }
            }
            continue;
        }
        if in_class {
            if c == '[' && chars.peek() == Some(&':') {
                // A POSIX class such as `[:alpha:]`: copy it through its `:]`.
                out.push(c);
                let mut previous = ' ';
                for inner in chars.by_ref() {
                    out.push(inner);
                    if previous == ':' && inner == ']' {
                        break;
                    }
                    previous = inner;
                }
                class_start = false;
                continue;
            }
            if c == ']' && !class_start {
                in_class = false;
            } else if c == '^' && class_start {
                out.push(c);
                continue;
            } else if c == '[' {
                // A literal `[` inside a Go class is a nested class to the regex crate.
                out.push_str("\\[");
                class_start = false;
                continue;
            }
            class_start = false;
            out.push(c);
            continue;
        }
        if c == '[' {
            in_class = true;
            class_start = true;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::translate;

    fn go_match(pattern: &str, text: &str) -> bool {
        regex::Regex::new(&translate(pattern))
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .is_match(text)
    }

    #[test]
    fn perl_classes_are_ascii_like_go() {
        assert!(go_match(r"^\d+$", "20744"));
        assert!(!go_match(r"^\d+$", "٣"));
        assert!(go_match(r"^\D$", "٣"));
        assert!(!go_match(r"^\w+$", "é"));
        assert!(go_match(r"^\W$", "é"));
        assert!(!go_match(r"^\s$", "\u{b}"), "Go's \\s has no vertical tab");
        assert!(go_match(r"^\S+$", "é"));
        assert!(go_match(r"^[\S ]+:\w+$", "docker d:1"));
        assert!(go_match(r"^[\d_]+$", "1_2"));
        assert!(go_match(r"\bfoo\b", "a foo b"));
        // `é` is not a word character to Go, so there is a boundary before `foo`.
        assert!(go_match(r"\bfoo", "éfoo"));
        assert!(!regex::Regex::new(r"\bfoo").is_ok_and(|unicode| unicode.is_match("éfoo")));
    }

    #[test]
    fn other_escapes_and_classes_pass_through() {
        assert_eq!(
            translate(r"\[Hardware Error\]: x$"),
            r"\[Hardware Error\]: x$"
        );
        assert_eq!(translate(r"a\\d"), r"a\\d");
        assert_eq!(translate(r"[]a]"), r"[]a]");
        assert_eq!(translate(r"[^]a]"), r"[^]a]");
        assert_eq!(translate(r"[[:alpha:]\d]"), r"[[:alpha:]0-9]");
        assert_eq!(translate(r"[a[]"), r"[a\[]");
        assert!(go_match(r"[a[]+", "a[a"));
        assert_eq!(translate(r"\pL\x41"), r"\pL\x41");
        assert_eq!(translate("trailing\\"), "trailing\\");
    }
}
