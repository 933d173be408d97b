//! `strongroom evidence ...` and `strongroom video ...`.
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// Evidence bundles.
#[derive(Subcommand)]
pub enum EvidenceCommand {
    /// Verify an evidence bundle offline. Exit 0 intact, 1 altered or missing, 2 error.
    Verify {
        /// The bundle.
        bundle: std::path::PathBuf,
    },
}

/// Recordings.
#[derive(Subcommand)]
pub enum VideoCommand {
    /// Reconcile recordings on disk with the index and report drift.
    Check,
}

/// Runs an evidence command.
pub async fn evidence(cmd: EvidenceCommand) -> Result<ExitCode> {
    match cmd {
        EvidenceCommand::Verify { bundle } => anyhow::bail!(
            "evidence verify {}: not available in this build",
            bundle.display()
        ),
    }
}

/// Runs a video command.
pub async fn video(cmd: VideoCommand) -> Result<ExitCode> {
    match cmd {
        VideoCommand::Check => anyhow::bail!("video check: not available in this build"),
    }
}
