//! Whether the stack needs the compatibility overlay (`compose/docker-compose.compat.yml`).
//!
//! glibc 2.34 and later start threads with clone3. Default seccomp profiles of Docker Engine before
//! 20.10.10 answer clone3 with EPERM instead of ENOSYS, so glibc never falls back to clone and the
//! JVMs, ClickHouse, gunicorn and Airflow abort at start. The overlay runs the affected services
//! without the engine's seccomp profile. Custom seccomp profiles can't be judged from outside:
//! `OLMIS_COMPOSE_COMPAT=on|off` overrides the detection.

use serde::Serialize;

/// The first engine whose default seccomp profile answers clone3 with ENOSYS.
pub const FIXED_IN: (u32, u32, u32) = (20, 10, 10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompatMode {
    Auto,
    On,
    Off,
}

impl CompatMode {
    pub fn parse(value: &str) -> CompatMode {
        match value {
            "on" => CompatMode::On,
            "off" => CompatMode::Off,
            _ => CompatMode::Auto,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompatDecision {
    pub apply: bool,
    /// Why, in words for the user (shown when the overlay is applied).
    pub reason: String,
}

/// "20.10.24+dfsg1" -> (20, 10, 24); "17.06.2-ce" -> (17, 6, 2).
pub fn parse_engine_version(version: &str) -> Option<(u32, u32, u32)> {
    let mut parts = version.trim().split('.');
    let mut number = || -> Option<u32> {
        let part = parts.next()?;
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let major = number()?;
    let minor = number()?;
    Some((major, minor, number().unwrap_or(0)))
}

/// Decides from the mode, the engine version and the engine's seccomp entry in `docker info`
/// (`name=seccomp,profile=default`; `None` when seccomp is off).
pub fn decide(mode: CompatMode, engine_version: &str, seccomp: Option<&str>) -> CompatDecision {
    let decision = |apply: bool, reason: String| CompatDecision { apply, reason };
    match mode {
        CompatMode::On => return decision(true, "OLMIS_COMPOSE_COMPAT=on".into()),
        CompatMode::Off => return decision(false, "OLMIS_COMPOSE_COMPAT=off".into()),
        CompatMode::Auto => {}
    }
    let Some(seccomp) = seccomp else {
        return decision(false, "the engine runs containers without seccomp".into());
    };
    if seccomp.contains("profile=unconfined") {
        return decision(false, "the engine's seccomp profile is unconfined".into());
    }
    match parse_engine_version(engine_version) {
        Some(v) if v < FIXED_IN => decision(
            true,
            format!(
                "Docker Engine {engine_version} is older than 20.10.10: its seccomp profile blocks clone3, which the images' glibc needs"
            ),
        ),
        Some(_) => decision(false, format!("Docker Engine {engine_version} handles clone3")),
        None => decision(
            false,
            format!(
                "unknown engine version {engine_version:?}; set OLMIS_COMPOSE_COMPAT=on if containers fail to start threads"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Option<&str> = Some("name=seccomp,profile=default");

    #[test]
    fn versions_parse_with_distro_suffixes() {
        assert_eq!(parse_engine_version("20.10.24+dfsg1"), Some((20, 10, 24)));
        assert_eq!(parse_engine_version("17.06.2-ce"), Some((17, 6, 2)));
        assert_eq!(parse_engine_version("28.2"), Some((28, 2, 0)));
        assert_eq!(parse_engine_version("dev"), None);
    }

    #[test]
    fn old_engines_with_the_default_profile_need_the_overlay() {
        let d = decide(CompatMode::Auto, "20.10.9", DEFAULT);
        assert!(d.apply);
        assert!(d.reason.contains("20.10.9") && d.reason.contains("clone3"), "{}", d.reason);
        assert!(decide(CompatMode::Auto, "19.03.15", DEFAULT).apply);
        assert!(!decide(CompatMode::Auto, "20.10.10", DEFAULT).apply);
        assert!(!decide(CompatMode::Auto, "20.10.24+dfsg1", DEFAULT).apply);
        assert!(!decide(CompatMode::Auto, "28.2.2", DEFAULT).apply);
    }

    #[test]
    fn no_seccomp_or_unconfined_needs_nothing() {
        assert!(!decide(CompatMode::Auto, "20.10.5", None).apply);
        assert!(!decide(CompatMode::Auto, "20.10.5", Some("name=seccomp,profile=unconfined")).apply);
    }

    #[test]
    fn the_setting_overrides_detection() {
        assert!(decide(CompatMode::On, "28.2.2", DEFAULT).apply);
        assert!(!decide(CompatMode::Off, "20.10.5", DEFAULT).apply);
        assert_eq!(CompatMode::parse("auto"), CompatMode::Auto);
        assert!(!decide(CompatMode::Auto, "weird", DEFAULT).apply);
    }
}
