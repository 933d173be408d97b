//! `strongroom rules ...` and `strongroom report ...`.
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// Rule packs.
#[derive(Subcommand)]
pub enum RulesCommand {
    /// Show a rule pack.
    List {
        /// il-dispensary, oh-dispensary, oh-processor, or a pack file.
        pack: String,
    },
}

/// Reports.
#[derive(Subcommand)]
pub enum ReportCommand {
    /// The compliance report.
    Compliance,
}

/// Runs a rules command.
pub async fn rules(cmd: RulesCommand) -> Result<ExitCode> {
    match cmd {
        RulesCommand::List { pack } => {
            anyhow::bail!("rules list {pack}: not available in this build")
        }
    }
}

/// Runs a report command.
pub async fn report(cmd: ReportCommand) -> Result<ExitCode> {
    match cmd {
        ReportCommand::Compliance => {
            anyhow::bail!("report compliance: not available in this build")
        }
    }
}
