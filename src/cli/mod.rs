//! The command line of a running Gatehouse: `gatehouse <resource> <verb>` for every registry
//! operation, generated from the registry (names, options and help from each operation's path,
//! summary and input schema), talking to an instance over HTTP like any other client — plus
//! `login` (a saved session by e-mail code), `invoke`, `usage` and shell `completions`.
//!
//! Exit codes: 0 done; 2 the command line is wrong; 3 not found; 4 not signed in or not
//! allowed; 5 refused (invalid, conflict, rate limited); 6 Gatehouse unreachable or failing.

pub mod args;
pub mod client;
pub mod naming;
pub mod output;

use std::collections::BTreeMap;
use std::io::Write;

use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{Map, Value, json};

use crate::api::registry::{Operation, Registry};
use client::Client;

/// Done.
pub const EXIT_OK: i32 = 0;
/// The command line is wrong (clap's own code for usage errors).
pub const EXIT_USAGE: i32 = 2;
/// The thing named does not exist (404).
pub const EXIT_NOT_FOUND: i32 = 3;
/// Not signed in, or not allowed (401, 403).
pub const EXIT_AUTH: i32 = 4;
/// Refused: invalid input, a conflict, a rate limit (other 4xx).
pub const EXIT_REFUSED: i32 = 5;
/// Gatehouse unreachable or failing (5xx).
pub const EXIT_UNAVAILABLE: i32 = 6;

/// Groups whose verb may be left out: `gatehouse usage --range 30d`.
const DEFAULT_VERB: &[(&str, &str)] = &[("usage", "timeseries")];

/// Shortcuts: `gatehouse <group> <verb>` runs an operation with one input fixed
/// (`gatehouse upstreams approve --upstream github --tool-name search`).
const SHORTCUTS: &[(&str, &str, &str, &str, &str)] = &[
    ("upstreams", "approve", "update_upstream_tool", "approvalState", "approved"),
    ("upstreams", "reject", "update_upstream_tool", "approvalState", "rejected"),
];

/// The commands added to the binary's own (`serve`, `migrate`, …).
pub fn extend(root: Command, registry: &Registry) -> Command {
    let mut groups: BTreeMap<String, Vec<(String, &Operation)>> = BTreeMap::new();
    for op in registry.operations() {
        let (resource, verb) = naming::command_of(op.spec.name);
        groups.entry(resource).or_default().push((verb, op));
    }
    let mut root = root
        .arg(
            Arg::new("url")
                .long("url")
                .env("GATEHOUSE_URL")
                .global(true)
                .help("Gatehouse's base URL (default: the saved login's, else http://127.0.0.1:8080)"),
        )
        .arg(
            Arg::new("token")
                .long("token")
                .env("GATEHOUSE_TOKEN")
                .hide_env_values(true)
                .global(true)
                .help("A management or platform token (default: the saved login's)"),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .global(true)
                .help("Print answers as JSON"),
        );
    for (resource, ops) in groups {
        let verbs: Vec<&str> = ops.iter().map(|(verb, _)| verb.as_str()).collect();
        let mut group = Command::new(resource.clone()).about(verbs.join(", "));
        let default = DEFAULT_VERB.iter().find(|(g, _)| *g == resource).map(|(_, v)| *v);
        for (verb, op) in &ops {
            if Some(verb.as_str()) == default {
                group = group.args(args::command(op, verb).get_arguments().cloned().collect::<Vec<_>>());
            }
            let command = args::command(op, verb);
            // `create` also answers to `add` (`gatehouse tools add …`).
            group = group.subcommand(if verb == "create" { command.visible_alias("add") } else { command });
        }
        for (_, verb, name, field, value) in SHORTCUTS.iter().filter(|(g, ..)| *g == resource) {
            if let Some(op) = registry.get(name) {
                let fixed = args::input_option(field);
                let command = args::command(op, verb).mut_args(|a| {
                    if a.get_id() == fixed.as_str() { a.hide(true).required(false) } else { a }
                });
                group = group.subcommand(command.about(format!("{} ({field}: {value})", op.spec.summary)));
            }
        }
        group = match default {
            Some(_) => group.args_conflicts_with_subcommands(true),
            None => group.subcommand_required(true).arg_required_else_help(true),
        };
        root = root.subcommand(group);
    }
    root.subcommand(
        Command::new("invoke")
            .about("Call a server's tool: gatehouse invoke <server> <tool> [name=value …]")
            .arg(Arg::new("server").required(true).help("The server's slug or id"))
            .arg(Arg::new("tool").required(true).help("The tool's name"))
            .arg(
                Arg::new("arguments")
                    .num_args(0..)
                    .help("Arguments as name=value (values that parse as JSON are JSON)"),
            )
            .arg(Arg::new("org").long("org").env("GATEHOUSE_ORG").help("The organization (id or slug)")),
    )
    .subcommand(
        Command::new("login")
            .about("Sign in by e-mail code and save the session for later commands")
            .arg(Arg::new("email").long("email").required(true))
            .arg(Arg::new("code").long("code").help("The six digits (asked for when left out)")),
    )
    .subcommand(Command::new("logout").about("Forget the saved session"))
    .subcommand(
        Command::new("completions")
            .about("Print a shell completion script")
            .arg(Arg::new("shell").required(true).value_parser(clap::value_parser!(clap_complete::Shell))),
    )
}

/// Whether `name` is a command this module runs.
pub fn runs(name: &str, registry: &Registry) -> bool {
    matches!(name, "invoke" | "login" | "logout" | "completions")
        || registry.operations().iter().any(|op| naming::command_of(op.spec.name).0 == name)
}

/// Runs the command of `matches` (one [`runs`] said yes to); the exit code.
pub async fn run(matches: &ArgMatches, registry: &Registry, mut root: Command) -> i32 {
    let Some((name, sub)) = matches.subcommand() else { return EXIT_USAGE };
    if name == "completions" {
        let shell = *sub.get_one::<clap_complete::Shell>("shell").expect("required");
        clap_complete::generate(shell, &mut root, "gatehouse", &mut std::io::stdout());
        return EXIT_OK;
    }
    if name == "logout" {
        return match client::saved_path().map(std::fs::remove_file) {
            Some(Ok(())) | Some(Err(_)) | None => {
                eprintln!("Signed out.");
                EXIT_OK
            }
        };
    }
    let deepest = sub.subcommand().map_or(sub, |(_, m)| m);
    let json = deepest.get_flag("json");
    let client =
        Client::new(deepest.get_one::<String>("url").cloned(), deepest.get_one::<String>("token").cloned());
    let outcome = match name {
        "login" => login(&client, sub).await,
        "invoke" => invoke(&client, sub).await,
        resource => {
            let (verb, m) = match sub.subcommand() {
                Some((verb, m)) => (verb.to_string(), m),
                None => match DEFAULT_VERB.iter().find(|(g, _)| *g == resource) {
                    Some((_, verb)) => ((*verb).to_string(), sub),
                    None => return EXIT_USAGE,
                },
            };
            let shortcut = SHORTCUTS.iter().find(|(g, v, ..)| *g == resource && *v == verb);
            let op = match shortcut {
                Some((_, _, name, _, _)) => registry.get(name).map(|op| op.as_ref()),
                None => registry
                    .operations()
                    .iter()
                    .find(|op| naming::command_of(op.spec.name) == (resource.to_string(), verb.clone()))
                    .map(|op| op.as_ref()),
            };
            match op {
                Some(op) => {
                    call(&client, op, m, shortcut.map(|(_, _, _, field, value)| (*field, *value))).await
                }
                None => return EXIT_USAGE,
            }
        }
    };
    match outcome {
        Ok(body) => {
            println!("{}", output::render(&body, json));
            EXIT_OK
        }
        Err(failure) => {
            let _ = writeln!(std::io::stderr(), "error: {}", failure.message);
            failure.code
        }
    }
}

/// Why a command failed, and its exit code.
struct Failure {
    code: i32,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self { code: EXIT_USAGE, message: message.into() }
    }
}

/// A request's answer, or the failure its status stands for.
async fn answered(
    client: &Client,
    method: http::Method,
    path: &str,
    query: &[(String, String)],
    body: Option<&Value>,
) -> Result<Value, Failure> {
    let answer = client
        .send(method, path, query, body)
        .await
        .map_err(|e| Failure { code: EXIT_UNAVAILABLE, message: e.to_string() })?;
    if (200..300).contains(&answer.status) {
        return Ok(answer.body);
    }
    let code = match answer.status {
        401 | 403 => EXIT_AUTH,
        404 => EXIT_NOT_FOUND,
        500.. => EXIT_UNAVAILABLE,
        _ => EXIT_REFUSED,
    };
    let what = answer.body["error"].as_str().map(str::to_string).unwrap_or_else(|| answer.body.to_string());
    let kind = answer.body["code"].as_str().unwrap_or("error");
    Err(Failure { code, message: format!("{kind} ({}): {what}", answer.status) })
}

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The org a command means: given, else the only one the credential reaches.
async fn org_of(client: &Client, given: Option<&String>) -> Result<String, Failure> {
    if let Some(org) = given {
        return Ok(org.clone());
    }
    let orgs = answered(client, http::Method::GET, "/api/orgs", &[], None).await?;
    match orgs["orgs"].as_array().map(Vec::as_slice) {
        Some([only]) => Ok(only["slug"].as_str().unwrap_or_default().to_string()),
        _ => Err(Failure::usage(
            "--org is required (or GATEHOUSE_ORG): the credential reaches several organizations or none",
        )),
    }
}

/// A server or upstream named by slug or name, as its id.
async fn id_of(client: &Client, org: &str, param: &str, given: &str) -> Result<String, Failure> {
    let (list, field, key, prefix) = match param {
        "serverId" => ("servers", "servers", "serverId", "srv_"),
        "upstreamId" => ("upstreams", "upstreams", "upstreamId", "ups_"),
        _ => return Ok(given.to_string()),
    };
    if given.starts_with(prefix) {
        return Ok(given.to_string());
    }
    let found =
        answered(client, http::Method::GET, &format!("/api/orgs/{}/{list}", encode(org)), &[], None).await?;
    found[field]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["slug"] == given || s["name"] == given)
        .and_then(|s| s[key].as_str().map(str::to_string))
        .ok_or_else(|| Failure {
            code: EXIT_NOT_FOUND,
            message: format!("not_found: no {} named {given}", &list[..list.len() - 1]),
        })
}

/// Runs one registry operation with the values given.
async fn call(
    client: &Client,
    op: &Operation,
    m: &ArgMatches,
    fixed: Option<(&str, &str)>,
) -> Result<Value, Failure> {
    let (given, mut input) = args::collect(op, m).map_err(Failure::usage)?;
    if let (Some((field, value)), Some(map)) = (fixed, input.as_object_mut()) {
        map.insert(field.to_string(), json!(value));
    }
    let mut path = op.spec.path.to_string();
    let mut org = None;
    if op.path_params.iter().any(|p| p == "org") {
        let named = given.iter().find(|(p, _)| p == "org").map(|(_, v)| v);
        let resolved = org_of(client, named).await?;
        path = path.replace("{org}", &encode(&resolved));
        org = Some(resolved);
    }
    for (param, value) in given.iter().filter(|(p, _)| p != "org") {
        let id = match &org {
            Some(org) => id_of(client, org, param, value).await?,
            None => value.clone(),
        };
        path = path.replace(&format!("{{{param}}}"), &encode(&id));
    }
    if op.spec.input_in_query() {
        let query: Vec<(String, String)> = input
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect();
        answered(client, op.spec.method.clone(), &path, &query, None).await
    } else {
        answered(client, op.spec.method.clone(), &path, &[], Some(&input)).await
    }
}

/// `gatehouse invoke <server> <tool> name=value …`.
async fn invoke(client: &Client, m: &ArgMatches) -> Result<Value, Failure> {
    let org = org_of(client, m.get_one::<String>("org")).await?;
    let server = id_of(client, &org, "serverId", m.get_one::<String>("server").expect("required")).await?;
    let mut arguments = Map::new();
    for pair in m.get_many::<String>("arguments").into_iter().flatten() {
        let (name, raw) =
            pair.split_once('=').ok_or_else(|| Failure::usage(format!("{pair:?} is not name=value")))?;
        let value = serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
        arguments.insert(name.to_string(), value);
    }
    let body = json!({"name": m.get_one::<String>("tool").expect("required"), "arguments": arguments});
    let path = format!("/api/orgs/{}/servers/{}/invoke", encode(&org), encode(&server));
    answered(client, http::Method::POST, &path, &[], Some(&body)).await
}

/// `gatehouse login --email …`: asks for a code, reads it, saves the session.
async fn login(client: &Client, m: &ArgMatches) -> Result<Value, Failure> {
    let email = m.get_one::<String>("email").expect("required").clone();
    let code = match m.get_one::<String>("code") {
        Some(code) => code.clone(),
        None => {
            answered(
                client,
                http::Method::POST,
                "/api/auth/request-code",
                &[],
                Some(&json!({"email": email})),
            )
            .await?;
            eprint!("A code was sent to {email}. Code: ");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| Failure::usage(e.to_string()))?;
            line.trim().to_string()
        }
    };
    let verified = answered(
        client,
        http::Method::POST,
        "/api/auth/verify-code",
        &[],
        Some(&json!({"email": email, "code": code})),
    )
    .await?;
    let token = verified["token"]
        .as_str()
        .ok_or_else(|| Failure { code: EXIT_UNAVAILABLE, message: "no token in the answer".into() })?;
    let saved =
        client::Saved { url: client.base.clone(), token: token.to_string(), email: Some(email.clone()) };
    let path = client::save(&saved)
        .map_err(|e| Failure { code: EXIT_UNAVAILABLE, message: format!("cannot save the session: {e}") })?;
    Ok(json!({"signedIn": email, "savedTo": path.display().to_string()}))
}
