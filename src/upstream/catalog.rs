//! The catalogue of known MCP servers: each template fixes the command and package (pinned) or
//! the transport, and names the settings an installation may give. An upstream installed from a
//! template keeps its `templateId`; as long as its whole command line is one the template
//! installs and its environment holds only the template's variables, the operator's stdio
//! allow-lists need not name it (`launch.rs`): the command is Gatehouse's choice, not the
//! installer's.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::domain::upstream::TransportKind;

/// What a setting feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingTarget {
    /// Appended to the arguments (a list setting appends each item).
    Arg,
    /// An environment variable of the process (sealed at rest).
    Env,
}

/// How an argument setting is written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgForm {
    /// The value itself (a list setting: each value).
    Value,
    /// The option, then the value as the next argument (`--repository /repo`).
    Option(&'static str),
    /// The option and the value in one argument (`--local-timezone=Europe/Paris`).
    Joined(&'static str),
}

/// A setting a template needs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Setting {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
    /// Secret values (API keys) are sealed and never shown again.
    pub secret: bool,
    /// A list of strings rather than one string.
    pub list: bool,
    pub target: SettingTarget,
    /// The variable name, for `env` settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<&'static str>,
    /// How an `arg` setting is written.
    #[serde(skip)]
    pub form: ArgForm,
}

/// A known MCP server.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub template_id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub transport: TransportKind,
    pub command: &'static str,
    pub args: &'static [&'static str],
    /// Where the package comes from (`npm:…@version`, `pypi:…==version`).
    pub package: &'static str,
    pub settings: Vec<Setting>,
}

fn setting(name: &'static str, description: &'static str, required: bool) -> Setting {
    Setting {
        name,
        description,
        required,
        secret: false,
        list: false,
        target: SettingTarget::Arg,
        env: None,
        form: ArgForm::Value,
    }
}

/// Every template, in display order.
pub fn templates() -> Vec<Template> {
    vec![
        Template {
            template_id: "everything",
            name: "Everything",
            description: "The reference server exercising every MCP feature: tools, prompts, resources, sampling, elicitation.",
            transport: TransportKind::Stdio,
            command: "npx",
            args: &["-y", "@modelcontextprotocol/server-everything@2026.8.31", "stdio"],
            package: "npm:@modelcontextprotocol/server-everything@2026.8.31",
            settings: vec![],
        },
        Template {
            template_id: "filesystem",
            name: "Filesystem",
            description: "Read, write and search files inside the allowed directories.",
            transport: TransportKind::Stdio,
            command: "npx",
            args: &["-y", "@modelcontextprotocol/server-filesystem@2026.8.31"],
            package: "npm:@modelcontextprotocol/server-filesystem@2026.8.31",
            settings: vec![Setting {
                list: true,
                ..setting("allowedDirectories", "Directories the server may access.", true)
            }],
        },
        Template {
            template_id: "memory",
            name: "Memory",
            description: "A knowledge-graph memory kept in a local file.",
            transport: TransportKind::Stdio,
            command: "npx",
            args: &["-y", "@modelcontextprotocol/server-memory@2026.8.31"],
            package: "npm:@modelcontextprotocol/server-memory@2026.8.31",
            settings: vec![Setting {
                target: SettingTarget::Env,
                env: Some("MEMORY_FILE_PATH"),
                ..setting(
                    "memoryFilePath",
                    "Where the graph is stored (default: next to the package).",
                    false,
                )
            }],
        },
        Template {
            template_id: "sequential-thinking",
            name: "Sequential thinking",
            description: "Structured, revisable step-by-step reasoning as a tool.",
            transport: TransportKind::Stdio,
            command: "npx",
            args: &["-y", "@modelcontextprotocol/server-sequential-thinking@2026.8.31"],
            package: "npm:@modelcontextprotocol/server-sequential-thinking@2026.8.31",
            settings: vec![],
        },
        Template {
            template_id: "fetch",
            name: "Fetch",
            description: "Fetch a URL and return it as markdown.",
            transport: TransportKind::Stdio,
            command: "uvx",
            args: &["mcp-server-fetch==2026.10.24"],
            package: "pypi:mcp-server-fetch==2026.10.24",
            settings: vec![],
        },
        Template {
            template_id: "time",
            name: "Time",
            description: "Current time and time-zone conversion.",
            transport: TransportKind::Stdio,
            command: "uvx",
            args: &["mcp-server-time==2026.10.19"],
            package: "pypi:mcp-server-time==2026.10.19",
            settings: vec![Setting {
                form: ArgForm::Joined("--local-timezone="),
                ..setting("localTimezone", "IANA time zone to treat as local, e.g. Europe/Paris.", false)
            }],
        },
        Template {
            template_id: "git",
            name: "Git",
            description: "Read and search a local git repository.",
            transport: TransportKind::Stdio,
            command: "uvx",
            args: &["mcp-server-git==2026.10.19"],
            package: "pypi:mcp-server-git==2026.10.19",
            settings: vec![Setting {
                form: ArgForm::Option("--repository"),
                ..setting("repository", "Path of the repository.", true)
            }],
        },
    ]
}

/// A template by id.
pub fn template(id: &str) -> Option<Template> {
    templates().into_iter().find(|t| t.template_id == id)
}

/// Arguments and environment of an installation, from its settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Installation {
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
}

/// Validates settings and turns them into arguments and environment.
pub fn install(
    template: &Template,
    settings: &serde_json::Map<String, Value>,
) -> Result<Installation, String> {
    if let Some(unknown) = settings.keys().find(|k| !template.settings.iter().any(|s| s.name == k.as_str())) {
        return Err(format!("template {} has no setting {unknown}", template.template_id));
    }
    let mut out =
        Installation { args: template.args.iter().map(|a| a.to_string()).collect(), env: BTreeMap::new() };
    for s in &template.settings {
        let values: Vec<String> = match settings.get(s.name) {
            None | Some(Value::Null) if s.required => return Err(format!("setting {} is required", s.name)),
            None | Some(Value::Null) => continue,
            Some(Value::String(v)) if !s.list => vec![v.clone()],
            Some(Value::Array(items)) if s.list => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("setting {} must be a list of strings", s.name))?,
            Some(_) => {
                return Err(format!(
                    "setting {} must be {}",
                    s.name,
                    if s.list { "a list of strings" } else { "a string" }
                ));
            }
        };
        if values.is_empty() && s.required {
            return Err(format!("setting {} needs at least one value", s.name));
        }
        if values.iter().any(|v| v.is_empty() || v.len() > 4096 || v.contains('\0')) {
            return Err(format!("setting {}: values must be 1 to 4096 characters", s.name));
        }
        match s.target {
            // Values never become options: `--` is not needed by these servers, but a leading
            // dash would be read as a flag, so it is refused.
            SettingTarget::Arg => {
                if values.iter().any(|v| v.starts_with('-')) {
                    return Err(format!("setting {}: values must not start with '-'", s.name));
                }
                for value in values {
                    match s.form {
                        ArgForm::Value => out.args.push(value),
                        ArgForm::Option(option) => out.args.extend([option.to_string(), value]),
                        ArgForm::Joined(option) => out.args.push(format!("{option}{value}")),
                    }
                }
            }
            SettingTarget::Env => {
                out.env.insert(s.env.unwrap_or(s.name).to_string(), values.join(","));
            }
        }
    }
    Ok(out)
}

impl Template {
    /// The variables an installation may set: those of its `env` settings.
    pub fn env_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.settings.iter().filter(|s| s.target == SettingTarget::Env).map(|s| s.env.unwrap_or(s.name))
    }
}

/// Whether `args` is exactly a command line the template installs from some settings: its own
/// arguments, then each argument setting in its own form and order, nothing else.
pub fn installs_args(template: &Template, args: &[String]) -> bool {
    let fixed = template.args.len();
    if args.len() < fixed || template.args.iter().zip(args).any(|(a, b)| a != b) {
        return false;
    }
    let rest = &args[fixed..];
    let mut settings = serde_json::Map::new();
    let mut at = 0;
    for s in template.settings.iter().filter(|s| s.target == SettingTarget::Arg) {
        let mut values = Vec::new();
        while let Some(arg) = rest.get(at) {
            let (value, used) = match s.form {
                ArgForm::Value => (Some(arg.clone()), 1),
                ArgForm::Option(option) => (rest.get(at + 1).filter(|_| arg == option).cloned(), 2),
                ArgForm::Joined(option) => (arg.strip_prefix(option).map(str::to_string), 1),
            };
            let Some(value) = value else { break };
            values.push(Value::String(value));
            at += used;
            if !s.list {
                break;
            }
        }
        match (s.list, values.len()) {
            (_, 0) => {}
            (true, _) => {
                settings.insert(s.name.to_string(), Value::Array(values));
            }
            (false, _) => {
                settings.insert(s.name.to_string(), values.remove(0));
            }
        }
    }
    // Re-installing what was read must give these very arguments (values are checked there).
    at == rest.len() && install(template, &settings).is_ok_and(|i| i.args == args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_become_arguments_and_environment() {
        let fs = template("filesystem").unwrap();
        let ok =
            install(&fs, json!({"allowedDirectories": ["/data", "/tmp/x"]}).as_object().unwrap()).unwrap();
        assert_eq!(ok.args[2..], ["/data".to_string(), "/tmp/x".to_string()]);
        assert!(install(&fs, json!({}).as_object().unwrap()).unwrap_err().contains("required"));
        assert!(install(&fs, json!({"allowedDirectories": "/data"}).as_object().unwrap()).is_err());
        assert!(install(&fs, json!({"allowedDirectories": ["--evil"]}).as_object().unwrap()).is_err());
        assert!(install(&fs, json!({"nope": 1, "allowedDirectories": ["/d"]}).as_object().unwrap()).is_err());
        let mem =
            install(&template("memory").unwrap(), json!({"memoryFilePath": "/m.json"}).as_object().unwrap());
        assert_eq!(mem.unwrap().env["MEMORY_FILE_PATH"], "/m.json");
        assert!(installs_args(&fs, &ok.args));
        assert!(!installs_args(&fs, &["-y".into(), "evil-package".into()]));
        let mut trailing = ok.args.clone();
        trailing.push("--inspect".into());
        assert!(!installs_args(&fs, &trailing));
        assert!(templates().len() >= 4);
    }
}
