//! What olmisctl needs to know about a compose project: its services, their dependencies and
//! profiles, the external networks it expects, and the variables it requires. Read from the output of
//! `compose config` (variables interpolated, anchors and both versions' syntaxes resolved) and, for
//! required variables, from the raw file.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComposeConfig {
    pub services: BTreeMap<String, ServiceConfig>,
    /// Names (on the engine) of the networks declared `external`.
    pub external_networks: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceConfig {
    pub depends_on: Vec<String>,
    pub profiles: Vec<String>,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    services: BTreeMap<String, Option<RawService>>,
    #[serde(default)]
    networks: BTreeMap<String, Option<RawNetwork>>,
}

#[derive(Deserialize, Default)]
struct RawService {
    #[serde(default)]
    depends_on: Option<DependsOn>,
    #[serde(default)]
    profiles: Vec<String>,
}

/// `depends_on: [a, b]` (short form) or `depends_on: {a: {condition: ...}}` (long form).
#[derive(Deserialize)]
#[serde(untagged)]
enum DependsOn {
    List(Vec<String>),
    Map(BTreeMap<String, serde::de::IgnoredAny>),
}

#[derive(Deserialize)]
struct RawNetwork {
    name: Option<String>,
    external: Option<External>,
}

/// `external: true`, or the legacy `external: {name: ...}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum External {
    Flag(bool),
    Named { name: Option<String> },
}

impl ComposeConfig {
    /// Parses `compose config` output. `source` names it in errors.
    pub fn parse(yaml: &str, source: &str) -> Result<ComposeConfig> {
        let raw: RawConfig = serde_saphyr::from_str(yaml)
            .map_err(|e| Error::service("compose", format!("cannot read the output of `{source}`: {e}")))?;
        let services = raw
            .services
            .into_iter()
            .map(|(name, service)| {
                let service = service.unwrap_or_default();
                let depends_on = match service.depends_on {
                    Some(DependsOn::List(list)) => list,
                    Some(DependsOn::Map(map)) => map.into_keys().collect(),
                    None => Vec::new(),
                };
                (name, ServiceConfig { depends_on, profiles: service.profiles })
            })
            .collect();
        let mut external_networks = Vec::new();
        for (key, network) in raw.networks {
            let Some(network) = network else { continue };
            let name = match network.external {
                Some(External::Flag(true)) => network.name.unwrap_or(key),
                Some(External::Named { name }) => name.or(network.name).unwrap_or(key),
                Some(External::Flag(false)) | None => continue,
            };
            external_networks.push(name);
        }
        Ok(ComposeConfig { services, external_networks })
    }

    /// Fails on a service the project doesn't have, listing the ones it has.
    pub fn check_services(&self, requested: &[String]) -> Result<()> {
        let unknown: Vec<&str> =
            requested.iter().filter(|s| !self.services.contains_key(*s)).map(String::as_str).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let known: Vec<&str> = self.services.keys().map(String::as_str).collect();
        Err(Error::usage(format!(
            "no service {} in the compose project; it has: {}",
            unknown.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "),
            known.join(", ")
        )))
    }

    /// The services `up` starts, and so must wait for: the requested ones and everything they
    /// depend on, or (none requested) every service whose profiles are active or that has none.
    pub fn services_to_start(&self, requested: &[String], active_profiles: &[String]) -> Vec<String> {
        let mut queue: Vec<String> = if requested.is_empty() {
            self.services
                .iter()
                .filter(|(_, s)| s.profiles.is_empty() || s.profiles.iter().any(|p| active_profiles.contains(p)))
                .map(|(name, _)| name.clone())
                .collect()
        } else {
            requested.to_vec()
        };
        let mut chosen = BTreeSet::new();
        while let Some(name) = queue.pop() {
            if chosen.insert(name.clone())
                && let Some(service) = self.services.get(&name)
            {
                queue.extend(service.depends_on.iter().cloned());
            }
        }
        chosen.into_iter().collect()
    }
}

/// Variables the compose file marks as required (`${NAME?message}` or `${NAME:?message}`). compose
/// accepts an empty value for the first form, so checking them is olmisctl's job.
pub fn required_variables(compose_text: &str) -> Vec<String> {
    let mut names = BTreeSet::new();
    let bytes = compose_text.as_bytes();
    let mut i = 0;
    while let Some(offset) = compose_text[i..].find("${") {
        let start = i + offset;
        i = start + 2;
        // `$${...}` is an escaped dollar: no variable.
        if start > 0 && bytes[start - 1] == b'$' {
            continue;
        }
        let name: String = compose_text[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let rest = &compose_text[i + name.len()..];
        if !name.is_empty() && (rest.starts_with('?') || rest.starts_with(":?")) {
            names.insert(name);
        }
    }
    names.into_iter().collect()
}

/// `COMPOSE_PROFILES` as a list.
pub fn parse_profiles(value: Option<&str>) -> Vec<String> {
    value.map(crate::settings::split_list).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
networks:
  default: null
  ext:
    external: true
    name: shared_net
  legacy:
    external:
      name: old_net
  plain_external:
    external: true
  internal:
    driver: bridge
services:
  api:
    depends_on:
      db:
        condition: service_healthy
    image: x
  db:
    image: y
  worker:
    depends_on:
    - api
  demo:
    profiles:
    - demo
  tools:
    profiles: [tools]
    depends_on: [db]
volumes:
  data: {}
"#;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_services_dependencies_profiles_and_external_networks() {
        let c = ComposeConfig::parse(CONFIG, "compose config").unwrap();
        assert_eq!(c.services.keys().cloned().collect::<Vec<_>>(), names(&["api", "db", "demo", "tools", "worker"]));
        assert_eq!(c.services["api"].depends_on, names(&["db"]));
        assert_eq!(c.services["worker"].depends_on, names(&["api"]));
        assert_eq!(c.services["demo"].profiles, names(&["demo"]));
        assert_eq!(c.external_networks, names(&["shared_net", "old_net", "plain_external"]));
    }

    #[test]
    fn all_services_means_those_without_inactive_profiles() {
        let c = ComposeConfig::parse(CONFIG, "compose config").unwrap();
        assert_eq!(c.services_to_start(&[], &[]), names(&["api", "db", "worker"]));
        assert_eq!(c.services_to_start(&[], &names(&["demo"])), names(&["api", "db", "demo", "worker"]));
    }

    #[test]
    fn a_subset_brings_its_dependencies() {
        let c = ComposeConfig::parse(CONFIG, "compose config").unwrap();
        assert_eq!(c.services_to_start(&names(&["worker"]), &[]), names(&["api", "db", "worker"]));
        assert_eq!(c.services_to_start(&names(&["tools"]), &[]), names(&["db", "tools"]));
        assert_eq!(c.services_to_start(&names(&["db"]), &[]), names(&["db"]));
    }

    #[test]
    fn unknown_services_are_named_with_the_known_ones() {
        let c = ComposeConfig::parse(CONFIG, "compose config").unwrap();
        assert!(c.check_services(&names(&["db"])).is_ok());
        let err = c.check_services(&names(&["db", "clickhuose"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no service `clickhuose` in the compose project; it has: api, db, demo, tools, worker"
        );
    }

    #[test]
    fn unreadable_config_is_a_clear_error() {
        let err = ComposeConfig::parse("services: [", "docker-compose config").unwrap_err();
        assert!(err.to_string().contains("docker-compose config"), "{err}");
    }

    #[test]
    fn required_variables_are_found_but_not_escaped_or_defaulted_ones() {
        let text = "a: ${SECRET_A?missing}\nb: ${SECRET_B:?missing}\nc: ${PORT:-80}\nd: $${NOT_A_VAR?x}\ne: ${SECRET_A?again}\nf: ${PLAIN}";
        assert_eq!(required_variables(text), names(&["SECRET_A", "SECRET_B"]));
    }

    #[test]
    fn profiles_split_on_commas() {
        assert_eq!(parse_profiles(Some("demo, tools")), names(&["demo", "tools"]));
        assert!(parse_profiles(None).is_empty());
    }
}
