//! `cargo xtask bench hub`: how much one hub holds on this machine, per database. Builds the
//! hub and the load generator in release mode, runs the load against a fresh hub on SQLite
//! and on a private PostgreSQL, and keeps each report in `artifacts/bench/`.

use anyhow::{Context, bail};

use crate::process::{Step, cargo};
use crate::{install, root, say, target_dir};

pub fn bench(args: &[String]) -> anyhow::Result<()> {
    let Some((what, rest)) = args.split_first() else {
        bail!(
            "usage: cargo xtask bench hub [--database sqlite|postgres|both] [--streams N] [--rate N] [--customers N]"
        );
    };
    if what != "hub" {
        bail!("unknown benchmark {what:?}; the one there is: hub");
    }

    let mut databases = vec!["sqlite", "postgres"];
    let mut passed: Vec<String> = Vec::new();
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--database" => {
                databases = match rest.next().map(String::as_str) {
                    Some("sqlite") => vec!["sqlite"],
                    Some("postgres") => vec!["postgres"],
                    Some("both") => vec!["sqlite", "postgres"],
                    other => bail!("--database takes sqlite, postgres or both, not {other:?}"),
                }
            }
            "--streams" | "--rate" | "--customers" => {
                let value = rest
                    .next()
                    .with_context(|| format!("{arg} needs a number"))?;
                passed.push(arg.clone());
                passed.push(value.clone());
            }
            other => bail!("unknown option {other:?} for bench hub"),
        }
    }

    install::test_packages()?;
    cargo(&[
        "build",
        "--release",
        "-p",
        "switchboard-hub",
        "-p",
        "switchboard-bench",
    ])
    .run()?;

    let release = target_dir().join("release");
    let reports = root().join("artifacts").join("bench");
    std::fs::create_dir_all(&reports).context("creating artifacts/bench")?;

    // Without options, three loads per database: the target (every stream hears every write),
    // the write path alone, and the streams at a quarter of the rate, so that the report shows
    // where the limit lies as well as whether the target holds.
    let scenarios: Vec<(&str, Vec<String>)> = if passed.is_empty() {
        vec![
            ("target", strings(&["--streams", "2000", "--rate", "1000"])),
            ("writes", strings(&["--streams", "0", "--rate", "1000"])),
            ("quarter", strings(&["--streams", "2000", "--rate", "250"])),
        ]
    } else {
        vec![("custom", passed)]
    };

    let mut summary = Vec::new();
    for database in databases {
        for (name, args) in &scenarios {
            let mut step = Step::new(
                &release.join("switchboard-bench").to_string_lossy(),
                &["--database", database, "--seconds", "20"],
            )
            .arg("--hub-binary")
            .arg(release.join("switchboard-hub"));
            for arg in args {
                step = step.arg(arg);
            }
            let (ok, lines) = step.run_tee()?;
            let report = lines.last().cloned().unwrap_or_default();
            if !ok || !report.starts_with('{') {
                bail!("the {database} {name} benchmark failed");
            }
            let path = reports.join(format!("hub-{database}-{name}.json"));
            std::fs::write(&path, format!("{report}\n")).context("saving the report")?;
            summary.push(format!("{database:<9}{name:<9}{}", digest(&report)));
        }
    }
    say("xtask: database scenario  figures (reports in artifacts/bench/)");
    for line in summary {
        say(&format!("xtask: {line}"));
    }
    Ok(())
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_owned()).collect()
}

/// The figures of a report that matter at a glance.
fn digest(report: &str) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(report) else {
        return report.to_owned();
    };
    format!(
        "streams {} writes/s {}/{} p50 {} ms p99 {} ms 429s {} failed {} events {}/{}",
        value["streams_open"],
        value["writes_per_second_achieved"],
        value["writes_per_second_target"],
        value["latency_ms_p50"],
        value["latency_ms_p99"],
        value["writes_refused_429"],
        value["writes_failed"],
        value["events_delivered"],
        value["events_expected"],
    )
}
