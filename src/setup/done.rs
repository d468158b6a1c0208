//! Done-states of the steps whose services can't answer "already done?" directly (pure): the dbt
//! marts (built after the newest raw event and after the last change to the packages' models?) and
//! the Superset import (the same bundles as last time, and every object still there?).

use std::collections::BTreeMap;

/// The last dbt run, as its `run_results.json` tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastBuild {
    /// When dbt wrote the results (epoch milliseconds).
    pub finished_ms: i64,
    /// `dbt build`, as opposed to `dbt test` or `dbt run` of a selection.
    pub was_build: bool,
    /// No model or test failed or errored.
    pub succeeded: bool,
}

/// `Ok(why the marts are current)` or `Err(why they need a build)`.
pub fn marts_current(
    last: Option<&LastBuild>,
    newest_raw_ms: Option<i64>,
    models_changed_ms: Option<i64>,
) -> Result<String, String> {
    let Some(last) = last else { return Err("no dbt build has run yet".into()) };
    if !last.was_build {
        return Err("the last dbt run was not a build".into());
    }
    if !last.succeeded {
        return Err("the last build had failures".into());
    }
    if let Some(raw) = newest_raw_ms.filter(|raw| *raw >= last.finished_ms) {
        return Err(format!("raw events landed {}s after the last build", (raw - last.finished_ms) / 1000));
    }
    if models_changed_ms.is_some_and(|changed| changed >= last.finished_ms) {
        return Err("the packages' dbt files changed after the last build".into());
    }
    Ok("built after the newest raw event, and no model changed since".into())
}

/// `None` when the import can be skipped; otherwise why it can't.
pub fn superset_import_needed(
    last: Option<&BTreeMap<String, String>>,
    current: &BTreeMap<String, String>,
    missing: &[String],
) -> Option<String> {
    let Some(last) = last else { return Some("not imported by setup yet".into()) };
    if last != current {
        let changed: Vec<&str> = current
            .iter()
            .filter(|(package, digest)| last.get(*package) != Some(*digest))
            .map(|(p, _)| p.as_str())
            .collect();
        return Some(if changed.is_empty() {
            "the set of packages changed".to_string()
        } else {
            format!("the assets of {} changed", changed.join(", "))
        });
    }
    (!missing.is_empty()).then(|| format!("missing in Superset: {}", missing.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILD: LastBuild = LastBuild { finished_ms: 10_000, was_build: true, succeeded: true };

    #[test]
    fn marts_are_current_only_after_a_clean_build_newer_than_raw_and_models() {
        assert!(marts_current(Some(&BUILD), Some(9_000), Some(1_000)).is_ok());
        assert!(marts_current(Some(&BUILD), None, None).is_ok());
        assert_eq!(marts_current(None, None, None).unwrap_err(), "no dbt build has run yet");
        assert!(marts_current(Some(&BUILD), Some(13_000), None).unwrap_err().contains("3s after the last build"));
        assert!(marts_current(Some(&BUILD), Some(9_000), Some(10_500)).unwrap_err().contains("dbt files changed"));
        let failed = LastBuild { succeeded: false, ..BUILD };
        assert!(marts_current(Some(&failed), None, None).unwrap_err().contains("failures"));
        let test_only = LastBuild { was_build: false, ..BUILD };
        assert!(marts_current(Some(&test_only), None, None).is_err());
    }

    #[test]
    fn superset_import_is_skipped_only_for_the_same_bundles_with_every_object_present() {
        let digests: BTreeMap<String, String> =
            [("core".to_string(), "a".to_string()), ("malawi".to_string(), "b".to_string())].into();
        assert_eq!(superset_import_needed(Some(&digests), &digests, &[]), None);
        assert!(superset_import_needed(None, &digests, &[]).is_some());
        let mut changed = digests.clone();
        changed.insert("malawi".into(), "c".into());
        assert_eq!(superset_import_needed(Some(&digests), &changed, &[]).unwrap(), "the assets of malawi changed");
        let missing = vec!["dashboard \"Stock\"".to_string()];
        assert!(superset_import_needed(Some(&digests), &digests, &missing).unwrap().contains("Stock"));
    }
}
