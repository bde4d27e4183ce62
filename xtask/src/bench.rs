//! `cargo xtask bench hub`: how much one hub holds on this machine, per database. Builds the
//! hub and the load generator in release mode, runs the load against a fresh hub on SQLite
//! and on a private PostgreSQL, and keeps each report in `artifacts/bench/`.

use anyhow::{Context, bail};

use crate::process::{Step, cargo};
use crate::{install, root, say, target_dir};

pub fn bench(args: &[String]) -> anyhow::Result<()> {
    let Some((what, rest)) = args.split_first() else {
        bail!(
            "usage: cargo xtask bench hub [--database sqlite|postgres|both] [--streams N] [--rate N] [--seconds N] [--customers N]"
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
            "--streams" | "--rate" | "--seconds" | "--customers" => {
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
    for database in databases {
        let mut step = Step::new(
            &release.join("switchboard-bench").to_string_lossy(),
            &["--database", database],
        )
        .arg("--hub-binary")
        .arg(release.join("switchboard-hub"));
        for arg in &passed {
            step = step.arg(arg);
        }
        let (ok, lines) = step.run_tee()?;
        let report = lines.last().cloned().unwrap_or_default();
        if !ok || !report.starts_with('{') {
            bail!("the {database} benchmark failed");
        }
        let path = reports.join(format!("hub-{database}.json"));
        std::fs::write(&path, format!("{report}\n")).context("saving the report")?;
        say(&format!(
            "xtask: {database} report saved to {}",
            path.display()
        ));
    }
    Ok(())
}
