//! Thin helpers over saphyr's marked YAML: every value keeps the line it came from, so findings
//! can point at `file:line`. Nothing here panics on odd input: unknown shapes read as `None`.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

pub type Node<'a> = MarkedYaml<'a>;

/// Deeper documents than this are treated as absent rather than walked (guards the recursion of
/// the walkers below against hostile input).
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// The first document of `text`, or `None` for an empty file.
pub fn parse(text: &str) -> Result<Option<Node<'_>>, SyntaxError> {
    match MarkedYaml::load_from_str(text) {
        Ok(docs) => Ok(docs.into_iter().next().filter(|doc| !is_null(doc))),
        Err(e) => Err(SyntaxError { line: e.marker().line().max(1), message: e.info().to_string() }),
    }
}

/// 1-based line where the node starts.
pub fn line(node: &Node) -> usize {
    node.span.start.line().max(1)
}

fn data<'n, 'a>(node: &'n Node<'a>) -> &'n YamlData<'a, Node<'a>> {
    match &node.data {
        YamlData::Tagged(_, inner) => data(inner),
        other => other,
    }
}

pub fn is_null(node: &Node) -> bool {
    matches!(data(node), YamlData::Value(Scalar::Null))
}

pub fn is_mapping(node: &Node) -> bool {
    matches!(data(node), YamlData::Mapping(_))
}

pub fn is_sequence(node: &Node) -> bool {
    matches!(data(node), YamlData::Sequence(_))
}

/// A string scalar (quoted or plain). Numbers and booleans are not strings.
pub fn as_str<'n>(node: &'n Node) -> Option<&'n str> {
    match data(node) {
        YamlData::Value(Scalar::String(s)) => Some(s.as_ref()),
        YamlData::Representation(s, _, _) => Some(s.as_ref()),
        _ => None,
    }
}

/// Any scalar as text (a number or boolean printed back), for values that may be written unquoted.
pub fn as_text(node: &Node) -> Option<String> {
    match data(node) {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Representation(s, _, _) => Some(s.to_string()),
        _ => None,
    }
}

pub fn as_bool(node: &Node) -> Option<bool> {
    match data(node) {
        YamlData::Value(Scalar::Boolean(b)) => Some(*b),
        _ => None,
    }
}

/// The entries of a mapping whose keys are strings, in document order; empty for anything else.
pub fn entries<'n, 'a>(node: &'n Node<'a>) -> Vec<(&'n str, &'n Node<'a>, &'n Node<'a>)> {
    match data(node) {
        YamlData::Mapping(map) => map.iter().filter_map(|(k, v)| as_str(k).map(|key| (key, k, v))).collect(),
        _ => Vec::new(),
    }
}

pub fn get<'n, 'a>(node: &'n Node<'a>, key: &str) -> Option<&'n Node<'a>> {
    match data(node) {
        YamlData::Mapping(map) => map.iter().find(|(k, _)| as_str(k) == Some(key)).map(|(_, v)| v),
        _ => None,
    }
}

/// A string field of a mapping, with its line.
pub fn get_str<'n>(node: &'n Node, key: &str) -> Option<(&'n str, usize)> {
    get(node, key).and_then(|v| as_str(v).map(|s| (s, line(v))))
}

pub fn items<'n, 'a>(node: &'n Node<'a>) -> &'n [Node<'a>] {
    match data(node) {
        YamlData::Sequence(seq) => seq.as_slice(),
        _ => &[],
    }
}

/// Calls `visit(key, value)` for every mapping entry at any depth (keys of nested mappings too,
/// and mappings inside sequences).
pub fn walk<'n, 'a>(node: &'n Node<'a>, visit: &mut dyn FnMut(Option<&'n str>, &'n Node<'a>)) {
    fn go<'n, 'a>(
        node: &'n Node<'a>,
        key: Option<&'n str>,
        depth: usize,
        visit: &mut dyn FnMut(Option<&'n str>, &'n Node<'a>),
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        visit(key, node);
        match data(node) {
            YamlData::Mapping(map) => {
                for (k, v) in map.iter() {
                    go(v, as_str(k), depth + 1, visit);
                }
            }
            YamlData::Sequence(seq) => {
                for v in seq {
                    go(v, key, depth + 1, visit);
                }
            }
            _ => {}
        }
    }
    go(node, None, 0, visit)
}

/// The node as JSON, for comparing documents regardless of formatting.
pub fn to_json(node: &Node) -> serde_json::Value {
    fn go(node: &Node, depth: usize) -> serde_json::Value {
        use serde_json::Value;
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        match data(node) {
            YamlData::Value(Scalar::Null) => Value::Null,
            YamlData::Value(Scalar::Boolean(b)) => Value::Bool(*b),
            YamlData::Value(Scalar::Integer(i)) => Value::from(*i),
            YamlData::Value(Scalar::FloatingPoint(f)) => Value::from(f.into_inner()),
            YamlData::Value(Scalar::String(s)) => Value::String(s.to_string()),
            YamlData::Representation(s, _, _) => Value::String(s.to_string()),
            YamlData::Sequence(seq) => Value::Array(seq.iter().map(|v| go(v, depth + 1)).collect()),
            YamlData::Mapping(map) => {
                Value::Object(map.iter().map(|(k, v)| (as_text(k).unwrap_or_default(), go(v, depth + 1))).collect())
            }
            YamlData::Tagged(_, inner) => go(inner, depth + 1),
            YamlData::Alias(_) | YamlData::BadValue => Value::Null,
        }
    }
    go(node, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_lines_and_reads_quoted_keys() {
        let doc = parse("a: 1\n\"uuid\": 'x'\nnested:\n  uuid: y\n").unwrap().unwrap();
        assert_eq!(get_str(&doc, "uuid"), Some(("x", 2)));
        assert_eq!(get(&doc, "nested").map(|n| get_str(n, "uuid")), Some(Some(("y", 4))));
        assert_eq!(as_text(get(&doc, "a").unwrap()).as_deref(), Some("1"));
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let err = parse("a: 1\nb: \"unterminated\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert!(err.message.contains("duplicate") || err.message.contains("key"), "{err:?}");
    }

    #[test]
    fn empty_documents_are_none() {
        assert!(parse("").unwrap().is_none());
        assert!(parse("# only a comment\n").unwrap().is_none());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let text = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
        if let Ok(Some(doc)) = parse(&text) {
            let mut count = 0;
            walk(&doc, &mut |_, _| count += 1);
            assert!(count <= MAX_DEPTH + 1);
            let _ = to_json(&doc);
        }
    }
}
