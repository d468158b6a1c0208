//! The validator's result: PASS/FAIL per rule and package for people, every finding for machines,
//! and a [`CheckReport`] for `verify packages`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::manifest::PackageKind;
use super::model::{Finding, PackageModel};
use super::rules::{self, RULES, SET, Scope};
use crate::checks::{Check, CheckReport, Level, label};
use crate::error::Exit;
use crate::output::{Report, Styles};

#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub rule: &'static str,
    pub status: Level,
    pub violations: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PackageResult {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Option<PackageKind>,
    pub version: Option<String>,
    pub root: PathBuf,
    pub rules: Vec<RuleResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    pub valid: bool,
    pub packages: Vec<PackageResult>,
    /// Rules about the set as a whole (one core, unique names).
    pub set: Vec<RuleResult>,
    pub findings: Vec<Finding>,
}

impl ValidationReport {
    pub fn new(set: &[PackageModel], mut findings: Vec<Finding>) -> ValidationReport {
        findings.sort_by(|a, b| (a.rule, &a.file, a.line).cmp(&(b.rule, &b.file, b.line)));
        findings.dedup();
        let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for f in &findings {
            *counts.entry((f.package.as_str(), f.rule)).or_default() += 1;
        }
        let result = |package: &str, rule: &'static str| {
            let violations = counts.get(&(package, rule)).copied().unwrap_or(0);
            RuleResult { rule, status: if violations == 0 { Level::Pass } else { Level::Fail }, violations }
        };
        let packages = set
            .iter()
            .map(|pkg| PackageResult {
                name: pkg.label.clone(),
                kind: pkg.kind(),
                version: pkg.manifest.as_ref().map(|m| m.version.to_string()),
                root: pkg.root.clone(),
                rules: RULES
                    .iter()
                    .filter(|r| rules::applies(r, pkg) || counts.contains_key(&(pkg.label.as_str(), r.id)))
                    .map(|r| result(&pkg.label, r.id))
                    .collect(),
            })
            .collect();
        let set_rules = RULES.iter().filter(|r| r.scope == Scope::Set).map(|r| result(SET, r.id)).collect();
        ValidationReport { valid: findings.is_empty(), packages, set: set_rules, findings }
    }

    fn findings_for<'a>(&'a self, package: &'a str, rule: &'a str) -> impl Iterator<Item = &'a Finding> {
        self.findings.iter().filter(move |f| f.package == package && f.rule == rule)
    }

    fn rule_lines(&self, out: &mut String, package: &str, results: &[RuleResult], styles: &Styles) {
        for r in results {
            out.push_str(&format!("  {} {}\n", label(r.status, styles), r.rule));
            let mut own_hints = true;
            for f in self.findings_for(package, r.rule) {
                let at = f.location();
                let at = if at.is_empty() { String::new() } else { format!("{} ", styles.bold.apply_to(at)) };
                out.push_str(&format!("       {at}{}\n", f.message));
                if let Some(hint) = &f.hint {
                    out.push_str(&format!("         {} {hint}\n", styles.dim.apply_to("fix:")));
                } else {
                    own_hints = false;
                }
            }
            if r.status == Level::Fail
                && !own_hints
                && let Some(rule) = rules::find_rule(r.rule)
            {
                out.push_str(&format!("       {} {}\n", styles.dim.apply_to("fix:"), rule.hint));
            }
        }
    }

    /// For `verify packages`: one PASS line per clean package, one FAIL line per finding.
    pub fn to_checks(&self) -> CheckReport {
        let mut checks = Vec::new();
        for p in &self.packages {
            let failed: Vec<&Finding> = self.findings.iter().filter(|f| f.package == p.name).collect();
            if failed.is_empty() {
                checks.push(Check::pass(&p.name, format!("{} rules passed", p.rules.len())));
            }
            for f in failed {
                let at = f.location();
                let message = if at.is_empty() { f.message.clone() } else { format!("{at}: {}", f.message) };
                let check = Check::fail(format!("{} {}", p.name, f.rule), message);
                checks.push(match f.fix() {
                    Some(h) => check.with_hint(h),
                    None => check,
                });
            }
        }
        for f in self.findings.iter().filter(|f| f.package == SET) {
            let check = Check::fail(f.rule, &f.message);
            checks.push(match &f.hint {
                Some(h) => check.with_hint(h),
                None => check,
            });
        }
        CheckReport::new("Packages", checks)
    }
}

impl Report for ValidationReport {
    fn human(&self, styles: &Styles) -> String {
        let mut out = String::new();
        for p in &self.packages {
            let version = p.version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
            let kind = p.kind.map(|k| format!(" ({})", k.as_str())).unwrap_or_default();
            out.push_str(&format!(
                "{}{version}{kind}  {}\n",
                styles.bold.apply_to(&p.name),
                styles.dim.apply_to(p.root.display())
            ));
            self.rule_lines(&mut out, &p.name, &p.rules, styles);
        }
        out.push_str(&format!("{}\n", styles.bold.apply_to(SET)));
        self.rule_lines(&mut out, SET, &self.set, styles);
        let results = self.packages.iter().flat_map(|p| &p.rules).chain(&self.set);
        let (passed, failed): (Vec<&RuleResult>, Vec<&RuleResult>) = results.partition(|r| r.status == Level::Pass);
        let summary = format!(
            "{} packages: {} checks passed, {} failed ({} violations)",
            self.packages.len(),
            passed.len(),
            failed.len(),
            self.findings.len()
        );
        let verdict = if self.valid { styles.ok.apply_to("valid") } else { styles.fail.apply_to("invalid") };
        out.push_str(&format!("\n{verdict}: {summary}\n"));
        out
    }

    fn exit(&self) -> Exit {
        if self.valid { Exit::Ok } else { Exit::Failed }
    }
}
