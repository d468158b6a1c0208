//! `olmisctl logs`: the last lines of services' logs, or (`-f`) follow them.
//!
//! With `--json`: one JSON array of lines, or with `-f` one JSON object per line as they come.

use clap::Args;
use futures_util::StreamExt;
use serde::Serialize;

use crate::compose::Stack;
use crate::context::Ctx;
use crate::error::{Exit, Result};

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow the logs
    #[arg(short, long)]
    pub follow: bool,
    /// Lines to show from the end of each log
    #[arg(long, default_value_t = 100)]
    pub tail: u64,
    /// Services whose logs to show [default: all]
    pub services: Vec<String>,
}

#[derive(Serialize)]
struct Entry<'a> {
    service: &'a str,
    container: &'a str,
    stream: &'a str,
    line: &'a str,
}

pub async fn run(args: LogsArgs, ctx: &Ctx) -> Result<Exit> {
    let stack = Stack::connect(&ctx.settings, "logs").await?;
    let containers = stack.service_containers(&args.services).await?;
    if containers.is_empty() {
        ctx.out
            .info(format!("No containers in compose project `{}`: start them with `olmisctl up`.", stack.project.name));
        if ctx.out.json {
            ctx.out.print_json(&Vec::<Entry>::new());
        }
        return Ok(Exit::Ok);
    }
    // Like compose: a "service | " prefix as soon as lines of several containers mix.
    let prefixed = containers.len() > 1;
    let width = containers.iter().map(|c| c.service.len()).max().unwrap_or(0);
    let print = |service: &str, line: &str| {
        if prefixed {
            let prefix = format!("{service:<width$} |");
            ctx.out.line(&format!("{} {line}", ctx.out.styles.dim.apply_to(prefix)));
        } else {
            ctx.out.line(line);
        }
    };
    if !args.follow {
        let mut all = Vec::new();
        for c in &containers {
            all.push((c, stack.engine.log_tail(&c.id, args.tail).await?));
        }
        if ctx.out.json {
            let entries: Vec<Entry> = all
                .iter()
                .flat_map(|(c, lines)| {
                    lines.iter().map(|l| Entry {
                        service: &c.service,
                        container: &c.name,
                        stream: l.stream,
                        line: &l.text,
                    })
                })
                .collect();
            ctx.out.print_json(&entries);
        } else {
            for (c, lines) in &all {
                for l in lines {
                    print(&c.service, &l.text);
                }
            }
        }
        return Ok(Exit::Ok);
    }
    let streams = containers.iter().map(|c| {
        let (service, name) = (c.service.clone(), c.name.clone());
        Box::pin(stack.engine.logs(&c.id, args.tail, true).map(move |line| (service.clone(), name.clone(), line)))
    });
    let mut merged = futures_util::stream::select_all(streams);
    while let Some((service, container, line)) = merged.next().await {
        let line = line?;
        if ctx.out.json {
            let entry = Entry { service: &service, container: &container, stream: line.stream, line: &line.text };
            ctx.out.line(&serde_json::to_string(&entry).unwrap_or_default());
        } else {
            print(&service, &line.text);
        }
    }
    Ok(Exit::Ok)
}
