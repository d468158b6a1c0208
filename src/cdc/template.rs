//! `${VAR}` substitution for the connector template (pure). The syntax and its tokenizer are the
//! package contract's (`packages::connect`): `${NAME}` takes a configuration variable,
//! `${NAME:-default}` falls back to `default` when the variable is unset, and a config provider
//! reference such as `${file:/secrets/pg.properties:password}` is left for Kafka Connect.

use std::collections::BTreeMap;

use crate::packages::connect::{Piece, pieces};

/// A variable a template may use: its value (if set) and whether it is a secret.
#[derive(Debug, Clone)]
pub struct TemplateVar {
    pub value: Option<String>,
    pub secret: bool,
}

pub type TemplateVars = BTreeMap<String, TemplateVar>;

/// A problem in the template, located by field; the caller adds the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub field: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl TemplateError {
    pub fn new(field: Option<&str>, message: impl Into<String>) -> TemplateError {
        TemplateError { field: field.map(str::to_string), message: message.into(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> TemplateError {
        self.hint = Some(hint.into());
        self
    }
}

/// The template's fields as strings, before substitution: a flat JSON object, or the
/// `{"name": ..., "config": {...}}` shape that `POST /connectors` takes.
pub fn parse_fields(text: &str) -> Result<BTreeMap<String, String>, TemplateError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| TemplateError::new(None, format!("is not valid JSON: {e}")).with_hint("fix the JSON syntax"))?;
    let object = match &value {
        serde_json::Value::Object(o) => match o.get("config") {
            Some(serde_json::Value::Object(config)) => config,
            _ => o,
        },
        _ => return Err(TemplateError::new(None, "must be a JSON object of connector settings")),
    };
    object
        .iter()
        .map(|(key, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(TemplateError::new(Some(key), "must be a string, number or boolean")
                        .with_hint("Kafka Connect settings are flat key/value pairs"));
                }
            };
            Ok((key.clone(), text))
        })
        .collect()
}

/// Substitutes the placeholders of one field's value. Secrets may only be used in `*password`
/// fields, so a template can't route one into a topic name, a log line or a query.
pub fn substitute(field: &str, raw: &str, vars: &TemplateVars) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(raw.len());
    for (_, piece) in pieces(raw) {
        let (name, default) = match piece {
            // Not ours: Kafka Connect resolves provider references; package validation reports
            // anything else in `${...}`.
            Piece::Text(text) | Piece::Provider(text) | Piece::Invalid(text) => {
                out.push_str(text);
                continue;
            }
            Piece::Unclosed(_) => {
                return Err(TemplateError::new(Some(field), format!("unclosed placeholder in {raw:?}"))
                    .with_hint("write ${NAME} or ${NAME:-default}"));
            }
            Piece::Var { name, default } => (name, default),
        };
        let var = vars.get(name).ok_or_else(|| {
            TemplateError::new(Some(field), format!("unknown variable ${{{name}}}"))
                .with_hint("`olmisctl config` lists the variables a template can use")
        })?;
        if var.secret && !field.ends_with("password") {
            return Err(TemplateError::new(
                Some(field),
                format!("the secret {name} may only be used in a password field"),
            )
            .with_hint("secrets go to Kafka Connect in password fields only, where Connect masks them"));
        }
        match (&var.value, default) {
            (Some(value), _) => out.push_str(value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                return Err(TemplateError::new(
                    Some(field),
                    format!("{name} is not set and the template gives no default"),
                )
                .with_hint(format!("set {name} in the environment or .env, or write ${{{name}:-default}}")));
            }
        }
    }
    Ok(out)
}

/// The fields that use only the given placeholder and nothing else (e.g. `"${SOURCE_PG_PASSWORD}"`).
pub fn is_exactly(raw: &str, name: &str) -> bool {
    raw.trim() == format!("${{{name}}}")
}

/// A Kafka Connect config provider reference (`${provider:...}`), resolved by the worker.
pub fn is_provider_reference(raw: &str) -> bool {
    matches!(pieces(raw.trim())[..], [(_, Piece::Provider(_))])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> TemplateVars {
        let mut v = TemplateVars::new();
        v.insert("HOST".into(), TemplateVar { value: Some("db".into()), secret: false });
        v.insert("UNSET".into(), TemplateVar { value: None, secret: false });
        v.insert("PASS".into(), TemplateVar { value: Some("s3cret-value".into()), secret: true });
        v
    }

    #[test]
    fn substitutes_values_and_defaults() {
        assert_eq!(substitute("f", "${HOST}:5432", &vars()).unwrap(), "db:5432");
        assert_eq!(substitute("f", "${UNSET:-a.b,c.d}", &vars()).unwrap(), "a.b,c.d");
        assert_eq!(substitute("f", "${HOST:-other}", &vars()).unwrap(), "db");
        assert_eq!(substitute("f", "no placeholders", &vars()).unwrap(), "no placeholders");
    }

    #[test]
    fn leaves_config_provider_references_to_connect() {
        let raw = "${file:/run/secrets/pg.properties:password}";
        assert_eq!(substitute("database.password", raw, &vars()).unwrap(), raw);
        assert!(is_provider_reference(raw));
        assert!(!is_provider_reference("${PASS}"));
    }

    #[test]
    fn errors_name_the_field_and_the_way_out() {
        let err = substitute("database.hostname", "${NOPE}", &vars()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("database.hostname"));
        assert!(err.message.contains("unknown variable ${NOPE}"), "{err:?}");
        let err = substitute("table.include.list", "${UNSET}", &vars()).unwrap_err();
        assert!(err.message.contains("UNSET is not set"), "{err:?}");
        assert!(err.hint.unwrap().contains("${UNSET:-default}"));
        let err = substitute("x", "${HOST", &vars()).unwrap_err();
        assert!(err.message.contains("unclosed"), "{err:?}");
    }

    #[test]
    fn secrets_only_in_password_fields() {
        assert_eq!(substitute("database.password", "${PASS}", &vars()).unwrap(), "s3cret-value");
        let err = substitute("topic.prefix", "${PASS}", &vars()).unwrap_err();
        assert!(err.message.contains("only be used in a password field"), "{err:?}");
        assert!(!err.message.contains("s3cret"));
    }

    #[test]
    fn parses_flat_and_wrapped_templates() {
        let flat = parse_fields(r#"{"a": "x", "n": 5, "b": true}"#).unwrap();
        assert_eq!(flat["n"], "5");
        assert_eq!(flat["b"], "true");
        let wrapped = parse_fields(r#"{"name": "c", "config": {"a": "x"}}"#).unwrap();
        assert_eq!(wrapped.len(), 1);
        let err = parse_fields(r#"{"a": ["x"]}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("a"));
        let err = parse_fields("{ nope").unwrap_err();
        assert!(err.message.contains("not valid JSON"), "{err:?}");
    }
}
