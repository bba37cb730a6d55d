//! The two text formats `/metrics` speaks: OpenMetrics (what `prometheus-client` writes, and the
//! default) and the classic Prometheus text format 0.0.4, for a scraper whose `Accept` prefers
//! `text/plain`. In the classic format a counter's `# TYPE` and `# HELP` name its sample
//! (`…_total`); otherwise a classic parser reads the counter as untyped.

/// The content type of OpenMetrics.
pub(crate) const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The content type of the classic Prometheus text format.
pub(crate) const CLASSIC: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Which format a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    OpenMetrics,
    Classic,
}

/// The format `accept` prefers: classic only when it ranks `text/plain` above OpenMetrics (a
/// missing or indifferent `Accept` gets OpenMetrics, as before).
pub(crate) fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else { return Format::OpenMetrics };
    let (mut openmetrics, mut plain) = (None::<f32>, None::<f32>);
    let (mut any_application, mut any_text, mut any) = (None::<f32>, None::<f32>, None::<f32>);
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let quality = parts
            .filter_map(|parameter| parameter.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
            .and_then(|(_, value)| value.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let slot = match media.as_str() {
            "application/openmetrics-text" => &mut openmetrics,
            "text/plain" => &mut plain,
            "application/*" => &mut any_application,
            "text/*" => &mut any_text,
            "*/*" => &mut any,
            _ => continue,
        };
        *slot = Some(slot.map_or(quality, |seen| seen.max(quality)));
    }
    // The most specific range that names a type decides its quality.
    let openmetrics = openmetrics.or(any_application).or(any).unwrap_or(0.0);
    let plain = plain.or(any_text).or(any).unwrap_or(0.0);
    if plain > openmetrics { Format::Classic } else { Format::OpenMetrics }
}

/// Rewrites an OpenMetrics exposition in the classic format: counters' metadata named for their
/// `_total` samples, and no `# EOF` or `# UNIT` lines.
pub(crate) fn classic(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let metadata = ["# HELP ", "# TYPE "].into_iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters.contains(&name).then(|| format!("{prefix}{name}_total {tail}"))
        });
        match metadata {
            Some(renamed) => text.push_str(&renamed),
            None => text.push_str(line),
        }
        text.push('\n');
    }
    text
}
