//! Baton flags for run modes this host does not offer. They are accepted, so
//! scripts written for Baton's Go connectors keep parsing, and each says
//! plainly what it would do and why it cannot here. None is silently ignored.

use anyhow::bail;
use clap::Args;

// Baton's service-mode and ticketing flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "Baton service mode")]
pub struct ModeArgs {
    /// The client ID used to authenticate with ConductorOne (service mode; not supported)
    #[arg(
        long,
        env = "BATON_CLIENT_ID",
        requires = "client_secret",
        hide_env_values = true
    )]
    pub client_id: Option<String>,

    /// The client secret used to authenticate with ConductorOne (service mode; not supported)
    #[arg(
        long,
        env = "BATON_CLIENT_SECRET",
        requires = "client_id",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,

    /// This must be set to enable ticketing support
    #[arg(long, env = "BATON_TICKETING")]
    pub ticketing: bool,

    /// This must be set to skip a full sync: only the configuration is validated
    #[arg(long, env = "BATON_SKIP_FULL_SYNC")]
    pub skip_full_sync: bool,
}

impl ModeArgs {
    /// Refuses the modes that cannot work here, with the reason.
    pub fn check(&self, connector: &str) -> anyhow::Result<()> {
        if self.client_id.is_some() || self.client_secret.is_some() {
            bail!(
                "--client-id/--client-secret run a connector in ConductorOne service mode, \
                 which this host does not support; run without them to sync into a local c1z \
                 (-f) and upload it, or provision with -p"
            );
        }
        if self.ticketing {
            bail!("--ticketing: {connector} has no ticketing (the connector declares no ticketing capability)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(client: bool, ticketing: bool) -> ModeArgs {
        ModeArgs {
            client_id: client.then(|| "id".into()),
            client_secret: client.then(|| "secret".into()),
            ticketing,
            skip_full_sync: false,
        }
    }

    #[test]
    fn unsupported_modes_say_why() {
        assert!(args(false, false).check("Notion").is_ok());
        let e = args(true, false).check("Notion").unwrap_err().to_string();
        assert!(
            e.contains("service mode") && e.contains("not support"),
            "{e}"
        );
        assert!(
            !e.contains("secret\""),
            "the secret's value is not echoed: {e}"
        );
        let e = args(false, true).check("Notion").unwrap_err().to_string();
        assert!(e.contains("Notion has no ticketing"), "{e}");
    }
}
