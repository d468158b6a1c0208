//! Finds the dbt calls that matter to the validator in SQL/Jinja text: `ref(...)`,
//! `config(alias=..., schema=...)` and `{% snapshot name %}`. A small tokenizer, not a Jinja engine: it reads
//! only literal arguments (a `ref(some_var)` can't be resolved statically and is skipped), skips
//! `{# comments #}`, and never panics on truncated or binary-looking input.

/// A `ref()` with literal arguments: `ref('model')` or `ref('package', 'model')`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefCall {
    pub package: Option<String>,
    pub name: String,
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqlFacts {
    pub refs: Vec<RefCall>,
    /// `config(alias='...')`, with its line.
    pub alias: Option<(String, usize)>,
    /// `config(schema='...')`, with its line.
    pub schema: Option<(String, usize)>,
    /// Names of `{% snapshot name %}` blocks, with their lines.
    pub snapshots: Vec<(String, usize)>,
}

/// Scans a dbt SQL file: only the code inside `{{ }}` and `{% %}` counts.
pub fn scan_sql(text: &str) -> SqlFacts {
    let bytes = text.as_bytes();
    let lines = LineIndex::new(bytes);
    let mut facts = SqlFacts::default();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] != b'{' {
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            b'#' => i = find(bytes, i + 2, b"#}").map_or(bytes.len(), |end| end + 2),
            open @ (b'{' | b'%') => {
                let close: &[u8] = if open == b'{' { b"}}" } else { b"%}" };
                let start = i + 2;
                let end = code_end(bytes, start, close);
                let tokens = tokenize(bytes, start, end);
                collect(&tokens, bytes, &lines, open == b'%', false, &mut facts);
                i = end + close.len();
            }
            _ => i += 1,
        }
    }
    facts
}

/// Scans plain code: a Python model (`dbt.ref("x")`) or a YAML value (`ref('x')`).
pub fn scan_code(text: &str) -> SqlFacts {
    let bytes = text.as_bytes();
    let lines = LineIndex::new(bytes);
    let mut facts = SqlFacts::default();
    let tokens = tokenize(bytes, 0, bytes.len());
    collect(&tokens, bytes, &lines, false, true, &mut facts);
    facts
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    Str,
    Punct(u8),
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    /// Byte range of the content (for strings: between the quotes).
    start: usize,
    end: usize,
}

impl Token {
    fn text<'b>(&self, bytes: &'b [u8]) -> &'b str {
        // Token boundaries are at ASCII bytes, so the slice is valid UTF-8 whenever the input is.
        std::str::from_utf8(bytes.get(self.start..self.end).unwrap_or_default()).unwrap_or_default()
    }

    fn is(&self, bytes: &[u8], ident: &str) -> bool {
        self.kind == Kind::Ident && self.text(bytes) == ident
    }
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// Where a Jinja block that starts at `from` ends: the first `close` outside a string literal.
fn code_end(bytes: &[u8], from: usize, close: &[u8]) -> usize {
    let mut i = from;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if bytes[i..].starts_with(close) => return i,
            None => {}
        }
        i += 1;
    }
    bytes.len()
}

fn tokenize(bytes: &[u8], from: usize, to: usize) -> Vec<Token> {
    let to = to.min(bytes.len());
    let mut tokens = Vec::new();
    let mut i = from;
    while i < to {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
        } else if b == b'\'' || b == b'"' {
            let start = i + 1;
            let mut j = start;
            while j < to && bytes[j] != b {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            let end = j.min(to);
            tokens.push(Token { kind: Kind::Str, start, end });
            i = end + 1;
        } else if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < to && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            tokens.push(Token { kind: Kind::Ident, start, end: i });
        } else if b.is_ascii() {
            tokens.push(Token { kind: Kind::Punct(b), start: i, end: i + 1 });
            i += 1;
        } else {
            // Part of a multi-byte character outside a string: not code we care about.
            i += 1;
        }
    }
    tokens
}

/// An argument of a call: a string literal, or anything else (an expression we don't evaluate).
enum Arg {
    Literal(String),
    Expression,
}

struct Call {
    positional: Vec<Arg>,
    keywords: Vec<(String, Arg)>,
}

/// Reads the arguments of a call whose `(` is at `tokens[open]`.
fn call_args(tokens: &[Token], open: usize, bytes: &[u8]) -> Call {
    let mut call = Call { positional: Vec::new(), keywords: Vec::new() };
    let mut i = open + 1;
    let mut depth = 0usize;
    let mut current: Vec<Token> = Vec::new();
    let flush = |current: &mut Vec<Token>, call: &mut Call| {
        let arg = |toks: &[Token]| match toks {
            [t] if t.kind == Kind::Str => Arg::Literal(t.text(bytes).to_string()),
            _ => Arg::Expression,
        };
        match current.as_slice() {
            [] => {}
            [k, eq, rest @ ..] if k.kind == Kind::Ident && eq.kind == Kind::Punct(b'=') => {
                call.keywords.push((k.text(bytes).to_string(), arg(rest)))
            }
            toks => call.positional.push(arg(toks)),
        }
        current.clear();
    };
    while let Some(t) = tokens.get(i) {
        match t.kind {
            Kind::Punct(b'(' | b'[' | b'{') => depth += 1,
            Kind::Punct(b')' | b']' | b'}') if depth == 0 => break,
            Kind::Punct(b')' | b']' | b'}') => depth -= 1,
            Kind::Punct(b',') if depth == 0 => {
                flush(&mut current, &mut call);
                i += 1;
                continue;
            }
            _ => {}
        }
        current.push(*t);
        i += 1;
    }
    flush(&mut current, &mut call);
    call
}

fn collect(tokens: &[Token], bytes: &[u8], lines: &LineIndex, statement: bool, dotted: bool, facts: &mut SqlFacts) {
    if statement {
        let mut rest = tokens.iter().skip_while(|t| t.kind == Kind::Punct(b'-'));
        if let (Some(kw), Some(name)) = (rest.next(), rest.next())
            && kw.is(bytes, "snapshot")
            && name.kind == Kind::Ident
        {
            facts.snapshots.push((name.text(bytes).to_string(), lines.line(kw.start)));
        }
    }
    for (i, t) in tokens.iter().enumerate() {
        if t.kind != Kind::Ident || tokens.get(i + 1).map(|n| n.kind) != Some(Kind::Punct(b'(')) {
            continue;
        }
        // `x.ref(` is someone else's method, except `dbt.ref(` in Python models.
        let after_dot = i > 0 && tokens[i - 1].kind == Kind::Punct(b'.');
        let via_dbt = after_dot && i > 1 && tokens[i - 2].is(bytes, "dbt");
        if after_dot && !(dotted && via_dbt) {
            continue;
        }
        match t.text(bytes) {
            "ref" => {
                let call = call_args(tokens, i + 1, bytes);
                let literal: Option<Vec<&str>> = call
                    .positional
                    .iter()
                    .map(|a| match a {
                        Arg::Literal(s) => Some(s.as_str()),
                        Arg::Expression => None,
                    })
                    .collect();
                let (package, name) = match literal.as_deref() {
                    Some([name]) => (None, *name),
                    Some([package, name]) => (Some(package.to_string()), *name),
                    _ => continue,
                };
                facts.refs.push(RefCall { package, name: name.to_string(), line: lines.line(t.start) });
            }
            "config" => {
                let call = call_args(tokens, i + 1, bytes);
                for (key, value) in call.keywords {
                    match (key.as_str(), value) {
                        ("alias", Arg::Literal(alias)) => facts.alias = Some((alias, lines.line(t.start))),
                        ("schema", Arg::Literal(schema)) => facts.schema = Some((schema, lines.line(t.start))),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

/// Byte offset to 1-based line.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(bytes: &[u8]) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(facts: &SqlFacts) -> Vec<(Option<&str>, &str, usize)> {
        facts.refs.iter().map(|r| (r.package.as_deref(), r.name.as_str(), r.line)).collect()
    }

    #[test]
    fn finds_refs_aliases_and_snapshots() {
        let sql = "{{ config(materialized='table', alias=\"mart_x\") }}\n\
                   select * from {{ ref('stg_a') }}\n\
                   join {{ref(\"olmis_analytics_core\", 'mart_b')}} using (id)\n\
                   join {{ ref('versioned', v=2) }} using (id)\n\
                   {# {{ ref('commented_out') }} #}\n\
                   -- a SQL comment still renders: {{ ref('in_sql_comment') }}\n\
                   {% set t = ref(some_var) %}{{ xref('no') }}{{ obj.ref('no') }}\n";
        let facts = scan_sql(sql);
        assert_eq!(
            names(&facts),
            vec![
                (None, "stg_a", 2),
                (Some("olmis_analytics_core"), "mart_b", 3),
                (None, "versioned", 4),
                (None, "in_sql_comment", 6)
            ]
        );
        assert_eq!(facts.alias, Some(("mart_x".to_string(), 1)));
        assert_eq!(facts.schema, None);
        assert_eq!(scan_sql("{{ config(schema='staging') }}").schema, Some(("staging".to_string(), 1)));
        let snap = scan_sql("{% snapshot orders_snapshot %}\nselect 1 from {{ ref('orders') }}\n{% endsnapshot %}");
        assert_eq!(snap.snapshots, vec![("orders_snapshot".to_string(), 1)]);
        assert_eq!(names(&snap), vec![(None, "orders", 2)]);
        assert_eq!(scan_sql("{%- snapshot s -%}{%- endsnapshot -%}").snapshots.len(), 1);
    }

    #[test]
    fn strings_with_braces_do_not_end_a_block() {
        let facts = scan_sql("{{ config(alias='a}}b') }} {{ ref('after') }}");
        assert_eq!(facts.alias.clone().unwrap().0, "a}}b");
        assert_eq!(names(&facts), vec![(None, "after", 1)]);
    }

    #[test]
    fn python_models_and_yaml_values() {
        let py = "def model(dbt, session):\n    dbt.config(alias='py_alias')\n    return dbt.ref(\"stg_a\")\n";
        let facts = scan_code(py);
        assert_eq!(names(&facts), vec![(None, "stg_a", 3)]);
        assert_eq!(facts.alias.unwrap().0, "py_alias");
        assert_eq!(names(&scan_code("ref('mart_x')")), vec![(None, "mart_x", 1)]);
    }

    #[test]
    fn never_panics_on_truncated_or_odd_input() {
        let sql = "{{ config(alias='x') }} select {{ ref('a', 'b') }} {% snapshot s %} {# c #} é ü \\ ' \"";
        for end in 0..=sql.len() {
            if let Some(prefix) = sql.get(..end) {
                let _ = scan_sql(prefix);
                let _ = scan_code(prefix);
            }
        }
        for text in [
            "{{",
            "{%",
            "{#",
            "{{ ref(",
            "{{ ref('",
            "{{ ref('a'",
            "{{ config(alias=",
            "{{ ref)('x') }}",
            "{{ ref(('a')) }}",
        ] {
            let _ = scan_sql(text);
        }
        assert!(scan_sql("{{ ref(('a')) }}").refs.is_empty());
    }
}
