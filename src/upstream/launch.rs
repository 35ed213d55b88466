//! What a stdio upstream may run (`docs/UPSTREAMS.md` "Who can make Gatehouse run what"). The
//! command line *and* the environment are what the operator allows: a process is started only
//! if its program is allowed by `GATEHOUSE_STDIO_COMMANDS`, or its whole argv is exactly what
//! a catalogue template installs; and only with variables whose names the template declares or
//! the operator lists in `GATEHOUSE_STDIO_ENV`. Both are allow-lists, so a variable that changes
//! how an interpreter loads code (`NODE_OPTIONS`, `LD_PRELOAD`, `PYTHONPATH`, …) is refused
//! without anyone having to think of it. Checked when an upstream is created or changed, and
//! again right before every spawn (the policy may have been tightened since).

use std::collections::BTreeMap;

use super::catalog;

/// The operator's allow-lists.
#[derive(Debug, Clone, Default)]
pub struct LaunchPolicy {
    /// Any program, any argument, any variable (dev mode, or `GATEHOUSE_STDIO_COMMANDS=*`:
    /// whoever may configure an upstream may then run anything, so nothing else is checked).
    any: bool,
    /// Program names (or paths) the operator allows with any arguments.
    commands: Vec<String>,
    /// Variable names the operator allows on every stdio upstream.
    env: Vec<String>,
}

/// One process to start.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    pub template_id: Option<&'a str>,
    pub command: &'a str,
    pub args: &'a [String],
    pub env: &'a BTreeMap<String, String>,
}

/// Why a process may not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchRefused {
    #[error("the command {0} is not allowed on this instance (see GATEHOUSE_STDIO_COMMANDS)")]
    Command(String),
    #[error(
        "template {0} fixes the whole command line: arguments can only come from its settings \
         (reinstall it with other settings, or ask the operator to allow the command in \
         GATEHOUSE_STDIO_COMMANDS)"
    )]
    TemplateArguments(String),
    #[error("the environment variable {0} is not allowed for this upstream (see GATEHOUSE_STDIO_ENV)")]
    Variable(String),
}

impl LaunchPolicy {
    /// From the configuration: `commands` may hold `*`.
    pub fn new(commands: &[String], env: &[String]) -> Self {
        Self {
            any: commands.iter().any(|c| c == "*"),
            commands: commands.iter().filter(|c| *c != "*").cloned().collect(),
            env: env.to_vec(),
        }
    }

    /// Whether `launch` may be started, and if not, why.
    pub fn check(&self, launch: Launch<'_>) -> Result<(), LaunchRefused> {
        if self.any {
            return Ok(());
        }
        let template = launch
            .template_id
            .and_then(catalog::template)
            .filter(|t| t.command == launch.command && catalog::installs_args(t, launch.args));
        let template_vars: Vec<&str> = match &template {
            Some(t) => t.env_names().collect(),
            None if self.allows_command(launch.command) => Vec::new(),
            None => {
                return Err(match launch.template_id.and_then(catalog::template) {
                    Some(t) if t.command == launch.command => {
                        LaunchRefused::TemplateArguments(t.template_id.to_string())
                    }
                    _ => LaunchRefused::Command(launch.command.to_string()),
                });
            }
        };
        match launch
            .env
            .keys()
            .find(|name| !template_vars.contains(&name.as_str()) && !self.env.contains(name))
        {
            Some(name) => Err(LaunchRefused::Variable(name.clone())),
            None => Ok(()),
        }
    }

    fn allows_command(&self, command: &str) -> bool {
        let base = std::path::Path::new(command).file_name().and_then(|n| n.to_str()).unwrap_or(command);
        self.commands.iter().any(|c| c == command || c == base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn launch<'a>(
        template_id: Option<&'a str>,
        command: &'a str,
        args: &'a [String],
        env: &'a BTreeMap<String, String>,
    ) -> Launch<'a> {
        Launch { template_id, command, args, env }
    }

    #[test]
    fn a_template_runs_its_own_command_line_and_variables_only() {
        let none = LaunchPolicy::new(&[], &[]);
        let no_env = BTreeMap::new();
        let fs = args(&["-y", "@modelcontextprotocol/server-filesystem@2026.8.31", "/data", "/srv"]);
        assert_eq!(none.check(launch(Some("filesystem"), "npx", &fs, &no_env)), Ok(()));
        // A trailing argument no setting produces, or a flag in place of a directory.
        let mut extra = fs.clone();
        extra.push("--inspect".into());
        assert!(matches!(
            none.check(launch(Some("filesystem"), "npx", &extra, &no_env)),
            Err(LaunchRefused::TemplateArguments(_))
        ));
        let other_package = args(&["-y", "evil-package"]);
        assert!(none.check(launch(Some("filesystem"), "npx", &other_package, &no_env)).is_err());
        assert!(matches!(
            none.check(launch(Some("filesystem"), "sh", &fs, &no_env)),
            Err(LaunchRefused::Command(_))
        ));
        // The memory template declares MEMORY_FILE_PATH; nothing else is allowed beside it.
        let mem = args(&["-y", "@modelcontextprotocol/server-memory@2026.8.31"]);
        let declared = BTreeMap::from([("MEMORY_FILE_PATH".to_string(), "/m.json".to_string())]);
        assert_eq!(none.check(launch(Some("memory"), "npx", &mem, &declared)), Ok(()));
        for var in ["NODE_OPTIONS", "LD_PRELOAD", "PATH", "PYTHONPATH", "BASH_ENV", "ANYTHING"] {
            let env = BTreeMap::from([(var.to_string(), "x".to_string())]);
            assert_eq!(
                none.check(launch(Some("memory"), "npx", &mem, &env)),
                Err(LaunchRefused::Variable(var.to_string()))
            );
        }
        // Unless the operator names it.
        let with_env = LaunchPolicy::new(&[], &["NODE_EXTRA_CA_CERTS".to_string()]);
        let env = BTreeMap::from([("NODE_EXTRA_CA_CERTS".to_string(), "/ca.pem".to_string())]);
        assert_eq!(with_env.check(launch(Some("memory"), "npx", &mem, &env)), Ok(()));
    }

    #[test]
    fn settings_shaped_arguments_are_recognised() {
        let none = LaunchPolicy::new(&[], &[]);
        let no_env = BTreeMap::new();
        let time = args(&["mcp-server-time==2026.10.19", "--local-timezone=Europe/Paris"]);
        assert_eq!(none.check(launch(Some("time"), "uvx", &time, &no_env)), Ok(()));
        let git = args(&["mcp-server-git==2026.10.19", "--repository", "/repo"]);
        assert_eq!(none.check(launch(Some("git"), "uvx", &git, &no_env)), Ok(()));
        let git_flag = args(&["mcp-server-git==2026.10.19", "--repository", "--evil"]);
        assert!(none.check(launch(Some("git"), "uvx", &git_flag, &no_env)).is_err());
        let twice = args(&["mcp-server-git==2026.10.19", "--repository", "/a", "--repository", "/b"]);
        assert!(none.check(launch(Some("git"), "uvx", &twice, &no_env)).is_err());
    }

    #[test]
    fn an_allowed_program_takes_any_arguments_but_only_listed_variables() {
        let policy = LaunchPolicy::new(&["my-server".to_string()], &["API_TOKEN".to_string()]);
        let no_env = BTreeMap::new();
        let any_args = args(&["--port", "1"]);
        assert_eq!(policy.check(launch(None, "/opt/bin/my-server", &any_args, &no_env)), Ok(()));
        let token = BTreeMap::from([("API_TOKEN".to_string(), "t".to_string())]);
        assert_eq!(policy.check(launch(None, "my-server", &any_args, &token)), Ok(()));
        let preload = BTreeMap::from([("LD_PRELOAD".to_string(), "/x.so".to_string())]);
        assert!(matches!(
            policy.check(launch(None, "my-server", &any_args, &preload)),
            Err(LaunchRefused::Variable(_))
        ));
        assert!(policy.check(launch(None, "sh", &any_args, &no_env)).is_err());
        // `*` lets anything run: the variables add nothing to what is already allowed.
        let any = LaunchPolicy::new(&["*".to_string()], &[]);
        assert_eq!(any.check(launch(None, "sh", &any_args, &preload)), Ok(()));
    }
}
