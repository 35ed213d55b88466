//! Filling a directory entry from the store: the server's HTTP tools with their credentials
//! opened, the attached upstreams with their approved catalogue, and its policies' rules.

use hashbrown::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::entry::{AttachedUpstream, ServerEntry, UpstreamRef};
use crate::crypto::MasterKey;
use crate::domain::client_credentials::ClientCredentials;
use crate::domain::http_body::Body;
use crate::domain::http_tool::{self, AuthType, CREDENTIAL_PURPOSE, HttpMethod, Parameter};
use crate::domain::policy;
use crate::domain::upstream::{self as upstream_rules};
use crate::secrets::{SecretError, resolve_secret};
use crate::store::{HttpToolRecord, ServerRecord, Store, StoreResult, UpstreamRecord};
use crate::upstream::Spec;
use crate::upstream::http_tool::{ArgumentCheck, HttpTool, TokenSource, prepare};
use gatehouse_mcp::model::{self, Tool};

/// A stored policy as the data plane applies it (`None` for a row it cannot read).
pub fn rule(p: crate::store::PolicyRecord) -> Option<policy::Rule> {
    let action = match p.action.as_str() {
        "allow" => policy::PolicyAction::Allow,
        "deny" => policy::PolicyAction::Deny,
        _ => return None,
    };
    let rate = match (
        p.rate_requests,
        p.rate_per_seconds,
        p.rate_scope.as_deref().and_then(policy::RateScope::parse),
    ) {
        (Some(requests), Some(per_seconds), Some(scope)) => {
            Some(policy::RateLimit { requests, per_seconds, scope })
        }
        _ => None,
    };
    Some(policy::Rule {
        id: p.id,
        pattern: p.tool_pattern,
        action,
        rate,
        max_argument_bytes: p.max_argument_bytes,
        validate_arguments: p.validate_arguments,
        callers: p.callers.as_deref().and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default(),
    })
}

/// An attachment with what it needs from the store.
pub(super) struct Attached {
    upstream: UpstreamRecord,
    /// The value of the org secret its credential comes from, when it can be read.
    secret: Option<String>,
    tools: Option<HashSet<String>>,
    prefix: String,
    catalogue: Vec<crate::store::UpstreamToolRecord>,
    items: Vec<crate::store::UpstreamItemRecord>,
}

/// The value (or why there is none) of every secret the tools reference.
pub(super) async fn load_secrets(
    store: &dyn Store,
    master_key: &MasterKey,
    server: &ServerRecord,
    tools: &[HttpToolRecord],
) -> StoreResult<HashMap<String, Result<String, String>>> {
    let mut secrets = HashMap::new();
    for id in tools.iter().filter_map(|t| t.auth_secret_id.as_deref()) {
        if secrets.contains_key(id) {
            continue;
        }
        let value = match resolve_secret(store, master_key, &server.org_id, id).await {
            Ok(value) => Ok(value),
            Err(SecretError::Store(err)) => return Err(err),
            Err(err) => {
                tracing::warn!(server = %server.id, error = %err, "a tool's secret is unavailable");
                Err(format!("the tool's credential is unavailable: {err}"))
            }
        };
        secrets.insert(id.to_string(), value);
    }
    Ok(secrets)
}

pub(super) async fn load_attachments(
    store: &dyn Store,
    master_key: &MasterKey,
    server: &ServerRecord,
) -> StoreResult<Vec<Attached>> {
    let mut out = Vec::new();
    for a in store.attachments_of_server(&server.org_id, &server.id).await? {
        let Some(upstream) = store.upstream_get(&server.org_id, &a.upstream_id).await? else { continue };
        let tools = a.tools.as_deref().and_then(|t| serde_json::from_str::<Vec<String>>(t).ok());
        let secret = match &upstream.auth_secret_id {
            None => None,
            Some(id) => match resolve_secret(store, master_key, &server.org_id, id).await {
                Ok(value) => Some(value),
                Err(SecretError::Store(err)) => return Err(err),
                Err(err) => {
                    tracing::warn!(upstream = %upstream.id, error = %err, "an upstream's secret is unavailable");
                    None
                }
            },
        };
        out.push(Attached {
            secret,
            catalogue: store.upstream_tools(&upstream.id).await?,
            items: store.upstream_items(&upstream.id).await?,
            upstream,
            tools: tools.map(|t| t.into_iter().collect()),
            prefix: a.prefix,
        });
    }
    Ok(out)
}

/// Builds an entry; `secrets` holds the value (or why there is none) of every secret referenced.
pub(super) fn build(
    server: ServerRecord,
    records: Vec<HttpToolRecord>,
    secrets: &HashMap<String, Result<String, String>>,
    attached: Vec<Attached>,
    master_key: &MasterKey,
) -> ServerEntry {
    let mut tools = Vec::with_capacity(records.len());
    for t in records {
        // A tool a re-import added or changed is not served until it is approved.
        if t.approval_state != "approved" {
            continue;
        }
        let Ok(parameters) = serde_json::from_str::<Vec<Parameter>>(&t.parameters) else {
            tracing::error!(tool = %t.id, "stored tool parameters are unreadable; tool not served");
            continue;
        };
        let mut unavailable = None;
        let credential = match (&t.auth_secret_id, &t.auth_credential) {
            (Some(id), _) => match secrets.get(id) {
                Some(Ok(value)) => Some(value.clone()),
                Some(Err(why)) => {
                    unavailable = Some(why.clone());
                    None
                }
                None => {
                    unavailable = Some("the tool's credential is unavailable".into());
                    None
                }
            },
            (None, None) => None,
            (None, Some(sealed)) => match master_key.decrypt(CREDENTIAL_PURPOSE, sealed, t.id.as_bytes()) {
                Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
                Err(err) => {
                    tracing::error!(tool = %t.id, error = %err, "tool credential cannot be decrypted; tool not served");
                    continue;
                }
            },
        };
        // A tool stored before the placeholder rule tightened is not called until it is edited.
        if let Err(why) = http_tool::placeholders(&t.endpoint_url) {
            unavailable =
                Some(format!("the tool's endpointUrl is no longer accepted ({why}); edit the tool"));
        }
        let body = match t.body.as_deref().map(serde_json::from_str::<Body>) {
            None => Body::members(),
            Some(Ok(body)) => body,
            Some(Err(_)) => {
                tracing::error!(tool = %t.id, "stored tool body is unreadable; tool not served");
                continue;
            }
        };
        let auth = AuthType::parse(&t.auth_type).unwrap_or(AuthType::None);
        let tokens = match (auth, t.auth_oauth.as_deref(), &credential) {
            (AuthType::OauthClientCredentials, Some(grant), Some(secret)) => {
                match serde_json::from_str::<ClientCredentials>(grant) {
                    Ok(grant) => Some(TokenSource::new(grant, secret.clone())),
                    Err(_) => {
                        tracing::error!(tool = %t.id, "stored OAuth grant is unreadable; tool not served");
                        continue;
                    }
                }
            }
            (AuthType::OauthClientCredentials, _, _) => {
                unavailable.get_or_insert_with(|| "the tool's OAuth client is not set up".into());
                None
            }
            _ => None,
        };
        let output_schema = t.output_schema.as_deref().and_then(|s| serde_json::from_str::<Value>(s).ok());
        let output_check = output_schema.as_ref().and_then(|s| jsonschema::validator_for(s).ok());
        let input_schema = http_tool::input_schema(&parameters, Some(&body));
        let check = ArgumentCheck::compile(&input_schema).unwrap_or_else(|why| {
            unavailable.get_or_insert(why);
            ArgumentCheck::default()
        });
        let listing = model::to_value(&Tool {
            description: Some(t.description.clone()),
            output_schema,
            ..Tool::new(&t.name, input_schema.clone())
        });
        tools.push(HttpTool {
            name: t.name,
            method: HttpMethod::parse(&t.method).unwrap_or(HttpMethod::Get),
            endpoint_url: t.endpoint_url,
            parameters,
            body,
            auth,
            auth_header: t.auth_header,
            credential,
            secret_id: t.auth_secret_id,
            tokens,
            unavailable,
            timeout: Duration::from_millis(t.timeout_ms.max(1) as u64),
            listing,
            input_schema,
            check,
            output_check,
            prepared: None,
        });
        let tool = tools.last_mut().expect("just pushed");
        match prepare(tool) {
            Ok(prepared) => tool.prepared = Some(prepared),
            Err(why) => {
                tool.unavailable.get_or_insert(why);
            }
        }
    }
    let by_name: HashMap<String, usize> =
        tools.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
    let secret_ids = tools.iter().filter_map(|t| t.secret_id.clone()).collect();
    let server_info = json!({"name": server.name, "version": env!("CARGO_PKG_VERSION")});
    let server_info_json = serde_json::value::to_raw_value(&server_info).expect("a JSON object");
    let mut entry = ServerEntry {
        server,
        tool_listings: tools.iter().map(|t| t.listing.clone()).collect(),
        tool_json: Default::default(),
        tools,
        upstreams: Vec::new(),
        server_info,
        server_info_json,
        prompt_listings: Vec::new(),
        resource_listings: Vec::new(),
        template_listings: Vec::new(),
        by_name,
        upstream_tools: HashMap::new(),
        prompts: HashMap::new(),
        resources: HashMap::new(),
        templates: Vec::new(),
        upstream_ids: HashSet::new(),
        rules: Vec::new(),
        log_mode: crate::usage::LogMode::Off,
        sign_in: crate::domain::client_access::SignIn::default(),
        analytics: None,
        secrets: Vec::new(),
        validators: std::sync::Mutex::new(HashMap::new()),
        secret_ids,
    };
    for a in attached {
        // Invalidation must follow the upstream even while it is disabled or unreadable.
        entry.upstream_ids.insert(a.upstream.id.clone());
        if let Some(id) = &a.upstream.auth_secret_id {
            entry.secret_ids.insert(id.clone());
        }
        if !a.upstream.is_enabled {
            continue;
        }
        let spec = match Spec::from_record_with(&a.upstream, master_key, a.secret.as_deref()) {
            Ok(spec) => Arc::new(spec),
            Err(err) => {
                tracing::error!(upstream = %a.upstream.id, error = %err, "upstream cannot be served");
                continue;
            }
        };
        let index = entry.upstreams.len();
        entry.upstreams.push(AttachedUpstream { spec, name: a.upstream.name.clone() });
        for t in &a.catalogue {
            let chosen = a.tools.as_ref().is_none_or(|set| set.contains(&t.name));
            if !chosen
                || !upstream_rules::is_served(
                    &t.approval_state,
                    t.enabled,
                    &t.definition_hash,
                    t.approved_hash.as_deref(),
                )
            {
                continue;
            }
            let served = upstream_rules::served_name(&a.prefix, &t.name);
            if entry.by_name.contains_key(&served) || entry.upstream_tools.contains_key(&served) {
                tracing::warn!(server = %entry.server.id, tool = %served, "tool name collides; first one served");
                continue;
            }
            let Ok(mut listing) = serde_json::from_str::<Value>(&t.definition) else { continue };
            listing["name"] = json!(served);
            entry.tool_listings.push(listing);
            entry.upstream_tools.insert(served, UpstreamRef { upstream: index, original: t.name.clone() });
        }
        for item in &a.items {
            let Ok(mut listing) = serde_json::from_str::<Value>(&item.definition) else { continue };
            match item.kind.as_str() {
                "prompt" => {
                    let served = upstream_rules::served_name(&a.prefix, &item.key);
                    if entry.prompts.contains_key(&served) {
                        continue;
                    }
                    listing["name"] = json!(served);
                    entry.prompt_listings.push(listing);
                    entry.prompts.insert(served, UpstreamRef { upstream: index, original: item.key.clone() });
                }
                "resource" => {
                    if entry.resources.contains_key(&item.key) {
                        continue;
                    }
                    entry.resource_listings.push(listing);
                    entry.resources.insert(item.key.clone(), index);
                }
                "resource_template" => {
                    entry.template_listings.push(listing);
                    entry.templates.push((item.key.clone(), index));
                }
                _ => {}
            }
        }
    }
    let mut secrets = Vec::new();
    for t in &entry.tools {
        if let Some(c) = &t.credential {
            secrets.push(c.clone());
            // Basic credentials travel base64-encoded.
            secrets.push(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, c));
        }
    }
    for u in &entry.upstreams {
        for (name, value) in &u.spec.headers {
            let name = name.to_ascii_lowercase();
            if name == "authorization"
                || name.contains("key")
                || name.contains("token")
                || name.contains("secret")
            {
                secrets.push(value.clone());
                if let Some((_, token)) = value.split_once(' ') {
                    secrets.push(token.to_string());
                }
            }
        }
        secrets.extend(u.spec.env.values().cloned());
    }
    entry.secrets = secrets;
    entry
}
