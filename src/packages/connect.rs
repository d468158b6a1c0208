//! The connector config template in a package's `connect/` folder.
//!
//! Syntax (documented for package authors in the core package's README): the file is the JSON
//! body of Kafka Connect's `PUT /connectors/<name>/config`, with `${NAME}` placeholders inside
//! string values, where NAME is an olmisctl configuration variable, and `${NAME:-default}` for a
//! value used when the variable is empty. `${provider:...}` (lowercase, with a colon) is Kafka
//! Connect's own config-provider syntax and is left for Connect to resolve.

use crate::settings::TableName;

pub const TEMPLATE_FILE: &str = "connect/connector.json.tmpl";

/// The variable holding the captured tables; its default in the core's template is the core's
/// default allowlist.
pub const ALLOWLIST_VAR: &str = "SOURCE_PG_TABLE_ALLOWLIST";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub name: String,
    pub default: Option<String>,
    pub line: usize,
}

/// What is wrong in a template, with the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template {
    pub placeholders: Vec<Placeholder>,
    pub problems: Vec<TemplateProblem>,
    /// Config keys whose value is a literal credential: (key, line).
    pub literal_secrets: Vec<(String, usize)>,
}

impl Template {
    /// The default of `${SOURCE_PG_TABLE_ALLOWLIST:-...}`: the tables the package captures unless
    /// the operator overrides them. Else what is wrong with it, and its line when it is there.
    pub fn default_tables(&self) -> Result<Vec<TableName>, (Option<usize>, String)> {
        let Some(p) = self.placeholders.iter().find(|p| p.name == ALLOWLIST_VAR) else {
            let message =
                format!("the core's template has no `${{{ALLOWLIST_VAR}:-...}}`: it must list the tables it captures");
            return Err((None, message));
        };
        let listed = p.default.as_deref().map(crate::settings::split_list).unwrap_or_default();
        let bad: Vec<&String> = listed.iter().filter(|t| TableName::parse(t).is_none()).collect();
        let what = if listed.is_empty() {
            "no default tables".to_string()
        } else if !bad.is_empty() {
            format!("entries that are not schema.table: {bad:?}")
        } else {
            return Ok(listed.iter().filter_map(|t| TableName::parse(t)).collect());
        };
        Err((Some(p.line), format!("`${{{ALLOWLIST_VAR}:-...}}` has {what}")))
    }
}

fn line_at(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |prefix| prefix.matches('\n').count() + 1)
}

fn is_var_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Kafka Connect's config providers: `${file:/path:key}`, `${env:VAR}`, ...
fn is_config_provider(inner: &str) -> bool {
    inner.split_once(':').is_some_and(|(provider, _)| {
        provider.starts_with(|c: char| c.is_ascii_lowercase())
            && provider.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    })
}

/// One piece of a template text, in the syntax above. The one tokenizer of that syntax: package
/// validation reports on the pieces, `register-connector` substitutes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    /// `${NAME}` or `${NAME:-default}`.
    Var {
        name: &'a str,
        default: Option<&'a str>,
    },
    /// `${provider:...}`, written as it stands: Kafka Connect resolves it.
    Provider(&'a str),
    /// `${...}` that is neither a variable nor a provider reference, written as it stands.
    Invalid(&'a str),
    /// `${` with no closing `}`: the rest of the text from there.
    Unclosed(&'a str),
}

/// The pieces of `text`, each with its byte offset.
pub fn pieces(text: &str) -> Vec<(usize, Piece<'_>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(pos) = text[at..].find("${") {
        let start = at + pos;
        if start > at {
            out.push((at, Piece::Text(&text[at..start])));
        }
        let Some(len) = text[start + 2..].find('}') else {
            out.push((start, Piece::Unclosed(&text[start..])));
            return out;
        };
        let whole = &text[start..start + 2 + len + 1];
        let inner = &whole[2..whole.len() - 1];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        let piece = if is_var_name(name) {
            Piece::Var { name, default }
        } else if is_config_provider(inner) {
            Piece::Provider(whole)
        } else {
            Piece::Invalid(whole)
        };
        out.push((start, piece));
        at = start + whole.len();
    }
    if at < text.len() {
        out.push((at, Piece::Text(&text[at..])));
    }
    out
}

/// Every `${...}` in `text`, checked for syntax.
pub fn placeholders(text: &str) -> (Vec<Placeholder>, Vec<TemplateProblem>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for (offset, piece) in pieces(text) {
        let line = line_at(text, offset);
        match piece {
            Piece::Var { name, default } => {
                found.push(Placeholder { name: name.to_string(), default: default.map(str::to_string), line })
            }
            Piece::Invalid(whole) => problems.push(TemplateProblem {
                line,
                message: format!("`{whole}` is not a placeholder: expected ${{VARIABLE}} or ${{VARIABLE:-default}} with an uppercase configuration variable"),
            }),
            Piece::Unclosed(_) => {
                problems.push(TemplateProblem { line, message: "`${` without a closing `}`".to_string() })
            }
            Piece::Text(_) | Piece::Provider(_) => {}
        }
    }
    (found, problems)
}

/// Parses a template: placeholders, JSON shape, and credentials written in clear.
pub fn parse_template(text: &str) -> Template {
    let (placeholders, mut problems) = placeholders(text);
    let mut literal_secrets = Vec::new();
    match serde_json::from_str::<serde_json::Value>(text) {
        Err(e) => problems.push(TemplateProblem { line: e.line().max(1), message: format!("is not valid JSON: {e}") }),
        Ok(serde_json::Value::Object(config)) => {
            if !config.contains_key("connector.class") {
                problems.push(TemplateProblem { line: 1, message: "has no `connector.class`".to_string() });
            }
            for (key, value) in &config {
                let key_line = text.find(&format!("\"{key}\"")).map_or(1, |at| line_at(text, at));
                match value {
                    serde_json::Value::String(v) => {
                        if super::superset::is_credential_key(key) && !is_reference(v) {
                            literal_secrets.push((key.clone(), key_line));
                        }
                    }
                    _ => problems.push(TemplateProblem {
                        line: key_line,
                        message: format!("`{key}` must be a string (Kafka Connect configs are string maps)"),
                    }),
                }
            }
        }
        Ok(_) => {
            problems.push(TemplateProblem { line: 1, message: "must be a JSON object of config keys".to_string() })
        }
    }
    Template { placeholders, problems, literal_secrets }
}

/// An empty value, a `${...}` placeholder or a Connect config-provider reference.
fn is_reference(value: &str) -> bool {
    let v = value.trim();
    v.is_empty() || (v.starts_with("${") && v.ends_with('}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_with_defaults_and_providers() {
        let text = "{\n  \"connector.class\": \"x\",\n  \"database.hostname\": \"${SOURCE_PG_CONNECT_HOST}\",\n  \"database.password\": \"${SOURCE_PG_PASSWORD}\",\n  \"table.include.list\": \"${SOURCE_PG_TABLE_ALLOWLIST:-referencedata.facilities, requisition.requisitions}\",\n  \"x.y\": \"${file:/secrets/pg.properties:password}\"\n}\n";
        let t = parse_template(text);
        assert!(t.problems.is_empty() && t.literal_secrets.is_empty(), "{t:?}");
        let names: Vec<(&str, usize)> = t.placeholders.iter().map(|p| (p.name.as_str(), p.line)).collect();
        assert_eq!(
            names,
            vec![("SOURCE_PG_CONNECT_HOST", 3), ("SOURCE_PG_PASSWORD", 4), ("SOURCE_PG_TABLE_ALLOWLIST", 5)]
        );
        let tables: Vec<String> = t.default_tables().unwrap().iter().map(ToString::to_string).collect();
        assert_eq!(tables, vec!["referencedata.facilities", "requisition.requisitions"]);
    }

    #[test]
    fn default_tables_must_all_be_schema_table() {
        let t = parse_template("{\n\"table.include.list\": \"${SOURCE_PG_TABLE_ALLOWLIST:-a.b,Facilities}\"\n}");
        let (line, message) = t.default_tables().unwrap_err();
        assert_eq!(line, Some(2));
        assert!(message.contains("\"Facilities\""), "{message}");
        let t = parse_template("{\"table.include.list\": \"a.b\"}");
        assert_eq!(t.default_tables().unwrap_err().0, None);
    }

    #[test]
    fn pieces_cover_the_whole_text() {
        let text = "a${X_1}b${Y:-d:e}${file:/p:k}${x y}${Z";
        let pieces = pieces(text);
        assert_eq!(
            pieces,
            vec![
                (0, Piece::Text("a")),
                (1, Piece::Var { name: "X_1", default: None }),
                (7, Piece::Text("b")),
                (8, Piece::Var { name: "Y", default: Some("d:e") }),
                (17, Piece::Provider("${file:/p:k}")),
                (29, Piece::Invalid("${x y}")),
                (35, Piece::Unclosed("${Z")),
            ]
        );
    }

    #[test]
    fn literal_passwords_and_bad_syntax() {
        let t =
            parse_template("{\"connector.class\": \"x\",\n\"database.password\": \"hunter2\",\n\"a\": \"${lower}\"}");
        assert_eq!(t.literal_secrets, vec![("database.password".to_string(), 2)]);
        assert_eq!(t.problems.len(), 1, "{:?}", t.problems);
        let t = parse_template("{\"connector.class\": \"x\", \"a\": \"${x y}\"}");
        assert!(t.problems[0].message.contains("is not a placeholder"));
        let t = parse_template("{\"a\": 1");
        assert!(t.problems[0].message.contains("not valid JSON"));
        let t = parse_template("${");
        assert!(t.problems[0].message.contains("without a closing"));
    }
}
