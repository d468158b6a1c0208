//! Small helpers over saphyr's YAML tree for rewriting asset files: parsing keeps key order (so a
//! rewritten file diffs cleanly against the original) and emitting gives plain block YAML.

use std::borrow::Cow;

use saphyr::{LoadableYamlNode, Scalar, Yaml, YamlEmitter};

/// A YAML syntax error with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// The first document of `text`; an empty file is a null document.
pub fn parse(text: &str) -> Result<Yaml<'_>, SyntaxError> {
    match Yaml::load_from_str(text) {
        Ok(docs) => Ok(docs.into_iter().next().unwrap_or(Yaml::Value(Scalar::Null))),
        Err(e) => Err(SyntaxError { line: e.marker().line().max(1), message: e.info().to_string() }),
    }
}

/// Block YAML without the leading `---`, ending in a newline.
pub fn emit(doc: &Yaml) -> String {
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline(true);
    // Writing into a String cannot fail; an error here would only mean an alias we never create.
    if emitter.dump(doc).is_err() {
        return String::new();
    }
    let body = out.strip_prefix("---\n").or_else(|| out.strip_prefix("---")).unwrap_or(&out).trim_start_matches(' ');
    format!("{}\n", body.trim_end_matches('\n'))
}

pub fn string(value: impl Into<String>) -> Yaml<'static> {
    Yaml::Value(Scalar::String(Cow::Owned(value.into())))
}

fn key<'a>(name: &str) -> Yaml<'a> {
    Yaml::Value(Scalar::String(Cow::Owned(name.to_string())))
}

pub fn get<'y, 'a>(doc: &'y Yaml<'a>, name: &str) -> Option<&'y Yaml<'a>> {
    doc.as_mapping().and_then(|m| m.get(&key(name)))
}

pub fn get_mut<'y, 'a>(doc: &'y mut Yaml<'a>, name: &str) -> Option<&'y mut Yaml<'a>> {
    doc.as_mapping_mut().and_then(|m| m.get_mut(&key(name)))
}

/// A scalar field as text (numbers and booleans printed back).
pub fn text(doc: &Yaml, name: &str) -> Option<String> {
    get(doc, name).and_then(scalar_text)
}

pub fn scalar_text(node: &Yaml) -> Option<String> {
    match node {
        Yaml::Value(Scalar::String(s)) => Some(s.to_string()),
        Yaml::Value(Scalar::Integer(i)) => Some(i.to_string()),
        Yaml::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        Yaml::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        Yaml::Representation(s, _, _) => Some(s.to_string()),
        _ => None,
    }
}

/// Sets a field of a mapping, keeping its position when it exists.
pub fn set<'a>(doc: &mut Yaml<'a>, name: &str, value: Yaml<'a>) {
    if let Some(map) = doc.as_mapping_mut() {
        match map.get_mut(&key(name)) {
            Some(slot) => *slot = value,
            None => {
                map.insert(string(name), value);
            }
        }
    }
}

pub fn remove(doc: &mut Yaml, name: &str) {
    if let Some(map) = doc.as_mapping_mut() {
        map.remove(&key(name));
    }
}

/// The text of a mapping key (numbers too: Superset keys chart configuration by chart id).
pub fn key_text(node: &Yaml) -> Option<String> {
    scalar_text(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_order_and_quotes_ambiguous_strings() {
        let text = "b: 1\na: \"yes\"\nc:\n- x\n- \"12\"\nd: null\n";
        let doc = parse(text).unwrap();
        assert_eq!(emit(&doc), "b: 1\na: \"yes\"\nc:\n  - x\n  - \"12\"\nd: ~\n");
    }

    #[test]
    fn set_and_remove_keep_the_other_keys_in_place() {
        let mut doc = parse("a: 1\nb: 2\nc: 3\n").unwrap();
        set(&mut doc, "b", string("two"));
        remove(&mut doc, "a");
        set(&mut doc, "d", string("new"));
        assert_eq!(emit(&doc), "b: two\nc: 3\nd: new\n");
        assert_eq!(text(&doc, "c").as_deref(), Some("3"));
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = parse("a: 1\nb: [unclosed\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }
}
