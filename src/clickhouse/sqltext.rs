//! Reading ClickHouse's own single-line formatting of CREATE statements (`formatQuerySingleLine`,
//! `system.tables.create_table_query`) into comparable parts. Both sides of a comparison come
//! from the same formatter, so a plain scan for top-level keywords is enough: no SQL parser here.

/// The parts of a CREATE TABLE or CREATE MATERIALIZED VIEW statement that can drift.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Definition {
    /// Column name and its whole declaration (`` `lsn` UInt64 ``).
    pub columns: Vec<(String, String)>,
    /// The engine and its arguments (`MergeTree`, `Kafka`, `ReplicatedMergeTree('...', '...')`).
    pub engine: String,
    /// Table clauses after the engine, keyword first (`ORDER BY`, `TTL`, ...), in statement order.
    pub clauses: Vec<(&'static str, String)>,
    /// Materialized views: the target table and the SELECT.
    pub target: Option<String>,
    pub select: Option<String>,
}

const CLAUSES: &[&str] = &["PARTITION BY", "PRIMARY KEY", "ORDER BY", "SAMPLE BY", "TTL", "SETTINGS", "COMMENT"];

impl Definition {
    pub fn clause(&self, keyword: &str) -> Option<&str> {
        self.clauses.iter().find(|(k, _)| *k == keyword).map(|(_, v)| v.as_str())
    }

    /// `SETTINGS a = 1, b = 'x'` as pairs; values stay as written (quoted literals included).
    pub fn settings(&self) -> Vec<(String, String)> {
        self.clause("SETTINGS")
            .map(|s| {
                split_top_level(s, ',')
                    .into_iter()
                    .filter_map(|pair| pair.split_once('=').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn setting(&self, key: &str) -> Option<String> {
        self.settings().into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// The statement as it would be stored: no IF NOT EXISTS, no ON CLUSTER, and no column list on
/// a materialized view (the server derives and stores one; ours never states it).
pub fn canonical(formatted: &str) -> String {
    let mut q = formatted.trim().to_string();
    for kind in ["CREATE TABLE ", "CREATE MATERIALIZED VIEW "] {
        if let Some(rest) = q.strip_prefix(&format!("{kind}IF NOT EXISTS ")) {
            q = format!("{kind}{rest}");
        }
    }
    if let Some(pos) = find_top_level(&q, " ON CLUSTER ") {
        let after = &q[pos + " ON CLUSTER ".len()..];
        let end = after.find(' ').unwrap_or(after.len());
        q = format!("{}{}", &q[..pos], &after[end..]);
    }
    if q.starts_with("CREATE MATERIALIZED VIEW ")
        && let Some(to) = find_top_level(&q, " TO ")
    {
        let after_to = &q[to + 4..];
        let target_end = after_to.find(' ').unwrap_or(after_to.len());
        let rest = &after_to[target_end..];
        if let Some(columns) = rest.strip_prefix(" (")
            && let Some(close) = matching_paren(columns)
        {
            q = format!("{}{}", &q[..to + 4 + target_end], &columns[close + 1..]);
        }
    }
    q
}

/// Splits a canonical statement into its parts.
pub fn parse(canonical: &str) -> Definition {
    if canonical.starts_with("CREATE MATERIALIZED VIEW ") {
        let Some(to) = find_top_level(canonical, " TO ") else { return Definition::default() };
        let after = &canonical[to + 4..];
        let (target, rest) = after.split_once(' ').unwrap_or((after, ""));
        return Definition {
            target: Some(target.to_string()),
            select: rest.strip_prefix("AS ").map(str::to_string),
            ..Definition::default()
        };
    }
    let mut def = Definition::default();
    let Some(open) = canonical.find(" (") else { return def };
    let body = &canonical[open + 2..];
    let Some(close) = matching_paren(body) else { return def };
    def.columns =
        split_top_level(&body[..close], ',').into_iter().map(|column| (column_name(&column), column)).collect();
    let rest = body[close + 1..].trim_start();
    let Some(engine) = rest.strip_prefix("ENGINE = ") else { return def };
    let mut marks: Vec<(usize, &'static str)> =
        CLAUSES.iter().filter_map(|k| find_top_level(engine, &format!(" {k} ")).map(|p| (p, *k))).collect();
    marks.sort();
    def.engine = engine[..marks.first().map_or(engine.len(), |(p, _)| *p)].to_string();
    for (i, (pos, keyword)) in marks.iter().enumerate() {
        let start = pos + keyword.len() + 2;
        let end = marks.get(i + 1).map_or(engine.len(), |(p, _)| *p);
        def.clauses.push((keyword, engine.get(start..end).unwrap_or_default().to_string()));
    }
    def
}

/// A quoted SQL string literal's value (`'a\'b'` -> `a'b`); other text comes back as is.
pub fn unquote(value: &str) -> String {
    match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => value.to_string(),
    }
}

fn column_name(column: &str) -> String {
    match column.strip_prefix('`') {
        Some(rest) => rest.split('`').next().unwrap_or(rest).to_string(),
        None => column.split(' ').next().unwrap_or(column).to_string(),
    }
}

/// Byte positions of `text`'s characters that are outside quotes, with their paren depth.
fn top_level_chars(text: &str) -> impl Iterator<Item = (usize, char, usize)> + '_ {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    text.char_indices().filter_map(move |(i, c)| {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            return None;
        }
        match c {
            '\'' | '`' | '"' => {
                quote = Some(c);
                None
            }
            '(' | '[' => {
                depth += 1;
                None
            }
            ')' | ']' => {
                depth = depth.saturating_sub(1);
                None
            }
            _ => Some((i, c, depth)),
        }
    })
}

fn find_top_level(text: &str, needle: &str) -> Option<usize> {
    let first = needle.chars().next()?;
    top_level_chars(text).find(|&(i, c, depth)| depth == 0 && c == first && text[i..].starts_with(needle)).map(|t| t.0)
}

/// Index of the `)` closing a group whose `(` was just before `text`.
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 1usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '`' | '"' => quote = Some(c),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn split_top_level(text: &str, separator: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c, depth) in top_level_chars(text) {
        if depth == 0 && c == separator {
            parts.push(text[start..i].trim().to_string());
            start = i + c.len_utf8();
        }
    }
    let last = text[start..].trim();
    if !last.is_empty() {
        parts.push(last.to_string());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "CREATE TABLE IF NOT EXISTS raw.events_s_t ON CLUSTER analytics (`kafka_topic` LowCardinality(String), `note` String DEFAULT 'a, (b)', `ingested_at` DateTime64(3) DEFAULT now64(3)) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/raw/events_s_t', '{replica}') PARTITION BY toYYYYMM(ingested_at) ORDER BY (kafka_key, lsn, kafka_offset) TTL toDateTime(ingested_at) + toIntervalDay(30) SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1";

    #[test]
    fn canonical_drops_what_the_server_does_not_store() {
        let q = canonical(TABLE);
        assert!(q.starts_with("CREATE TABLE raw.events_s_t (`kafka_topic`"), "{q}");
        let mv = "CREATE MATERIALIZED VIEW raw.v TO raw.t (`a` String, `b` DateTime64(3)) AS SELECT a, b FROM raw.s";
        assert_eq!(canonical(mv), "CREATE MATERIALIZED VIEW raw.v TO raw.t AS SELECT a, b FROM raw.s");
        let ours = "CREATE MATERIALIZED VIEW IF NOT EXISTS raw.v ON CLUSTER c TO raw.t AS SELECT a, b FROM raw.s";
        assert_eq!(canonical(ours), canonical(mv));
    }

    #[test]
    fn tables_split_into_columns_engine_and_clauses() {
        let def = parse(&canonical(TABLE));
        let names: Vec<_> = def.columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["kafka_topic", "note", "ingested_at"]);
        assert_eq!(def.columns[1].1, "`note` String DEFAULT 'a, (b)'");
        assert_eq!(def.engine, "ReplicatedMergeTree('/clickhouse/tables/{shard}/raw/events_s_t', '{replica}')");
        assert_eq!(def.clause("ORDER BY"), Some("(kafka_key, lsn, kafka_offset)"));
        assert_eq!(def.clause("TTL"), Some("toDateTime(ingested_at) + toIntervalDay(30)"));
        assert_eq!(def.clause("PRIMARY KEY"), None);
        assert_eq!(def.setting("ttl_only_drop_parts").as_deref(), Some("1"));
    }

    #[test]
    fn kafka_settings_keep_their_literals() {
        let q = "CREATE TABLE raw.kafka_s_t (`message` String) ENGINE = Kafka SETTINGS kafka_broker_list = 'a:1,b:2', kafka_group_name = 'it\\'s', kafka_num_consumers = 1";
        let def = parse(q);
        assert_eq!(def.engine, "Kafka");
        assert_eq!(def.setting("kafka_broker_list").as_deref(), Some("'a:1,b:2'"));
        assert_eq!(unquote(&def.setting("kafka_group_name").unwrap()), "it's");
    }

    #[test]
    fn views_split_into_target_and_select() {
        let def = parse("CREATE MATERIALIZED VIEW raw.v TO raw.t AS SELECT a FROM raw.s WHERE error = ''");
        assert_eq!(def.target.as_deref(), Some("raw.t"));
        assert_eq!(def.select.as_deref(), Some("SELECT a FROM raw.s WHERE error = ''"));
    }

    #[test]
    fn keywords_inside_literals_are_not_clauses() {
        let q = "CREATE TABLE raw.x (`a` String DEFAULT ' TTL ') ENGINE = MergeTree ORDER BY a COMMENT 'x ORDER BY y'";
        let def = parse(q);
        assert_eq!(def.clause("TTL"), None);
        assert_eq!(def.clause("ORDER BY"), Some("a"));
        assert_eq!(def.clause("COMMENT"), Some("'x ORDER BY y'"));
    }
}
